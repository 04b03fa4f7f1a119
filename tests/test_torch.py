"""jinit.torch: torch.nn.init's laws, in flax and torch layout, checked against torch itself.

* The law of every factory (``assert_moments``) on a dense, a conv and a
  3-D/5-D kernel, in both layouts; the two layouts of one layer have equal
  moments.
* Parity: torch's own functions (seeded ``torch.Generator``) and the default
  parameters of real ``nn.Linear``, ``nn.Conv2d``, ``nn.Embedding`` draw the
  mean, variance and bounds jinit's ``moments`` state, and two-sample KS
  tests find jinit's draws and torch's draws of one law indistinguishable.
* Exact structure: dirac and eye equal torch's, a conv with dirac is the
  identity per group, sparse has exactly torch's zero count per input unit,
  orthogonal is orthogonal.
* calculate_gain equals torch's table, with torch's exception types.
* Every error message.

Tolerances: jinit's draws and torch's are both held to the law by
``jinit.testing`` (6 standard errors of each statistic's sampling
distribution). A bound b is reached: the extreme of n draws lies within
delta of b unless an event of probability (1 - f delta)^n <= exp(-14) =
8e-7 occurs, f the density at b, so we check extreme >= b - 14 / (n f).
KS tests reject at p < 1e-4 on fixed seeds.
"""

from __future__ import annotations

import ast
import math
import pathlib

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import law_cases
import numpy as np
import pytest
import scipy.stats
import torch

import jinit
import jinit.torch as jt
from jinit import Moments
from jinit.testing import assert_moments

N_SIGMA = 6.0
# -log(8e-7): the extreme of n draws misses the last 14/(n f) of the support
# with probability exp(-14).
EXTREME_LOG_P = 14.0
KS_P = 1e-4

DENSE = (256, 512)
CONV = (3, 3, 64, 128)
CONV5 = (3, 3, 3, 32, 64)
CONV3 = (5, 64, 128)
FLAX_SHAPES = [DENSE, CONV, CONV5]
TWO_D = [(256, 512), (512, 256), (300, 300)]


