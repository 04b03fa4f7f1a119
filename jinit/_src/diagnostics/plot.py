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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jax
import numpy as np

from jinit._src.core import densities, validation
from jinit._src.core.densities import Density
from jinit._src.core.types import DTypeLike, Initializer, Shape
from jinit._src.diagnostics.propagate import Propagation

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

#: Okabe & Ito (2008)'s eight colours, told apart with every common colour-vision deficiency;
#: the order is the one the figures use (blue, vermillion, bluish green, orange, purple, sky blue,
#: yellow, black).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

#: matplotlib settings for figures fit for a paper: the Okabe-Ito colour cycle, Computer Modern
#: mathtext, 9-point text, no top and right spines, 200-dpi PNGs and TrueType fonts in PDFs.
#: Use it with ``plt.style.use(jinit.plot.STYLE)`` or ``plt.style.context(jinit.plot.STYLE)``;
#: jinit's own figures pick their colours from :data:`OKABE_ITO` whatever the style.
STYLE: dict[str, Any] = {
    "axes.prop_cycle": f"cycler(color={list(OKABE_ITO)!r})",
    "mathtext.fontset": "cm",
    "font.size": 9.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "savefig.dpi": 200,
    "pdf.fonttype": 42,
    "svg.hashsalt": "jinit",
}

#: Axis labels of :func:`jinit.propagate`'s quantities (mathtext).
AXIS_LABELS = {
    "second_moment": r"$\mathbb{E}[(z^l)^2]$",
    "mean": r"$\mathbb{E}[\phi(z^l)]$",
    "dead_fraction": "dead units (fraction)",
    "unit_spread": r"unit spread of $\mathbb{E}[(z^l)^2]$",
    "correlation": r"input correlation $c^l$",
    "grad_norm": r"$\|\partial L / \partial W^l\|_F$",
    "backward_second_moment": r"$\mathbb{E}[(\delta^l)^2]$",
}

# Vector formats keep no creation date, so a figure redrawn from the same numbers is the same file.
_NO_DATE = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}


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


def save(fig: Figure, path: str | os.PathLike[str], *, dpi: float = 200.0) -> Path:
    """Write ``fig`` to ``path`` in the format its suffix names: ``.png``, ``.svg`` or ``.pdf``.

    SVG and PDF are vector formats (for a paper); PNG is drawn at ``dpi``.
    The vector files carry no creation date and fixed element ids, so the
    same figure gives the same bytes. Missing folders are created.

    Args:
      fig: the figure.
      path: the file to write.
      dpi: the resolution of a PNG (and of raster parts of a vector file).

    Returns:
      The path written.

    Raises:
      ValueError: for any other suffix.

    Examples:
      >>> import jinit, tempfile, pathlib
      >>> ax = jinit.plot.histogram(jinit.he_normal(), (64, 64))
      >>> out = jinit.plot.save(ax.figure, pathlib.Path(tempfile.mkdtemp()) / "he.svg")
      >>> out.read_text()[:5]
      '<?xml'
    """
    _figure("plot.save", fig)
    if not isinstance(path, str | os.PathLike):
        raise TypeError(validation.error("plot.save", f"`path` must be a str or path; got {path!r:.60}."))
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        raise ValueError(validation.error("plot.save", f"`path` must end in .png, .svg or .pdf; got {str(path)!r}."))
    out.parent.mkdir(parents=True, exist_ok=True)
    # A fixed salt for the ids of SVG elements (random by default), so the same figure gives the same file.
    with pyplot().rc_context({"svg.hashsalt": "jinit"}):
        fig.savefig(out, dpi=dpi, metadata=_NO_DATE.get(suffix))
    return out


