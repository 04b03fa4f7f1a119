"""The density of one entry, written from a scheme's law (numpy only).

A :class:`Density` is a continuous part (a pdf on a finite support) and
point masses. The builders here are the formulas of the families the schemes
draw from: normal, normal truncated to an interval, uniform, one entry of a
Haar-random unit vector (orthogonal matrices), and point masses (constants,
identities, deterministic kernels, sparse zeros). Each scheme's ``_density``
picks its family and parameters from its own fields; ``jinit.plot.density``
calls it. Nothing here imports the sampler.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

# Where a normal density is drawn and integrated: mean +- 8 standard deviations
# (the mass outside is 1.2e-15, below one draw in any histogram we make).
NORMAL_SPAN = 8.0
# Gauss-Legendre nodes per bin when integrating a density over histogram bins.
_NODES_PER_BIN = 16
# Grid points of the numerical CDF that places equiprobable bins.
_CDF_GRID = 20001
# Standard-deviation units a truncation bound is clipped to: far beyond
# NORMAL_SPAN, so the normalising mass is exact, and finite for erf.
_BOUND_CLIP = NORMAL_SPAN + 30.0


@dataclasses.dataclass(frozen=True)
class Density:
    """The law of one entry: a continuous part and point masses.

    Attributes:
      family: a short name of the law (``"normal"``, ``"truncated_normal"``,
        ``"uniform"``, ``"haar_entry"``, ``"constant"``, ...).
      description: the law in words, with its parameters.
      pdf: the density of the continuous part (it integrates to
        ``1 - sum of the atoms' masses``); None if there is none.
      support: the interval holding the continuous part (finite: a normal's
        is cut at ``NORMAL_SPAN`` standard deviations).
      atoms: ``(value, mass)`` pairs.
    """

    family: str
    description: str
    pdf: Callable[[np.ndarray], np.ndarray] | None
    support: tuple[float, float]
    atoms: tuple[tuple[float, float], ...] = ()

    @property
    def continuous_mass(self) -> float:
        """The mass of the continuous part."""
        return 0.0 if self.pdf is None else 1.0 - sum(m for _, m in self.atoms)

    def probabilities(self, edges: np.ndarray) -> np.ndarray:
        """The continuous part's mass in each bin ``[edges[i], edges[i + 1])``."""
        edges = np.asarray(edges, dtype=np.float64)
        if self.pdf is None:
            return np.zeros(len(edges) - 1)
        t, w = np.polynomial.legendre.leggauss(_NODES_PER_BIN)
        lo = np.clip(edges[:-1], *self.support)
        hi = np.clip(edges[1:], *self.support)
        half = 0.5 * (hi - lo)
        x = 0.5 * (hi + lo)[:, None] + half[:, None] * t[None, :]
        return np.sum(self.pdf(x) * w[None, :], axis=1) * half

    def quantile_edges(self, bins: int) -> np.ndarray:
        """``bins + 1`` edges that cut the continuous part into equal masses.

        The CDF is integrated on a grid of ``_CDF_GRID`` points and inverted
        linearly: each bin's mass is exact to about 1e-4 relative (worst next
        to a singular end of the support, as for small orthogonal matrices).
        """
        lo, hi = self.support
        grid = np.linspace(lo, hi, _CDF_GRID)
        mass = self.probabilities(grid)
        cdf = np.concatenate([[0.0], np.cumsum(mass)])
        cdf /= cdf[-1]
        keep = np.concatenate([[True], np.diff(cdf) > 0])
        targets = np.linspace(0.0, 1.0, bins + 1)
        edges = np.interp(targets, cdf[keep], grid[keep])
        edges[0], edges[-1] = lo, hi
        return edges

    def scaled(self, factor: float) -> Density:
        """The law of ``factor * w``: the pdf ``p(x / factor) / |factor|``, the atoms moved.

        A factor of 0 gives the point mass at 0; a factor of 1 gives this density.
        """
        if factor == 1.0:
            return self
        if factor == 0.0:
            return point_mass(0.0)
        inner = self.pdf
        pdf = None if inner is None else (lambda x: inner(np.asarray(x) / factor) / abs(factor))
        lo, hi = sorted((factor * self.support[0], factor * self.support[1]))
        atoms = tuple((factor * v, m) for v, m in self.atoms)
        return Density(self.family, f"{factor:.4g} x ({self.description})", pdf, (lo, hi), atoms)


def normal_pdf(mean: float, std: float, weight: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """``weight`` times the N(mean, std^2) density."""
    c = weight / (std * math.sqrt(2.0 * math.pi))
    return lambda x: c * np.exp(-0.5 * ((np.asarray(x) - mean) / std) ** 2)


def normal(mean: float, std: float, what: str = "") -> Density:
    """N(mean, std^2), its support cut at ``NORMAL_SPAN`` standard deviations."""
    return Density(
        "normal",
        f"{what}N({mean:.4g}, {std:.4g}^2)",
        normal_pdf(mean, std),
        (mean - NORMAL_SPAN * std, mean + NORMAL_SPAN * std),
    )


def truncated(mean: float, std: float, lower: float, upper: float, what: str = "") -> Density:
    """N(mean, std^2) truncated to [mean + lower std, mean + upper std] (bounds may be infinite)."""
    lo, hi = max(lower, -_BOUND_CLIP), min(upper, _BOUND_CLIP)
    z = 0.5 * (math.erf(hi / math.sqrt(2.0)) - math.erf(lo / math.sqrt(2.0)))
    base = normal_pdf(mean, std, 1.0 / z)
    a, b = mean + std * lo, mean + std * hi

    def pdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return np.where((x >= a) & (x <= b), base(x), 0.0)

    desc = f"{what}N({mean:.4g}, {std:.4g}^2) truncated to [{a:.4g}, {b:.4g}]"
    return Density("truncated_normal", desc, pdf, (max(a, mean - NORMAL_SPAN * std), min(b, mean + NORMAL_SPAN * std)))


def uniform(low: float, high: float, what: str = "") -> Density:
    """U(low, high)."""
    c = 1.0 / (high - low)

    def pdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return np.where((x >= low) & (x <= high), c, 0.0)

    return Density("uniform", f"{what}U({low:.4g}, {high:.4g})", pdf, (low, high))


def haar_entry(m: int, scale: float, weight: float = 1.0) -> Density:
    """One entry of ``scale`` times a uniform unit vector in R^m (mass ``weight``).

    Its density is ``c (1 - (x/scale)^2)^((m - 3)/2) / scale`` on
    [-scale, scale], c = Gamma(m/2) / (sqrt(pi) Gamma((m - 1)/2)): the
    marginal of the uniform law on the sphere (x^2 ~ Beta(1/2, (m-1)/2)).
    A column (or row) of a Haar orthogonal matrix is such a vector, so an
    entry of ``scale`` times a Haar (rows, cols) matrix has m = max(rows, cols).
    """
    if m == 1:
        return Density(
            "haar_entry", f"+-{scale:.4g}", None, (-scale, scale), ((-scale, weight / 2), (scale, weight / 2))
        )
    log_c = math.lgamma(m / 2) - 0.5 * math.log(math.pi) - math.lgamma((m - 1) / 2)
    power = (m - 3) / 2

    def pdf(x: np.ndarray) -> np.ndarray:
        u = np.asarray(x) / scale
        inside = np.abs(u) < 1
        safe = np.where(inside, 1.0 - u * u, 1.0)
        return np.where(inside, weight * np.exp(log_c + power * np.log(safe)) / scale, 0.0)

    desc = f"an entry of {scale:.4g} x a uniform unit vector in R^{m} (density ~ (1 - x^2)^{power:g})"
    return Density("haar_entry", desc, pdf, (-scale, scale))


def delta_orthogonal(taps: int, m: int, scale: float) -> Density:
    """0 on all but one of ``taps`` taps; on that one, an entry of ``scale`` times a Haar (., m) matrix."""
    inner = haar_entry(m, scale, 1.0 / taps)
    if taps == 1:
        return inner
    atoms = ((0.0, 1.0 - 1.0 / taps), *inner.atoms)
    return Density(
        "delta_orthogonal", f"0 off the centre tap; there, {inner.description}", inner.pdf, inner.support, atoms
    )


def point_mass(value: float) -> Density:
    """Every entry equal to ``value``."""
    return Density("constant", f"the constant {value:.4g}", None, (value, value), ((value, 1.0),))


def two_valued(value: float, share: float) -> Density:
    """``value`` on a ``share`` of the entries (an identity's), 0 on the others."""
    return Density(
        "eye",
        f"{value:.4g} on the identity's entries ({share:.3g}), 0 elsewhere",
        None,
        (min(0.0, value), max(0.0, value)),
        ((value, share), (0.0, 1.0 - share)),
    )


def sparse_normal(zero_share: float, std: float) -> Density:
    """0 on a ``zero_share`` of the entries, N(0, std^2) on the others."""
    if zero_share >= 1.0:
        return point_mass(0.0)
    return Density(
        "sparse",
        f"0 with probability {zero_share:.3g}, else N(0, {std:.4g}^2)",
        normal_pdf(0.0, std, 1.0 - zero_share),
        (-NORMAL_SPAN * std, NORMAL_SPAN * std),
        ((0.0, zero_share),),
    )


def discrete(counts: Iterable[tuple[float, int]], total: int) -> Density:
    """A deterministic array's entries: ``(value, count)`` pairs out of ``total`` (equal values merged)."""
    merged: dict[float, int] = {}
    for value, count in counts:
        merged[float(value)] = merged.get(float(value), 0) + count
    atoms = tuple((v, c / total) for v, c in sorted(merged.items()) if c > 0)
    desc = f"{len(atoms)} values (deterministic): " + ", ".join(f"{v:.4g} ({m:.3g})" for v, m in atoms[:4])
    desc += ", ..." if len(atoms) > 4 else ""
    return Density("deterministic", desc, None, (atoms[0][0], atoms[-1][0]), atoms)


def density_method(init: Any) -> Callable[[tuple[int, ...], np.dtype | None], Density]:
    """``init._density``: the density of a jinit initializer's entries for ``(shape, dtype)``.

    Raises:
      TypeError: for an object that is not a jinit initializer (a user's own
        callable has no law to read a density from).
    """
    method = getattr(init, "_density", None)
    if method is None:
        raise TypeError(
            f"jinit.plot.density: needs a jinit initializer (the density is read from its law); got {init!r}."
        )
    return method
