"""jinit.mup: width multipliers, per-kind init and learning rates, optax helpers, coordinate check."""

from __future__ import annotations

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit import mup

optax = pytest.importorskip("optax")

BASE = 64


@pytest.fixture
def optax_promotion():
    """optax's Adam raises its int32 step count to a float power: it needs JAX's
    standard dtype promotion, not the strict mode of conftest.py."""
    with jax.numpy_dtype_promotion("standard"):
        yield


def mlp_shapes(width: int, depth: int = 3, n_in: int = 64, n_out: int = 10) -> dict:
    """Parameter shapes of an MLP n_in -> width x depth -> n_out (Flax layout)."""
    dims = [n_in] + [width] * depth + [n_out]
    return {
        f"layer{i}": {
            "kernel": jax.ShapeDtypeStruct((a, b), jnp.float32),
            "bias": jax.ShapeDtypeStruct((b,), jnp.float32),
        }
        for i, (a, b) in enumerate(itertools.pairwise(dims))
    }


def init_mlp(key: jax.Array, width: int) -> dict:
    """Standard parametrization: N(0, 1 / fan_in) kernels, zero biases."""
    kernel_init = jinit.variance_scaling(1.0, "fan_in", "normal")
    return {
        name: {
            "kernel": kernel_init(jax.random.fold_in(key, i), leaf["kernel"].shape),
            "bias": jnp.zeros(leaf["bias"].shape),
        }
        for i, (name, leaf) in enumerate(mlp_shapes(width).items())
    }


def test_kinds_and_multipliers() -> None:
    m = mup.width_multipliers(mlp_shapes(256), mlp_shapes(BASE))
    assert m["layer0"]["kernel"] == mup.WidthMultipliers("input", 1.0, 4.0)
    assert m["layer0"]["bias"] == mup.WidthMultipliers("input", 1.0, 4.0)
    assert m["layer1"]["kernel"] == mup.WidthMultipliers("hidden", 4.0, 4.0)
    assert m["layer3"]["kernel"] == mup.WidthMultipliers("output", 4.0, 1.0)
    assert m["layer3"]["bias"] == mup.WidthMultipliers("scalar", 1.0, 1.0)
    # Conv kernels and embeddings: the fan axes are -2 and -1.
    conv = mup.width_multipliers({"w": jnp.zeros((3, 3, 128, 512))}, {"w": jnp.zeros((3, 3, 64, 64))})["w"]
    assert conv == mup.WidthMultipliers("hidden", 2.0, 8.0)
    embed = mup.width_multipliers({"e": jnp.zeros((1000, 512))}, {"e": jnp.zeros((1000, 64))})["e"]
    assert embed.kind == "input" and embed.fan_out == 8.0
    # At the base width everything is scalar-like: muP equals SP there.
    assert all(
        x.kind in ("input", "scalar")
        for x in jax.tree.leaves(
            mup.width_multipliers(mlp_shapes(BASE), mlp_shapes(BASE)),
            is_leaf=lambda x: isinstance(x, mup.WidthMultipliers),
        )
    )


def test_learning_rates_follow_table_3() -> None:
    p, b = mlp_shapes(512), mlp_shapes(BASE)
    m = 512 / BASE
    adam = mup.learning_rates(p, b, "adam")
    sgd = mup.learning_rates(p, b, "sgd")
    expected_adam = {"layer0": (1.0, 1.0), "layer1": (1 / m, 1.0), "layer2": (1 / m, 1.0), "layer3": (1 / m, 1.0)}
    expected_sgd = {"layer0": (m, m), "layer1": (1.0, m), "layer2": (1.0, m), "layer3": (1 / m, 1.0)}
    for name in p:
        assert (adam[name]["kernel"], adam[name]["bias"]) == pytest.approx(expected_adam[name], rel=1e-15)
        assert (sgd[name]["kernel"], sgd[name]["bias"]) == pytest.approx(expected_sgd[name], rel=1e-15)
    assert mup.init_variances(p, b)["layer3"]["kernel"] == pytest.approx(1 / m, rel=1e-15)
    assert mup.init_variances(p, b, zero_readout=True)["layer3"]["kernel"] == 0.0
    assert mup.init_variances(p, b)["layer1"]["kernel"] == 1.0