def shared_legend(fig: Figure, *, loc: str = "outside lower center", ncols: int | None = None, **kwargs: Any) -> Any:
    """One legend for the whole figure, in place of the legends of its axes.

    The entries are every labelled artist of every axes, each label once
    (the first artist that carries it), in the order the axes drew them;
    legends the axes had are removed. ``loc="outside ..."`` puts it beside
    the axes of a figure with ``layout="constrained"``.

    Args:
      fig: the figure.
      loc: where the legend goes (matplotlib's ``Figure.legend`` locations).
      ncols: columns (default: every entry in one row, at most 6).
      **kwargs: passed to ``Figure.legend``.

    Returns:
      The figure's legend, or None when no artist has a label.
    """
    _figure("plot.shared_legend", fig)
    handles: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
    if not handles:
        return None
    options: dict[str, Any] = {"loc": loc, "ncols": ncols or min(len(handles), 6), "frameon": False, **kwargs}
    return fig.legend(list(handles.values()), list(handles), **options)


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0), *, name: str = "plot") -> Axes:
    if ax is not None:
        if not (hasattr(ax, "plot") and hasattr(ax, "figure")):
            raise TypeError(validation.error(name, f"`ax` must be a matplotlib Axes or None; got {ax!r:.60}."))
        return ax
    _, new = pyplot().subplots(figsize=figsize, layout="constrained")
    return new


def _figure(name: str, fig: Any) -> Figure:
    if not (hasattr(fig, "savefig") and hasattr(fig, "axes")):
        raise TypeError(validation.error(name, f"`fig` must be a matplotlib Figure; got {fig!r:.60}."))
    return fig


def _propagation(name: str, result: Any) -> Propagation:
    if not isinstance(result, Propagation):
        raise TypeError(validation.error(name, f"`result` must be what jinit.propagate returned; got {result!r:.60}."))
    return result


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
    legend: bool = True,
) -> Axes:
    """A histogram of one draw of ``init`` against the density of its formula.

    The bars are the draws' density; the line is :func:`density`'s
    continuous part; point masses are stems whose height is their mass, with
    the measured share as a dot. The chi-square z of :func:`goodness_of_fit`
    is the legend's title, or is added to the axes' title with
    ``legend=False`` (for a grid of panels that shares one legend:
    :func:`shared_legend`).

    Args:
      init: an initializer.
      shape: the shape drawn.
      key: an int seed or a PRNG key.
      dtype: a real dtype.
      bins: histogram bins.
      ax: axes to draw on (default: a new figure).
      title: the title (default: the scheme's name and shape).
      legend: draw the axes' legend.

    Returns:
      The axes, holding the bars (``ax.patches``), the density line
      (``ax.lines``, label ``"formula"``) and the atoms' stems.

    Examples:
      >>> import jinit
      >>> ax = jinit.plot.histogram(jinit.he_normal(), (64, 64))
      >>> [line.get_label() for line in ax.lines][:1]
      ['formula']
    """
    ax = _axes(ax, name="plot.histogram")
    d = density(init, shape, dtype)
    k = jax.random.key(key) if isinstance(key, int) else key
    draws = np.asarray(init(k, shape, dtype))
    fit = goodness_of_fit(init, shape, dtype=dtype, draws=draws)
    x = draws.astype(np.float64).ravel()
    is_atom = np.zeros(x.size, dtype=bool)
    for value, _ in d.atoms:
        is_atom |= x == _in_dtype(value, draws.dtype)
    cont = x[~is_atom]
    bar, formula = OKABE_ITO[5], OKABE_ITO[1]
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
            color=bar,
            alpha=0.75,
            label="draws",
        )
        grid = np.linspace(edges[0], edges[-1], 801)
        ax.plot(grid, d.pdf(grid), color=formula, lw=1.5, label="formula")
    else:
        ax.plot([], [], color=formula, lw=1.5, label="formula")
    if d.atoms:
        for value, mass in d.atoms:
            got = float(np.mean(x == _in_dtype(value, draws.dtype)))
            ax.vlines(value, 0, mass, color=formula, lw=3, alpha=0.6)
            ax.plot([value], [got], "o", color=OKABE_ITO[0], ms=5, label="_measured share")
        ax.set_ylabel("density / point mass")
    else:
        ax.set_ylabel("density")
    ax.set_xlabel("$w$")
    z_text = f"$\\chi^2$ z = {fit.z:.2f}"
    title = title or f"{_label(init)} {tuple(shape)}\n{d.description}"
    if legend:
        ax.legend(title=z_text, fontsize=7, title_fontsize=7, loc="upper right")
    else:
        title = f"{title} ({z_text})"
    ax.set_title(title, fontsize=8)
    return ax


