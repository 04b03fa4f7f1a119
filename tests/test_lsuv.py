"""jinit.flax.lsuv on 10-layer tanh and relu MLPs with scikit-learn's digits."""

from __future__ import annotations

import itertools
import re
import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

nnx = pytest.importorskip("flax.nnx")
datasets = pytest.importorskip("sklearn.datasets")

import jinit.flax  # noqa: E402
from jinit._src.flax.lsuv import LSUVWarning  # noqa: E402

DEPTH, WIDTH = 10, 48


@pytest.fixture(scope="module")
def digits() -> jax.Array:
    x, _ = datasets.load_digits(return_X_y=True)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return jnp.asarray(x[:512], jnp.float32)


class MLP(nnx.Module):
    """10 Linear layers; ``__call__`` applies them in list order."""

    def __init__(self, activation, *, bias_init=None, seed: int = 0):
        rngs = nnx.Rngs(seed)
        bias_init = nnx.initializers.zeros_init() if bias_init is None else bias_init
        dims = [64] + [WIDTH] * (DEPTH - 1) + [10]
        self.layers = nnx.List([nnx.Linear(a, b, bias_init=bias_init, rngs=rngs) for a, b in itertools.pairwise(dims)])
        self.activation = activation

    def outputs(self, x: jax.Array) -> list[jax.Array]:
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            outs.append(x)
            if i < DEPTH - 1:
                x = self.activation(x)
        return outs

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.outputs(x)[-1]


def params_of(model: nnx.Module) -> dict:
    return jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param)))


@pytest.mark.parametrize("activation", [jnp.tanh, jax.nn.relu], ids=["tanh", "relu"])
def test_every_layer_has_unit_output_variance(activation, digits: jax.Array) -> None:
    model = MLP(activation)
    before = params_of(model)
    new = jinit.flax.lsuv(model, digits, tol=0.1)
    assert type(new) is MLP and new is not model
    chex.assert_trees_all_equal(params_of(model), before)  # the input model is untouched
    # Measured independently of lsuv's own bookkeeping.
    variances = [float(np.var(np.asarray(h, np.float64))) for h in new.outputs(digits)]
    assert all(abs(v - 1.0) < 0.1 for v in variances), variances
    # Without LSUV the default init does not give unit variance everywhere.
    default = [float(np.var(np.asarray(h, np.float64))) for h in model.outputs(digits)]
    assert any(abs(v - 1.0) >= 0.1 for v in default), default
    # Orthonormal pre-init, then a scalar per layer: W^T W (or W W^T) = s^2 I.
    for layer in new.layers:
        w = np.asarray(layer.kernel.get_value(), np.float64)
        gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        s2 = gram[0, 0]
        np.testing.assert_allclose(gram, s2 * np.eye(len(gram)), atol=1e-5 * s2)


def test_forward_order_is_observed(digits: jax.Array) -> None:
    class Reversed(nnx.Module):
        """Attributes defined in the opposite order of the calls."""

        def __init__(self):
            rngs = nnx.Rngs(0)
            self.last = nnx.Linear(32, 8, rngs=rngs)
            self.first = nnx.Linear(64, 32, rngs=rngs)

        def __call__(self, x):
            return self.last(jnp.tanh(self.first(x)))

    new = jinit.flax.lsuv(Reversed(), digits, tol=0.01)
    h = new.first(digits)
    assert abs(float(jnp.var(h)) - 1) < 0.01
    assert abs(float(jnp.var(new.last(jnp.tanh(h)))) - 1) < 0.01
    # The classes' __call__ is restored afterwards.
    assert nnx.Linear.__call__.__name__ == "__call__"
    assert not hasattr(nnx.Linear.__call__, "__wrapped__")


def test_fresh_orthogonal_kernels_with_a_key(digits: jax.Array) -> None:
    model = MLP(jnp.tanh)
    a = jinit.flax.lsuv(model, digits, key=jax.random.key(0))
    b = jinit.flax.lsuv(model, digits, key=jax.random.key(0))
    c = jinit.flax.lsuv(model, digits)
    chex.assert_trees_all_equal(params_of(a), params_of(b))
    assert not np.allclose(params_of(a)["layers"][3]["kernel"], params_of(c)["layers"][3]["kernel"])
    variances = [float(np.var(np.asarray(h, np.float64))) for h in a.outputs(digits)]
    assert all(abs(v - 1.0) < 0.1 for v in variances), variances


