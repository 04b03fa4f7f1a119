"""Property-based tests: whatever a user passes, a correct array or a clear error.

Random shapes (rank 0 to 5, zero-size dimensions included), dtypes (int32,
bool, float16, bfloat16, float32, complex64) and hyperparameters (negative,
zero, NaN, infinite, huge, tiny, wrong types) at every factory. The outcome
is either an array of the right shape and dtype whose entries are finite
(and, where the law is bounded, inside the bound) or a ValueError/TypeError
whose message starts with ``jinit.NAME:``. Never NaN or Inf, never another
exception type (warnings are errors too).

Examples are derandomized (the same every run) and few: each new shape or
dtype costs a compile.
"""

from __future__ import annotations

import math
import re

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import law_cases
import numpy as np
from hypothesis import HealthCheck, example, given, settings

import jinit

KEY = jax.random.key(0)

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DTYPES = st.sampled_from([jnp.int32, jnp.bool_, jnp.float16, jnp.bfloat16, jnp.float32, jnp.complex64])
SHAPES = st.lists(st.integers(0, 3), min_size=0, max_size=5).map(tuple)
SPECIAL = [0.0, -0.0, -1.0, 1e-300, 1e-30, 1e-6, 1e6, 1e30, 1e300, math.inf, -math.inf, math.nan]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-10.0, 10.0),
    st.integers(-3, 3),
    st.sampled_from(SPECIAL),
)
WRONG_TYPES = st.sampled_from(["1.0", None, True, 1 + 1j, (1.0,), np.array([1.0, 2.0])])
HYPER = st.one_of(NUMBERS, NUMBERS, NUMBERS, WRONG_TYPES)
AXIS = st.integers(-6, 5)
AXES = st.one_of(AXIS, st.lists(AXIS, min_size=0, max_size=3).map(tuple), st.sampled_from(["0", 1.5, True]))


def check_error(error: Exception, names: tuple[str, ...]) -> None:
    """A ValueError/TypeError that reads ``jinit.NAME: ...`` for one of ``names``."""
    assert isinstance(error, ValueError | TypeError), f"{type(error).__name__}: {error}"
    pattern = r"^jinit\.(" + "|".join(re.escape(n) for n in names) + r"): \S"
    assert re.match(pattern, str(error)), f"message does not name {names}: {error}"


def check_array(init, w, shape, dtype, *, continuous: bool = False) -> None:
    assert isinstance(w, jax.Array)
    assert w.shape == shape, (w.shape, shape)
    assert w.dtype == jnp.dtype(dtype), (w.dtype, dtype)
    values = np.asarray(w, np.complex128 if jnp.issubdtype(w.dtype, jnp.complexfloating) else np.float64)
    assert np.isfinite(values).all(), f"{init!r} gave non-finite values for shape={shape}, dtype={dtype}"
    law = init.moments(shape, dtype)
    if values.size == 0:
        assert law is None
        return
    eps = float(jnp.finfo(dtype).eps)
    if law.interval is not None:
        lo, hi = law.interval
        slack = 2 * eps * max(abs(lo), abs(hi))
        assert values.real.min() >= lo - slack and values.real.max() <= hi + slack, (init, law, values)
    elif law.bound is not None:
        # Rounding the law's constants to the dtype: a relative eps, or the
        # smallest subnormal for values below the dtype's range.
        slack = law.bound * 2 * eps + 2 * eps * abs(law.mean) + float(jnp.finfo(dtype).smallest_subnormal)
        assert np.abs(values - law.mean).max() <= law.bound + slack, (init, law)
    if continuous and values.size >= 2 and law.variance > 0:
        # Independent draws of a continuous law never all coincide; flushing to zero would.
        assert np.unique(values).size > 1, f"{init!r}: constant draws for shape={shape}, dtype={dtype}"


def outcome(build, shape, dtype, names, *, continuous=False):
    """Build, call, and check whichever way it ends."""
    try:
        init = build()
    except Exception as error:  # the type is what is checked
        check_error(error, names)
        return
    try:
        w = init(KEY, shape, dtype)
    except Exception as error:
        check_error(error, names)
        return
    check_array(init, w, shape, dtype, continuous=continuous)


@SETTINGS
@given(value=HYPER, shape=SHAPES, dtype=DTYPES)
@example(value=1e5, shape=(2,), dtype=jnp.float16)  # overflows float16
@example(value=1e-30, shape=(2,), dtype=jnp.float16)  # rounds to 0, like a cast
def test_constant(value, shape, dtype):
    outcome(lambda: jinit.constant(value), shape, dtype, ("constant",))


@SETTINGS
@given(shape=SHAPES, dtype=DTYPES)
def test_zeros_ones(shape, dtype):
    outcome(lambda: jinit.zeros, shape, dtype, ("zeros",))
    outcome(lambda: jinit.ones, shape, dtype, ("ones",))


@SETTINGS
@given(scale=HYPER, shape=SHAPES, dtype=DTYPES)
@example(scale=7e4, shape=(3,), dtype=jnp.float16)
@example(scale=1e-30, shape=(3,), dtype=jnp.float16)
@example(scale=1e300, shape=(3,), dtype=jnp.float32)  # the law's variance overflows a Python float
def test_uniform(scale, shape, dtype):
    outcome(lambda: jinit.uniform(scale), shape, dtype, ("uniform",), continuous=True)


