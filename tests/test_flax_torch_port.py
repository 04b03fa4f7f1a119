"""Porting from PyTorch: a Flax model with jinit.torch initializers has the PyTorch model's default laws.

The guide in docs/flax.md builds the same four layers (Linear, Conv2d,
Embedding, LayerNorm) in torch and in Flax (linen and nnx); this test holds
it to its claim layer by layer, against the torch model's own parameters:
each side has jinit.torch's law for its layer (``jinit.testing``: mean,
variance, bound and kurtosis within sampling tolerance), the two samples agree with each other (variance within
their joint standard error, a two-sample Kolmogorov-Smirnov test), and both
reach their bound as uniform draws must.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from flax import nnx

import jinit.testing
import jinit.torch as jt

torch = pytest.importorskip("torch")

N_SIGMA = 6.0
# KS p-value below which two samples are called different: a false alarm once in 10^6 seeds.
KS_ALPHA = 1e-6


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(1000, 64)
        self.conv = torch.nn.Conv2d(16, 64, 3)
        self.norm = torch.nn.LayerNorm(64)
        self.fc = torch.nn.Linear(256, 512)


# --- the Flax side, as the guide writes it ---------------------------------


class LinenNet(nn.Module):
    @nn.compact
    def __call__(self, ids: jax.Array, img: jax.Array, x: jax.Array) -> tuple[jax.Array, ...]:
        e = nn.Embed(1000, 64, embedding_init=jt.embedding(), name="embed")(ids)
        c = nn.Conv(
            64,
            (3, 3),
            padding="VALID",
            kernel_init=jt.conv_weight(),
            bias_init=jt.conv_bias(16 * 3 * 3),  # the weight's fan_in: in_channels * kh * kw
            name="conv",
        )(img)
        h = nn.LayerNorm(epsilon=1e-5, name="norm")(e)  # torch's eps is 1e-5, Flax's default 1e-6
        y = nn.Dense(512, kernel_init=jt.linear_weight(), bias_init=jt.linear_bias(256), name="fc")(x)
        return e, c, h, y


class NnxNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.embed = nnx.Embed(1000, 64, embedding_init=jt.embedding(), rngs=rngs)
        self.conv = nnx.Conv(
            16, 64, (3, 3), padding="VALID", kernel_init=jt.conv_weight(), bias_init=jt.conv_bias(144), rngs=rngs
        )
        self.norm = nnx.LayerNorm(64, epsilon=1e-5, rngs=rngs)
        self.fc = nnx.Linear(256, 512, kernel_init=jt.linear_weight(), bias_init=jt.linear_bias(256), rngs=rngs)


# (torch parameter, flax path, initializer whose law both must have, torch -> flax layout)
LAYERS: list[tuple[str, str, Any, Any]] = [
    ("fc.weight", "fc/kernel", jt.linear_weight(), lambda w: w.T),
    ("fc.bias", "fc/bias", jt.linear_bias(256), lambda b: b),
    ("conv.weight", "conv/kernel", jt.conv_weight(), lambda w: w.transpose(2, 3, 1, 0)),  # OIHW -> HWIO
    ("conv.bias", "conv/bias", jt.conv_bias(144), lambda b: b),
    ("embed.weight", "embed/embedding", jt.embedding(), lambda w: w),
]


def torch_params() -> dict[str, np.ndarray]:
    torch.manual_seed(0)
    return {k: v.detach().numpy() for k, v in TorchNet().named_parameters()}


def linen_params() -> dict[str, np.ndarray]:
    inputs = (jnp.zeros((1, 4), jnp.int32), jnp.ones((1, 8, 8, 16)), jnp.ones((1, 256)))
    params = jax.jit(LinenNet().init)(jax.random.key(0), *inputs)["params"]
    return {f"{m}/{p}": np.asarray(v) for m, d in params.items() for p, v in d.items()}


def nnx_params() -> dict[str, np.ndarray]:
    model = nnx.jit(lambda: NnxNet(nnx.Rngs(0)))()
    state = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    return {f"{m}/{p}": np.asarray(v) for m, d in state.items() for p, v in d.items()}


class Drawn:
    """Parameters already drawn (by torch or Flax), presented to ``jinit.testing`` with the law they must have."""

    def __init__(self, x: np.ndarray, law: Any, name: str) -> None:
        self.x, self.law, self.name = x, law, name

    def __call__(self, key: jax.Array, shape: Any, dtype: Any = None) -> np.ndarray:
        return self.x

    def moments(self, shape: Any, dtype: Any = None) -> Any:
        return self.law


def moments_check(x: np.ndarray, law: Any, what: str) -> tuple[float, float]:
    """``x`` has ``law`` (``jinit.testing.assert_moments``); returns (its variance, the standard error)."""
    check = jinit.testing.assert_moments(Drawn(x, law, what), x.shape, key=jax.random.key(0), n_sigma=N_SIGMA)
    if law.bound is not None:
        top = check.get("bound").measured
        # U(-b, b): P(max |w| < b (1 - d)) = (1 - d)^n <= exp(-20) for d = 20 / n.
        assert top >= law.bound * (1 - 20 / x.size), f"{what}: max |w| = {top:.5g}, bound {law.bound:.5g}"
    variance = check.get("variance")
    return variance.measured, variance.standard_error


@pytest.mark.parametrize("framework", ["linen", "nnx"])
def test_each_layer_has_the_torch_models_law(framework: str) -> None:
    ours = linen_params() if framework == "linen" else nnx_params()
    theirs = torch_params()
    for torch_name, flax_path, init, to_flax in LAYERS:
        t, f = to_flax(theirs[torch_name]), ours[flax_path]
        assert t.shape == f.shape, f"{flax_path}: torch {t.shape} vs flax {f.shape}"
        law = init.moments(f.shape)
        vt, se_t = moments_check(t, law, f"torch {torch_name}")
        vf, se_f = moments_check(f, law, f"{framework} {flax_path}")
        assert abs(vt - vf) <= N_SIGMA * math.hypot(se_t, se_f), f"{flax_path}: variances {vt:.5g} vs {vf:.5g}"
        if t.size >= 1000:  # KS needs a sample to speak of
            p = scipy.stats.ks_2samp(t.ravel(), f.ravel()).pvalue
            assert p > KS_ALPHA, f"{flax_path}: KS p-value {p:.3g}"
    # LayerNorm: ones and zeros on both sides.
    np.testing.assert_array_equal(ours["norm/scale"], theirs["norm.weight"])
    np.testing.assert_array_equal(ours["norm/bias"], theirs["norm.bias"])


def test_the_check_tells_torch_from_flax_defaults() -> None:
    """The comparison can fail: Flax's default Dense kernel (lecun_normal) is not torch's Linear law."""
    params = jax.jit(nn.Dense(512).init)(jax.random.key(0), jnp.ones((1, 256)))["params"]
    with pytest.raises(AssertionError, match=r"variance"):
        moments_check(np.asarray(params["kernel"]), jt.linear_weight().moments((256, 512)), "flax default")


def test_layernorm_with_torch_epsilon_computes_what_torch_computes() -> None:
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32) * 1e-3  # eps matters at this scale
    torch.manual_seed(0)
    expected = TorchNet().norm(torch.from_numpy(x)).detach().numpy()
    model = nn.LayerNorm(epsilon=1e-5)
    got = model.apply(model.init(jax.random.key(0), x), x)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5)
    default = nn.LayerNorm()
    assert not np.allclose(np.asarray(default.apply(default.init(jax.random.key(0), x), x)), expected, rtol=1e-4)
