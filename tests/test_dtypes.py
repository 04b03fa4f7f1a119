"""Every catalog scheme in every float dtype jax offers: the law, or a ValueError at the call.

The dtypes are enumerated from this jax: every ``jnp.float8_*``, ``jnp.float6_*``
and ``jnp.float4_*`` it exports, bfloat16, float16, float32, and float64 under
``jax.enable_x64``. For each scheme's first law case (``tests/law_cases.py``)
either ``moments`` and the call both raise a ``jinit.`` ValueError, or the
call returns finite values of the dtype that meet the law
(``jinit.testing.check_moments``, whose tolerance includes two epsilons of
the dtype, the rounding of each value). Floats of 8 bits or fewer are drawn
in float32 and rounded once: their values are exactly the float32 draw, cast.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import law_cases
import numpy as np
import pytest

import jinit
from jinit._src.core import base

KEY = jax.random.key(7)

NARROW = sorted(
    (
        np.dtype(getattr(jnp, n))
        for n in dir(jnp)
        if n.startswith(("float8_", "float6_", "float4_")) and jnp.issubdtype(getattr(jnp, n), jnp.floating)
    ),
    key=lambda d: d.name,
)
WIDE = [np.dtype(jnp.bfloat16), np.dtype(np.float16), np.dtype(np.float32)]
ENTRIES = law_cases.entries()


def raises(exc, pattern):
    return pytest.raises(exc, match="^" + pattern)


def first_case(entry: law_cases.Entry) -> law_cases.Case:
    return entry.cases()[0]


def resolves(dtype: np.dtype) -> bool:
    """Whether the dtype has a mantissa bit to resolve a law with (float8_e8m0fnu: powers of two only)."""
    return jnp.finfo(dtype).nmant > 0


def law_or_refusal(init, shape, dtype) -> None:
    """The call and ``moments`` agree: both raise a jinit ValueError, or the draws meet the law."""
    try:
        law = init.moments(shape, dtype)
    except ValueError as err:
        assert str(err).startswith("jinit."), err
        with pytest.raises(ValueError, match=r"^jinit\."):
            init(KEY, shape, dtype)
        return
    x = init(KEY, shape, dtype)
    chex.assert_type(x, dtype)
    chex.assert_shape(x, shape)
    wide = np.asarray(x.astype(jnp.float32))
    assert np.isfinite(wide).all(), f"{np.mean(~np.isfinite(wide)):.0%} of the values are not finite"
    if base.is_narrow(dtype):
        # Drawn in float32 and rounded once.
        reference = init(KEY, shape, jnp.float32).astype(dtype)
        chex.assert_trees_all_equal(x, reference)
        if not resolves(dtype):
            assert (wide > 0).all()  # no sign and no zero: only a positive law is drawn
    if law is not None and resolves(dtype):
        jinit.testing.assert_moments(init, shape, key=KEY, dtype=dtype)


@pytest.mark.parametrize("dtype", NARROW + WIDE, ids=lambda d: d.name)
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_law_or_value_error(entry: law_cases.Entry, dtype: np.dtype) -> None:
    case = first_case(entry)
    law_or_refusal(case.init, case.shape, dtype)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_law_or_value_error_in_float64(entry: law_cases.Entry) -> None:
    case = first_case(entry)
    with jax.enable_x64(True):
        law_or_refusal(case.init, case.shape, np.dtype(np.float64))


def test_the_dtypes_are_enumerated_from_jax() -> None:
    names = {d.name for d in NARROW}
    assert {"float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu"} <= names
    assert "float4_e2m1fn" in names or not hasattr(jnp, "float4_e2m1fn")


# ---------------------------------------------------------------------------
# The cases the issue names, one by one.


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e4m3b11fnuz", "float8_e5m2"])
def test_normal_family_in_float8_is_drawn_not_nan(dtype: str) -> None:
    dt = np.dtype(getattr(jnp, dtype))
    for init in (jinit.he_normal(), jinit.truncated_normal(1.0), jinit.normal(0.5), jinit.orthogonal()):
        x = init(KEY, (64, 128), dt)
        chex.assert_type(x, dt)
        chex.assert_tree_all_finite(x.astype(jnp.float32))
        chex.assert_trees_all_equal(x, init(KEY, (64, 128), jnp.float32).astype(dt))
    # Under jit too.
    x = jax.jit(lambda k: jinit.he_normal()(k, (4, 8), dt))(KEY)
    chex.assert_tree_all_finite(x.astype(jnp.float32))


def test_float8_e8m0fnu_refuses_signed_laws_and_zeros() -> None:
    dt = jnp.float8_e8m0fnu
    signed = (
        jinit.he_normal(),
        jinit.normal(1.0),
        jinit.truncated_normal(1.0),
        jinit.orthogonal(),
        jinit.eye(),
        jinit.constant(-0.5),
        jinit.uniform(1.0),  # U[0, 1) reaches 0
    )
    for init in signed:
        pattern = rf"jinit\.{init.name}: float8_e8m0fnu has no sign and no zero \(its values are powers of two\)"
        with raises(ValueError, pattern):
            init(KEY, (4, 8), dt)
        with raises(ValueError, pattern):
            init.moments((4, 8), dt)
    with raises(ValueError, r"jinit\.zeros: float8_e8m0fnu has no sign and no zero .* values lie in \[0, 0\]"):
        jinit.zeros(KEY, (4, 8), dt)
    # A positive law is drawn: powers of two (0.75 rounds to 1 in this dtype).
    chex.assert_trees_all_equal(jinit.ones(KEY, (2, 3), dt).astype(jnp.float32), jnp.ones((2, 3)))
    chex.assert_trees_all_equal(jinit.constant(0.25)(KEY, (3,), dt).astype(jnp.float32), jnp.full((3,), 0.25))


def test_float8_e8m0fnu_refuses_a_lawless_initializer() -> None:
    init = jinit.stacked(lambda key, shape, dtype=None: jnp.ones(shape, jnp.float32), 2)
    with raises(ValueError, r"jinit\.stacked: float8_e8m0fnu has no sign and no zero, and this initializer defines no"):
        init(KEY, (2, 3), jnp.float8_e8m0fnu)


def test_laws_that_flush_a_narrow_float_to_zero_are_refused() -> None:
    # float4_e2m1fn: smallest normal 1, smallest subnormal 0.5.
    with raises(
        ValueError, r"jinit\.he_normal: the standard deviation 0\.0884 is below the smallest normal float4_e2m1fn"
    ):
        jinit.he_normal()(KEY, (256, 64), jnp.float4_e2m1fn)
    with raises(
        ValueError,
        r"jinit\.constant: every value is at most 0\.0001 in magnitude, which rounds to zero in float8_e4m3fn "
        r"\(smallest subnormal 0\.00195\); use a wider dtype or a larger scale; got shape=\(4,\)\.",
    ):
        jinit.constant(1e-4)(KEY, (4,), jnp.float8_e4m3fn)
    with raises(
        ValueError, r"jinit\.eye: every value is at most 0\.1 in magnitude, which rounds to zero in float4_e2m1fn"
    ):
        jinit.eye(0.1)(KEY, (4, 4), jnp.float4_e2m1fn)
    # Half the smallest subnormal rounds to zero; just above it does not.
    smallest = float(jnp.finfo(jnp.float8_e4m3fn).smallest_subnormal)
    with raises(ValueError, r"jinit\.constant: every value"):
        jinit.constant(smallest / 2)(KEY, (4,), jnp.float8_e4m3fn)
    assert float(jinit.constant(smallest * 0.75)(KEY, (1,), jnp.float8_e4m3fn)[0].astype(jnp.float32)) == smallest


def test_narrow_float_range_is_that_of_the_dtype() -> None:
    # float8_e4m3fn holds 448 and has no infinity: 9 sigma past it is refused, not NaN.
    with raises(ValueError, r"jinit\.normal: draws reach 450, beyond the largest finite float8_e4m3fn \(448\)"):
        jinit.normal(50.0)(KEY, (4,), jnp.float8_e4m3fn)
    x = jinit.normal(40.0)(KEY, (1024,), jnp.float8_e4m3fn)
    chex.assert_tree_all_finite(x.astype(jnp.float32))
    # The variance constant is rounded to float32, where the narrow draw is computed: a variance
    # below float8's smallest subnormal is fine when the standard deviation is a normal float8.
    init, shape, dt = jinit.variance_scaling(1.0, "fan_in", "normal"), (2048, 64), jnp.float8_e4m3fn
    assert init.variance(shape) < float(jnp.finfo(dt).smallest_subnormal)
    assert init.moments(shape, dt).std > float(jnp.finfo(dt).tiny)
    jinit.testing.assert_moments(init, shape, key=KEY, dtype=dt)


@pytest.mark.parametrize("name", ["float6_e2m3fn", "float6_e3m2fn"])
def test_a_dtype_the_backend_cannot_hold_is_refused(name: str) -> None:
    if not hasattr(jnp, name):
        pytest.skip(f"jax has no {name}")
    dt = np.dtype(getattr(jnp, name))
    if base._backend_holds(dt):
        pytest.skip(f"the {jax.default_backend()} backend holds {name}")
    pattern = rf"jinit\.he_normal: jax's {jax.default_backend()} backend cannot hold arrays of dtype {name}"
    with raises(ValueError, pattern):
        jinit.he_normal()(KEY, (4, 8), dt)
    with raises(ValueError, pattern):
        jinit.he_normal().moments((4, 8), dt)
    with raises(ValueError, r"jinit\.zeros: jax's"):
        jinit.zeros(KEY, (0, 8), dt)  # even empty


@pytest.mark.xfail(
    strict=True,
    reason="known gap: jax's bfloat16 truncated-normal sampler (whose values jinit keeps for parity) resolves the "
    "uniform draw to 2^-7, so with bounds (-1, 3) no draw passes 2.33 sigma (excess kurtosis -0.66 for -0.21)",
)
def test_bfloat16_truncated_normal_with_asymmetric_bounds_has_its_law() -> None:
    """float16 and float32 meet the law; bfloat16 does not yet (fixing it means drawing it in float32,
    which changes jax's values). Strict: the test starts failing, as a reminder, once it is fixed."""
    init = jinit.truncated_normal(0.5, lower=-1.0, upper=3.0)
    shape = (3, 3, 64, 128)
    jinit.testing.assert_moments(init, shape, key=KEY, dtype=jnp.float16)
    jinit.testing.assert_moments(init, shape, key=KEY, dtype=jnp.float32)
    jinit.testing.assert_moments(init, shape, key=KEY, dtype=jnp.bfloat16)


# ---------------------------------------------------------------------------
# stacked: the dtype asked for, whatever the inner initializer returns


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float8_e4m3fn])
def test_stacked_casts_an_inner_initializer_that_ignores_dtype(dtype) -> None:
    def plain(key, shape, dtype=None):  # ignores dtype: always float32
        return jax.random.normal(key, shape, jnp.float32)

    init = jinit.stacked(plain, 4)
    out = init(KEY, (4, 8, 16), dtype)
    chex.assert_type(out, dtype)
    # Each slice: the inner float32 draw from fold_in(key, i), rounded once.
    for i in range(4):
        expected = plain(jax.random.fold_in(KEY, i), (8, 16)).astype(dtype)
        chex.assert_trees_all_equal(out[i], expected)
    chex.assert_type(jax.jit(lambda k: init(k, (4, 8, 16), dtype))(KEY), dtype)


def test_stacked_refuses_a_complex_inner_draw_for_a_real_dtype() -> None:
    init = jinit.stacked(lambda key, shape, dtype=None: jnp.ones(shape, jnp.complex64), 2)
    with raises(
        ValueError,
        r"jinit\.stacked: `init` returned complex64 where float32 was asked; it must draw a real dtype for a "
        r"real one; got shape=\(2, 3\)\.",
    ):
        init(KEY, (2, 3), jnp.float32)