def to_torch(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The torch-layout shape ``(out, in, *k)`` of a flax-layout kernel ``(*k, in, out)``."""
    return (shape[-1], shape[-2], *shape[:-2])


def flax_from_torch(w: np.ndarray) -> np.ndarray:
    """A torch-layout array moved to flax layout: (out, in, *k) -> (*k, in, out)."""
    r = w.ndim
    return np.transpose(w, (*range(2, r), 1, 0))


def key_for(*parts: object) -> jax.Array:
    """A fixed key per test case (a crc of its name, so cases do not share draws)."""
    import zlib

    return jax.random.key(zlib.crc32(repr(parts).encode()))


def torch_draw(fn, shape: tuple[int, ...], seed: int, **kwargs) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    t = torch.empty(shape, dtype=torch.float32)
    fn(t, generator=g, **kwargs)
    return t.numpy().astype(np.float64)


class Drawn:
    """Draws made by torch, presented to ``jinit.testing`` with the law they must have."""

    def __init__(self, x: np.ndarray, law: Moments, name: str) -> None:
        self.x, self.law, self.name = np.asarray(x, np.float32), law, name  # torch draws float32

    def __call__(self, key, shape, dtype=None):
        return self.x

    def moments(self, shape, dtype=None):
        return self.law


def assert_draws_have_law(x: np.ndarray, law: Moments, what: str, *, uniform_edges: bool = False) -> None:
    """torch's draws ``x`` have ``law`` (``jinit.testing.assert_moments``); uniform ones reach its bound."""
    check = assert_moments(Drawn(x, law, what), x.shape, key=jax.random.key(0), n_sigma=N_SIGMA)
    if uniform_edges:
        # |x - mean| is uniform on [0, bound]: its maximum reaches within 14/n of it.
        dev = check.get("bound").measured
        assert dev >= law.bound * (1.0 - EXTREME_LOG_P / x.size), f"{what}: max {dev} never nears bound {law.bound}"


def assert_ks_same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    result = scipy.stats.ks_2samp(np.ravel(a), np.ravel(b))
    assert result.pvalue > KS_P, f"{what}: KS statistic {result.statistic:.4g}, p = {result.pvalue:.3g}"


# ---------------------------------------------------------------------------
# The law of every factory, both layouts


LAYOUT_FREE = {
    "uniform": lambda: jt.uniform(-0.5, 1.5),
    "normal": lambda: jt.normal(0.3, 2.0),
    "trunc_normal": lambda: jt.trunc_normal(),
    "constant": lambda: jt.constant(-0.5),
    "zeros": lambda: jt.zeros(),
    "ones": lambda: jt.ones(),
    "linear_bias": lambda: jt.linear_bias(300),
    "conv_bias": lambda: jt.conv_bias(144),
    "embedding": lambda: jt.embedding(),
}

LAYERED = {
    "xavier_uniform": lambda layout: jt.xavier_uniform(2.0, layout=layout),
    "xavier_normal": lambda layout: jt.xavier_normal(0.5, layout=layout),
    "kaiming_uniform": lambda layout: jt.kaiming_uniform(a=0.2, layout=layout),
    "kaiming_normal": lambda layout: jt.kaiming_normal(mode="fan_out", nonlinearity="relu", layout=layout),
    "orthogonal": lambda layout: jt.orthogonal(1.5, layout=layout),
    "dirac": lambda layout: jt.dirac(groups=2, layout=layout),
    "conv_weight": lambda layout: jt.conv_weight(layout=layout),
}
# Orthogonal's entries are not independent: its sample variance is exact
# (the squared entries sum to gain^2 min(rows, cols)), so small shapes do.
LAYERED_SHAPES = {
    "dirac": [CONV3, CONV, CONV5],
    "conv_weight": [CONV3, CONV, CONV5],
    "orthogonal": [(64, 128), (3, 3, 16, 32), (3, 3, 3, 8, 16)],
}

TWO_D_ONLY = {
    "eye": lambda layout: jt.eye(layout=layout),
    "sparse": lambda layout: jt.sparse(0.3, std=0.05, layout=layout),
    "linear_weight": lambda layout: jt.linear_weight(layout=layout),
}

LAW_CASES = (
    [pytest.param(make, s, id=f"{n}-{'x'.join(map(str, s))}") for n, make in LAYOUT_FREE.items() for s in FLAX_SHAPES]
    + [
        # trunc_normal's other regimes: asymmetric bounds, and one infinite bound.
        pytest.param(lambda: jt.trunc_normal(0.5, 2.0, 1.0, 2.5), CONV, id="trunc_normal-asymmetric"),
        pytest.param(lambda: jt.trunc_normal(0.0, 0.1, 0.0, math.inf), CONV5, id="trunc_normal-one-sided"),
    ]
    + [
        pytest.param(
            (lambda make=make, layout=layout: make(layout)),
            s if layout == "flax" else to_torch(s),
            id=f"{n}-{layout}-{'x'.join(map(str, s))}",
        )
        for n, make in LAYERED.items()
        for s in LAYERED_SHAPES.get(n, FLAX_SHAPES)
        for layout in ("flax", "torch")
    ]
    + [
        pytest.param((lambda make=make, layout=layout: make(layout)), s, id=f"{n}-{layout}-{'x'.join(map(str, s))}")
        for n, make in TWO_D_ONLY.items()
        for s in TWO_D
        for layout in ("flax", "torch")
    ]
)


@pytest.mark.parametrize(("make", "shape"), LAW_CASES)
def test_law(make, shape):
    init = make()
    assert_moments(init, shape, key=key_for("law", init, shape))


@pytest.mark.parametrize("name", sorted(LAYERED) + sorted(TWO_D_ONLY))
def test_layouts_of_one_layer_have_equal_moments(name):
    make = {**LAYERED, **TWO_D_ONLY}[name]
    shapes = TWO_D if name in TWO_D_ONLY else LAYERED_SHAPES.get(name, FLAX_SHAPES)
    for s in shapes:
        assert make("flax").moments(s) == make("torch").moments(to_torch(s)), (name, s)
    if name not in ("dirac", "orthogonal", "eye"):
        # Not a tautology: the same array read in the other layout is another
        # layer (fan_in and fan_out swap), whose law differs.
        s = (10, 7) if name in TWO_D_ONLY else CONV
        assert make("flax").moments(s) != make("torch").moments(s), (name, s)


def test_fans_from_the_formula():
    # Written out: conv kernel 3x3, in 64, out 128: fan_in 576, fan_out 1152.
    fan_in, fan_out = 3 * 3 * 64, 3 * 3 * 128
    law = jt.xavier_uniform(2.0).moments(CONV)
    assert law.bound == pytest.approx(2.0 * math.sqrt(6.0 / (fan_in + fan_out)), rel=1e-15)
    law = jt.kaiming_normal(mode="fan_out", nonlinearity="relu").moments(CONV)
    assert law.variance == pytest.approx(2.0 / fan_out, rel=1e-15)
    law = jt.kaiming_uniform(a=0.2).moments(to_torch(CONV))  # flax-layout shape read as torch: other fans
    assert law.variance == pytest.approx(2.0 / (1 + 0.04) / (128 * 3 * 64), rel=1e-15)
    assert jt.linear_weight().moments((300, 1000)).bound == pytest.approx(1 / math.sqrt(300), rel=1e-15)
    assert jt.conv_weight(layout="torch").moments((64, 16, 3, 3)).bound == pytest.approx(1 / 12, rel=1e-15)
    assert jt.orthogonal(1.5).moments(CONV).variance == pytest.approx(2.25 / 576, rel=1e-15)
    # dirac, groups=2, out 128, in 64: each group copies min(64, 64) channels.
    assert jt.dirac(groups=2).moments(CONV).mean == pytest.approx(128 / (9 * 64 * 128), rel=1e-15)


def test_trunc_normal_law_from_the_formula():
    # N(0.5, 2^2) on [1, 2.5]: a' = 0.25, b' = 1, by scipy (an independent oracle).
    ref = scipy.stats.truncnorm(0.25, 1.0, loc=0.5, scale=2.0)
    law = jt.trunc_normal(0.5, 2.0, 1.0, 2.5).moments((8,))
    assert law.mean == pytest.approx(ref.mean(), rel=1e-12)
    assert law.variance == pytest.approx(ref.var(), rel=1e-12)
    assert law.interval == (1.0, 2.5)
    # Symmetric about the mean: no interval, a bound instead.
    law = jt.trunc_normal(1.0, 0.5, 0.0, 2.0).moments((8,))
    assert law.interval is None and law.bound == pytest.approx(1.0)
    assert law.variance == pytest.approx(scipy.stats.truncnorm(-2, 2, loc=1.0, scale=0.5).var(), rel=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: jt.uniform(-0.5, 1.5),
        lambda: jt.normal(0.3, 2.0),
        lambda: jt.trunc_normal(0.5, 2.0, 1.0, 2.5),
        lambda: jt.kaiming_uniform(),
        lambda: jt.xavier_normal(),
        lambda: jt.orthogonal(),
        lambda: jt.sparse(0.5),
    ],
    ids=["uniform", "normal", "trunc_normal", "kaiming_uniform", "xavier_normal", "orthogonal", "sparse"],
)
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16], ids=["float16", "bfloat16"])
def test_law_half_precision(make, dtype):
    init = make()
    shape = (64, 128) if "Orthogonal" in type(init).__name__ else DENSE  # a smaller QR
    check = assert_moments(init, shape, key=key_for("half", init, dtype), dtype=dtype)
    assert check.dtype == jnp.dtype(dtype).name


def test_law_float64_under_x64():
    with jax.enable_x64(True):
        init = jt.trunc_normal(0.5, 2.0, 1.0, 2.5)
        check = assert_moments(init, DENSE, key=jax.random.key(3), dtype=jnp.float64)
        assert check.dtype == "float64"


# ---------------------------------------------------------------------------
# Parity with torch.nn.init


