"""Parity with ``jax.nn.initializers``, and every place where jinit differs.

For every jax-compatible name, the same key gives the same values as jax (to
a few ulp), in float32, bfloat16 and float16, eager and under ``jax.jit``, on
a dense, an embedding, a conv, a stacked (batch_axis) and a DenseGeneral
(tuple in_axis) kernel. Where jax raises or returns NaN (zero-size shapes, half
precision and ``out_sharding`` for the orthogonal family, bad
hyperparameters), jinit gives the right thing: both sides are tested, so a
jax release that changes its behaviour shows up here (and in
docs/differences.md).
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit._src.random.householder import MIN_STEWART

J = jax.nn.initializers

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
NAMED = (
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_uniform",
    "lecun_normal",
)

#: kernel kinds: shape and the axes passed to every fan-dependent factory.
KINDS = {
    "dense": ((8, 16), {}),
    "embed": ((16, 8), {"in_axis": -1, "out_axis": 0}),  # flax.linen.Embed's law
    "conv": ((3, 3, 8, 16), {}),
    "stack": ((4, 8, 16), {"batch_axis": 0}),
    # DenseGeneral: the stack's shape again, so that jax's samplers compile once for both.
    "general": ((4, 8, 16), {"in_axis": (0, 1), "out_axis": -1}),
}
DTYPES = [jnp.float32, jnp.bfloat16, jnp.float16]


def pairs(axes: dict) -> dict[str, tuple[jinit.Initializer, J.Initializer]]:
    """name -> (jinit initializer, jax initializer) with the same hyperparameters."""
    out = {
        "zeros": (jinit.zeros, J.zeros),
        "ones": (jinit.ones, J.ones),
        "constant": (jinit.constant(-0.3), J.constant(-0.3)),
        "uniform": (jinit.uniform(0.2), J.uniform(0.2)),
        "normal": (jinit.normal(0.3), J.normal(0.3)),
        "truncated_normal": (jinit.truncated_normal(0.3), J.truncated_normal(0.3)),
        "truncated_normal_asym": (
            jinit.truncated_normal(0.3, lower=-1.0, upper=3.0),
            J.truncated_normal(0.3, lower=-1.0, upper=3.0),
        ),
    }
    for mode in MODES:
        for dist in DISTRIBUTIONS:
            out[f"variance_scaling-{mode}-{dist}"] = (
                jinit.variance_scaling(1.7, mode, dist, **axes),
                J.variance_scaling(1.7, mode, dist, **axes),
            )
    for name in NAMED:
        out[name] = (getattr(jinit, name)(**axes), getattr(J, name)(**axes))
    return out


def assert_parity(ours: dict, theirs: dict, inits: dict, shape, dtype, ulps: int = 4) -> None:
    """Each named array equal up to ``ulps`` roundings of ``dtype`` (rtol, and atol at the law's scale)."""
    assert ours.keys() == theirs.keys()
    eps = float(jnp.finfo(dtype).eps)
    for name in ours:
        a, b = ours[name], theirs[name]
        chex.assert_type(a, b.dtype)
        chex.assert_shape(a, b.shape)
        law = inits[name][0].moments(shape, dtype)
        scale = math.sqrt(law.variance + law.mean**2)
        wide = np.complex128 if jnp.issubdtype(a.dtype, jnp.complexfloating) else np.float64
        chex.assert_trees_all_close(
            np.asarray(a, wide),
            np.asarray(b, wide),
            rtol=ulps * eps,
            atol=ulps * eps * scale,
            custom_message=f"{name}, shape={shape}, dtype={jnp.dtype(dtype).name}",
        )


# jax's own samplers compile slowly on CPU (a rolled Threefry loop per
# sampler, shape and dtype, several seconds from rank 3 on, tens of seconds
# for a rank-4 conv kernel), so the cases are chosen to cover each code path
# once. The constants, which are what the dtype changes, depend on the fans
# only: the dtype sweep runs on the dense kernel, the other kinds in float32,
# the conv kernel with the truncated-normal schemes only (Flax's default
# lecun_normal among them), which share one jax sampler.
# The stacked kernel's fans (batch_axis) are the same code eager or jitted: it runs under jit only (below),
# where jax's samplers compile once for all names instead of once per sampler (12 s eager).
EAGER = [("dense", dtype) for dtype in DTYPES] + [
    ("embed", jnp.float32),
    ("general", jnp.float32),
    ("conv", jnp.float32),
]
# Under jit only the code path matters, not the mode: one initializer per path.
JIT_NAMES = (
    "zeros",
    "constant",
    "uniform",
    "normal",
    "truncated_normal_asym",
    "variance_scaling-fan_geo_avg-truncated_normal",
    "variance_scaling-fan_out-normal",
    "variance_scaling-fan_avg-uniform",
    "he_normal",
    "glorot_uniform",
)
JIT = [("dense", dtype) for dtype in DTYPES] + [("stack", jnp.float32)]
CONV_NAMES = {"glorot_normal", "he_normal", "lecun_normal", "xavier_normal", "kaiming_normal"} | {
    f"variance_scaling-{mode}-truncated_normal" for mode in MODES
}


def _ids(cases):
    return [f"{kind}-{jnp.dtype(dtype).name}" for kind, dtype in cases]


@pytest.mark.parametrize(("kind", "dtype"), EAGER, ids=_ids(EAGER))
def test_same_values_as_jax_eager(kind, dtype):
    shape, axes = KINDS[kind]
    inits = pairs(axes)
    if kind == "conv":
        inits = {n: p for n, p in inits.items() if n in CONV_NAMES}
        assert len(inits) == len(CONV_NAMES)
    key = jax.random.key(42)
    ours = {n: p[0](key, shape, dtype) for n, p in inits.items()}
    theirs = {n: p[1](key, shape, dtype) for n, p in inits.items()}
    assert_parity(ours, theirs, inits, shape, dtype)


@pytest.mark.parametrize(("kind", "dtype"), JIT, ids=_ids(JIT))
def test_same_values_as_jax_jit(kind, dtype):
    shape, axes = KINDS[kind]
    names = JIT_NAMES if kind == "dense" else ("uniform", "normal", "he_normal")
    inits = {n: p for n, p in pairs(axes).items() if n in names}
    assert len(inits) == len(names)
    key = jax.random.key(43)
    # One program per library holding every initializer: one compile each.
    ours = jax.jit(lambda k: {n: p[0](k, shape, dtype) for n, p in inits.items()})(key)
    theirs = jax.jit(lambda k: {n: p[1](k, shape, dtype) for n, p in inits.items()})(key)
    assert_parity(ours, theirs, inits, shape, dtype)


def test_same_values_as_jax_legacy_key():
    shape, axes = KINDS["dense"]
    inits = pairs(axes)
    key = jax.random.key_data(jax.random.key(44))
    ours = {n: p[0](key, shape) for n, p in inits.items()}
    theirs = {n: p[1](key, shape) for n, p in inits.items()}
    assert_parity(ours, theirs, inits, shape, jnp.float32)


@pytest.mark.parametrize("kind", ["dense", "embed"])
def test_same_values_as_jax_complex(kind):
    """Complex normal and uniform (disk) match jax; truncated_normal differs (test_laws.py)."""
    shape, axes = KINDS[kind]
    inits = {"normal": (jinit.normal(0.3), J.normal(0.3))}
    for mode in MODES:
        for dist in ("normal", "uniform"):
            inits[f"{mode}-{dist}"] = (
                jinit.variance_scaling(1.7, mode, dist, **axes),
                J.variance_scaling(1.7, mode, dist, **axes),
            )
    key = jax.random.key(45)
    ours = {n: p[0](key, shape, jnp.complex64) for n, p in inits.items()}
    theirs = {n: p[1](key, shape, jnp.complex64) for n, p in inits.items()}
    assert_parity(ours, theirs, inits, shape, jnp.complex64)


def test_complex_truncated_normal_differs_by_the_renormalisation():
    shape = (8, 16)
    key = jax.random.key(46)
    ours = jinit.variance_scaling(1.7, "fan_in", "truncated_normal")(key, shape, jnp.complex64)
    theirs = J.variance_scaling(1.7, "fan_in", "truncated_normal")(key, shape, jnp.complex64)
    # sqrt(P(|z|^2 <= 4)) for |z|^2 ~ Exp(1): derived in test_laws.py by quadrature.
    factor = math.sqrt(1.0 - math.exp(-4.0))
    eps = float(jnp.finfo(jnp.float32).eps)
    chex.assert_trees_all_close(ours, theirs * np.complex64(factor), rtol=8 * eps, atol=8 * eps * 0.5)


def test_jax_names_exist_with_the_same_defaults():
    for name in [n for n in dir(J) if not n.startswith("_") and n != "Initializer"]:
        assert hasattr(jinit, name), name
    assert jinit.xavier_uniform is jinit.glorot_uniform
    assert jinit.kaiming_normal is jinit.he_normal
    assert jinit.glorot_uniform() == jinit.variance_scaling(1.0, "fan_avg", "uniform")
    assert jinit.he_normal() == jinit.variance_scaling(2.0, "fan_in", "truncated_normal")
    assert jinit.lecun_normal() == jinit.variance_scaling(1.0, "fan_in", "truncated_normal")
    assert jinit.uniform() == jinit.uniform(1e-2)
    assert jinit.normal() == jinit.normal(1e-2)
    assert jinit.truncated_normal() == jinit.truncated_normal(1e-2, None, -2.0, 2.0)
    assert jinit.orthogonal() == jinit.orthogonal(1.0, -1)
    assert jinit.delta_orthogonal() == jinit.delta_orthogonal(1.0, -1)


# ---------------------------------------------------------------------------
# The orthogonal family: equal in float32; jinit also does half precision,
# out_sharding and (beyond jax) batch_axis.

ORTHO = [((8, 16), -1, 1.0), ((16, 8), -1, 2.0), ((3, 3, 8, 16), -1, 1.0), ((6, 5, 4), 0, 1.3), ((4, 8, 8), -1, 1.0)]


@pytest.mark.parametrize(("shape", "column_axis", "scale"), ORTHO, ids=str)
def test_orthogonal_same_values_as_jax(shape, column_axis, scale):
    key = jax.random.key(47)
    ours = jinit.orthogonal(scale, column_axis)(key, shape)
    theirs = J.orthogonal(scale, column_axis)(key, shape)
    eps = float(jnp.finfo(jnp.float32).eps)
    chex.assert_trees_all_close(ours, theirs, rtol=4 * eps, atol=4 * eps * scale)
    jitted = jax.jit(lambda k: jinit.orthogonal(scale, column_axis)(k, shape))(key)
    chex.assert_trees_all_close(jitted, theirs, rtol=4 * eps, atol=4 * eps * scale)


def test_large_orthogonal_same_law_other_values():
    """From MIN_STEWART columns on, jinit builds Q by Stewart's Householder method:
    the same Haar law (test_orthogonal.py) without LAPACK's QR, but other values."""
    key = jax.random.key(62)
    below, at = (MIN_STEWART + 8, MIN_STEWART - 1), (MIN_STEWART + 8, MIN_STEWART)
    eps = float(jnp.finfo(jnp.float32).eps)
    ours, theirs = jinit.orthogonal()(key, below), J.orthogonal()(key, below)
    chex.assert_trees_all_close(ours, theirs, rtol=4 * eps, atol=4 * eps)
    ours, theirs = np.asarray(jinit.orthogonal()(key, at)), np.asarray(J.orthogonal()(key, at))
    assert np.abs(ours - theirs).max() > 0.1
    gram = ours.astype(np.float64).T @ ours.astype(np.float64)
    np.testing.assert_allclose(gram, np.eye(MIN_STEWART), atol=4 * MIN_STEWART * eps)


@pytest.mark.parametrize("shape", [(MIN_STEWART + 8, MIN_STEWART), (MIN_STEWART, 2 * MIN_STEWART)], ids=str)
def test_qr_method_gives_jax_values_at_every_size(shape):
    """``method="qr"`` keeps the promise of jax's values where ``"auto"`` would pick Householder."""
    key = jax.random.key(63)
    eps = float(jnp.finfo(jnp.float32).eps)
    ours, theirs = jinit.orthogonal(method="qr")(key, shape), J.orthogonal()(key, shape)
    chex.assert_trees_all_close(ours, theirs, rtol=4 * eps, atol=4 * eps)
    tap = (3, MIN_STEWART, MIN_STEWART + 8)
    ours, theirs = jinit.delta_orthogonal(method="qr")(key, tap), J.delta_orthogonal()(key, tap)
    chex.assert_trees_all_close(ours, theirs, rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("shape", [(3, 8, 16), (3, 3, 8, 8), (3, 3, 3, 4, 8)], ids=str)
def test_delta_orthogonal_same_values_as_jax(shape):
    key = jax.random.key(48)
    ours = jinit.delta_orthogonal(0.8)(key, shape)
    theirs = J.delta_orthogonal(0.8)(key, shape)
    eps = float(jnp.finfo(jnp.float32).eps)
    chex.assert_trees_all_close(ours, theirs, rtol=4 * eps, atol=4 * eps * 0.8)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16], ids=lambda d: jnp.dtype(d).name)