def test_rescale_and_initializer(key: jax.Array) -> None:
    params = init_mlp(key, 256)
    before = jax.tree.map(np.asarray, params)
    new = mup.rescale(params, mlp_shapes(BASE))
    chex.assert_trees_all_equal(jax.tree.map(np.asarray, params), before)  # input untouched
    chex.assert_trees_all_close(new["layer3"]["kernel"], params["layer3"]["kernel"] / 2.0, rtol=1e-7)
    chex.assert_trees_all_equal(new["layer1"], params["layer1"])
    zero = mup.rescale(params, mlp_shapes(BASE), zero_readout=True)
    assert not np.asarray(zero["layer3"]["kernel"]).any()
    # The initializer: same draws as the SP init, times sqrt(1 / m_in); law scaled.
    spec = mup.WidthMultipliers("output", fan_in=4.0)
    init = mup.initializer(jinit.lecun_normal(), spec)
    chex.assert_trees_all_close(init(key, (256, 10)), jinit.lecun_normal()(key, (256, 10)) * 0.5, rtol=1e-7)
    sp_law, law = jinit.lecun_normal().moments((256, 10)), init.moments((256, 10))
    assert law.variance == pytest.approx(sp_law.variance / 4, rel=1e-15)
    assert law.bound == pytest.approx(sp_law.bound / 2, rel=1e-15)
    assert law.excess_kurtosis == sp_law.excess_kurtosis
    for shape in ((256, 512), (3, 3, 64, 128), (4, 128, 256)):
        jinit.testing.assert_moments(init, shape, key=key)
    zero_init = mup.initializer(jinit.lecun_normal(), spec, zero_readout=True)
    assert not np.asarray(zero_init(key, (256, 10))).any()


def test_optimizer_first_adam_step(key: jax.Array, optax_promotion: None) -> None:
    # Adam's first update is -lr g / (|g| + eps): -lr * factor * sign(g) per leaf.
    params = init_mlp(key, 256)
    grads = jax.tree.map(lambda x: jnp.ones_like(x), params)
    lr = 1e-2
    tx = mup.optimizer(lr, params, mlp_shapes(BASE))
    updates, _ = tx.update(grads, tx.init(params), params)
    factors = mup.learning_rates(params, mlp_shapes(BASE))
    expected = jax.tree.map(lambda g, f: -lr * f * g / (g + 1e-8), grads, factors)
    # Adam's bias correction 1 - 0.999^t is computed in float32: relative error up
    # to eps32 / 0.001, halved by the square root.
    chex.assert_trees_all_close(updates, expected, rtol=float(jnp.finfo(jnp.float32).eps) / 1e-3)
    tx = mup.optimizer(lr, params, mlp_shapes(BASE), kind="sgd")
    updates, _ = tx.update(grads, tx.init(params), params)
    chex.assert_trees_all_close(updates["layer0"]["kernel"], -lr * 4.0 * grads["layer0"]["kernel"], rtol=1e-6)


def test_optimizer_with_nnx(optax_promotion: None) -> None:
    nnx = pytest.importorskip("flax.nnx")

    def model(width: int) -> nnx.Module:
        rngs = nnx.Rngs(0)
        return nnx.Sequential(nnx.Linear(8, width, rngs=rngs), jax.nn.relu, nnx.Linear(width, 3, rngs=rngs))

    target, base = model(128), nnx.eval_shape(lambda: model(32))
    params, base_params = nnx.state(target, nnx.Param), nnx.state(base, nnx.Param)
    kinds = mup.width_multipliers(params, base_params)
    assert kinds["layers"][0]["kernel"].get_value().kind == "input"
    assert kinds["layers"][2]["kernel"].get_value().kind == "output"
    opt = nnx.Optimizer(target, mup.optimizer(1e-2, params, base_params), wrt=nnx.Param)
    before = jax.tree.map(np.asarray, nnx.state(target, nnx.Param))
    x = jnp.ones((4, 8))
    grads = nnx.grad(lambda m: jnp.sum(m(x) ** 2))(target)
    opt.update(target, grads)
    after = nnx.state(target, nnx.Param)
    step = np.abs(np.asarray(after["layers"][2]["kernel"].get_value()) - before["layers"][2]["kernel"].get_value())
    # Readout factor 1 / m_in = 1/4: its entries move by lr / 4 (Adam's first step).
    moved = np.asarray(grads["layers"][2]["kernel"].get_value()) != 0
    assert moved.any()
    np.testing.assert_allclose(step[moved], 1e-2 / 4, rtol=float(jnp.finfo(jnp.float32).eps) / 1e-3)


# ---------------------------------------------------------------------------
# Coordinate check (Yang et al. 2021, microsoft/mup's coord_check): after a few
# Adam steps, the typical size of each layer's activations, mean |h|, must not
# depend on the width in muP, while in SP it grows.