PARITY = {
    # name: (torch function and kwargs, jinit factory taking layout or None)
    "uniform": ((torch.nn.init.uniform_, {"a": -0.5, "b": 1.5}), lambda layout: jt.uniform(-0.5, 1.5)),
    "normal": ((torch.nn.init.normal_, {"mean": 0.3, "std": 2.0}), lambda layout: jt.normal(0.3, 2.0)),
    # p = 0.95 > 0.3: torch's normal-rejection branch.
    "trunc_normal": ((torch.nn.init.trunc_normal_, {}), lambda layout: jt.trunc_normal()),
    # p = Phi(1) - Phi(0.25) = 0.24 < 0.3: torch's uniform-rejection branch, asymmetric.
    "trunc_normal_tail": (
        (torch.nn.init.trunc_normal_, {"mean": 0.5, "std": 2.0, "a": 1.0, "b": 2.5}),
        lambda layout: jt.trunc_normal(0.5, 2.0, 1.0, 2.5),
    ),
    "xavier_uniform": (
        (torch.nn.init.xavier_uniform_, {"gain": 2.0}),
        lambda layout: jt.xavier_uniform(2.0, layout=layout),
    ),
    "xavier_normal": (
        (torch.nn.init.xavier_normal_, {"gain": 0.5}),
        lambda layout: jt.xavier_normal(0.5, layout=layout),
    ),
    "kaiming_uniform": (
        (torch.nn.init.kaiming_uniform_, {"a": 0.2, "mode": "fan_out"}),
        lambda layout: jt.kaiming_uniform(0.2, "fan_out", layout=layout),
    ),
    "kaiming_normal": (
        (torch.nn.init.kaiming_normal_, {"nonlinearity": "relu"}),
        lambda layout: jt.kaiming_normal(nonlinearity="relu", layout=layout),
    ),
    "kaiming_uniform_tanh": (
        (torch.nn.init.kaiming_uniform_, {"mode": "FAN_IN", "nonlinearity": "tanh"}),
        lambda layout: jt.kaiming_uniform(mode="FAN_IN", nonlinearity="tanh", layout=layout),
    ),
    # nn.Linear / nn.Conv*d's weight: kaiming_uniform_(a=sqrt(5)).
    "layer_weight": (
        (torch.nn.init.kaiming_uniform_, {"a": math.sqrt(5)}),
        lambda layout: jt.linear_weight(layout=layout),
    ),
}
UNIFORM_LAWS = {"uniform", "xavier_uniform", "kaiming_uniform", "kaiming_uniform_tanh", "layer_weight"}


@pytest.mark.parametrize("name", sorted(PARITY))
@pytest.mark.parametrize("flax_shape", [DENSE, CONV], ids=["dense", "conv"])
def test_torch_draws_have_jinit_law(name, flax_shape):
    (fn, kwargs), make = PARITY[name]
    if name == "layer_weight" and len(flax_shape) != 2:
        make = lambda layout: jt.conv_weight(layout=layout)
    t_shape = to_torch(flax_shape)
    law = make("flax").moments(flax_shape)
    assert make("torch").moments(t_shape) == law
    x = torch_draw(fn, t_shape, seed=len(name) + len(flax_shape), **kwargs)
    assert_draws_have_law(x, law, f"torch {name} {t_shape}", uniform_edges=name in UNIFORM_LAWS)
    if name.startswith("trunc_normal"):
        # Torch's draws reach both ends of jinit's interval [a, b] (density f at each end).
        a, b = law.interval if law.interval is not None else (law.mean - law.bound, law.mean + law.bound)
        mean, std = kwargs.get("mean", 0.0), kwargs.get("std", 1.0)
        z = scipy.stats.norm.cdf((b - mean) / std) - scipy.stats.norm.cdf((a - mean) / std)
        for end, extreme in ((a, x.min()), (b, x.max())):
            f = scipy.stats.norm.pdf((end - mean) / std) / (std * z)
            assert abs(extreme - end) <= EXTREME_LOG_P / (x.size * f), (name, end, extreme)


KS_CASES = sorted(PARITY)


@pytest.mark.parametrize("name", KS_CASES)
def test_ks_jinit_vs_torch(name):
    (fn, kwargs), make = PARITY[name]
    flax_shape = CONV if name.startswith(("xavier", "kaiming")) else DENSE
    x_torch = torch_draw(fn, to_torch(flax_shape), seed=100 + len(name), **kwargs)
    for layout, shape in (("flax", flax_shape), ("torch", to_torch(flax_shape))):
        init = make(layout)
        x_jinit = np.asarray(init(key_for("ks", name, layout), shape), np.float64)
        assert_ks_same(x_jinit, x_torch, f"{name} ({layout} layout)")


def test_ks_detects_a_wrong_law():
    # The KS threshold is not vacuous: a 5% wider uniform is rejected at this size.
    x_torch = torch_draw(torch.nn.init.kaiming_uniform_, to_torch(CONV), seed=7)
    wrong = np.asarray(jt.kaiming_uniform(a=0.0)(jax.random.key(8), CONV), np.float64) * 1.05
    assert scipy.stats.ks_2samp(wrong.ravel(), x_torch.ravel()).pvalue < KS_P


def test_orthogonal_matches_torch_variance_and_bound():
    for flax_shape in ((64, 128), (3, 3, 16, 32), (3, 8, 256)):
        t_shape = to_torch(flax_shape)
        x = torch_draw(torch.nn.init.orthogonal_, t_shape, seed=11, gain=1.5)
        for law in (jt.orthogonal(1.5).moments(flax_shape), jt.orthogonal(1.5, layout="torch").moments(t_shape)):
            # The squared entries of a semi-orthogonal matrix sum to gain^2 min(rows, cols) exactly.
            assert np.mean(x**2) == pytest.approx(law.variance, rel=1e-5)
            assert np.abs(x).max() <= law.bound