def test_warns_naming_the_layer_that_did_not_converge(digits: jax.Array) -> None:
    # Non-zero biases: one rescaling of W cannot make Var(x W + b) exactly 1.
    model = MLP(jnp.tanh, bias_init=nnx.initializers.normal(0.3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jinit.flax.lsuv(model, digits, tol=1e-9, max_iter=1)
    assert all(w.category is LSUVWarning for w in caught)
    messages = [str(w.message) for w in caught]
    assert len(messages) == DEPTH, messages
    for i, message in enumerate(messages):
        assert re.match(
            rf"jinit\.flax\.lsuv: layer 'layers/{i}' \(Linear\) has Var\(output\) = \S+ after 1 rescalings, "
            r"not within tol=1e-09 of 1\.",
            message,
        ), message
    # With the default tolerance and iterations the same model converges silently.
    jinit.flax.lsuv(model, digits)


def test_errors(digits: jax.Array) -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.lsuv: `model` must be a flax\.nnx\.Module; got dict"):
        jinit.flax.lsuv({"w": 1}, digits)
    with pytest.raises(ValueError, match=r"jinit\.flax\.lsuv: `tol` must be positive; got tol=0"):
        jinit.flax.lsuv(MLP(jnp.tanh), digits, tol=0.0)
    with pytest.raises(TypeError, match=r"jinit\.flax\.lsuv: `max_iter` must be an int; got max_iter=2\.5"):
        jinit.flax.lsuv(MLP(jnp.tanh), digits, max_iter=2.5)
    with pytest.raises(ValueError, match=r"jinit\.flax\.lsuv: `max_iter` must be at least 1; got max_iter=0"):
        jinit.flax.lsuv(MLP(jnp.tanh), digits, max_iter=0)
    with pytest.raises(TypeError, match=r"jinit\.flax\.lsuv: `key` must be a PRNG key"):
        jinit.flax.lsuv(MLP(jnp.tanh), digits, key=3)

    class NoLayers(nnx.Module):
        def __call__(self, x):
            return x

    with pytest.raises(ValueError, match=r"jinit\.flax\.lsuv: `model` has no nnx\.Linear, nnx\.Conv"):
        jinit.flax.lsuv(NoLayers(), digits)


def test_max_iter_is_capped(digits: jax.Array) -> None:
    from jinit._src.flax.lsuv import MAX_ITER

    assert MAX_ITER == 100  # the cap the docstring states
    with pytest.raises(
        ValueError, match=r"^jinit\.flax\.lsuv: `max_iter` must be at most 100; got max_iter=1000000000\."
    ):
        jinit.flax.lsuv(MLP(jnp.tanh), digits, max_iter=10**9, tol=1e-12)


def test_stops_when_the_variance_stops_changing(digits: jax.Array) -> None:
    """tol=1e-12 is below float32's resolution of Var(output): each layer stops once a rescaling no
    longer moves it (by STALL_EPS epsilons), long before MAX_ITER, and says so."""
    from jinit._src.flax.lsuv import MAX_ITER

    class Small(nnx.Module):
        def __init__(self) -> None:
            rngs = nnx.Rngs(0)
            self.a = nnx.Linear(64, 32, bias_init=nnx.initializers.normal(0.3), rngs=rngs)
            self.b = nnx.Linear(32, 8, bias_init=nnx.initializers.normal(0.3), rngs=rngs)

        def __call__(self, x):
            return self.b(jnp.tanh(self.a(x)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = jinit.flax.lsuv(Small(), digits, tol=1e-12, max_iter=MAX_ITER)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages
    for path, message in zip("ab", messages, strict=True):
        match = re.match(
            rf"jinit\.flax\.lsuv: layer '{path}' \(Linear\) has Var\(output\) = (\S+) after (\d+) rescalings, not "
            r"within tol=1e-12 of 1 \(a rescaling no longer changes it: the dtype's resolution\)\.$",
            message,
        )
        assert match, message
        assert int(match.group(2)) < MAX_ITER
        assert abs(float(match.group(1)) - 1.0) < 1e-5  # at float32's resolution of 1
    h = new.a(digits)
    assert abs(float(np.var(np.asarray(h, np.float64))) - 1.0) < 1e-5


def test_zero_width_layer_and_empty_batch(digits: jax.Array) -> None:
    def model(n_in: int, n_out: int) -> nnx.Module:
        # jinit's kernel init: flax's default divides by the zero fan when building the layer.
        return nnx.Sequential(nnx.Linear(n_in, n_out, kernel_init=jinit.lecun_normal(), rngs=nnx.Rngs(0)))

    for n_in, n_out in ((64, 0), (0, 8)):
        with pytest.raises(
            ValueError,
            match=rf"^jinit\.flax\.lsuv: layer 'layers/0' \(Linear\) has an empty kernel, so its output has no "
            rf"variance to scale; got kernel shape=\({n_in}, {n_out}\)\.",
        ):
            jinit.flax.lsuv(model(n_in, n_out), digits[:, :n_in])
    with pytest.raises(
        ValueError,
        match=r"^jinit\.flax\.lsuv: layer 'layers/0' \(Linear\) gives an empty output on `batch`, which has no "
        r"variance; pass a non-empty batch; got output shapes \[\(0, 8\)\]\.",
    ):
        jinit.flax.lsuv(model(64, 8), digits[:0])