WIDTHS = (64, 256, 1024)
STEPS = 3
LR = 3e-3


def _digits() -> tuple[jax.Array, jax.Array]:
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return jnp.asarray(x[:256], jnp.float32), jnp.asarray(y[:256])


def _forward(params: dict, x: jax.Array) -> list[jax.Array]:
    outs = []
    h = x
    names = sorted(params)
    for i, name in enumerate(names):
        h = h @ params[name]["kernel"] + params[name]["bias"].reshape(1, -1)
        outs.append(h)
        if i < len(names) - 1:
            h = jax.nn.relu(h)
    return outs


def _train_and_measure(
    params: dict, base: dict, x: jax.Array, y: jax.Array
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Adam steps in SP and in muP from the same SP draw; per layer, mean |h_T| and mean |h_T - h_0|."""
    mu_params = mup.rescale(params, base)
    sp_tx, mu_tx = optax.adam(LR), mup.optimizer(LR, params, base)

    def loss(p):
        logits = _forward(p, x)[-1]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def train(p, tx):
        def step(_, carry):
            p, state = carry
            updates, state = tx.update(jax.grad(loss)(p), state, p)
            return optax.apply_updates(p, updates), state

        p_end, _ = jax.lax.fori_loop(0, STEPS, step, (p, tx.init(p)))
        h0, h = _forward(p, x), _forward(p_end, x)
        size = jnp.stack([jnp.mean(jnp.abs(a)) for a in h])
        change = jnp.stack([jnp.mean(jnp.abs(a - b)) for a, b in zip(h, h0, strict=True)])
        return size, change

    @jax.jit
    def run(sp_params, mu_params):
        return (*train(sp_params, sp_tx), *train(mu_params, mu_tx))

    return tuple(np.asarray(a, np.float64) for a in run(params, mu_params))


def _slopes(sizes: np.ndarray) -> np.ndarray:
    """Least-squares slope of log(mean |h|) against log(width), per layer."""
    logw = np.log(np.asarray(WIDTHS, np.float64))
    return np.polyfit(logw, np.log(sizes), 1)[0]


@pytest.mark.slow
def test_coordinate_check(optax_promotion: None) -> None:
    x, y = _digits()
    key = jax.random.key(0)
    runs = np.stack([np.stack(_train_and_measure(init_mlp(key, w), mlp_shapes(BASE), x, y)) for w in WIDTHS])
    sp_size, sp_change, mu_size, mu_change = (runs[:, i] for i in range(4))  # each (widths, layers)
    # At the base width the two parametrizations coincide exactly.
    np.testing.assert_allclose(mu_size[0], sp_size[0], rtol=1e-6)
    # Theory (Tensor Programs V): with Adam, the change of a coordinate of a layer
    # fed by a width-sized input is Theta(width * lr) in SP, exponent 1, and
    # Theta(1) in muP, exponent 0; the input layer (64 fixed inputs) is Theta(1)
    # in both. The decision threshold is the midpoint of the exponents, 1/2.
    assert np.all(np.abs(_slopes(mu_change)) < 0.5), (_slopes(mu_change), mu_change)
    assert np.all(np.abs(_slopes(mu_size)) < 0.5), (_slopes(mu_size), mu_size)
    assert np.all(_slopes(sp_change)[1:] > 0.5), (_slopes(sp_change), sp_change)
    assert abs(_slopes(sp_change)[0]) < 0.5, (_slopes(sp_change), sp_change)


def test_errors(optax_promotion: None) -> None:
    a, b = {"w": jnp.zeros((8, 128))}, {"w": jnp.zeros((8, 64))}
    with pytest.raises(ValueError, match=r"jinit\.mup\.width_multipliers: \['w'\]: rank differs from the base"):
        mup.width_multipliers(a, {"w": jnp.zeros((8, 64, 1))})
    with pytest.raises(ValueError, match=r"jinit\.mup\.width_multipliers: \['w'\]: needs positive sizes"):
        mup.width_multipliers({"w": jnp.zeros((0, 128))}, {"w": jnp.zeros((0, 64))})
    with pytest.raises(
        ValueError, match=r"\['w'\]: only the fan-in \(-2\) and fan-out \(-1\) axes may differ from the base; axis 0"
    ):
        mup.width_multipliers({"w": jnp.zeros((5, 8, 128))}, {"w": jnp.zeros((3, 8, 64))})
    with pytest.raises(ValueError, match=r"jinit\.mup\.width_multipliers: `params` and `base_params` must have"):
        mup.width_multipliers(a, {"v": jnp.zeros((8, 64))})
    with pytest.raises(ValueError, match=r"jinit\.mup\.learning_rates: `optimizer` must be one of 'adam', 'sgd'"):
        mup.learning_rates(a, b, "lion")
    with pytest.raises(ValueError, match=r"jinit\.mup\.optimizer: `kind` must be one of 'adam', 'adamw', 'sgd'"):
        mup.optimizer(1e-3, a, b, kind="lion")
    with pytest.raises(TypeError, match=r"jinit\.mup\.initializer: `init` must be an initializer; got 3"):
        mup.initializer(3, mup.WidthMultipliers("output", 2.0))
    with pytest.raises(TypeError, match=r"jinit\.mup\.initializer: `multipliers` must be a jinit\.mup\.WidthMult"):
        mup.initializer(jinit.lecun_normal(), 2.0)
    tx = mup.scale_updates({"w": 0.5})
    with pytest.raises(ValueError, match=r"jinit\.mup\.scale_updates: no factor for the update at \['v'\]"):
        tx.update({"v": jnp.ones(3)}, tx.init({"v": jnp.ones(3)}))
    for bad, err, what in (
        (float("nan"), ValueError, "must be finite"),
        (-1.0, ValueError, "must be non-negative"),
        ("x", TypeError, "must be a real number"),
    ):
        with pytest.raises(err, match=rf"jinit\.mup\.scale_updates: `factors\['w'\]` {what}"):
            mup.scale_updates({"w": bad})


def test_width_multipliers_reject_bad_values() -> None:
    """A bad multiplier used to give zeros (inf), ZeroDivisionError (0) or a math domain
    error (negative) far from where it was made: it is refused at construction."""
    name = r"jinit\.mup\.WidthMultipliers: "
    with pytest.raises(ValueError, match=name + r"`kind` must be one of 'input', 'hidden', 'output', 'scalar'"):
        mup.WidthMultipliers("bogus")
    for param in ("fan_in", "fan_out"):
        for bad, err, what in (
            (float("inf"), ValueError, "must be finite"),
            (float("nan"), ValueError, "must be finite"),
            (0, ValueError, "must be positive"),
            (-4, ValueError, "must be positive"),
            (1e300, ValueError, r"must be between 2\*\*-53 and 2\*\*53"),
            (1e-300, ValueError, r"must be between 2\*\*-53 and 2\*\*53"),
            ("2", TypeError, "must be a real number"),
            (True, TypeError, "must be a real number"),
        ):
            with pytest.raises(err, match=name + rf"`{param}` {what}"):
                mup.WidthMultipliers("output", **{param: bad})
    with pytest.raises(ValueError, match=r"jinit\.mup\.WidthMultipliers\.learning_rate: `optimizer` must be one of"):
        mup.WidthMultipliers("hidden", 2.0, 2.0).learning_rate("lion")
    name = r"jinit\.mup\.MupInit: "
    with pytest.raises(TypeError, match=name + r"`init` must be an initializer; got 1\."):
        mup.MupInit(init=1, variance_scale=1.0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=name + r"`variance_scale` must be"):
            mup.MupInit(init=jinit.lecun_normal(), variance_scale=bad)
    with pytest.raises(ValueError, match=name + r"`name` must be one of 'mup\.MupInit', "):
        mup.MupInit(init=jinit.lecun_normal(), variance_scale=1.0, name="bogus")
    a, b = {"w": jnp.zeros((8, 128))}, {"w": jnp.zeros((8, 64))}
    for fn in (mup.init_variances, mup.rescale):
        with pytest.raises(TypeError, match=rf"jinit\.mup\.{fn.__name__}: `zero_readout` must be a bool; got "):
            fn(a, b, zero_readout=np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"jinit\.mup\.initializer: `zero_readout` must be a bool; got zero_readout=1"):
        mup.initializer(jinit.lecun_normal(), mup.WidthMultipliers("output", 2.0), zero_readout=1)
    with pytest.raises(TypeError, match=r"jinit\.mup\.rescale: `params` leaves must be arrays; got nan at "):
        mup.rescale({"w": float("nan")}, {"w": float("nan")})
    # Valid values are kept as floats: equal to the same multipliers given as ints.
    assert mup.WidthMultipliers("hidden", 4, 2) == mup.WidthMultipliers("hidden", 4.0, 2.0)
    assert isinstance(mup.WidthMultipliers("hidden", np.float32(4.0)).fan_in, float)