def test_sparse_matches_torch():
    rows, cols = 300, 200  # torch (out, in)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # sparse_ draws its permutations from the global generator
        x = torch_draw(torch.nn.init.sparse_, (rows, cols), seed=12, sparsity=0.3, std=0.05)
    zeros_torch = (x == 0).sum(axis=0)
    for layout, shape, axis in (("torch", (rows, cols), 0), ("flax", (cols, rows), 1)):
        init = jt.sparse(0.3, std=0.05, layout=layout)
        w = np.asarray(init(key_for("sparse", layout), shape))
        np.testing.assert_array_equal((w == 0).sum(axis=axis), zeros_torch)
        law = init.moments(shape)
        assert_draws_have_law(x, law, f"torch sparse vs {layout}")
        assert_ks_same(w[w != 0], x[x != 0], f"sparse non-zeros {layout}")


@pytest.mark.parametrize(("sparsity", "rows"), [(0.1, 30), (0.3, 10), (0.0, 7), (1.0, 5), (0.5, 1)])
def test_sparse_zero_count_is_torchs_ceil(sparsity, rows):
    # 0.1 * 30 = 3.0000000000000004 in floating point: torch zeroes 4 per column.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        t = torch.nn.init.sparse_(torch.empty(rows, 6), sparsity)
    expected = (t == 0).sum(dim=0).numpy()
    assert np.all(expected == expected[0])
    assert jt.sparse(sparsity, layout="torch").num_zeros((rows, 6)) == expected[0]
    assert jt.sparse(sparsity).num_zeros((6, rows)) == expected[0]
    # (the draws have exactly num_zeros zeros per input unit: test_sparse_matches_torch)


def test_sparse_zeros_are_uniformly_placed():
    # Each out position of an input unit is zero with probability n0 / out:
    # over 4000 input units, a binomial count per position.
    n_in, n_out, n0 = 4000, 10, 3
    w = np.asarray(jt.sparse(0.3)(jax.random.key(4), (n_in, n_out)))
    counts = (w == 0).sum(axis=0)
    p = n0 / n_out
    se = math.sqrt(n_in * p * (1 - p))
    assert np.all(np.abs(counts - n_in * p) <= N_SIGMA * se), counts


# ---------------------------------------------------------------------------
# Layer defaults against real torch modules


def _module(make):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(20)
        return make()


def test_linear_defaults_match_nn_linear():
    layer = _module(lambda: torch.nn.Linear(300, 1000))
    weight = layer.weight.detach().numpy().astype(np.float64)  # (out, in)
    bias = layer.bias.detach().numpy().astype(np.float64)
    w_law = jt.linear_weight().moments((300, 1000))
    assert jt.linear_weight(layout="torch").moments((1000, 300)) == w_law
    assert w_law.bound == pytest.approx(1 / math.sqrt(300), rel=1e-12)
    assert_draws_have_law(weight, w_law, "nn.Linear weight", uniform_edges=True)
    b_law = jt.linear_bias(300).moments((1000,))
    assert_draws_have_law(bias, b_law, "nn.Linear bias", uniform_edges=True)
    assert_ks_same(np.asarray(jt.linear_weight()(jax.random.key(21), (300, 1000))), weight, "linear weight")
    assert_ks_same(np.asarray(jt.linear_bias(300)(jax.random.key(22), (1000,))), bias, "linear bias")


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_defaults_match_nn_conv2d(groups):
    layer = _module(lambda: torch.nn.Conv2d(64, 128, 3, groups=groups))
    weight = layer.weight.detach().numpy().astype(np.float64)  # (128, 64 / groups, 3, 3)
    bias = layer.bias.detach().numpy().astype(np.float64)
    fan_in = 64 // groups * 9
    flax_shape = (3, 3, 64 // groups, 128)
    w_law = jt.conv_weight().moments(flax_shape)
    assert jt.conv_weight(layout="torch").moments(weight.shape) == w_law
    assert w_law.bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)
    assert_draws_have_law(weight, w_law, "nn.Conv2d weight", uniform_edges=True)
    assert_draws_have_law(bias, jt.conv_bias(fan_in).moments((128,)), "nn.Conv2d bias", uniform_edges=True)
    assert_ks_same(np.asarray(jt.conv_weight()(jax.random.key(23), flax_shape)), weight, "conv weight")


def test_conv1d_and_conv3d_weights_match():
    for make, flax_shape in (
        (lambda: torch.nn.Conv1d(32, 256, 5), (5, 32, 256)),
        (lambda: torch.nn.Conv3d(16, 64, 3), (3, 3, 3, 16, 64)),
    ):
        weight = _module(make).weight.detach().numpy().astype(np.float64)
        assert weight.shape == to_torch(flax_shape)
        law = jt.conv_weight().moments(flax_shape)
        assert_draws_have_law(weight, law, f"conv weight {weight.shape}", uniform_edges=True)


def test_embedding_matches_nn_embedding():
    weight = _module(lambda: torch.nn.Embedding(2000, 64)).weight.detach().numpy().astype(np.float64)
    law = jt.embedding().moments((2000, 64))
    assert (law.mean, law.variance) == (0.0, 1.0)
    assert_draws_have_law(weight, law, "nn.Embedding weight")
    assert_ks_same(np.asarray(jt.embedding()(jax.random.key(24), (2000, 64))), weight, "embedding")


def test_zero_fan_in_bias_is_zero_as_torch():
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        layer = _module(lambda: torch.nn.Linear(0, 4))
    np.testing.assert_array_equal(layer.bias.detach().numpy(), 0.0)
    w = jt.linear_bias(0)(jax.random.key(0), (4,))
    np.testing.assert_array_equal(np.asarray(w), 0.0)
    assert jt.linear_bias(0).moments((4,)) == Moments(mean=0.0, variance=0.0, bound=0.0)


# ---------------------------------------------------------------------------
# calculate_gain


GAIN_CASES = [
    ("linear", None),
    ("conv1d", None),
    ("conv2d", None),
    ("conv3d", None),
    ("conv_transpose1d", None),
    ("conv_transpose2d", None),
    ("conv_transpose3d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("selu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0.2),
    ("leaky_relu", 0),
    ("leaky_relu", 3),
    ("leaky_relu", -0.5),
    ("leaky_relu", math.sqrt(5)),
    ("leaky_relu", np.float64(0.3)),
    ("leaky_relu", math.inf),
    ("relu", "ignored"),
    ("tanh", True),
]