@SETTINGS
@given(stddev=HYPER, shape=SHAPES, dtype=DTYPES)
@example(stddev=1e10, shape=(3,), dtype=jnp.float16)  # 9 sigma beyond float16
@example(stddev=1e-30, shape=(3,), dtype=jnp.float16)  # would flush to zero
@example(stddev=1e300, shape=(3,), dtype=jnp.complex64)
def test_normal(stddev, shape, dtype):
    outcome(lambda: jinit.normal(stddev), shape, dtype, ("normal",), continuous=True)


@SETTINGS
@given(stddev=HYPER, lower=HYPER, upper=HYPER, shape=SHAPES, dtype=DTYPES)
@example(stddev=1e6, lower=-1e-3, upper=1e-3, shape=(3,), dtype=jnp.float16)  # small law, stddev overflows
@example(stddev=1.0, lower=-math.inf, upper=math.inf, shape=(3, 3), dtype=jnp.bfloat16)
@example(stddev=1.0, lower=-1e300, upper=1e300, shape=(3,), dtype=jnp.float16)
def test_truncated_normal(stddev, lower, upper, shape, dtype):
    outcome(lambda: jinit.truncated_normal(stddev, None, lower, upper), shape, dtype, ("truncated_normal",))


MODES = st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg", "FAN_IN", "", None, 3])
DISTRIBUTIONS = st.sampled_from(["truncated_normal", "normal", "uniform", "cauchy", None])


@SETTINGS
@given(
    scale=HYPER,
    mode=MODES,
    distribution=DISTRIBUTIONS,
    in_axis=st.one_of(st.just(-2), AXES),
    out_axis=st.one_of(st.just(-1), AXES),
    batch_axis=st.one_of(st.just(()), AXES),
    shape=SHAPES,
    dtype=DTYPES,
)
@example(1e6, "fan_in", "normal", -2, -1, (), (2, 2), jnp.float16)  # the variance overflows before its sqrt
@example(5e4, "fan_in", "uniform", -2, -1, (), (2, 2), jnp.float16)  # 3 * variance overflows
@example(1e-8, "fan_in", "normal", -2, -1, (), (2, 2), jnp.float16)  # the variance rounds to zero
@example(1e38, "fan_in", "uniform", -2, -1, (), (2, 2), jnp.complex64)
@example(1.0, "fan_avg", "truncated_normal", -2, -1, (), (0, 3), jnp.float32)  # zero fan
def test_variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, shape, dtype):
    outcome(
        lambda: jinit.variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis),
        shape,
        dtype,
        ("variance_scaling",),
        continuous=True,
    )


NAMED = st.sampled_from(["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal"])


@SETTINGS
@given(
    name=NAMED,
    in_axis=st.one_of(st.just(-2), AXES),
    out_axis=st.one_of(st.just(-1), AXES),
    batch_axis=st.one_of(st.just(()), AXES),
    shape=SHAPES,
    dtype=DTYPES,
)
def test_named_variance_scaling(name, in_axis, out_axis, batch_axis, shape, dtype):
    outcome(lambda: getattr(jinit, name)(in_axis, out_axis, batch_axis), shape, dtype, (name,), continuous=True)


@SETTINGS
@given(
    scale=HYPER,
    column_axis=st.one_of(st.just(-1), AXIS, st.sampled_from([1.0, True, "0"])),
    batch_axis=st.one_of(st.just(()), AXES),
    shape=SHAPES,
    dtype=DTYPES,
)
@example(7e4, -1, (), (4, 4), jnp.float16)
@example(1.0, -1, 0, (2, 3, 3), jnp.bfloat16)
def test_orthogonal(scale, column_axis, batch_axis, shape, dtype):
    outcome(lambda: jinit.orthogonal(scale, column_axis, None, batch_axis), shape, dtype, ("orthogonal",))


@SETTINGS
@given(scale=HYPER, column_axis=st.one_of(st.just(-1), AXIS, st.just(True)), shape=SHAPES, dtype=DTYPES)
@example(scale=1e300, column_axis=-1, shape=(1, 2, 2), dtype=jnp.float32)
def test_delta_orthogonal(scale, column_axis, shape, dtype):
    outcome(lambda: jinit.delta_orthogonal(scale, column_axis), shape, dtype, ("delta_orthogonal",))


@SETTINGS
@given(gain=HYPER, shape=SHAPES, dtype=DTYPES)
@example(gain=7e4, shape=(2, 2), dtype=jnp.float16)
def test_eye(gain, shape, dtype):
    outcome(lambda: jinit.eye(gain), shape, dtype, ("eye",))


INNER = st.sampled_from([jinit.he_normal(), jinit.normal(0.5), jinit.orthogonal(), jinit.zeros, "he_normal", None])


@SETTINGS
@given(inner=INNER, n=st.one_of(st.integers(-1, 3), st.sampled_from([2.0, True, "2"])), shape=SHAPES, dtype=DTYPES)
def test_stacked(inner, n, shape, dtype):
    names = ("stacked", "he_normal", "normal", "orthogonal", "zeros")
    outcome(lambda: jinit.stacked(inner, n), shape, dtype, names)


ENTRIES = law_cases.entries()


@SETTINGS
@given(index=st.integers(0, len(ENTRIES) - 1), shape=SHAPES, dtype=DTYPES)
def test_every_registry_scheme(index, shape, dtype):
    entry = ENTRIES[index]
    init = entry.make()
    name = getattr(init, "name", entry.name)
    inner = getattr(getattr(init, "init", None), "name", name)
    outcome(lambda: init, shape, dtype, (name, entry.name, inner))