_LINESTYLES = ("-", "--", ":", "-.")


def _same_curve(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two median curves coincide where both are finite (to float32 rounding)."""
    ok = np.isfinite(a) & np.isfinite(b)
    return bool(ok.any()) and bool(np.allclose(a[ok], b[ok], rtol=1e-5, atol=0.0)) and ok.sum() >= 0.5 * a.size


def depth_profile(
    result: Propagation,
    quantity: str = "second_moment",
    *,
    ax: Axes | None = None,
    log: bool | None = None,
    schemes: Sequence[str] | None = None,
    legend: bool = True,
) -> Axes:
    """One per-layer quantity of :func:`jinit.propagate` against depth, a line and band per scheme.

    The line is the median across seeds, the band spans the quantiles
    (``result.quantiles``). Each scheme keeps its colour (:data:`OKABE_ITO`)
    and line style in every panel. What a line cannot show is written in a
    box of notes where it hides the fewest points, one note per scheme in its
    colour: a curve equal to an earlier one's (``"lecun_normal =
    glorot_normal (one line)"``), zeros on a log axis (``"zeros: 0 at every
    layer"``, ``"...: 0 from layer 20"``: float32 underflow) and overflow
    (``"...: not finite (overflow) from layer 23"``); those values are left out.

    Args:
      result: what ``jinit.propagate`` returned.
      quantity: one of ``jinit.propagate``'s quantities (``"second_moment"``,
        ``"grad_norm"``, ``"dead_fraction"``, ...).
      ax: axes to draw on (default: a new figure).
      log: a log y axis (default: for second moments and gradient norms).
      schemes: a subset of ``result.schemes`` to draw.
      legend: draw the axes' legend.

    Returns:
      The axes: one line (labelled with the scheme) and one band per scheme,
      and the notes, when there are any, as a legend in ``ax.artists``.

    Examples:
      >>> import jinit
      >>> p = jinit.propagate(["he_normal", "glorot_normal"], "relu", depth=5, width=32, seeds=2)
      >>> ax = jinit.plot.depth_profile(p, "second_moment")
      >>> [line.get_label() for line in ax.lines]
      ['he_normal', 'glorot_normal']
    """
    band = _propagation("plot.depth_profile", result).band(quantity)
    ax = _axes(ax, name="plot.depth_profile")
    if log is None:
        log = quantity in ("second_moment", "grad_norm", "backward_second_moment")
    layers = result.layers
    drawn: list[tuple[str, np.ndarray]] = []
    notes: list[tuple[str, str]] = []
    for name in schemes or result.schemes:
        i = result.index(name)
        med, lo, hi = band.median[i], band.lower[i], band.upper[i]
        finite = np.isfinite(med)
        ok = finite & ((med > 0) if log else True)
        with np.errstate(all="ignore"):
            band_ok = np.isfinite(lo) & np.isfinite(hi) & (((lo > 0) & (hi > 0)) if log else True)
        color = OKABE_ITO[i % len(OKABE_ITO)]
        twin = next((other for other, curve in drawn if ok.any() and _same_curve(med, curve)), None)
        if twin is not None:
            notes.append((color, f"{name} = {twin} (one line)"))
        if not finite.all():
            notes.append((color, f"{name}: not finite (overflow) from layer {int(layers[~finite][0])}"))
        zero = finite & (med <= 0) if log else np.zeros_like(finite)
        if zero.all():
            notes.append((color, f"{name}: 0 at every layer"))
        elif zero.any():
            first = int(np.argmax(zero))
            where = f"from layer {layers[first]}" if zero[first:].all() else f"at {int(zero.sum())} layers"
            notes.append((color, f"{name}: 0 {where}"))
        drawn.append((name, med))
        style = _LINESTYLES[i % len(_LINESTYLES)]
        ax.plot(layers[ok], med[ok], lw=1.6, ls=style, color=color, label=name)
        ax.fill_between(
            layers,
            np.where(band_ok, lo, np.nan),
            np.where(band_ok, hi, np.nan),
            color=color,
            alpha=0.18,
            lw=0,
        )
    if log:
        ax.set_yscale("log")
    if notes:
        # A legend of its own (added as an artist, so ``ax.get_legend()`` stays the schemes' legend), placed
        # where it hides the fewest data points.
        from matplotlib.legend import Legend
        from matplotlib.lines import Line2D

        colors, texts = zip(*notes, strict=True)
        ax.add_artist(
            Legend(
                ax,
                [Line2D([], [], color="none") for _ in notes],
                list(texts),
                loc="best",
                handlelength=0,
                handletextpad=0,
                labelcolor=list(colors),
                fontsize=6.5,
                frameon=True,
                framealpha=0.85,
                edgecolor="none",
            )
        )
    ax.set_xlabel("layer $l$")
    ax.set_ylabel(AXIS_LABELS[quantity])
    if legend:
        ax.legend(fontsize=8)
    return ax


def variance_vs_depth(result: Propagation, *, ax: Axes | None = None) -> Axes:
    """The pre-activation second moment E[z^2] against depth (see :func:`depth_profile`)."""
    return depth_profile(result, "second_moment", ax=ax)


def gradient_vs_depth(result: Propagation, *, ax: Axes | None = None) -> Axes:
    """The kernel gradient norm ``|dL/dW|`` against depth (see :func:`depth_profile`)."""
    return depth_profile(result, "grad_norm", ax=ax)


def propagation(
    result: Propagation | Sequence[Propagation],
    quantities: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """A figure of :func:`depth_profile` panels with one shared legend (what ``jinit propagate --out`` writes).

    One result: one panel per quantity, two per row (default quantities:
    second moment, gradient norm, dead units, correlation). Several results
    (e.g. one per activation, same schemes): one column per result, one row
    per quantity (default: second moment and gradient norm), so the
    activations sit side by side.

    Args:
      result: what ``jinit.propagate`` returned, or a sequence of them.
      quantities: the panels, in order.
      title: the figure title (default: activation, widths, seeds).

    Returns:
      The figure, drawn with :data:`STYLE`; ``fig.axes`` holds one axes per
      panel, ``fig.legends`` the shared legend.
    """
    plt = pyplot()
    if isinstance(result, Propagation):
        results = [result]
    elif isinstance(result, Sequence) and not isinstance(result, str):
        results = [_propagation("plot.propagation", r) for r in result]
    else:
        results = [_propagation("plot.propagation", result)]
    if not results:
        raise ValueError(validation.error("plot.propagation", "`result` needs at least one Propagation; got none."))
    many = len(results) > 1
    if quantities is None:
        quantities = (
            ("second_moment", "grad_norm") if many else ("second_moment", "grad_norm", "dead_fraction", "correlation")
        )
    for q in quantities:
        results[0].band(q)
    first = results[0]
    with plt.style.context(STYLE):
        band_text = f"median and {first.quantiles[0]:.0%}-{first.quantiles[1]:.0%} band over {first.seeds} seeds"
        if many:
            rows, cols = len(quantities), len(results)
            fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows), layout="constrained", squeeze=False)
            for c, r in enumerate(results):
                for row, q in enumerate(quantities):
                    ax = axes[row, c]
                    depth_profile(r, q, ax=ax, legend=False)
                    if c:
                        ax.set_ylabel("")
                    if row < rows - 1:
                        ax.set_xlabel("")
                axes[0, c].set_title(f"{r.activation}", fontsize=10)
            default = f"depth {first.depth}, width {first.widths[1]}: {band_text}"
        else:
            cols = min(2, len(quantities))
            rows = math.ceil(len(quantities) / cols)
            fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 2.9 * rows), layout="constrained", squeeze=False)
            for ax, q in zip(axes.ravel(), quantities, strict=False):
                depth_profile(first, q, ax=ax, legend=False)
            for ax in axes.ravel()[len(quantities) :]:
                ax.remove()
            default = f"{first.activation} network, depth {first.depth}, width {first.widths[1]}: {band_text}"
        fig.suptitle(title or default, fontsize=10)
        shared_legend(fig)
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
    legend: bool = True,
) -> Axes:
    r"""The mean-field length map, one curve per weight variance.

    The map is q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2, z ~ N(0, 1).
    The identity is dashed; where a curve crosses it is the fixed point
    q*, marked with a dot (from ``jinit.mean_field.fixed_point``).

    Args:
      activation: a name or a callable.
      weight_variances: sigma_w^2 of each curve.
      bias_variance: sigma_b^2.
      q_max: the largest input length drawn.
      points: points per curve.
      ax: axes to draw on.
      legend: draw the axes' legend.

    Returns:
      The axes: one curve per weight variance (labelled
      ``"$\sigma_w^2 = ...$"``), the identity, the fixed points.
    """
    name = "plot.length_map"
    variances = _variances(name, "weight_variances", weight_variances)
    bias_variance = validation.non_negative(name, "bias_variance", bias_variance)
    q_max = validation.positive(name, "q_max", q_max)
    points = validation.integer(name, "points", points, minimum=2, maximum=MAX_POINTS)
    mf = _mean_field()
    ax = _axes(ax, name=name)
    qs = np.linspace(0.0, q_max, points)
    for i, sw2 in enumerate(variances):
        out = [mf.length_map(activation, sw2, bias_variance, float(q)) for q in qs]
        color = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(qs, out, color=color, ls=_LINESTYLES[i % len(_LINESTYLES)], label=f"$\\sigma_w^2 = {sw2:g}$")
        try:
            q_star = mf.fixed_point(activation, sw2, bias_variance)
        except ValueError:
            continue
        if 0 <= q_star <= q_max:
            ax.plot([q_star], [q_star], "o", color=color, ms=5, label="_fixed point")
    ax.plot(qs, qs, color="0.35", ls=(0, (4, 3)), lw=1, label="$q^l = q^{l-1}$")
    ax.set_xlabel("$q^{l-1}$")
    ax.set_ylabel("$q^l$")
    ax.set_title(f"length map, {_act_name(activation)}, $\\sigma_b^2 = {bias_variance:g}$", fontsize=9)
    if legend:
        ax.legend(fontsize=8)
    return ax


# The most points a curve or grid axis may have (each point solves a fixed point: about 6 ms).
MAX_POINTS = 10_000


def _variances(name: str, param: str, values: Any) -> np.ndarray:
    """A non-empty 1-D float64 array of finite variances >= 0 (at most MAX_POINTS of them)."""
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(validation.error(name, f"`{param}` must be a sequence of variances; got {values!r:.60}."))
    out = np.asarray([validation.non_negative(name, param, v) for v in np.ravel(np.asarray(values, dtype=object))])
    if not 1 <= out.size <= MAX_POINTS:
        raise ValueError(validation.error(name, f"`{param}` needs 1 to {MAX_POINTS} values; got {out.size}."))
    return out


def _act_name(activation: Any) -> str:
    return activation if isinstance(activation, str) else getattr(activation, "__name__", repr(activation))


def chi1_map(
    activation: str | Callable[[Any], Any],
    weight_variances: Sequence[float] | np.ndarray | None = None,
    bias_variances: Sequence[float] | np.ndarray | None = None,
    *,
    ax: Axes | None = None,
    edge_points: int = 101,
) -> Axes:
    """A heat map of chi_1 over (sigma_w^2, sigma_b^2) with the edge of chaos chi_1 = 1.

    chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] at the
    fixed point q* (``jinit.mean_field.chi1``): below 1 the network
    is ordered (gradients vanish), above 1 chaotic (they explode). The colour
    is log2 chi_1, interpolated between the grid points, on a
    diverging scale centred at 0 whose two halves stretch to the smallest
    and the largest value, so both phases show their full range. The black
    line is ``jinit.mean_field.critical`` on ``edge_points`` values of
    sigma_b^2 (finer than the grid, so it is smooth).

    Args:
      activation: a name or a callable.
      weight_variances: the sigma_w^2 grid (x axis; default 64
        values from 0.5 to 4).
      bias_variances: the sigma_b^2 grid (y axis; default 33 values
        from 0 to 0.4). Each point solves for q*: about 6 ms each, so
        the default grid takes about 15 s.
      ax: axes to draw on.
      edge_points: values of sigma_b^2 on the edge-of-chaos line.

    Returns:
      The axes: the heat map (``ax.collections[0]``, a QuadMesh) and the
      critical line (``ax.lines``, label ``"edge of chaos"``).
    """
    pyplot()
    from matplotlib.colors import TwoSlopeNorm

    name = "plot.chi1_map"
    sw = (
        np.linspace(0.5, 4.0, 64)
        if weight_variances is None
        else _variances(name, "weight_variances", weight_variances)
    )
    sb = np.linspace(0.0, 0.4, 33) if bias_variances is None else _variances(name, "bias_variances", bias_variances)
    edge_points = validation.integer(name, "edge_points", edge_points, minimum=2, maximum=MAX_POINTS)
    mf = _mean_field()
    ax = _axes(ax, name=name)
    chi = np.full((sb.size, sw.size), np.nan)
    for i, b in enumerate(sb):
        for j, w in enumerate(sw):
            try:
                chi[i, j] = mf.chi1(activation, float(w), float(b))
            except ValueError:
                pass
    with np.errstate(divide="ignore", invalid="ignore"):
        log_chi = np.log2(chi)
    finite = log_chi[np.isfinite(log_chi)]
    low = min(float(finite.min()), -1e-3) if finite.size else -1.0
    high = max(float(finite.max()), 1e-3) if finite.size else 1.0
    smooth = sw.size > 1 and sb.size > 1 and bool(np.isfinite(log_chi).all())  # gouraud needs every value
    shading: Literal["gouraud", "nearest"] = "gouraud" if smooth else "nearest"
    mesh = ax.pcolormesh(
        sw, sb, log_chi, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, low, high), shading=shading, rasterized=True
    )
    bar = ax.figure.colorbar(mesh, ax=ax, label=r"$\log_2 \chi_1$")
    bar.ax.axhline(0.0, color="k", lw=1.5)
    crit_w, crit_b = [], []
    for b in np.linspace(float(sb.min()), float(sb.max()), max(edge_points, 2)):
        try:
            w, _ = mf.critical(activation, float(b))
        except ValueError:
            continue
        crit_w.append(w)
        crit_b.append(b)
    ax.plot(crit_w, crit_b, "k-", lw=2, label="edge of chaos")
    ax.set_xlim(sw.min(), sw.max())
    ax.set_ylim(sb.min(), sb.max())
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    style: dict[str, Any] = {
        "transform": ax.transAxes,
        "fontsize": 9,
        "va": "top",
        "bbox": {"fc": "white", "ec": "none", "alpha": 0.8},
    }
    ax.text(0.03, 0.97, r"ordered, $\chi_1 < 1$", ha="left", **style)
    ax.text(0.97, 0.97, r"chaotic, $\chi_1 > 1$", ha="right", **style)
    ax.set_title(f"$\\chi_1$ for {_act_name(activation)}: black line, the edge of chaos", fontsize=9)
    return ax