@pytest.mark.parametrize(("nonlinearity", "param"), GAIN_CASES)
def test_calculate_gain_equals_torch(nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert jt.calculate_gain(nonlinearity, param) == expected


def test_calculate_gain_nan_slope_as_torch():
    assert math.isnan(torch.nn.init.calculate_gain("leaky_relu", math.nan))
    assert math.isnan(jt.calculate_gain("leaky_relu", math.nan))


@pytest.mark.parametrize("nonlinearity", ["gelu", "silu", "identity", "ReLU", "softmax", "", None, 3, "conv4d"])
def test_calculate_gain_unsupported_as_torch(nonlinearity):
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain(nonlinearity)
    with pytest.raises(ValueError, match=r"^jinit\.torch\.calculate_gain: unsupported nonlinearity; .* got "):
        jt.calculate_gain(nonlinearity)


@pytest.mark.parametrize("param", [True, False, "0.1", np.float32(0.1), np.int64(1), [0.1]], ids=repr)
def test_calculate_gain_bad_slope_as_torch(param):
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("leaky_relu", param)
    with pytest.raises(
        ValueError, match=r"^jinit\.torch\.calculate_gain: the negative slope of leaky_relu must be an int or a float"
    ):
        jt.calculate_gain("leaky_relu", param)


def test_kaiming_gain_is_calculate_gain():
    for a, nonlinearity in ((0.0, "leaky_relu"), (0.3, "leaky_relu"), (0.3, "relu"), (0.0, "selu"), (0.0, "linear")):
        law = jt.kaiming_normal(a, nonlinearity=nonlinearity).moments((64, 32))
        assert law.variance == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, a) ** 2 / 64, rel=1e-14)


# ---------------------------------------------------------------------------
# Exact structure: dirac, eye, orthogonal


@pytest.mark.parametrize(
    ("t_shape", "groups"),
    [((4, 4, 3), 1), ((6, 4, 5, 5), 2), ((8, 3, 4, 4), 2), ((4, 6, 3, 2, 4), 1), ((9, 2, 3, 3), 3)],
)
def test_dirac_equals_torch(t_shape, groups):
    expected = torch.nn.init.dirac_(torch.empty(t_shape), groups).numpy()
    w_torch = np.asarray(jt.dirac(groups, layout="torch")(jax.random.key(0), t_shape))
    np.testing.assert_array_equal(w_torch, expected)
    flax_shape = (*t_shape[2:], t_shape[1], t_shape[0])
    w_flax = np.asarray(jt.dirac(groups)(jax.random.key(0), flax_shape))
    np.testing.assert_array_equal(w_flax, flax_from_torch(expected))
    law = jt.dirac(groups).moments(flax_shape)
    assert law.mean == pytest.approx(expected.astype(np.float64).mean(), rel=1e-12)
    assert law.variance == pytest.approx(expected.astype(np.float64).var(), rel=1e-12)


@pytest.mark.parametrize(("in_per_group", "out_per_group"), [(4, 4), (4, 2), (2, 4)])
def test_conv_with_dirac_is_identity_per_group(in_per_group, out_per_group):
    groups = 2
    x = np.random.default_rng(1).standard_normal((2, 7, 6, groups * in_per_group)).astype(np.float32)
    w = jt.dirac(groups)(jax.random.key(0), (3, 3, in_per_group, groups * out_per_group))
    y = np.asarray(
        jax.lax.conv_general_dilated(
            jnp.asarray(x), w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups
        )
    )
    for g in range(groups):
        for d in range(out_per_group):
            out = y[..., g * out_per_group + d]
            if d < in_per_group:  # output channel d of group g copies input channel d of group g
                np.testing.assert_array_equal(out, x[..., g * in_per_group + d])
            else:
                np.testing.assert_array_equal(out, 0.0)


def test_dirac_centre_is_k_floor_half_unlike_delta_orthogonal():
    w = np.asarray(jt.dirac()(jax.random.key(0), (4, 2, 2)))  # even k: centre 2, not (4 - 1) // 2 = 1
    np.testing.assert_array_equal(w[2], np.eye(2))
    np.testing.assert_array_equal(w[[0, 1, 3]], 0.0)
    delta = np.asarray(jinit.delta_orthogonal()(jax.random.key(0), (4, 2, 2)))
    assert np.abs(delta[1]).sum() > 0 and np.abs(delta[2]).sum() == 0


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: jt.dirac(), (3, 3, 65536, 65536)),
        (lambda: jt.dirac(4, layout="torch"), (65536, 65536, 3, 3)),
        (lambda: jt.eye(), (1 << 20, 1 << 20)),
    ],
    ids=["dirac-flax", "dirac-torch", "eye"],
)
def test_structured_kernels_stay_abstract_under_eval_shape(make, shape):
    # 3 * 3 * 65536**2 float32 entries are 155 GB: a kernel built on the host
    # would be materialised (or fail to be) before jax saw it.
    init = make()
    out = jax.eval_shape(lambda k: init(k, shape), jax.random.key(0))
    assert isinstance(out, jax.ShapeDtypeStruct)
    assert (out.shape, out.dtype) == (shape, jnp.dtype(jnp.float32))


@pytest.mark.parametrize("t_shape", [(3, 5), (5, 3), (4, 4)])
def test_eye_equals_torch(t_shape):
    expected = torch.nn.init.eye_(torch.empty(t_shape)).numpy()
    np.testing.assert_array_equal(np.asarray(jt.eye(layout="torch")(jax.random.key(0), t_shape)), expected)
    flax = np.asarray(jt.eye()(jax.random.key(0), t_shape[::-1]))
    np.testing.assert_array_equal(flax, expected.T)
    assert jt.eye().moments(t_shape[::-1]).mean == pytest.approx(expected.mean(), rel=1e-12)


