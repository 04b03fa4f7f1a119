"""Pictures of initializers and of signal propagation (matplotlib, optional).

Two halves:

* the law of one entry as a density, from the initializer's family and
  fields (``density``), and a chi-square test of draws against it
  (``goodness_of_fit``): pure numpy, no matplotlib;
* the figures (``histogram``, ``depth_profile``, ``propagation``,
  ``length_map``, ``chi1_map``): matplotlib is imported when the first one
  is drawn, with the Agg backend when no display is available.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from jinit._src.core import laws, validation
from jinit._src.core.types import DTypeLike, Initializer, Moments, Shape
from jinit._src.diagnostics.propagate import LABELS, Propagation

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Where a normal density is drawn and integrated: mean +- 8 standard deviations
# (the mass outside is 1.2e-15, below one draw in any histogram we make).
NORMAL_SPAN = 8.0
# Gauss-Legendre nodes per bin when integrating a density over histogram bins.
_NODES_PER_BIN = 16
# Grid points of the numerical CDF that places equiprobable bins.
_CDF_GRID = 20001


# ---------------------------------------------------------------------------
# Densities (no matplotlib)


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


def _normal_pdf(mean: float, std: float, weight: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    c = weight / (std * math.sqrt(2.0 * math.pi))
    return lambda x: c * np.exp(-0.5 * ((np.asarray(x) - mean) / std) ** 2)


def _normal(mean: float, std: float, what: str) -> Density:
    return Density(
        "normal",
        f"{what}N({mean:.4g}, {std:.4g}^2)",
        _normal_pdf(mean, std),
        (mean - NORMAL_SPAN * std, mean + NORMAL_SPAN * std),
    )


def _truncated(mean: float, std: float, lower: float, upper: float, what: str = "") -> Density:
    """N(mean, std^2) truncated to [mean + lower std, mean + upper std]."""
    lo, hi = max(lower, -NORMAL_SPAN - 30.0), min(upper, NORMAL_SPAN + 30.0)
    z = 0.5 * (math.erf(hi / math.sqrt(2.0)) - math.erf(lo / math.sqrt(2.0)))
    base = _normal_pdf(mean, std, 1.0 / z)
    a, b = mean + std * lo, mean + std * hi

    def pdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return np.where((x >= a) & (x <= b), base(x), 0.0)

    desc = f"{what}N({mean:.4g}, {std:.4g}^2) truncated to [{a:.4g}, {b:.4g}]"
    return Density("truncated_normal", desc, pdf, (max(a, mean - NORMAL_SPAN * std), min(b, mean + NORMAL_SPAN * std)))


def _uniform(low: float, high: float, what: str = "") -> Density:
    c = 1.0 / (high - low)

    def pdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return np.where((x >= low) & (x <= high), c, 0.0)

    return Density("uniform", f"{what}U({low:.4g}, {high:.4g})", pdf, (low, high))


def _haar_entry(m: int, scale: float, weight: float = 1.0) -> Density:
    """One entry of ``scale`` times a uniform unit vector in R^m.

    Its density is ``c (1 - (x/scale)^2)^((m - 3)/2) / scale`` on
    [-scale, scale], c = Gamma(m/2) / (sqrt(pi) Gamma((m - 1)/2)): the
    marginal of the uniform law on the sphere (x^2 ~ Beta(1/2, (m-1)/2)).
    A column (or row) of a Haar orthogonal matrix is such a vector.
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


