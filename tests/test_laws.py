"""Every scheme draws the law it claims, and the oracle can tell a wrong law.

* ``assert_moments`` on every registry case (a dense, a conv and a stacked
  kernel per scheme) in float32, on the dense case in bfloat16 and float16,
  and in complex64 where the scheme defines it. Tolerances come from the
  sampling distribution (``jinit.testing``), never hand-picked.
* The law constants and formulas (``jinit._src.core.laws``) against scipy,
  computed independently (truncnorm, quad).
* Complex truncated normal: jinit's variance is exactly scale/fan, jax's is
  1/(1 - e^-4) times that (about 1.9% high); both derived here by quadrature.
* Exact identities between schemes for the same key (unit-variance twins).
* ``assert_moments`` fails on draws that do not have the claimed law.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Any

import chex
import jax
import jax.numpy as jnp
import law_cases
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import jinit
from jinit._src.core import laws

ENTRIES = law_cases.entries()


def case_key(*parts: Any) -> jax.Array:
    """A fixed key per test case (independent of collection order)."""
    return jax.random.key(zlib.crc32("/".join(map(str, parts)).encode()))


def _cases(dtypes_for_case):
    out = []
    for e in ENTRIES:
        for i, case in enumerate(e.cases()):
            for dtype in dtypes_for_case(e, i):
                out.append(
                    pytest.param(e.name, i, case, dtype, id=f"{e.name}-{i}-{case.shape}-{jnp.dtype(dtype).name}")
                )
    return out


LAW_CASES = _cases(lambda e, i: [jnp.float32] + ([jnp.bfloat16, jnp.float16] if i == 0 else []))
COMPLEX_CASES = _cases(lambda e, i: [jnp.complex64] if e.complex and i == 0 else [])


def test_every_entry_has_three_law_cases_incl_conv_and_stacked():
    for e in ENTRIES:
        shapes = [c.shape for c in e.cases()]
        assert len(shapes) >= 3, e.name
        assert len(set(shapes)) >= 3, f"{e.name}: law cases need three distinct shapes; got {shapes}"
        assert any(len(s) >= 3 for s in shapes), f"{e.name}: no conv or stacked kernel among {shapes}"


@pytest.mark.parametrize(("name", "index", "case", "dtype"), LAW_CASES)
def test_law(name, index, case, dtype):
    check = jinit.testing.assert_moments(case.init, case.shape, key=case_key(name, index, "law"), dtype=dtype)
    # The check compared at least the mean and the variance.
    assert {s.name for s in check.statistics} >= {"mean", "variance"}
    law = case.init.moments(case.shape, dtype)
    if law.bound is not None or law.interval is not None:
        assert {"bound", "min", "max"} & {s.name for s in check.statistics}
    if law.iid and law.excess_kurtosis is not None and law.variance > 0:
        assert "excess_kurtosis" in {s.name for s in check.statistics}


@pytest.mark.parametrize(("name", "index", "case", "dtype"), COMPLEX_CASES)
def test_complex_law(name, index, case, dtype):
    jinit.testing.assert_moments(case.init, case.shape, key=case_key(name, index, "complex"), dtype=dtype)


@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncated_normal"])
@pytest.mark.parametrize("shape", [(256, 512), (3, 3, 64, 128)])
def test_complex_second_moment_is_scale_over_fan(distribution, shape):
    init = jinit.variance_scaling(2.0, "fan_in", distribution)
    fan_in = math.prod(shape[:-1])
    law = init.moments(shape, jnp.complex64)
    assert law.variance == pytest.approx(2.0 / fan_in, rel=1e-15)
    check = jinit.testing.assert_moments(init, shape, key=case_key("complex", distribution, shape), dtype=jnp.complex64)
    assert check.get("variance").expected == law.variance


# ---------------------------------------------------------------------------
# The law's constants, derived independently


def test_truncated_normal_std_is_scipys():
    expected = scipy.stats.truncnorm(-2.0, 2.0).std()
    assert laws.TRUNCATED_NORMAL_STD == pytest.approx(expected, rel=4 * np.finfo(np.float64).eps)


@pytest.mark.parametrize(
    ("lower", "upper"), [(-2.0, 2.0), (-1.0, 3.0), (0.0, np.inf), (-np.inf, 0.5), (1.0, 1.5), (-0.1, 0.1)]
)
def test_truncated_normal_moments_are_scipys(lower, upper):
    mean, std = 0.25, 1.5
    law = laws.truncated_normal_moments(mean, std, lower, upper)
    ref = scipy.stats.truncnorm(lower, upper, loc=mean, scale=std)
    m, v, _, k = ref.stats("mvsk")
    assert law.mean == pytest.approx(m, rel=1e-12, abs=1e-12)
    assert law.variance == pytest.approx(v, rel=1e-10)
    assert law.excess_kurtosis == pytest.approx(k, rel=1e-7, abs=1e-7)
    lo, hi = mean + std * lower, mean + std * upper
    if np.isfinite(lo) and np.isfinite(hi):
        if math.isclose(-lower, upper):
            assert law.bound == pytest.approx(hi - law.mean)
        else:
            assert law.interval == pytest.approx((lo, hi))
    else:
        assert law.bound is None


def test_uniform_moments_are_scipys():
    law = laws.uniform_moments(-0.3, 1.1)
    ref = scipy.stats.uniform(-0.3, 1.4)
    m, v, _, k = ref.stats("mvsk")
    assert (law.mean, law.variance, law.excess_kurtosis) == pytest.approx((m, v, k), rel=1e-12)
    assert law.bound == pytest.approx(0.7)


def _quad(f, a, b):
    value, err = scipy.integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-12)
    assert err < 1e-12
    return value


def test_complex_truncated_normal_constant_by_quadrature():
    # A circular normal with E|z|^2 = 1 has |z|^2 = t ~ Exp(1). Truncating the
    # modulus at 2 keeps t <= 4, so E|z|^2 after truncation is
    # int_0^4 t e^-t dt / int_0^4 e^-t dt.
    mass = _quad(lambda t: math.exp(-t), 0.0, 4.0)
    second = _quad(lambda t: t * math.exp(-t), 0.0, 4.0) / mass
    assert laws.COMPLEX_TRUNCATED_NORMAL_STD == pytest.approx(math.sqrt(second), rel=1e-12)
    # jax divides by sqrt(int_0^4 t e^-t dt), the second moment without the
    # 1/mass renormalisation: its E|w|^2 is 1/mass times the target.
    assert laws.JAX_COMPLEX_TRUNCATED_NORMAL_STD == pytest.approx(math.sqrt(second * mass), rel=1e-12)
    assert 1.0 / mass - 1.0 == pytest.approx(0.0187, abs=5e-4)  # "about 1.9% too high"


def test_complex_disk_and_truncated_bounds_by_quadrature():
    v = 0.3
    disk = laws.complex_disk_moments(v)
    # Uniform on the disk of radius R: E|w|^2 = int_0^R r^2 (2 r / R^2) dr.
    r = disk.bound
    assert _quad(lambda s: s * s * 2 * s / r**2, 0.0, r) == pytest.approx(v, rel=1e-13)
    tn = laws.complex_truncated_normal_moments(v)
    assert tn.bound == pytest.approx(2.0 * math.sqrt(v) / laws.COMPLEX_TRUNCATED_NORMAL_STD, rel=1e-15)


@dataclasses.dataclass(frozen=True)
class Claim:
    """Draws of ``draw`` held to the law of ``law`` (to show the oracle can fail)."""

    draw: Any
    law: Any
    name: str = "claim"

    def __call__(self, key, shape, dtype=None, out_sharding=None):
        return self.draw(key, shape, dtype)

    def moments(self, shape, dtype=None):
        return self.law.moments(shape, dtype)


@dataclasses.dataclass(frozen=True)
class Law:
    """A fixed law, whatever the shape."""

    value: jinit.Moments

    def moments(self, shape, dtype=None):
        return self.value


COMPLEX_TN_SHAPE = (512, 1024)


def _jax_complex_he(key, shape, dtype=None):
    return jax.nn.initializers.he_normal()(key, shape, dtype)


def test_complex_truncated_normal_jinit_exact_jax_high():
    shape, dtype = COMPLEX_TN_SHAPE, jnp.complex64
    key = case_key("complex_truncated_normal")
    v = 2.0 / shape[0]
    mass = _quad(lambda t: math.exp(-t), 0.0, 4.0)
    ours = jinit.he_normal()(key, shape, dtype)
    theirs = _jax_complex_he(key, shape, dtype)
    # Same draws, different constant: jinit = jax * sqrt(mass) exactly (to rounding).
    eps = float(jnp.finfo(jnp.float32).eps)
    chex.assert_trees_all_close(ours, theirs * np.complex64(math.sqrt(mass)), rtol=8 * eps, atol=8 * eps * math.sqrt(v))
    # jinit: E|w|^2 = v.
    check = jinit.testing.assert_moments(jinit.he_normal(), shape, key=key, dtype=dtype)
    assert check.get("variance").expected == pytest.approx(v, rel=1e-15)
    # jax: E|w|^2 = v / mass, which the same test tells apart from v.
    jax_as_claimed = Claim(_jax_complex_he, jinit.he_normal())
    bad = jinit.testing.check_moments(jax_as_claimed, shape, key=key, dtype=dtype)
    assert not bad.get("variance").ok
    assert bad.get("variance").z > 6.0
    law = dataclasses.replace(laws.complex_truncated_normal_moments(v), variance=v / mass, bound=None)
    jinit.testing.assert_moments(Claim(_jax_complex_he, Law(law)), shape, key=key, dtype=dtype)


# ---------------------------------------------------------------------------
# The oracle fails on a wrong law


WRONG = (256, 512)


def test_assert_moments_fails_on_the_wrong_variance():
    with pytest.raises(AssertionError, match=r"claim variance: expected .*, got .*, tolerance .*z = "):
        jinit.testing.assert_moments(Claim(jinit.he_normal(), jinit.glorot_normal()), WRONG, key=case_key("wrong1"))


def test_assert_moments_fails_on_a_stack_without_batch_axis():
    # (L, in, out) without batch_axis counts L into the receptive field:
    # variance L times too small.
    claim = Claim(jinit.he_normal(), jinit.he_normal(batch_axis=0))
    with pytest.raises(AssertionError, match="variance"):
        jinit.testing.assert_moments(claim, (4, 128, 256), key=case_key("wrong2"))


def test_assert_moments_fails_on_an_unbounded_law_claimed_bounded():
    # Same variance, normal draws held to the truncated-normal law: the bound fails.
    claim = Claim(jinit.variance_scaling(1.0, "fan_in", "normal"), jinit.lecun_normal())
    check = jinit.testing.check_moments(claim, WRONG, key=case_key("wrong3"))
    assert check.get("variance").ok
    assert not check.get("bound").ok
    assert not check.get("excess_kurtosis").ok


def test_assert_moments_fails_on_the_wrong_shape_of_law():
    # Same variance and both symmetric: only the kurtosis tells uniform from normal.
    v = 1.0 / 256
    claim = Claim(jinit.lecun_uniform(), Law(laws.normal_moments(0.0, math.sqrt(v))))
    check = jinit.testing.check_moments(claim, WRONG, key=case_key("wrong4"))
    assert check.get("variance").ok
    assert not check.get("excess_kurtosis").ok
    with pytest.raises(AssertionError, match="excess_kurtosis"):
        jinit.testing.assert_moments(claim, WRONG, key=case_key("wrong4"))


def test_assert_moments_fails_on_a_shifted_mean():
    n = math.prod(WRONG)
    std = 0.1
    # 10 standard errors of the mean away.
    shift = 10 * std / math.sqrt(n)
    claim = Claim(
        lambda k, s, d=None: jinit.normal(std)(k, s, d) + jnp.float32(shift), Law(laws.normal_moments(0.0, std))
    )
    with pytest.raises(AssertionError, match="mean"):
        jinit.testing.assert_moments(claim, WRONG, key=case_key("wrong5"))


# ---------------------------------------------------------------------------
# Exact identities: the same key, a unit-variance twin

IDENTITY_SHAPES = [(64, 32), (3, 3, 16, 48)]
HALF_AND_SINGLE = [jnp.float32, jnp.bfloat16, jnp.float16]


def _fans(shape):
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


def _assert_scaled(actual, twin, factor, dtype):
    """actual == factor * twin up to a few roundings of dtype (rtol, and atol at the twin's scale)."""
    eps = float(jnp.finfo(dtype).eps)
    expected = np.asarray(twin, np.float64) * factor
    scale = float(np.sqrt(np.mean(expected**2)))
    chex.assert_trees_all_close(np.asarray(actual, np.float64), expected, rtol=4 * eps, atol=4 * eps * scale)


@pytest.mark.parametrize("dtype", HALF_AND_SINGLE, ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize("shape", IDENTITY_SHAPES, ids=str)
def test_he_is_sqrt2_lecun(shape, dtype):
    key = case_key("he-lecun", shape)
    _assert_scaled(jinit.he_normal()(key, shape, dtype), jinit.lecun_normal()(key, shape, dtype), math.sqrt(2), dtype)
    _assert_scaled(jinit.he_uniform()(key, shape, dtype), jinit.lecun_uniform()(key, shape, dtype), math.sqrt(2), dtype)


@pytest.mark.parametrize("dtype", HALF_AND_SINGLE, ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize("shape", IDENTITY_SHAPES, ids=str)
def test_glorot_is_scaled_lecun(shape, dtype):
    key = case_key("glorot-lecun", shape)
    fan_in, fan_out = _fans(shape)
    factor = math.sqrt(2 * fan_in / (fan_in + fan_out))
    _assert_scaled(jinit.glorot_normal()(key, shape, dtype), jinit.lecun_normal()(key, shape, dtype), factor, dtype)
    _assert_scaled(jinit.glorot_uniform()(key, shape, dtype), jinit.lecun_uniform()(key, shape, dtype), factor, dtype)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("shape", IDENTITY_SHAPES, ids=str)
def test_variance_scaling_unit_twins(shape, mode):
    """variance_scaling = its unit-variance law, scaled by sqrt(scale / n), for the same key."""
    key = case_key("twins", shape, mode)
    fan_in, fan_out = _fans(shape)
    n = {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
        "fan_geo_avg": math.sqrt(fan_in * fan_out),
    }[mode]
    v = 0.7 / n
    dtype = jnp.float32
    normal = jinit.variance_scaling(0.7, mode, "normal")(key, shape)
    _assert_scaled(normal, jinit.normal(1.0)(key, shape), math.sqrt(v), dtype)
    tn = jinit.variance_scaling(0.7, mode, "truncated_normal")(key, shape)
    _assert_scaled(tn, jinit.truncated_normal(1.0)(key, shape), math.sqrt(v) / laws.TRUNCATED_NORMAL_STD, dtype)
    uniform = jinit.variance_scaling(0.7, mode, "uniform")(key, shape)
    u01 = np.asarray(jinit.uniform(1.0)(key, shape), np.float64)
    _assert_scaled(uniform, 2.0 * u01 - 1.0, math.sqrt(3 * v), dtype)


@pytest.mark.parametrize(
    ("inner", "shape"),
    [
        (jinit.he_normal(), (4, 16, 8)),
        (jinit.glorot_uniform(), (3, 3, 3, 8, 16)),
        (jinit.orthogonal(), (2, 8, 16)),
        (jinit.normal(0.5), (5, 7)),
    ],
    ids=["he_normal", "glorot_uniform-conv", "orthogonal", "normal"],
)
def test_stacked_slice_is_init_at_fold_in(inner, shape):
    key = case_key("stacked", shape)
    init = jinit.stacked(inner, shape[0])
    w = init(key, shape)
    chex.assert_shape(w, shape)
    slices = jnp.stack([inner(jax.random.fold_in(key, i), shape[1:]) for i in range(shape[0])])
    eps = float(jnp.finfo(jnp.float32).eps)
    scale = math.sqrt(inner.moments(shape[1:]).variance)
    chex.assert_trees_all_close(w, slices, rtol=4 * eps, atol=4 * eps * scale)
    # The law of a stack is the law of one slice.
    assert init.moments(shape) == inner.moments(shape[1:])