@pytest.mark.parametrize("flax_shape", [(16, 8), (3, 3, 4, 64)])  # tall and wide in each layout
@pytest.mark.parametrize("layout", ["flax", "torch"])
def test_orthogonal_is_semi_orthogonal(flax_shape, layout):
    gain = 1.5
    shape = flax_shape if layout == "flax" else to_torch(flax_shape)
    w = np.asarray(jt.orthogonal(gain, layout=layout)(jax.random.key(9), shape), np.float64)
    # torch's matrix: rows = out, columns = in * prod(k), in either layout.
    m = w.reshape(-1, shape[-1]).T if layout == "flax" else w.reshape(shape[0], -1)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-5)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_orthogonal_half_precision_is_orthogonal(dtype):
    w = np.asarray(jt.orthogonal()(jax.random.key(1), (64, 32), dtype), np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(32), atol=8 * float(jnp.finfo(dtype).eps))


# ---------------------------------------------------------------------------
# dtypes


ALL_FACTORIES = {
    "uniform": (jt.uniform, (8, 16)),
    "normal": (jt.normal, (8, 16)),
    "trunc_normal": (jt.trunc_normal, (8, 16)),
    "constant": (lambda **kw: jt.constant(2.0, **kw), (8, 16)),
    "zeros": (jt.zeros, (8, 16)),
    "ones": (jt.ones, (8, 16)),
    "eye": (jt.eye, (8, 16)),
    "dirac": (jt.dirac, (3, 8, 16)),
    "xavier_uniform": (jt.xavier_uniform, (8, 16)),
    "xavier_normal": (jt.xavier_normal, (8, 16)),
    "kaiming_uniform": (jt.kaiming_uniform, (8, 16)),
    "kaiming_normal": (jt.kaiming_normal, (8, 16)),
    "orthogonal": (jt.orthogonal, (8, 16)),
    "sparse": (lambda **kw: jt.sparse(0.5, **kw), (8, 16)),
    "linear_weight": (jt.linear_weight, (8, 16)),
    "linear_bias": (lambda **kw: jt.linear_bias(8, **kw), (16,)),
    "conv_weight": (jt.conv_weight, (3, 8, 16)),
    "conv_bias": (lambda **kw: jt.conv_bias(24, **kw), (16,)),
    "embedding": (jt.embedding, (8, 16)),
}


@pytest.mark.parametrize("name", sorted(ALL_FACTORIES))
def test_zero_size_gives_an_empty_array_without_a_warning(name):
    # torch's kaiming_* warn "Initializing zero-element tensors is a no-op" and
    # return the tensor; jinit returns the empty array, as jax does, and does
    # not warn (the suite turns warnings into errors): docs/differences.md.
    make, shape = ALL_FACTORIES[name]
    empty = (*shape[:-1], 0)
    init = make()
    x = init(jax.random.key(0), empty, jnp.bfloat16)
    assert (x.shape, x.dtype) == (empty, jnp.dtype(jnp.bfloat16))
    assert init.moments(empty) is None


def test_torch_warns_on_zero_size_where_jinit_does_not():
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        torch.nn.init.kaiming_uniform_(torch.empty(0, 16))
    assert jt.kaiming_uniform()(jax.random.key(0), (16, 0)).shape == (16, 0)


@pytest.mark.parametrize("name", sorted(ALL_FACTORIES))
def test_factory_dtype_is_the_default(name):
    make, shape = ALL_FACTORIES[name]
    init = make(dtype=jnp.bfloat16)
    out = jax.eval_shape(lambda k: init(k, shape), jax.random.key(0))
    assert (out.shape, out.dtype) == (shape, jnp.dtype(jnp.bfloat16))
    with pytest.raises(ValueError, match=rf"^jinit\.torch\.{name}: `dtype` must be a floating-point"):
        make(dtype=jnp.int32)


def test_public_names():
    expected = {
        "uniform",
        "normal",
        "constant",
        "zeros",
        "ones",
        "eye",
        "dirac",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "trunc_normal",
        "orthogonal",
        "sparse",
        "calculate_gain",
        "linear_weight",
        "linear_bias",
        "conv_weight",
        "conv_bias",
        "embedding",
    }
    assert set(jt.__all__) == expected
    names = {e.name for e in law_cases.entries()}
    for n in expected - {"calculate_gain"}:
        assert f"torch.{n}" in names
        entry = law_cases.get(f"torch.{n}")
        assert len(entry.cases()) >= 3


def test_jinit_never_imports_torch():
    root = pathlib.Path(jinit.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module or ""]
            else:
                continue
            assert not any(m == "torch" or m.startswith("torch.") for m in mods), f"{path} imports torch"


def test_equal_by_value():
    assert jt.kaiming_uniform(nonlinearity="relu") == jt.kaiming_uniform()  # both gain sqrt(2)
    assert jt.kaiming_uniform(mode="FAN_OUT") == jt.kaiming_uniform(mode="fan_out")
    assert jt.xavier_uniform(layout="torch") != jt.xavier_uniform()
    assert jt.linear_bias(16) != jt.conv_bias(25)


# ---------------------------------------------------------------------------
# Errors: every message


def raises(exc, pattern):
    return pytest.raises(exc, match=r"^jinit\.torch\." + pattern)


LAYOUT_FACTORIES = {
    "eye": jt.eye,
    "dirac": jt.dirac,
    "xavier_uniform": jt.xavier_uniform,
    "xavier_normal": jt.xavier_normal,
    "kaiming_uniform": jt.kaiming_uniform,
    "kaiming_normal": jt.kaiming_normal,
    "orthogonal": jt.orthogonal,
    "sparse": lambda **kw: jt.sparse(0.1, **kw),
    "linear_weight": jt.linear_weight,
    "conv_weight": jt.conv_weight,
}


@pytest.mark.parametrize("name", sorted(LAYOUT_FACTORIES))
def test_bad_layout(name):
    with raises(ValueError, rf"{name}: `layout` must be one of 'flax', 'torch'; got layout='tf'\."):
        LAYOUT_FACTORIES[name](layout="tf")