def _solve_truncation(ratio: float) -> float:
    """The symmetric truncation a (std units) with a^2 / Var(Z | |Z| <= a) = ratio."""

    def f(a: float) -> float:
        m = laws.truncated_standard_normal_raw_moments(-a, a, 2)
        return a * a / m[2] - ratio

    lo, hi = 1e-3, 40.0
    if f(lo) > 0 or f(hi) < 0:
        raise ValueError("no symmetric truncated normal has these moments")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _fields(init: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(init) and not isinstance(init, type):
        return {f.name: getattr(init, f.name) for f in dataclasses.fields(init)}
    return {}


def density(init: Initializer, shape: Shape, dtype: DTypeLike | None = None) -> Density:
    """The density of one entry of ``init(key, shape, dtype)``, from its family.

    The family is read from the initializer's class and fields (variance
    scaling with its ``distribution``; normal, truncated normal and uniform
    with their parameters; constants; orthogonal matrices, whose entries are
    those of a uniform unit vector; delta-orthogonal and identity kernels,
    with their point masses; stacked initializers). Otherwise it is inferred
    from ``init.moments``: a normal when the excess kurtosis is 0 and the
    law unbounded, a uniform when it is -6/5 and bounded, a symmetric
    truncated normal when bounded in between, a point mass when the
    variance is 0.

    Args:
      init: an initializer.
      shape: the shape it is called with (fans depend on it).
      dtype: a real dtype (complex draws have no density on the line).

    Returns:
      A :class:`Density`.

    Raises:
      ValueError: for a complex dtype.
      NotImplementedError: when neither the family nor the moments pin the law down.

    Examples:
      >>> import jinit
      >>> d = jinit.plot.density(jinit.he_uniform(), (100, 10))
      >>> d.family, [round(s, 4) for s in d.support]
      ('uniform', [-0.2449, 0.2449])
    """
    name = "plot.density"
    shape = validation.shape(name, shape)
    dt = None if dtype is None else np.dtype(dtype)
    if dt is not None and np.issubdtype(dt, np.complexfloating):
        raise ValueError(validation.error(name, f"complex draws have no density on the real line; got dtype={dt}."))
    if isinstance(getattr(init, "dtype", None), type) or getattr(init, "dtype", None) is not None:
        own = np.dtype(init.dtype)  # type: ignore[attr-defined]
        if dt is None and np.issubdtype(own, np.complexfloating):
            raise ValueError(
                validation.error(name, f"complex draws have no density on the real line; got dtype={own}.")
            )
    cls = type(init).__name__
    f = _fields(init)

    if cls == "Stacked":
        return density(f["init"], shape[1:], dtype)
    mro = {c.__name__ for c in type(init).__mro__}
    if "Constant" in mro and "value" in f:
        v = float(f["value"])
        return Density("constant", f"the constant {v:.4g}", None, (v, v), ((v, 1.0),))
    if "Eye" in mro or cls == "Dirac":
        # Two values: the gain (1 for dirac) on the identity's entries, 0 elsewhere; the law's mean gives the share.
        g = float(f.get("gain", 1.0))
        p = _law(init, shape, dtype).mean / g
        return Density(
            "eye",
            f"{g:.4g} on the identity's entries ({p:.3g}), 0 elsewhere",
            None,
            (min(0.0, g), max(0.0, g)),
            ((g, p), (0.0, 1.0 - p)),
        )
    if hasattr(init, "matrix_shape") and ("scale" in f or "gain" in f) and cls != "DeltaOrthogonal":
        rows, cols = init.matrix_shape(shape)
        return _haar_entry(max(rows, cols), float(f.get("scale", f.get("gain", 1.0))))
    if cls == "Sparse" and hasattr(init, "num_zeros"):
        p0 = init.num_zeros(shape) / shape[init.out_axis()]  # type: ignore[attr-defined]
        std = float(f["std"])
        if p0 >= 1.0:
            return Density("constant", "the constant 0", None, (0.0, 0.0), ((0.0, 1.0),))
        return Density(
            "sparse",
            f"0 with probability {p0:.3g}, else N(0, {std:.4g}^2)",
            _normal_pdf(0.0, std, 1.0 - p0),
            (-NORMAL_SPAN * std, NORMAL_SPAN * std),
            ((0.0, p0),),
        )
    if cls == "TruncNormal" and {"mean", "std", "a", "b"} <= f.keys():
        # torch's trunc_normal: absolute bounds a, b.
        m, sd = float(f["mean"]), float(f["std"])
        return _truncated(m, sd, (float(f["a"]) - m) / sd, (float(f["b"]) - m) / sd)
    if cls == "DeltaOrthogonal":
        taps = math.prod(shape[:-2])
        inner = _haar_entry(shape[-1], float(f["scale"]), 1.0 / taps)
        if taps == 1:
            return inner
        atoms = ((0.0, 1.0 - 1.0 / taps), *inner.atoms)
        return Density(
            "delta_orthogonal", f"0 off the centre tap; there, {inner.description}", inner.pdf, inner.support, atoms
        )
    if "distribution" in f and hasattr(init, "variance"):
        v = float(init.variance(shape))
        what = f"scale {f.get('scale', 1):.4g} / {f.get('mode', 'fan')}: "
        if f["distribution"] == "normal":
            return _normal(0.0, math.sqrt(v), what)
        if f["distribution"] == "uniform":
            b = math.sqrt(3.0 * v)
            return _uniform(-b, b, what)
        if f["distribution"] == "truncated_normal":
            return _truncated(0.0, math.sqrt(v) / laws.TRUNCATED_NORMAL_STD, -2.0, 2.0, what)
    if cls == "Normal" and "stddev" in f:
        return _normal(0.0, float(f["stddev"]), "")
    if cls == "TruncatedNormal" and {"stddev", "lower", "upper"} <= f.keys():
        return _truncated(0.0, float(f["stddev"]), float(f["lower"]), float(f["upper"]))
    if cls == "Uniform" and "scale" in f:
        return _uniform(0.0, float(f["scale"]))
    if getattr(type(init), "random", True) is False:
        return _deterministic(init, shape, dtype)
    return _from_moments(init, shape, dtype)


def _deterministic(init: Initializer, shape: tuple[int, ...], dtype: DTypeLike | None) -> Density:
    """A scheme whose values do not depend on the key (ZerO, IRNN, ...): its law is the share of each value."""
    w = np.asarray(init(jax.random.key(0), shape, dtype)).astype(np.float64).ravel()
    values, counts = np.unique(w, return_counts=True)
    atoms = tuple((float(v), float(c) / w.size) for v, c in zip(values, counts, strict=True))
    desc = f"{len(values)} values (deterministic): " + ", ".join(f"{v:.4g} ({m:.3g})" for v, m in atoms[:4])
    return Density("deterministic", desc + (", ..." if len(atoms) > 4 else ""), None, (values[0], values[-1]), atoms)


def _law(init: Initializer, shape: tuple[int, ...], dtype: DTypeLike | None) -> Moments:
    moments_fn = getattr(init, "moments", None)
    law = None if moments_fn is None else moments_fn(shape, dtype)
    if law is None:
        raise NotImplementedError(validation.error("plot.density", f"no law known for {init!r} with shape={shape!r}."))
    return law


def _from_moments(init: Initializer, shape: tuple[int, ...], dtype: DTypeLike | None) -> Density:
    name = "plot.density"
    law = _law(init, shape, dtype)
    mean, var = float(law.mean), float(law.variance)
    if var == 0.0:
        return Density("constant", f"the constant {mean:.4g}", None, (mean, mean), ((mean, 1.0),))
    k = law.excess_kurtosis
    if not law.iid and k is None and mean == 0.0 and law.bound is not None and "Orthogonal" in type(init).__name__:
        # scale times a Haar (semi-)orthogonal matrix: |w| <= scale and Var = scale^2 / max(rows, cols).
        m = law.bound**2 / var
        if abs(m - round(m)) < 1e-6 * m:
            return _haar_entry(round(m), law.bound)
    if law.iid and k is not None and law.interval is None:
        if law.bound is None and abs(k) < 1e-9:
            return _normal(mean, math.sqrt(var), "")
        if law.bound is not None and abs(k + 1.2) < 1e-9:
            return _uniform(mean - law.bound, mean + law.bound)
        if law.bound is not None and -1.2 < k < 0.0:
            a = _solve_truncation(law.bound**2 / var)
            return _truncated(mean, law.bound / a, -a, a)
    raise NotImplementedError(
        validation.error(name, f"the moments of {init!r} do not pin down a density (law {law}); add its family.")
    )


@dataclasses.dataclass(frozen=True)
class Fit:
    """A chi-square test of draws against a density.

    Attributes:
      statistic: Pearson's chi-square over the cells (equiprobable bins of
        the continuous part, one cell per atom).
      dof: degrees of freedom (cells - 1).
      z: the statistic as a standard normal deviate (Wilson-Hilferty),
        large and positive when the draws do not follow the density.
      observed: the count in each cell.
      expected: the expected count in each cell.
    """

    statistic: float
    dof: int
    z: float
    observed: np.ndarray
    expected: np.ndarray


def _in_dtype(value: float, dtype: np.dtype) -> float:
    """``value`` rounded to ``dtype`` (where an atom's draws land), as a float64."""
    return float(np.asarray(value).astype(dtype))


def goodness_of_fit(
    init: Initializer,
    shape: Shape,
    *,
    key: jax.Array | int = 0,
    dtype: DTypeLike | None = None,
    bins: int = 50,
    draws: np.ndarray | None = None,
) -> Fit:
    """Pearson's chi-square test of one draw of ``init`` against :func:`density`.

    Cells: ``bins`` bins of equal probability under the continuous part, and
    one cell per atom (a draw counts there when it equals the atom's value
    in the draws' dtype). The statistic is converted to a standard normal
    deviate by the Wilson-Hilferty cube root, accurate for dof >= 10.
    Entries of orthogonal matrices are not independent; their dependence is
    of order 1/rows, which leaves the test valid for the sizes we draw.

    Args:
      init: an initializer.
      shape: the shape drawn.
      key: an int seed or a PRNG key.
      dtype: a real dtype.
      bins: the number of equiprobable bins of the continuous part.
      draws: the draws to test (default: ``init(key, shape, dtype)``).

    Returns:
      A :class:`Fit`; ``|z| < 6`` for draws that follow the density.

    Examples:
      >>> import jinit
      >>> fit = jinit.plot.goodness_of_fit(jinit.glorot_normal(), (256, 256), key=0)
      >>> bool(abs(fit.z) < 6)
      True
    """
    d = density(init, shape, dtype)
    if draws is None:
        k = jax.random.key(key) if isinstance(key, int) else key
        draws = np.asarray(init(k, shape, dtype))
    x = np.asarray(draws, dtype=np.float64).ravel()
    n = x.size
    obs, exp = [], []
    is_atom = np.zeros(n, dtype=bool)
    for value, mass in d.atoms:
        hit = x == _in_dtype(value, np.asarray(draws).dtype)
        is_atom |= hit
        obs.append(float(np.sum(hit)))
        exp.append(n * mass)
    if d.pdf is None and not np.all(is_atom):
        # A draw that is none of the values a discrete law allows.
        return Fit(math.inf, max(len(obs) - 1, 1), math.inf, np.asarray(obs), np.asarray(exp))
    if d.pdf is not None:
        edges = d.quantile_edges(bins)
        edges[0], edges[-1] = -np.inf, np.inf
        counts, _ = np.histogram(x[~is_atom], edges)
        obs += counts.astype(float).tolist()
        exp += [n * d.continuous_mass / bins] * bins
    observed, expected = np.asarray(obs), np.asarray(exp)
    live = expected > 0
    if np.any(observed[~live] > 0):
        return Fit(math.inf, int(live.sum()) - 1, math.inf, observed, expected)
    stat = float(np.sum((observed[live] - expected[live]) ** 2 / expected[live]))
    dof = max(int(live.sum()) - 1, 1)
    # Wilson & Hilferty (1931): (X/k)^(1/3) is nearly normal with mean 1 - 2/(9k), variance 2/(9k).
    z = ((stat / dof) ** (1.0 / 3.0) - (1.0 - 2.0 / (9.0 * dof))) / math.sqrt(2.0 / (9.0 * dof))
    return Fit(stat, dof, z, observed, expected)


# ---------------------------------------------------------------------------
# Figures (matplotlib)


def _headless() -> bool:
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


@functools.cache
def pyplot() -> Any:
    """``matplotlib.pyplot``, imported on first use (Agg when headless and no backend is chosen).

    Raises:
      ImportError: when matplotlib is not installed, naming the extra to install.
    """
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover - exercised without the extra
        raise ImportError("jinit.plot needs matplotlib: pip install 'jinit[plot]'.") from e
    if _headless() and "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    _, new = pyplot().subplots(figsize=figsize, layout="constrained")
    return new


def _label(init: Any) -> str:
    return str(getattr(init, "name", None) or type(init).__name__)


def histogram(
    init: Initializer,
    shape: Shape = (256, 512),
    *,
    key: jax.Array | int = 0,
    dtype: DTypeLike | None = None,
    bins: int = 80,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """A histogram of one draw of ``init`` against the density of its formula.

    The bars are the draws' density; the line is :func:`density`'s
    continuous part; point masses are stems whose height is their mass
    (read on the right axis). The legend gives the chi-square z of
    :func:`goodness_of_fit`.

    Args:
      init: an initializer.
      shape: the shape drawn.
      key: an int seed or a PRNG key.
      dtype: a real dtype.
      bins: histogram bins.
      ax: axes to draw on (default: a new figure).
      title: the title (default: the scheme's name and shape).

    Returns:
      The axes, holding the bars (``ax.patches``), the density line
      (``ax.lines``, label ``"formula"``) and the atoms' stems.

    Examples:
      >>> import jinit
      >>> ax = jinit.plot.histogram(jinit.he_normal(), (64, 64))
      >>> [line.get_label() for line in ax.lines][:1]
      ['formula']
    """
    ax = _axes(ax)
    d = density(init, shape, dtype)
    k = jax.random.key(key) if isinstance(key, int) else key
    draws = np.asarray(init(k, shape, dtype))
    fit = goodness_of_fit(init, shape, dtype=dtype, draws=draws)
    x = draws.astype(np.float64).ravel()
    is_atom = np.zeros(x.size, dtype=bool)
    for value, _ in d.atoms:
        is_atom |= x == _in_dtype(value, draws.dtype)
    cont = x[~is_atom]
    if d.pdf is not None and cont.size:
        # Show where the draws fall (a normal's support is cut far out at NORMAL_SPAN sigma).
        lo, hi = max(d.support[0], float(cont.min())), min(d.support[1], float(cont.max()))
        pad = 0.03 * (hi - lo)
        edges = np.linspace(lo - pad, hi + pad, bins + 1)
        # The bars show the continuous part's density (its mass is continuous_mass, not 1).
        ax.hist(
            cont,
            bins=edges.tolist(),
            weights=np.full(cont.size, 1.0 / (x.size * (edges[1] - edges[0]))),
            alpha=0.5,
            color="C0",
            label=f"draws ({x.size})",
        )
        grid = np.linspace(edges[0], edges[-1], 801)
        ax.plot(grid, d.pdf(grid), color="C3", lw=1.5, label="formula")
    else:
        ax.plot([], [], color="C3", lw=1.5, label="formula")
    if d.atoms:
        for value, mass in d.atoms:
            got = float(np.mean(x == _in_dtype(value, draws.dtype)))
            ax.vlines(value, 0, mass, color="C3", lw=3, alpha=0.6)
            ax.plot([value], [got], "o", color="C0", ms=6)
        ax.set_ylabel("density / point mass")
    else:
        ax.set_ylabel("density")
    ax.set_xlabel("w")
    ax.set_title(title or f"{_label(init)} {tuple(shape)}\n{d.description}", fontsize=8)
    ax.legend(title=f"chi2 z = {fit.z:.2f}", fontsize=7, title_fontsize=7, loc="upper right")
    return ax


_LINESTYLES = ("-", "--", ":", "-.")


def depth_profile(
    result: Propagation,
    quantity: str = "second_moment",
    *,
    ax: Axes | None = None,
    log: bool | None = None,
    schemes: Sequence[str] | None = None,
) -> Axes:
    """One per-layer quantity of :func:`jinit.propagate` against depth, a line and band per scheme.

    The line is the median across seeds, the band spans the quantiles
    (``result.quantiles``). Non-finite values (float32 overflow) are left out.

    Args:
      result: what ``jinit.propagate`` returned.
      quantity: one of ``jinit.propagate``'s quantities (``"second_moment"``,
        ``"grad_norm"``, ``"dead_fraction"``, ...).
      ax: axes to draw on (default: a new figure).
      log: a log y axis (default: for second moments and gradient norms).
      schemes: a subset of ``result.schemes`` to draw.

    Returns:
      The axes: one line (labelled with the scheme) and one band per scheme.

    Examples:
      >>> import jinit
      >>> p = jinit.propagate(["he_normal", "glorot_normal"], "relu", depth=5, width=32, seeds=2)
      >>> ax = jinit.plot.depth_profile(p, "second_moment")
      >>> [line.get_label() for line in ax.lines]
      ['he_normal', 'glorot_normal']
    """
    band = result.band(quantity)
    ax = _axes(ax)
    if log is None:
        log = quantity in ("second_moment", "grad_norm", "backward_second_moment")
    layers = result.layers
    for name in schemes or result.schemes:
        i = result.index(name)
        med, lo, hi = band.median[i], band.lower[i], band.upper[i]
        ok = np.isfinite(med) & ((med > 0) if log else True)
        with np.errstate(all="ignore"):
            band_ok = np.isfinite(lo) & np.isfinite(hi) & (((lo > 0) & (hi > 0)) if log else True)
        # Line styles cycle too: schemes that coincide (glorot = lecun on square layers) stay visible.
        style = _LINESTYLES[result.index(name) % len(_LINESTYLES)]
        (line,) = ax.plot(layers[ok], med[ok], lw=1.6, ls=style, label=name)
        ax.fill_between(
            layers,
            np.where(band_ok, lo, np.nan),
            np.where(band_ok, hi, np.nan),
            color=line.get_color(),
            alpha=0.2,
            lw=0,
        )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel(LABELS[quantity])
    ax.legend(fontsize=8)
    return ax


def variance_vs_depth(result: Propagation, *, ax: Axes | None = None) -> Axes:
    """The pre-activation second moment E[z^2] against depth (see :func:`depth_profile`)."""
    return depth_profile(result, "second_moment", ax=ax)


def gradient_vs_depth(result: Propagation, *, ax: Axes | None = None) -> Axes:
    """The kernel gradient norm |dL/dW| against depth (see :func:`depth_profile`)."""
    return depth_profile(result, "grad_norm", ax=ax)


def propagation(
    result: Propagation,
    quantities: Sequence[str] = ("second_moment", "grad_norm", "dead_fraction", "correlation"),
    *,
    title: str | None = None,
) -> Figure:
    """A figure with one :func:`depth_profile` panel per quantity (what ``jinit propagate --out`` writes).

    Args:
      result: what ``jinit.propagate`` returned.
      quantities: the panels, in order.
      title: the figure title (default: activation, widths, seeds).

    Returns:
      The figure; ``fig.axes`` holds one axes per quantity.
    """
    for q in quantities:
        result.band(q)
    cols = min(2, len(quantities))
    rows = math.ceil(len(quantities) / cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(5.5 * cols, 3.8 * rows), layout="constrained", squeeze=False)
    for ax, q in zip(axes.ravel(), quantities, strict=False):
        depth_profile(result, q, ax=ax)
    for ax in axes.ravel()[len(quantities) :]:
        ax.remove()
    fig.suptitle(
        title
        or f"{result.activation} network, depth {result.depth}, width {result.widths[1]}, "
        f"median and {result.quantiles[0]:.0%}-{result.quantiles[1]:.0%} band over {result.seeds} seeds",
        fontsize=10,
    )
    return fig


def _mean_field() -> Any:
    try:
        from jinit._src.theory import mean_field
    except ImportError as e:  # pragma: no cover - until the theory module lands
        raise NotImplementedError("jinit.plot: the mean-field plots need jinit.mean_field.") from e
    return mean_field


def length_map(
    activation: str | Callable[[Any], Any],
    weight_variances: Sequence[float] = (1.0, 2.0, 4.0),
    bias_variance: float = 0.0,
    *,
    q_max: float = 4.0,
    points: int = 81,
    ax: Axes | None = None,
) -> Axes:
    """The mean-field length map q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2 per weight variance.

    The identity is dashed; where a curve crosses it is the fixed point q*,
    marked with a dot (from ``jinit.mean_field.fixed_point``).

    Args:
      activation: a name or a callable.
      weight_variances: sigma_w^2 of each curve.
      bias_variance: sigma_b^2.
      q_max: the largest input length drawn.
      points: points per curve.
      ax: axes to draw on.

    Returns:
      The axes: one curve per weight variance, the identity, the fixed points.
    """
    mf = _mean_field()
    ax = _axes(ax)
    qs = np.linspace(0.0, q_max, points)
    for sw2 in weight_variances:
        out = [mf.length_map(activation, sw2, bias_variance, float(q)) for q in qs]
        (line,) = ax.plot(qs, out, label=f"sigma_w^2 = {sw2:g}")
        try:
            q_star = mf.fixed_point(activation, sw2, bias_variance)
        except ValueError:
            continue
        if 0 <= q_star <= q_max:
            ax.plot([q_star], [q_star], "o", color=line.get_color())
    ax.plot(qs, qs, "k--", lw=1, label="q_out = q_in")
    ax.set_xlabel("q^{l-1}")
    ax.set_ylabel("q^l")
    ax.set_title(f"length map, {_act_name(activation)}, sigma_b^2 = {bias_variance:g}", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def _act_name(activation: Any) -> str:
    return activation if isinstance(activation, str) else getattr(activation, "__name__", repr(activation))


def chi1_map(
    activation: str | Callable[[Any], Any],
    weight_variances: Sequence[float] | np.ndarray | None = None,
    bias_variances: Sequence[float] | np.ndarray | None = None,
    *,
    ax: Axes | None = None,
) -> Axes:
    """A heat map of chi_1 over (sigma_w^2, sigma_b^2) with the edge of chaos chi_1 = 1.

    chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] at the fixed point q*
    (``jinit.mean_field.chi1``): below 1 the network is ordered (gradients
    vanish), above 1 chaotic (they explode). The colour is log2 chi_1; the
    black line is ``jinit.mean_field.critical`` for each sigma_b^2.

    Args:
      activation: a name or a callable.
      weight_variances: the sigma_w^2 grid (x axis; default 16 values from 0.5 to 4).
      bias_variances: the sigma_b^2 grid (y axis; default 9 values from 0 to 0.4). Each
        point solves for q* (``jinit.mean_field.chi1``): about 0.02 s each.
      ax: axes to draw on.

    Returns:
      The axes: the heat map (``ax.collections[0]``, a QuadMesh) and the
      critical line (``ax.lines``, label ``"edge of chaos"``).
    """
    mf = _mean_field()
    ax = _axes(ax)
    sw = np.linspace(0.5, 4.0, 16) if weight_variances is None else np.asarray(weight_variances, dtype=np.float64)
    sb = np.linspace(0.0, 0.4, 9) if bias_variances is None else np.asarray(bias_variances, dtype=np.float64)
    chi = np.full((sb.size, sw.size), np.nan)
    for i, b in enumerate(sb):
        for j, w in enumerate(sw):
            try:
                chi[i, j] = mf.chi1(activation, float(w), float(b))
            except ValueError:
                pass
    with np.errstate(divide="ignore", invalid="ignore"):
        log_chi = np.log2(chi)
    span = float(np.nanmax(np.abs(log_chi))) if np.isfinite(log_chi).any() else 1.0
    mesh = ax.pcolormesh(sw, sb, log_chi, cmap="RdBu_r", vmin=-span, vmax=span, shading="nearest")
    ax.figure.colorbar(mesh, ax=ax, label="log2 chi_1")
    crit_w, crit_b = [], []
    for b in sb:
        try:
            w, _ = mf.critical(activation, float(b))
        except ValueError:
            continue
        crit_w.append(w)
        crit_b.append(b)
    ax.plot(crit_w, crit_b, "k-", lw=2, label="edge of chaos")
    ax.set_xlim(sw.min(), sw.max())
    ax.set_xlabel("sigma_w^2")
    ax.set_ylabel("sigma_b^2")
    ax.set_title(f"chi_1, {_act_name(activation)}: ordered (blue) vs chaotic (red)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return ax
