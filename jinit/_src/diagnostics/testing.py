"""Checking a law: empirical moments against ``init.moments``, with tolerances
from sampling theory.

For n i.i.d. draws with variance s^2 and kurtosis k:

* the sample mean has standard error s / sqrt(n);
* the sample variance has relative standard error sqrt((k - 1) / n) (k from
  the formula when the law defines it, else estimated from the draws);
* the sample excess kurtosis has standard error
  sqrt((m8 / s^8 - (m4 / s^4)^2) / n), estimated from the draws' 8th moment.

Each check allows ``n_sigma`` standard errors, plus two machine epsilons of
the dtype relative to the scale (float16 and bfloat16 round sigma itself).
For schemes whose entries are not i.i.d. (orthogonal, ...) the i.i.d.
standard errors are an upper bound: their sum of squares is fixed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core.types import DTypeLike, Initializer, Moments, Shape


@dataclasses.dataclass(frozen=True)
class Statistic:
    """One compared statistic: expected, measured, tolerance, z-score."""

    name: str
    expected: float
    measured: float
    tolerance: float
    standard_error: float
    #: "equal" (``|measured - expected| <= tolerance``), "at_most" or "at_least" (for bounds).
    kind: str = "equal"

    @property
    def z(self) -> float:
        diff = self.measured - self.expected
        return diff / self.standard_error if self.standard_error > 0 else (0.0 if diff == 0 else math.inf)

    @property
    def ok(self) -> bool:
        if self.kind == "at_most":
            return self.measured <= self.expected + self.tolerance
        if self.kind == "at_least":
            return self.measured >= self.expected - self.tolerance
        return abs(self.measured - self.expected) <= self.tolerance


@dataclasses.dataclass(frozen=True)
class LawCheck:
    """The result of comparing draws with a law."""

    scheme: str
    shape: tuple[int, ...]
    dtype: str
    moments: Moments
    statistics: tuple[Statistic, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.statistics)

    def get(self, name: str) -> Statistic:
        for s in self.statistics:
            if s.name == name:
                return s
        raise KeyError(name)


def _scheme_name(init: Any) -> str:
    return getattr(init, "name", None) or type(init).__name__


def check_moments(
    init: Initializer, shape: Shape, *, key: jax.Array, dtype: DTypeLike | None = None, n_sigma: float = 6.0
) -> LawCheck:
    """Draw once and compare mean, variance, bounds and kurtosis with ``init.moments``."""
    moments_fn = getattr(init, "moments", None)
    if moments_fn is None:
        raise TypeError(f"jinit.testing.check_moments: {_scheme_name(init)} has no `moments` method.")
    law = moments_fn(shape, dtype)
    if law is None:
        raise ValueError(
            f"jinit.testing.check_moments: {_scheme_name(init)} defines no law for shape={tuple(shape)!r}."
        )
    x = init(key, shape, dtype)
    dt = np.dtype(x.dtype)
    is_complex = np.issubdtype(dt, np.complexfloating)
    w = np.asarray(x, dtype=np.complex128 if is_complex else np.float64).ravel()
    n = w.size
    eps = float(jnp.finfo(dt).eps)  # np.finfo does not know bfloat16
    scale = math.sqrt(law.variance) + abs(law.mean)
    stats = []

    # Mean.
    se_mean = math.sqrt(law.variance / n)
    # For complex draws, compare the distance of the sample mean from the law's mean.
    mean_hat = law.mean + abs(w.mean() - law.mean) if is_complex else float(np.real(w.mean()))
    stats.append(Statistic("mean", law.mean, mean_hat, n_sigma * se_mean + 2 * eps * scale, se_mean))
    # Variance (E|w - mean|^2).
    d = w - law.mean
    a2 = np.abs(d) ** 2
    var_hat = float(a2.mean())
    if law.excess_kurtosis is not None and not is_complex:
        rel_se = math.sqrt((law.excess_kurtosis + 2.0) / n)
        se_var = rel_se * law.variance
    else:
        se_var = math.sqrt(max(float((a2 * a2).mean()) - var_hat * var_hat, 0.0) / n)
    stats.append(Statistic("variance", law.variance, var_hat, n_sigma * se_var + 2 * eps * scale * scale, se_var))
    # Bounds: the extreme draws must lie inside the support.
    if law.interval is not None:
        lo, hi = law.interval
        slack = 2 * eps * max(abs(lo), abs(hi))
        stats.append(Statistic("min", lo, float(np.min(w.real)), slack, slack, kind="at_least"))
        stats.append(Statistic("max", hi, float(np.max(w.real)), slack, slack, kind="at_most"))
    elif law.bound is not None:
        slack = 2 * eps * (law.bound + abs(law.mean))
        stats.append(Statistic("bound", law.bound, float(np.max(np.abs(d))), slack, slack, kind="at_most"))
    # Excess kurtosis.
    if law.excess_kurtosis is not None and law.iid and not is_complex and law.variance > 0:
        s2 = law.variance
        m4 = float((a2 * a2).mean())
        m8 = float((a2**4).mean())
        kurt_hat = m4 / (s2 * s2) - 3.0
        se_k = math.sqrt(max(m8 / s2**4 - (m4 / s2**2) ** 2, 0.0) / n)
        # float16/bfloat16 rounding moves the 4th moment by up to ~4 eps relative.
        stats.append(
            Statistic(
                "excess_kurtosis",
                law.excess_kurtosis,
                kurt_hat,
                n_sigma * se_k + 8 * eps * (law.excess_kurtosis + 3.0),
                se_k,
            )
        )
    return LawCheck(_scheme_name(init), tuple(int(s) for s in shape), dt.name, law, tuple(stats))


def assert_moments(
    init: Initializer, shape: Shape, *, key: jax.Array, dtype: DTypeLike | None = None, n_sigma: float = 6.0
) -> LawCheck:
    """Assert that draws of ``init`` have the law ``init.moments`` states.

    Compares the empirical mean, variance, bounds and (for i.i.d. real
    entries) excess kurtosis with the formula, each within ``n_sigma``
    standard errors of its sampling distribution (see the module docstring).

    Raises:
      AssertionError naming the scheme, the statistic, expected, got and
      tolerance.

    Examples:
      >>> import jax, jinit
      >>> check = jinit.testing.assert_moments(jinit.he_normal(), (256, 256), key=jax.random.key(0))
      >>> check.ok
      True
    """
    check = check_moments(init, shape, key=key, dtype=dtype, n_sigma=n_sigma)
    bad = [s for s in check.statistics if not s.ok]
    if bad:
        lines = [
            f"{check.scheme} {s.name}: expected {s.expected:.6g}, got {s.measured:.6g}, "
            f"tolerance {s.tolerance:.3g} (z = {s.z:.2f})"
            for s in bad
        ]
        raise AssertionError(
            f"jinit.testing.assert_moments: law not met for shape={check.shape}, dtype={check.dtype}:\n  "
            + "\n  ".join(lines)
        )
    return check