def test_uniform_errors():
    with raises(ValueError, r"uniform: `a` must be less than `b`; got a=1\.0, b=1\.0\."):
        jt.uniform(1.0, 1.0)
    with raises(ValueError, r"uniform: `a` must be less than `b`; got a=2, b=1\."):
        jt.uniform(2, 1)
    with raises(ValueError, r"uniform: `b - a` must be finite; got a=-1e\+308, b=1e\+308\."):
        jt.uniform(-1e308, 1e308)
    with raises(ValueError, r"uniform: `b` must be finite; got b=inf\."):
        jt.uniform(0.0, math.inf)
    with raises(TypeError, r"uniform: `a` must be a real number; got '0'\."):
        jt.uniform("0")


def test_normal_errors():
    with raises(ValueError, r"normal: `std` must be positive; got std=0\.0\."):
        jt.normal(0.0, 0.0)
    with raises(ValueError, r"normal: `mean` must be finite; got mean=nan\."):
        jt.normal(math.nan)
    with raises(TypeError, r"normal: `std` must be a real number; got True\."):
        jt.normal(std=True)


def test_trunc_normal_errors():
    with raises(ValueError, r"trunc_normal: `std` must be positive; got std=-1\.0\."):
        jt.trunc_normal(std=-1.0)
    with raises(ValueError, r"trunc_normal: `a` must not be NaN; got a=nan\."):
        jt.trunc_normal(a=math.nan)
    with raises(TypeError, r"trunc_normal: `b` must be a real number; got None\."):
        jt.trunc_normal(b=None)
    with raises(ValueError, r"trunc_normal: `a` must be less than `b`; got a=2\.0, b=-2\.0\."):
        jt.trunc_normal(a=2.0, b=-2.0)
    with raises(ValueError, r"trunc_normal: \[`a`, `b`\] must hold at least 0\.0001 of the mass .* \(mass 3\.1"):
        jt.trunc_normal(0.0, 1.0, 4.0, 5.0)
    with raises(ValueError, r"trunc_normal: `mean` must be finite; got mean=inf\."):
        jt.trunc_normal(math.inf)


def test_constant_errors():
    with raises(ValueError, r"constant: `val` must be finite; got val=nan\."):
        jt.constant(math.nan)
    with raises(TypeError, r"constant: `val` must be a real number; got 'a'\."):
        jt.constant("a")


def test_gain_errors():
    for name, make in (("xavier_uniform", jt.xavier_uniform), ("xavier_normal", jt.xavier_normal)):
        with raises(ValueError, rf"{name}: `gain` must be positive; got gain=0\.0\."):
            make(0.0)
    with raises(ValueError, r"orthogonal: `gain` must be positive; got gain=-1\.0\."):
        jt.orthogonal(-1.0)
    with raises(TypeError, r"orthogonal: `gain` must be a real number; got '1'\."):
        jt.orthogonal("1")


@pytest.mark.parametrize("name", ["kaiming_uniform", "kaiming_normal"])
def test_kaiming_errors(name):
    make = getattr(jt, name)
    with raises(ValueError, rf"{name}: `mode` must be one of 'fan_in', 'fan_out'; got mode='fan_avg'\."):
        make(mode="fan_avg")
    with raises(ValueError, rf"{name}: `mode` must be one of 'fan_in', 'fan_out'; got mode=3\."):
        make(mode=3)
    with raises(ValueError, rf"{name}: unsupported nonlinearity; torch's table has .*; got 'gelu'\."):
        make(nonlinearity="gelu")
    with raises(TypeError, rf"{name}: `a` must be a real number; got True\."):
        make(a=True)
    with raises(ValueError, rf"{name}: `a` must be finite; got a=nan\."):
        make(a=math.nan)


def test_dirac_errors(key):
    with raises(TypeError, r"dirac: `groups` must be an int; got groups=1\.0\."):
        jt.dirac(1.0)
    with raises(ValueError, r"dirac: `groups` must be at least 1; got groups=0\."):
        jt.dirac(0)
    with raises(
        ValueError,
        r"dirac: shape needs 3, 4 or 5 dimensions \(a Conv1d, Conv2d or Conv3d kernel\); got shape=\(4, 4\)\.",
    ):
        jt.dirac()(key, (4, 4))
    with raises(ValueError, r"dirac: shape needs 3, 4 or 5 .*; got shape=\(1, 1, 1, 1, 1, 1\)\."):
        jt.dirac().moments((1, 1, 1, 1, 1, 1))
    with raises(
        ValueError,
        r"dirac: the out channels \(shape\[-1\] in flax layout\) must be divisible by `groups`; "
        r"got shape=\(3, 4, 5\), groups=2\.",
    ):
        jt.dirac(2)(key, (3, 4, 5))
    with raises(ValueError, r"dirac: the out channels \(shape\[0\] in torch layout\) must be divisible by `groups`"):
        jt.dirac(2, layout="torch")(key, (5, 4, 3))
    # torch refuses the same shapes.
    with pytest.raises(ValueError):
        torch.nn.init.dirac_(torch.empty(5, 4, 3), 2)


def test_two_d_only_errors(key):
    for name, init in (("eye", jt.eye()), ("sparse", jt.sparse(0.1))):
        with raises(ValueError, rf"{name}: shape needs 2 dimensions \(a Linear weight\); got shape=\(2, 3, 4\)\."):
            init(key, (2, 3, 4))
        with pytest.raises(ValueError):  # torch refuses it too
            getattr(torch.nn.init, f"{name}_")(torch.empty(2, 3, 4), *([0.1] if name == "sparse" else []))
    with raises(ValueError, r"linear_weight: shape needs 2 dimensions \(a Linear weight\); got shape=\(3, 3, 4\)\."):
        jt.linear_weight()(key, (3, 3, 4))
    with raises(
        ValueError,
        r"conv_weight: shape needs 3 or 4 or 5 dimensions \(a Conv1d, Conv2d or Conv3d kernel\); got shape=\(3, 4\)\.",
    ):
        jt.conv_weight().moments((3, 4))


