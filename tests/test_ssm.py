"""S4D's state matrices and Mamba's inits: exact values, the formulas of the reference code, the dt law.

* S4D-Lin, S4D-Inv, S4D-Real against their formulas (Gu et al. 2022, written
  out here with Python floats), and Mamba's ``-exp(A_log) = S4D-Real``.
* ``mamba_dt_bias``, ``mamba_dt_proj`` and ``mamba2_a_log`` against the
  reference code's formula applied to the same uniform draw
  (``jinit.uniform(1.0)`` with the same key), in float64 by numpy.
* The dt law: ``softplus(bias)`` is log-uniform on [dt_min, dt_max]
  (Kolmogorov-Smirnov with scipy, fixed key; the test rejects a uniform
  law); the clamp's point mass; the law's mean against scipy quadrature.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import jinit
import jinit.ssm

F32_EPS = float(jnp.finfo(jnp.float32).eps)
F64_EPS = float(np.finfo(np.float64).eps)
KEY = jax.random.key(5)
# A KS p-value below this rejects: the 6-sigma two-sided tail of a normal (STYLE.md's 6 standard errors).
KS_ALPHA = 2 * scipy.stats.norm.sf(6.0)


def raises(exc, pattern):
    return pytest.raises(exc, match="^" + pattern)


# ---------------------------------------------------------------------------
# S4D and Mamba's A


@pytest.mark.parametrize("n", [2, 8, 64])
def test_s4d_values(n):
    with jax.enable_x64(True):
        lin = np.asarray(jinit.ssm.s4d_lin(n, jnp.complex128))
        inv = np.asarray(jinit.ssm.s4d_inv(n, jnp.complex128))
        real = np.asarray(jinit.ssm.s4d_real(n, jnp.float64))
    assert lin.shape == inv.shape == (n // 2,) and real.shape == (n,)
    for k in range(n // 2):
        assert lin[k] == pytest.approx(complex(-0.5, math.pi * k), rel=2 * F64_EPS)
        assert inv[k] == pytest.approx(complex(-0.5, n / math.pi * (n / (2 * k + 1) - 1)), rel=2 * F64_EPS)
    assert real.tolist() == [-(k + 1.0) for k in range(n)]


def test_s4d_numbers_of_the_paper():
    # S4D-Lin: frequencies pi k. S4D-Inv: the largest (N / pi) (N - 1), the last (k = N/2 - 1)
    # (N / pi) (N / (N - 1) - 1).
    lin, inv = jinit.ssm.s4d_lin(64), jinit.ssm.s4d_inv(64)
    assert lin.dtype == jnp.complex64 and jinit.ssm.s4d_real(4).dtype == jnp.float32
    chex.assert_trees_all_close(lin[1], np.complex64(-0.5 + 1j * math.pi), rtol=F32_EPS)
    chex.assert_trees_all_close(inv[0], np.complex64(-0.5 + 1j * 64 * 63 / math.pi), rtol=F32_EPS)
    chex.assert_trees_all_close(inv[-1], np.complex64(-0.5 + 1j * 64 / math.pi * (64 / 63 - 1)), rtol=F32_EPS)


def test_mamba_a_log_is_s4d_real():
    a_log = jinit.ssm.mamba_a_log(3, 16)
    chex.assert_shape(a_log, (3, 16))
    chex.assert_type(a_log, jnp.float32)
    chex.assert_trees_all_close(a_log, np.broadcast_to(np.log(np.arange(1.0, 17.0)), (3, 16)), rtol=F32_EPS)
    # A = -exp(A_log): exp and log each round once (a relative eps, times |log n| <= 2.8 for exp's argument).
    chex.assert_trees_all_close(-jnp.exp(a_log[1]), jinit.ssm.s4d_real(16), rtol=4 * F32_EPS)


# ---------------------------------------------------------------------------
# Mamba's dt bias


def reference_dt_bias(u: np.ndarray, dt_min: float, dt_max: float, floor: float) -> np.ndarray:
    """Mamba's dt_init in float64: exp(u (log dt_max - log dt_min) + log dt_min), clamp(min=floor), inverse softplus."""
    dt = np.exp(u * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
    dt = np.maximum(dt, floor)
    return dt + np.log(-np.expm1(-dt))


@pytest.mark.parametrize(("dt_min", "dt_max", "floor"), [(1e-3, 0.1, 1e-4), (1e-4, 1.0, 1e-3), (1e-2, 10.0, 0.0)])
def test_dt_bias_is_the_reference_formula(dt_min, dt_max, floor):
    shape = (64, 32)
    bias = jinit.ssm.mamba_dt_bias(dt_min, dt_max, floor)(KEY, shape)
    u = np.asarray(jinit.uniform(1.0)(KEY, shape), np.float64)  # the same U[0, 1) draw
    expected = reference_dt_bias(u, dt_min, dt_max, floor)
    # float32 rounds the exp's argument (|arg| <= |log dt_min|) and each later op once: dt is off by a relative
    # (|arg| + 2) eps, moved to the bias by d bias / d log dt = dt / (1 - e^-dt) <= 1 + dt_max; the last ops
    # (log, add) round the bias itself by about 2 eps of |bias|.
    atol = (abs(math.log(dt_min)) + 2) * (1 + dt_max) * F32_EPS
    chex.assert_trees_all_close(bias, expected, rtol=2 * F32_EPS, atol=atol)


def test_dt_bias_is_computed_in_float32_and_cast_once():
    init = jinit.ssm.mamba_dt_bias()
    wide = init(KEY, (256,))
    for dtype in (jnp.bfloat16, jnp.float16):
        chex.assert_trees_all_equal(init(KEY, (256,), dtype), wide.astype(dtype))


def test_softplus_of_dt_bias_is_log_uniform():
    dt_min, dt_max = 1e-3, 0.1
    bias = np.asarray(jinit.ssm.mamba_dt_bias(dt_min, dt_max, floor=0.0)(KEY, (20000,)), np.float64)
    dt = np.logaddexp(0.0, bias)  # softplus, in float64
    law = scipy.stats.loguniform(dt_min, dt_max)
    assert scipy.stats.kstest(dt, law.cdf).pvalue > KS_ALPHA
    # The test can tell: a uniform dt on the same interval is rejected.
    assert scipy.stats.kstest(dt, scipy.stats.uniform(dt_min, dt_max - dt_min).cdf).pvalue < KS_ALPHA


def test_dt_bias_floor_is_a_point_mass():
    dt_min, dt_max, floor = 1e-4, 1.0, 1e-3
    n = 40000
    bias = np.asarray(jinit.ssm.mamba_dt_bias(dt_min, dt_max, floor)(KEY, (n,)), np.float64)
    at_floor = math.log(math.expm1(floor))
    assert bias.min() == pytest.approx(at_floor, rel=4 * F32_EPS)
    p = math.log(floor / dt_min) / math.log(dt_max / dt_min)  # P(dt < floor) = 1/4
    share = float(np.mean(np.abs(bias - at_floor) <= 4 * F32_EPS * abs(at_floor)))
    assert abs(share - p) <= 6 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize(("dt_min", "dt_max", "floor"), [(1e-3, 0.1, 1e-4), (1e-4, 1.0, 1e-3)])
def test_dt_bias_law_mean_by_scipy_quadrature(dt_min, dt_max, floor):
    lo, hi = math.log(dt_min), math.log(dt_max)
    start = max(lo, math.log(floor))
    inner, _ = scipy.integrate.quad(lambda t: math.log(math.expm1(math.exp(t))), start, hi, epsrel=1e-13)
    mean = inner / (hi - lo) + (start - lo) / (hi - lo) * math.log(math.expm1(floor))
    law = jinit.ssm.mamba_dt_bias(dt_min, dt_max, floor).moments((8,))
    assert law.mean == pytest.approx(mean, rel=1e-12)
    assert law.interval == pytest.approx(
        (math.log(math.expm1(max(dt_min, floor))), math.log(math.expm1(dt_max))), rel=1e-14
    )


# ---------------------------------------------------------------------------
# Mamba's dt projection and Mamba-2's A


def test_dt_proj():
    init = jinit.ssm.mamba_dt_proj(16, dt_scale=2.0)
    bound = 16**-0.5 * 2.0
    law = init.moments((16, 256))
    assert (law.mean, law.bound) == (0.0, bound)
    assert law.variance == pytest.approx(bound**2 / 3, rel=1e-15)
    w = init(KEY, (16, 256))
    u = np.asarray(jinit.uniform(1.0)(KEY, (16, 256)), np.float64)
    chex.assert_trees_all_close(w, bound * (2 * u - 1), rtol=2 * F32_EPS, atol=2 * F32_EPS * bound)
    const = jinit.ssm.mamba_dt_proj(4, init="constant")(KEY, (4, 8))
    chex.assert_trees_all_equal(const, jnp.full((4, 8), 0.5))


def test_mamba2_a_log():
    init = jinit.ssm.mamba2_a_log(8)
    a_log = init(KEY, (8,))
    u = np.asarray(jinit.uniform(1.0)(KEY, (8,)), np.float64)
    chex.assert_trees_all_close(a_log, np.log(1.0 + 15.0 * u), rtol=4 * F32_EPS, atol=4 * F32_EPS)
    # E log A for A ~ U[1, 16]: (16 log 16 - 1 log 1) / 15 - 1, from the antiderivative x (log x - 1).
    assert init.moments((8,)).mean == pytest.approx(16 * math.log(16) / 15 - 1, rel=1e-13)
    assert init.moments((8,)).interval == (0.0, math.log(16.0))


def test_mamba2_a_is_uniform():
    a = np.exp(np.asarray(jinit.ssm.mamba2_a_log(a_init_range=(1.0, 16.0))(KEY, (20000,)), np.float64))
    assert scipy.stats.kstest(a, scipy.stats.uniform(1.0, 15.0).cdf).pvalue > KS_ALPHA
    assert scipy.stats.kstest(a, scipy.stats.loguniform(1.0, 16.0).cdf).pvalue < KS_ALPHA


# ---------------------------------------------------------------------------
# Errors


def test_errors():
    ssm = jinit.ssm
    with raises(ValueError, r"jinit\.ssm\.s4d_lin: `n_state` must be even \(the modes come in conjugate pairs\); "):
        ssm.s4d_lin(5)
    with raises(ValueError, r"jinit\.ssm\.s4d_inv: `n_state` must be at least 2; got n_state=0\."):
        ssm.s4d_inv(0)
    with raises(TypeError, r"jinit\.ssm\.s4d_real: `n_state` must be an int; got n_state=True\."):
        ssm.s4d_real(True)
    with raises(ValueError, r"jinit\.ssm\.s4d_lin: `dtype` must be"):
        ssm.s4d_lin(4, jnp.float32)
    with raises(ValueError, r"jinit\.ssm\.mamba_a_log: `d_inner` must be at least 1; got d_inner=0\."):
        ssm.mamba_a_log(0, 16)
    with raises(
        ValueError, r"jinit\.ssm\.mamba_dt_bias: `dt_max` must exceed `dt_min`; got dt_min=0\.1, dt_max=0\.1\."
    ):
        ssm.mamba_dt_bias(0.1, 0.1)
    with raises(ValueError, r"jinit\.ssm\.mamba_dt_bias: `dt_min` must be positive; got dt_min=0\.0\."):
        ssm.mamba_dt_bias(0.0)
    with raises(ValueError, r"jinit\.ssm\.mamba_dt_bias: `floor` must be non-negative; got floor=-1\.0\."):
        ssm.mamba_dt_bias(floor=-1.0)
    with raises(ValueError, r"jinit\.ssm\.mamba_dt_proj: `init` must be one of 'random', 'constant'; "):
        ssm.mamba_dt_proj(4, init="normal")
    with raises(ValueError, r"jinit\.ssm\.mamba_dt_proj: `dt_scale` must be positive; got dt_scale=0\.0\."):
        ssm.mamba_dt_proj(4, dt_scale=0.0)
    with raises(ValueError, r"jinit\.ssm\.mamba2_a_log: `a_init_range` must have low < high; got a_init_range="):
        ssm.mamba2_a_log(a_init_range=(4.0, 2.0))
    with raises(ValueError, r"jinit\.ssm\.mamba2_a_log: `a_init_range\[0\]` must be positive; got "):
        ssm.mamba2_a_log(a_init_range=(0.0, 2.0))
    with raises(TypeError, r"jinit\.ssm\.mamba2_a_log: `a_init_range` must be a pair \(low, high\); "):
        ssm.mamba2_a_log(a_init_range=16.0)
    with raises(
        ValueError, r"jinit\.ssm\.mamba2_a_log: the last axis must hold the n_heads=8 heads; got shape=\(4,\)\."
    ):
        ssm.mamba2_a_log(8)(KEY, (4,))
