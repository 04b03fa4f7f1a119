"""The laws, from the formulas: means, variances, bounds and kurtoses.

This module must not import the samplers (``jinit._src.random.sampling``): it is the
oracle the tests hold the samplers to, and an oracle that shares code with
what it checks proves nothing.
"""

from __future__ import annotations

import math

from jinit._src.core.types import Moments

# Standard deviation of a standard normal truncated to [-2, 2]:
# sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)) with phi(2) = exp(-2) / sqrt(2 pi).
TRUNCATED_NORMAL_STD = 0.87962566103423978


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) if math.isfinite(x) else 0.0


def _Phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def truncated_standard_normal_raw_moments(a: float, b: float, order: int = 4) -> list[float]:
    """E[X^k], k = 0..order, for X ~ N(0, 1) truncated to [a, b].

    Recursion (integration by parts): m_k = (k - 1) m_{k-2}
    - (b^{k-1} phi(b) - a^{k-1} phi(a)) / Z, with Z = Phi(b) - Phi(a).
    """
    z = _Phi(b) - _Phi(a)
    fa, fb = _phi(a), _phi(b)

    def edge(x: float, fx: float, k: int) -> float:
        return 0.0 if fx == 0.0 else x ** (k - 1) * fx

    m = [1.0, (fa - fb) / z]
    for k in range(2, order + 1):
        m.append((k - 1) * m[k - 2] - (edge(b, fb, k) - edge(a, fa, k)) / z)
    return m


def truncated_normal_moments(mean: float, std: float, lower: float, upper: float) -> Moments:
    """N(mean, std^2) truncated to [mean + lower std, mean + upper std] (std units)."""
    m = truncated_standard_normal_raw_moments(lower, upper)
    mu = m[1]
    var = m[2] - mu * mu
    c4 = m[4] - 4 * mu * m[3] + 6 * mu * mu * m[2] - 3 * mu**4
    centre = mean + std * mu
    lo, hi = mean + std * lower, mean + std * upper
    symmetric = math.isclose(-lower, upper)
    return Moments(
        mean=centre,
        variance=std * std * var,
        bound=max(hi - centre, centre - lo) if math.isfinite(lo) and math.isfinite(hi) else None,
        excess_kurtosis=c4 / (var * var) - 3.0,
        interval=None if symmetric else (lo, hi),
    )


def normal_moments(mean: float, std: float) -> Moments:
    return Moments(mean=mean, variance=std * std, bound=None, excess_kurtosis=0.0)


def uniform_moments(low: float, high: float) -> Moments:
    """U[low, high): variance (high - low)^2 / 12, excess kurtosis -6/5."""
    return Moments(
        mean=(low + high) / 2,
        variance=(high - low) * (high - low) / 12,  # not ** 2: inf, not OverflowError, for huge bounds
        bound=(high - low) / 2,
        excess_kurtosis=-1.2,
    )


def constant_moments(value: float) -> Moments:
    return Moments(mean=value, variance=0.0, bound=0.0, excess_kurtosis=None)


# Complex laws: variance means E|w|^2; the bound is on the modulus.

# A circular complex normal with E|z|^2 = 1 has |z|^2 ~ Exp(1). Truncating the
# modulus at 2 (|z|^2 <= 4) leaves E[|z|^2 | |z|^2 <= 4] =
# (1 - 5 e^-4) / (1 - e^-4), so dividing by the square root of that gives
# E|w|^2 = 1 exactly. (jax uses sqrt(1 - 5 e^-4) = 0.95311..., which forgets
# the 1 - e^-4 renormalisation: its variance is about 1.9% too high.)
COMPLEX_TRUNCATED_NORMAL_STD = math.sqrt((1.0 - 5.0 * math.exp(-4.0)) / (1.0 - math.exp(-4.0)))
JAX_COMPLEX_TRUNCATED_NORMAL_STD = math.sqrt(1.0 - 5.0 * math.exp(-4.0))


def complex_normal_moments(variance: float) -> Moments:
    return Moments(mean=0.0, variance=variance, bound=None, excess_kurtosis=None)


def complex_disk_moments(variance: float) -> Moments:
    """Uniform on the disk of radius sqrt(2 variance): E|w|^2 = variance."""
    return Moments(mean=0.0, variance=variance, bound=math.sqrt(2.0 * variance), excess_kurtosis=None)


def complex_truncated_normal_moments(variance: float) -> Moments:
    return Moments(
        mean=0.0,
        variance=variance,
        bound=2.0 * math.sqrt(variance) / COMPLEX_TRUNCATED_NORMAL_STD,
        excess_kurtosis=None,
    )


def semi_orthogonal_moments(rows: int, cols: int, scale: float) -> Moments:
    """One entry of scale * Q, Q (rows x cols) with orthonormal rows or columns.

    The squared entries sum to scale^2 min(rows, cols), and by Haar invariance
    every entry has mean 0, so Var = scale^2 / max(rows, cols).
    """
    return Moments(
        mean=0.0,
        variance=scale * scale / max(rows, cols),
        bound=abs(scale),
        excess_kurtosis=None,
        iid=False,
    )


def two_valued_moments(value: float, count: int, total: int) -> Moments:
    """``count`` entries equal to ``value``, the other ``total - count`` zero."""
    p = count / total
    mean = value * p
    return Moments(
        mean=mean,
        variance=value * value * p - mean * mean,
        bound=max(abs(value - mean), abs(mean)),
        excess_kurtosis=None,
        iid=False,
    )