def test_orthogonal_half_precision_jax_raises_jinit_works(dtype):
    key = jax.random.key(49)
    for ours, theirs, shape in (
        (jinit.orthogonal(1.5), J.orthogonal(1.5), (16, 8)),
        (jinit.delta_orthogonal(1.5), J.delta_orthogonal(1.5), (3, 8, 16)),
    ):
        with pytest.raises(NotImplementedError):
            theirs(key, shape, dtype)
        w = ours(key, shape, dtype)
        chex.assert_type(w, dtype)
        # jax's float32 result, rounded once: at most one ulp apart (|w| <= scale).
        eps = float(jnp.finfo(dtype).eps)
        reference = theirs(key, shape, jnp.float32)
        chex.assert_trees_all_close(
            np.asarray(w, np.float64), np.asarray(reference.astype(dtype), np.float64), rtol=0.0, atol=eps * 1.5
        )


def test_orthogonal_out_sharding_jax_raises_jinit_works():
    mesh = jax.make_mesh((1,), ("x",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    key = jax.random.key(50)
    for ours, theirs, shape in (
        (jinit.orthogonal(), J.orthogonal(), (8, 8)),
        (jinit.delta_orthogonal(), J.delta_orthogonal(), (3, 8, 8)),
    ):
        with pytest.raises(NotImplementedError):
            theirs(key, shape, None, sharding)
        w = ours(key, shape, None, sharding)
        assert w.sharding.is_equivalent_to(sharding, len(shape))
        eps = float(jnp.finfo(jnp.float32).eps)
        chex.assert_trees_all_close(w, theirs(key, shape), rtol=4 * eps, atol=4 * eps)


def test_orthogonal_batch_axis_is_beyond_jax():
    with pytest.raises(TypeError):
        J.orthogonal(batch_axis=0)  # jax has no batch_axis
    # jinit: slice i is Haar-orthogonal; jax flattens the stack (tested in test_orthogonal.py).
    w = jinit.orthogonal(batch_axis=0)(jax.random.key(51), (3, 8, 8))
    g = jnp.einsum("bij,bik->bjk", w, w)
    eps = float(jnp.finfo(jnp.float32).eps)
    chex.assert_trees_all_close(g, jnp.broadcast_to(jnp.eye(8), (3, 8, 8)), atol=64 * eps, rtol=0.0)


# ---------------------------------------------------------------------------
# Zero-size shapes: jax divides by a zero fan; jinit returns an empty array.


@pytest.mark.parametrize("shape", [(0, 16), (8, 0), (3, 3, 0, 16), (0, 0)], ids=str)
@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal", "lecun_uniform", "xavier_normal"])
def test_zero_size_jax_raises_jinit_works(name, shape):
    key = jax.random.key(52)
    with pytest.raises(ZeroDivisionError):
        getattr(J, name)()(key, shape)
    w = getattr(jinit, name)()(key, shape, jnp.bfloat16)
    chex.assert_shape(w, shape)
    chex.assert_type(w, jnp.bfloat16)
    assert getattr(jinit, name)().moments(shape) is None


@pytest.mark.parametrize("mode", MODES)
def test_zero_size_every_mode(mode):
    key = jax.random.key(53)
    for shape in ((0, 16), (3, 3, 8, 0)):
        with pytest.raises(ZeroDivisionError):
            J.variance_scaling(1.0, mode, "normal")(key, shape)
        chex.assert_shape(jinit.variance_scaling(1.0, mode, "normal")(key, shape), shape)


def test_zero_size_where_jax_also_works():
    key = jax.random.key(54)
    for ours, theirs, shape in (
        (jinit.normal(), J.normal(), (0, 3)),
        (jinit.orthogonal(), J.orthogonal(), (0, 4)),
        (jinit.zeros, J.zeros, (2, 0)),
    ):
        chex.assert_trees_all_equal(ours(key, shape), theirs(key, shape))


# ---------------------------------------------------------------------------
# Hyperparameters: jinit refuses bad values in the factory; jax returns NaN,
# flips signs, or fails only at call time.


def _call(init):
    return np.asarray(init(jax.random.key(55), (4, 4)))


@pytest.mark.parametrize("scale", [-1.0, float("nan")])
def test_bad_scale_jax_nan_jinit_raises(scale):
    assert np.isnan(_call(J.variance_scaling(scale, "fan_in", "normal"))).all()
    with pytest.raises(ValueError, match=r"^jinit\.variance_scaling: `scale` must be"):
        jinit.variance_scaling(scale, "fan_in", "normal")


def test_bad_scale_jax_inf_jinit_raises():
    assert np.isinf(_call(J.variance_scaling(float("inf"), "fan_in", "uniform"))).any()
    with pytest.raises(ValueError, match=r"`scale` must be finite"):
        jinit.variance_scaling(float("inf"), "fan_in", "uniform")


def test_zero_scale_jax_zeros_jinit_raises():
    assert not _call(J.variance_scaling(0.0, "fan_in", "normal")).any()
    with pytest.raises(ValueError, match=r"`scale` must be positive; got scale=0.0"):
        jinit.variance_scaling(0.0, "fan_in", "normal")


def test_bad_mode_and_distribution_jax_at_call_jinit_at_factory():
    bad_mode = J.variance_scaling(1.0, "fan_sum", "normal")  # jax builds it
    with pytest.raises(ValueError, match="invalid mode"):
        _call(bad_mode)
    with pytest.raises(ValueError, match=r"^jinit\.variance_scaling: `mode` must be one of .*got mode='fan_sum'"):
        jinit.variance_scaling(1.0, "fan_sum", "normal")
    bad_dist = J.variance_scaling(1.0, "fan_in", "cauchy")
    with pytest.raises(ValueError, match="invalid distribution"):
        _call(bad_dist)
    with pytest.raises(ValueError, match=r"`distribution` must be one of .*got distribution='cauchy'"):
        jinit.variance_scaling(1.0, "fan_in", "cauchy")


@pytest.mark.parametrize("factory", ["normal", "truncated_normal"])
def test_bad_stddev(factory):
    assert np.isnan(_call(getattr(J, factory)(float("nan")))).all()
    negative = _call(getattr(J, factory)(-1.0))
    assert np.isfinite(negative).all()  # jax silently flips the sign
    for stddev in (float("nan"), -1.0, 0.0, float("inf")):
        with pytest.raises(ValueError, match=rf"^jinit\.{factory}: `stddev` must be"):
            getattr(jinit, factory)(stddev)


def test_bad_uniform_scale():
    assert not _call(J.uniform(0.0)).any()
    assert (_call(J.uniform(-1.0)) <= 0).all()  # jax draws from (-1, 0]
    for scale in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"^jinit\.uniform: `scale` must be"):
            jinit.uniform(scale)


def test_truncated_normal_bounds():
    # lower > upper: jax returns a constant; jinit refuses.
    w = _call(J.truncated_normal(1.0, lower=2.0, upper=-2.0))
    assert np.unique(w).size == 1
    with pytest.raises(ValueError, match=r"`lower` must be less than `upper`"):
        jinit.truncated_normal(1.0, lower=2.0, upper=-2.0)
    # Far in the tail: jax's erf-inverse sampler collapses onto the upper bound.
    w = _call(J.truncated_normal(1.0, lower=10.0, upper=11.0))
    assert np.unique(w).size == 1
    with pytest.raises(ValueError, match=r"must hold at least .* of the normal mass"):
        jinit.truncated_normal(1.0, lower=10.0, upper=11.0)


def test_integer_dtypes_jax_fills_jinit_refuses():
    key = jax.random.key(56)
    chex.assert_type(J.zeros(key, (2,), jnp.int32), jnp.int32)
    chex.assert_type(J.constant(3)(key, (2,), jnp.int32), jnp.int32)
    for init in (jinit.zeros, jinit.constant(3)):
        with pytest.raises(ValueError, match=r"`dtype` must be a floating-point or complex dtype; got dtype=int32"):
            init(key, (2,), jnp.int32)


def test_complex_constant_jax_fills_jinit_refuses():
    chex.assert_trees_all_equal(
        J.constant(1 + 2j)(jax.random.key(0), (2,), jnp.complex64), jnp.full((2,), 1 + 2j, jnp.complex64)
    )
    with pytest.raises(TypeError, match=r"^jinit\.constant: `value` must be a real number"):
        jinit.constant(1 + 2j)


def test_batched_key_both_refuse():
    keys = jax.random.split(jax.random.key(0), 2)
    with pytest.raises(ValueError, match="single key"):
        J.normal()(keys, (2,))
    with pytest.raises(ValueError, match=r"^jinit\.normal: `key` must be a single key"):
        jinit.normal()(keys, (2,))


def test_infinite_truncation_bound_in_bfloat16():
    # jax's erf-inverse sampler maps u = erf(-inf) = -1 to -inf and clips it to
    # -FLT_MAX: a few draws in a thousand are -3.4e38 in bfloat16.
    key, shape = jax.random.key(57), (20_000,)
    theirs = np.asarray(J.truncated_normal(1.0, lower=-math.inf, upper=0.0)(key, shape, jnp.bfloat16), np.float64)
    assert theirs.min() < -1e38
    ours = np.asarray(jinit.truncated_normal(1.0, lower=-math.inf, upper=0.0)(key, shape, jnp.bfloat16), np.float64)
    assert np.isfinite(ours).all() and ours.min() >= -9.0 and ours.max() <= 0.0


def test_traced_hyperparameters_jax_works_jinit_refuses():
    key = jax.random.key(58)
    w = jax.jit(lambda s: J.normal(s)(key, (2,)))(2.0)
    chex.assert_trees_all_close(w, J.normal(2.0)(key, (2,)), rtol=4 * float(jnp.finfo(jnp.float32).eps))
    with pytest.raises(TypeError, match=r"^jinit\.normal: `stddev` must be a concrete number, not a traced value"):
        jax.jit(lambda s: jinit.normal(s)(key, (2,)))(2.0)


def test_float64_without_x64_jax_warns_jinit_is_silent():
    key = jax.random.key(59)
    with pytest.warns(UserWarning, match="float64"):
        chex.assert_type(J.normal()(key, (2,), jnp.float64), jnp.float32)
    # No warning (pyproject turns warnings into errors): the same canonical float32.
    chex.assert_type(jinit.normal()(key, (2,), jnp.float64), jnp.float32)


def test_law_that_does_not_fit_the_dtype():
    key = jax.random.key(60)
    with pytest.warns(RuntimeWarning, match="overflow"):
        overflowed = J.normal(1e10)(key, (4,), jnp.float16)  # stddev cast to inf
    assert not np.isfinite(np.asarray(overflowed, np.float64)).all()
    assert not np.asarray(J.normal(1e-30)(key, (4,), jnp.float16)).any()
    for stddev in (1e10, 1e-30):
        with pytest.raises(ValueError, match=r"^jinit\.normal: "):
            jinit.normal(stddev)(key, (4,), jnp.float16)


def test_axes_validation():
    key = jax.random.key(61)
    # jax: a bool is an axis index, a repeated axis is counted twice.
    chex.assert_shape(J.he_normal(in_axis=True)(key, (4, 8)), (4, 8))
    chex.assert_shape(J.he_normal(in_axis=(0, 0), out_axis=1)(key, (4, 8)), (4, 8))
    with pytest.raises(TypeError, match=r"^jinit\.he_normal: `in_axis` must be an int or a sequence of ints"):
        jinit.he_normal(in_axis=True)
    with pytest.raises(ValueError, match=r"^jinit\.he_normal: `in_axis` must not repeat an axis"):
        jinit.he_normal(in_axis=(0, 0), out_axis=1)


# ---------------------------------------------------------------------------
# Overlapping in_axis/out_axis (Flax's embedding default spelled the jax way): jax's fans and values.

OVERLAPS = [
    ((1000, 64), {"out_axis": 0}, 64, 64),  # (vocab, features), in_axis=-2 and out_axis=0 both the vocab
    ((16, 8), {"in_axis": -1, "out_axis": -1}, 16, 16),
    ((3, 4, 5), {"in_axis": (0, 1), "out_axis": (1, 2)}, 3, 5),
    ((2, 3, 4, 6), {"in_axis": (0, 1, 2, 3), "out_axis": (2, 3)}, 6, 1),
    ((4, 8, 16), {"in_axis": (1, 2), "out_axis": 2, "batch_axis": 0}, 8, 1),
]


@pytest.mark.parametrize(("shape", "axes", "fan_in", "fan_out"), OVERLAPS, ids=lambda v: str(v))
def test_overlapping_in_and_out_axes_as_jax(shape, axes, fan_in, fan_out):
    key = jax.random.key(62)
    for mode in MODES:
        for dist in DISTRIBUTIONS:
            ours, theirs = jinit.variance_scaling(1.3, mode, dist, **axes), J.variance_scaling(1.3, mode, dist, **axes)
            n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}.get(
                mode, math.sqrt(fan_in * fan_out)
            )
            assert ours.variance(shape) == pytest.approx(1.3 / n, rel=1e-12)
            assert ours.moments(shape).variance == pytest.approx(1.3 / n, rel=1e-12)
            assert_parity({"o": ours(key, shape)}, {"o": theirs(key, shape)}, {"o": (ours, theirs)}, shape, jnp.float32)


