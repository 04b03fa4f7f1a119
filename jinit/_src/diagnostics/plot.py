"""Pictures of initializers and of signal propagation (matplotlib, optional).

Two halves:

* the law of one entry as a density, which each scheme writes from its
  law (``density``; the families are in ``jinit._src.core.densities``), and
  a chi-square test of draws against it (``goodness_of_fit``): pure numpy,
  no matplotlib;
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

from jinit._src.core import densities, validation
from jinit._src.core.densities import Density
from jinit._src.core.types import DTypeLike, Initializer, Shape
from jinit._src.diagnostics.propagate import LABELS, Propagation

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# ---------------------------------------------------------------------------
# Densities (no matplotlib)


def density(init: Initializer, shape: Shape, dtype: DTypeLike | None = None) -> Density:
    """The density of one entry of ``init(key, shape, dtype)``, from its law.

    Each jinit scheme writes its own (its ``_density``, beside its
    ``moments``) from the family and parameters of its law: variance scaling
    with its ``distribution``; normal, truncated normal and uniform with their
    parameters; constants; orthogonal matrices, whose entries are those of a
    uniform unit vector; delta-orthogonal and identity kernels, with their
    point masses; deterministic kernels (ZerO, IRNN) with the share of each
    value; stacked and muP-scaled initializers, from the one they wrap.

    Args:
      init: a jinit initializer.
      shape: the shape it is called with (fans depend on it).
      dtype: a real dtype (complex draws have no density on the line).

    Returns:
      A :class:`Density`.

    Raises:
      ValueError: for a complex dtype, an empty shape, or a shape or dtype
        the scheme does not define.
      TypeError: for an object that is not a jinit initializer (there is no
        law to read the density from).

    Examples:
      >>> import jinit
      >>> d = jinit.plot.density(jinit.he_uniform(), (100, 10))
      >>> d.family, [round(s, 4) for s in d.support]
      ('uniform', [-0.2449, 0.2449])
    """
    name = "plot.density"
    method = densities.density_method(init)
    shape = validation.shape(name, shape)
    dt = None if dtype is None else np.dtype(dtype)
    drawn = dt if dt is not None or init.dtype is None else np.dtype(init.dtype)  # type: ignore[attr-defined]
    if drawn is not None and np.issubdtype(drawn, np.complexfloating):
        raise ValueError(validation.error(name, f"complex draws have no density on the real line; got dtype={drawn}."))
    if math.prod(shape) == 0:
        raise ValueError(validation.error(name, f"an empty shape has no entries, so no density; got shape={shape!r}."))
    init.moments(shape, dt)  # type: ignore[attr-defined]  # the scheme's own checks of shape and dtype
    return method(shape, dt)


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
