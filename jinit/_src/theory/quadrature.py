"""Gaussian expectations ``E[f(mean + std Z)]``, Z ~ N(0, 1), by split Gauss-Legendre quadrature.

The line ``[-TAIL, TAIL]`` (in standard deviations) is cut at the points where
f or a derivative jumps, and each piece gets ``n`` Gauss-Legendre nodes
weighted by the normal density. On pieces where f is analytic the rule
converges exponentially; Gauss-Hermite across a kink only algebraically.
``expectation2`` nests the rule for a pair of correlated normals, and every
function is evaluated in float64 by ``evaluate``. See docs/theory.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import numpy as np

TAIL = 16.0  # half-width in standard deviations: the normal mass beyond is below 1e-57
NODES_PER_PIECE = 96
# Outer cuts of ``expectation2`` near |c| = 1, in inner standard deviations around each kink.
OUTER_SPLITS = (-16.0, -4.0, -1.0, 1.0, 4.0, 16.0)
SQRT_2PI = math.sqrt(2.0 * math.pi)


@functools.cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


@functools.cache
def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / SQRT_2PI


def evaluate(f: Callable, x: np.ndarray) -> np.ndarray:
    """``f`` at the points ``x`` in float64 (under ``jax.enable_x64``), in the shape of ``x``.

    ``f`` is a numpy or JAX elementwise function. The points are flattened and
    padded to a power of two (at least 64) by repeating the last one, so that a
    jitted ``f`` is compiled for a handful of sizes only.
    """
    x = np.asarray(x, np.float64)
    flat = x.ravel()
    size = max(64, 1 << max(flat.size - 1, 0).bit_length())
    padded = np.concatenate([flat, np.full(size - flat.size, flat[-1] if flat.size else 0.0)])
    with jax.enable_x64(True):
        y = np.asarray(f(padded), np.float64)
    return np.broadcast_to(y, padded.shape)[: flat.size].reshape(x.shape)


def _edges(means: np.ndarray, std: float, breakpoints: Sequence[float], z_cuts: Sequence[float]) -> np.ndarray:
    """One sorted row of piece ends per mean, in standard deviations: -TAIL, the cuts, TAIL."""
    cuts = (np.asarray(breakpoints, np.float64)[None, :] - means[:, None]) / std
    extra = np.broadcast_to(np.asarray(z_cuts, np.float64), (means.size, len(z_cuts)))
    cuts = np.sort(np.clip(np.concatenate([cuts, extra], axis=1), -TAIL, TAIL), axis=1)
    ends = np.full((means.size, 1), TAIL)
    return np.concatenate([-ends, cuts, ends], axis=1)


def nodes(
    mean: float | np.ndarray = 0.0,
    std: float = 1.0,
    breakpoints: Sequence[float] = (0.0,),
    n: int = NODES_PER_PIECE,
    method: str = "split",
    z_cuts: Sequence[float] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Points x and weights w with ``sum(w * f(x), axis=-1) ~= E[f(mean + std Z)]``.

    Args:
      mean: the mean, or an array of means (one row of nodes each).
      std: the standard deviation, non-negative.
      breakpoints: where f or a derivative jumps (in x): the line is cut there.
      n: Gauss-Legendre nodes per piece (or Gauss-Hermite nodes in all).
      method: ``"split"``, or ``"hermite"`` (one Gauss-Hermite rule, for comparison).
      z_cuts: further cuts in standard deviations from the mean.

    Returns:
      ``(x, w)``: for a scalar mean, 1-D arrays over the pieces of non-zero
      width; for an array of means, one row per mean, where a cut outside
      ``[-TAIL, TAIL]`` gives a piece of zero width and weight, so that every
      row has the same length.
    """
    means = np.asarray(mean, np.float64)
    if method == "hermite":
        z, w = _hermite(n)
        x = means[..., None] + std * z
        return x, np.broadcast_to(w, x.shape)
    if method != "split":
        raise ValueError(f"jinit.quadrature: `method` must be 'split' or 'hermite'; got {method!r}.")
    rows = means.reshape(-1)
    if std == 0.0:
        x, w = rows[:, None], np.ones((rows.size, 1))
    else:
        edges = _edges(rows, std, breakpoints, z_cuts)
        if means.ndim == 0:
            edges = np.unique(edges)[None, :]  # one row: no pieces of zero width
        t, wt = _legendre(n)
        half = 0.5 * (edges[:, 1:] - edges[:, :-1])[..., None]
        z = half * t + 0.5 * (edges[:, 1:] + edges[:, :-1])[..., None]
        w = (half * wt * np.exp(-0.5 * z * z) / SQRT_2PI).reshape(rows.size, -1)
        x = rows[:, None] + std * z.reshape(rows.size, -1)
    shape = (*means.shape, -1)
    return x.reshape(shape), w.reshape(shape)


def expectation(
    f: Callable,
    mean: float = 0.0,
    std: float = 1.0,
    breakpoints: Sequence[float] = (0.0,),
    n: int = NODES_PER_PIECE,
    method: str = "split",
    z_cuts: Sequence[float] = (),
) -> float:
    """``E[f(mean + std Z)]`` for Z ~ N(0, 1); ``f`` elementwise, evaluated in float64 (see ``nodes``)."""
    x, w = nodes(mean, std, breakpoints, n, method, z_cuts)
    return float(np.sum(w * evaluate(f, x)))


def expectation2(
    f: Callable,
    g: Callable,
    std: float,
    c: float,
    breakpoints: Sequence[float] = (0.0,),
    n: int = NODES_PER_PIECE,
    z_cuts: Sequence[float] = (),
    kinks: Sequence[float] | None = None,
) -> float:
    """``E[f(u_1) g(u_2)]`` for centred normals u_1, u_2 of std ``std`` and correlation ``c``.

    A nested rule: outer nodes u_1 ~ N(0, std^2), inner u_2 | u_1 ~
    N(c u_1, std^2 (1 - c^2)), both split at ``breakpoints`` and ``z_cuts``.
    Near |c| = 1 the inner integral changes within ``OUTER_SPLITS`` inner
    widths of each of ``kinks`` (default: the breakpoints), where the outer
    rule is cut too.
    """
    inner_std = std * math.sqrt(max(1.0 - c * c, 0.0))
    outer = list(breakpoints)
    if 0.0 < inner_std < 0.5 * std * abs(c):
        width = inner_std / abs(c)
        outer += [b / c + k * width for b in (breakpoints if kinks is None else kinks) for k in OUTER_SPLITS]
    x1, w1 = nodes(0.0, std, outer, n, z_cuts=z_cuts)
    x2, w2 = nodes(c * x1, inner_std, breakpoints, n, z_cuts=z_cuts)
    inner = np.sum(w2 * evaluate(g, x2), axis=1)
    return float(np.sum(w1 * evaluate(f, x1) * inner))