def test_flax_embedding_default_spelled_the_jax_way():
    # flax.linen.Embed / nnx.Embed default: variance_scaling(1.0, "fan_in", "normal", out_axis=0) on (vocab, features).
    key, shape = jax.random.key(63), (512, 32)
    ours = jinit.variance_scaling(1.0, "fan_in", "normal", out_axis=0)
    theirs = J.variance_scaling(1.0, "fan_in", "normal", out_axis=0)
    assert ours.variance(shape) == 1.0 / 32  # fan_in = features
    assert ours.moments(shape).variance == pytest.approx(1.0 / 32, rel=1e-15)
    for dtype in DTYPES:
        assert_parity(
            {"e": ours(key, shape, dtype)}, {"e": theirs(key, shape, dtype)}, {"e": (ours, theirs)}, shape, dtype
        )
    jinit.testing.assert_moments(ours, shape, key=key)


def test_batch_axis_shared_with_a_fan_is_refused():
    # jax divides the shared axis out twice: fan_out = 8 * 16 / 4 = 32 for the (4, 8, 16) stack below, a
    # count of no inputs or outputs. An axis cannot be both an independent slice and a fan axis.
    key, shape = jax.random.key(64), (4, 8, 16)
    w = J.variance_scaling(1.0, "fan_out", "normal", in_axis=0, out_axis=-1, batch_axis=0)(key, shape)
    chex.assert_shape(w, shape)
    with pytest.raises(ValueError, match=r"^jinit\.variance_scaling: `in_axis` and `batch_axis` share an axis"):
        jinit.variance_scaling(1.0, "fan_out", "normal", in_axis=0, out_axis=-1, batch_axis=0)(key, shape)


