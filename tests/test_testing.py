"""``jinit.testing``: the oracle's tolerances are the sampling distribution's.

* The standard errors are the textbook ones (sqrt(v/n) for the mean,
  sqrt((k + 2)/n) v for the variance with excess kurtosis k).
* Calibration: over many independent keys the z-scores of a correct law are
  standard normal (mean 0, variance 1), so a 6-sigma tolerance is neither
  vacuous nor flaky.
* Each statistic can fail (see also test_laws.py).
"""

from __future__ import annotations

import dataclasses
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit._src.core import laws
from jinit.testing import LawCheck, Statistic

SHAPE = (128, 256)
N = math.prod(SHAPE)


def test_standard_errors_are_textbook():
    key = jax.random.key(0)
    for init, kurt in (
        (jinit.variance_scaling(1.0, "fan_in", "normal"), 0.0),
        (jinit.lecun_uniform(), -1.2),
        (jinit.lecun_normal(), laws.truncated_normal_moments(0.0, 1.0, -2.0, 2.0).excess_kurtosis),
    ):
        check = jinit.testing.check_moments(init, SHAPE, key=key)
        v = 1.0 / SHAPE[0]
        assert check.moments.variance == pytest.approx(v, rel=1e-14)
        assert check.get("mean").standard_error == pytest.approx(math.sqrt(v / N), rel=1e-12)
        assert check.get("variance").standard_error == pytest.approx(math.sqrt((kurt + 2.0) / N) * v, rel=1e-12)
        assert check.get("variance").tolerance >= 6 * check.get("variance").standard_error
        assert check.ok


def test_truncated_normal_kurtosis_matches_style_guide():
    # The kurtosis is about 2.366 for a normal truncated at 2 sigma.
    k = laws.truncated_normal_moments(0.0, 1.0, -2.0, 2.0).excess_kurtosis + 3.0
    assert k == pytest.approx(2.366, abs=1e-3)


CALIBRATION_KEYS = 300
CALIBRATION_SHAPE = (512,)


@pytest.mark.parametrize(
    "init",
    [jinit.normal(0.5), jinit.uniform(2.0), jinit.truncated_normal(1.0, lower=-1.0, upper=3.0)],
    ids=["normal", "uniform", "truncated_normal"],
)
def test_z_scores_are_standard_normal(init):
    keys = jax.random.split(jax.random.key(1), CALIBRATION_KEYS)
    z = {"mean": [], "variance": [], "excess_kurtosis": []}
    for k in keys:
        check = jinit.testing.check_moments(init, CALIBRATION_SHAPE, key=k)
        for name in z:
            z[name].append(check.get(name).z)
    m = CALIBRATION_KEYS
    for name in ("mean", "variance"):
        values = np.asarray(z[name])
        # mean of m standard normals: se 1/sqrt(m); sample variance: se sqrt(2/m).
        assert abs(values.mean()) < 6 / math.sqrt(m), (name, values.mean())
        assert abs(values.var() - 1.0) < 6 * math.sqrt(2.0 / m), (name, values.var())
    # The kurtosis standard error is itself estimated from the 8th moment of
    # 512 draws, so only its scale is checked: neither vacuous nor too tight.
    k = np.asarray(z["excess_kurtosis"])
    assert 0.5 < k.std() < 2.0, k.std()


def test_statistic_kinds():
    assert Statistic("m", 1.0, 1.5, 0.5, 0.25).ok
    assert not Statistic("m", 1.0, 1.6, 0.5, 0.25).ok
    assert Statistic("m", 1.0, 1.6, 0.5, 0.25).z == pytest.approx(2.4)
    assert Statistic("b", 1.0, 0.2, 0.0, 0.0, kind="at_most").ok
    assert not Statistic("b", 1.0, 1.1, 0.05, 0.05, kind="at_most").ok
    assert Statistic("lo", -1.0, 3.0, 0.0, 0.0, kind="at_least").ok
    assert not Statistic("lo", -1.0, -1.2, 0.1, 0.1, kind="at_least").ok
    assert Statistic("c", 0.0, 0.0, 0.0, 0.0).z == 0.0
    assert Statistic("c", 0.0, 1.0, 0.0, 0.0).z == math.inf


def test_law_check_ok_and_get():
    good = Statistic("mean", 0.0, 0.0, 1.0, 1.0)
    bad = Statistic("variance", 1.0, 3.0, 1.0, 1.0)
    check = LawCheck("x", (2,), "float32", jinit.Moments(0.0, 1.0), (good, bad))
    assert not check.ok
    assert check.get("variance") is bad


def test_asymmetric_interval_is_checked_at_both_ends():
    init = jinit.truncated_normal(1.0, lower=-1.0, upper=3.0)
    check = jinit.testing.assert_moments(init, SHAPE, key=jax.random.key(2))
    assert check.get("min").expected == pytest.approx(-1.0)
    assert check.get("max").expected == pytest.approx(3.0)
    assert -1.0 <= check.get("min").measured < -0.99
    assert 2.9 < check.get("max").measured <= 3.0


def test_non_iid_and_complex_laws_skip_kurtosis():
    check = jinit.testing.assert_moments(jinit.orthogonal(), (64, 32), key=jax.random.key(3))
    assert {s.name for s in check.statistics} == {"mean", "variance", "bound"}
    check = jinit.testing.assert_moments(jinit.he_uniform(), (64, 32), key=jax.random.key(3), dtype=jnp.complex64)
    assert {s.name for s in check.statistics} == {"mean", "variance", "bound"}
    assert check.dtype == "complex64"


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision(dtype):
    check = jinit.testing.assert_moments(jinit.he_normal(), SHAPE, key=jax.random.key(4), dtype=dtype)
    assert check.dtype == jnp.dtype(dtype).name


@dataclasses.dataclass(frozen=True)
class _Claim:
    draw: jinit.Initializer
    law: jinit.Initializer
    name: str = "claim"

    def __call__(self, key, shape, dtype=None, out_sharding=None):
        return self.draw(key, shape, dtype)

    def moments(self, shape, dtype=None):
        return self.law.moments(shape, dtype)


def test_constants_are_checked_exactly():
    jinit.testing.assert_moments(jinit.constant(0.25), (8, 8), key=jax.random.key(5))
    with pytest.raises(AssertionError, match=r"claim mean: expected 0\.251, got 0\.25"):
        jinit.testing.assert_moments(_Claim(jinit.constant(0.25), jinit.constant(0.251)), (8, 8), key=jax.random.key(5))


def test_failure_message_names_everything():
    claim = _Claim(jinit.he_uniform(), jinit.lecun_uniform())
    with pytest.raises(AssertionError) as info:
        jinit.testing.assert_moments(claim, (64, 32), key=jax.random.key(6))
    text = str(info.value)
    assert text.startswith("jinit.testing.assert_moments: law not met for shape=(64, 32), dtype=float32:")
    assert re.search(r"claim variance: expected 0\.015625, got [\d.e-]+, tolerance [\d.e-]+ \(z = [\d.]+\)", text)
    assert "claim bound: expected" in text