def test_sparse_errors():
    with raises(ValueError, r"sparse: `sparsity` must be in \[0, 1\]; got sparsity=1\.5\."):
        jt.sparse(1.5)
    with raises(ValueError, r"sparse: `sparsity` must be in \[0, 1\]; got sparsity=-0\.1\."):
        jt.sparse(-0.1)
    with raises(TypeError, r"sparse: `sparsity` must be a real number; got None\."):
        jt.sparse(None)
    with raises(ValueError, r"sparse: `std` must be positive; got std=0\.0\."):
        jt.sparse(0.1, 0.0)


def test_rank_errors(key):
    with raises(ValueError, r"orthogonal: shape needs at least 2 dimensions; got shape=\(5,\)\."):
        jt.orthogonal()(key, (5,))
    for name in ("xavier_uniform", "kaiming_normal"):
        with raises(ValueError, rf"{name}: fans need an array of at least 2 dimensions; got shape=\(5,\)\."):
            getattr(jt, name)()(key, (5,))


@pytest.mark.parametrize("name", ["linear_bias", "conv_bias"])
def test_bias_errors(name):
    make = getattr(jt, name)
    with raises(TypeError, rf"{name}: `fan_in` must be an int; got fan_in=3\.0\."):
        make(3.0)
    with raises(TypeError, rf"{name}: `fan_in` must be an int; got fan_in=True\."):
        make(True)
    with raises(ValueError, rf"{name}: `fan_in` must be non-negative; got fan_in=-1\."):
        make(-1)


def test_draws_that_overflow_the_dtype(key):
    # float16 holds 65504: each law reaches past it (a normal: 9 std, base.OVERFLOW_SIGMAS).
    cases = [
        (jt.uniform(0.0, 1e6), "uniform", r"1e\+06"),
        (jt.normal(std=1e4), "normal", r"9e\+04"),
        (jt.trunc_normal(0.0, 1e4, -1e5, 1e5), "trunc_normal", r"8e\+04"),  # clamped at 8 std
        (jt.constant(1e5), "constant", r"1e\+05"),
        (jt.orthogonal(1e5), "orthogonal", r"1e\+05"),
        (jt.sparse(0.5, 1e4), "sparse", r"9e\+04"),  # 9 std of the non-zeros, not of the diluted law
        (jt.xavier_uniform(1e6), "xavier_uniform", r"5e\+05"),  # 1e6 * sqrt(6 / 24)
    ]
    for init, name, reach in cases:
        pattern = (
            rf"{name}: draws reach {reach}, beyond the largest finite float16 \(6\.55e\+04\); use a wider dtype "
            r"or smaller hyperparameters; got shape=\(8, 16\)\.$"
        )
        with raises(ValueError, pattern):
            init(key, (8, 16), jnp.float16)
        with raises(ValueError, pattern):
            init.moments((8, 16), jnp.float16)
        assert init.moments((8, 16), jnp.float32) is not None  # float32 holds them
    with raises(ValueError, r"trunc_normal: draws reach 8e\+38, beyond the largest finite bfloat16"):
        jt.trunc_normal(0.0, 1e38, -math.inf, 0.0).moments((2,), jnp.bfloat16)


def test_standard_deviation_below_the_dtype(key):
    # The same check as every jinit scheme: a spread below float16's smallest normal (6.1e-05) raises.
    pattern = r"normal: the standard deviation 1e-06 is below the smallest normal float16 \(6\.1e-05\)"
    with raises(ValueError, pattern):
        jt.normal(std=1e-6)(key, (4,), jnp.float16)
    with raises(ValueError, pattern):
        jt.normal(std=1e-6).moments((4,), jnp.float16)
    assert jt.normal(std=1e-6).moments((4,), jnp.float32).variance == pytest.approx(1e-12)


# ---------------------------------------------------------------------------
# Any hyperparameters, shapes and dtypes: a law or a clear error, never a crash


HYPER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from([None, True, "x", 0.0, 1.0, 0.5, -2.0, 2.0]),
)
FACTORY_ARITY = {
    "uniform": 2,
    "normal": 2,
    "trunc_normal": 4,
    "constant": 1,
    "zeros": 0,
    "ones": 0,
    "eye": 0,
    "dirac": 1,
    "xavier_uniform": 1,
    "xavier_normal": 1,
    "kaiming_uniform": 1,
    "kaiming_normal": 1,
    "orthogonal": 1,
    "sparse": 2,
    "linear_weight": 0,
    "linear_bias": 1,
    "conv_weight": 0,
    "conv_bias": 1,
    "embedding": 0,
}


@hypothesis.settings(max_examples=300, deadline=None, derandomize=True, database=None)
@hypothesis.given(
    name=st.sampled_from(sorted(FACTORY_ARITY)),
    args=st.lists(HYPER, min_size=4, max_size=4),
    layout=st.sampled_from([None, "flax", "torch", "jax"]),
    shape=st.lists(st.integers(0, 6), min_size=0, max_size=5).map(tuple),
    dtype=st.sampled_from([jnp.float16, jnp.bfloat16, jnp.float32, jnp.int32, jnp.bool_, jnp.complex64]),
)
def test_any_input_gives_a_law_or_a_clear_error(name, args, layout, shape, dtype):
    prefix = f"jinit.torch.{name}: "
    kwargs = {} if layout is None or name not in LAYOUT_FACTORIES else {"layout": layout}
    try:
        init = getattr(jt, name)(*args[: FACTORY_ARITY[name]], **kwargs)
    except (ValueError, TypeError) as e:
        assert str(e).startswith(prefix), str(e)
        return
    try:
        law = init.moments(shape, dtype)
    except (ValueError, TypeError) as e:
        assert str(e).startswith(prefix), str(e)
        return
    if law is None:
        assert math.prod(shape) == 0
        return
    assert math.isfinite(law.mean) and math.isfinite(law.variance) and law.variance >= 0.0, law
    assert law.bound is None or law.bound >= 0.0, law