# ---------------------------------------------------------------------------
# constant with an array value, and shapes given as integer arrays: accepted, as jax accepts them.


@pytest.mark.parametrize("dtype", [*DTYPES, jnp.complex64], ids=lambda d: jnp.dtype(d).name)
def test_constant_array_values_as_jax(dtype):
    key = jax.random.key(65)
    values = [
        (np.array([0.1, -0.7, 1 / 3]), (2, 3)),
        (jnp.array([0.1, -0.7, 1 / 3], jnp.float32), (4, 3)),
        (np.array([[1.5], [-2.25]], np.float32), (2, 5)),
        (np.arange(6).reshape(2, 3), (4, 2, 3)),
        (np.array([2.5]), (3, 3)),
    ]
    for value, shape in values:
        ours, theirs = jinit.constant(value)(key, shape, dtype), J.constant(value)(key, shape, dtype)
        chex.assert_type(ours, theirs.dtype)
        np.testing.assert_array_equal(np.asarray(ours, np.complex128), np.asarray(theirs, np.complex128))
    # jax refuses a list (jnp.full needs an array); jinit takes it, as haiku and keras pass them.
    with pytest.raises(TypeError, match="full requires ndarray or scalar arguments"):
        J.constant([0.1, 0.2])(key, (2, 2), dtype)
    np.testing.assert_array_equal(
        np.asarray(jinit.constant([0.1, 0.2])(key, (2, 2), dtype), np.complex128),
        np.asarray(J.constant(np.array([0.1, 0.2]))(key, (2, 2), dtype), np.complex128),
    )


def test_constant_array_is_a_value():
    a = jinit.constant(np.array([1.0, 2.0, 3.0], np.float32))
    b = jinit.constant([1, 2, 3])
    assert a == b and hash(a) == hash(b)
    assert a != jinit.constant([[1.0, 2.0, 3.0]])  # another shape broadcasts differently
    assert a != jinit.constant([1.0, 2.0, 4.0])
    import pickle

    assert pickle.loads(pickle.dumps(a)) == a
    # Not identically distributed: no law; all entries equal: the number's law.
    assert a.moments((4, 3)) is None
    assert jinit.constant([2.0, 2.0]).moments((3, 2)) == jinit.constant(2.0).moments((3, 2))
    assert jinit.constant(np.full((1, 3), -0.5)).moments((2, 3)) == jinit.constant(-0.5).moments((2, 3))
    # The fill of a jitted call: the key is ignored.
    chex.assert_trees_all_equal(jax.jit(lambda k: a(k, (2, 3)))(jax.random.key(0)), jnp.array([[1.0, 2, 3]] * 2))
