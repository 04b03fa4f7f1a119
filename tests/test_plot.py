"""jinit.plot: densities against the laws, the chi-square fit, and the figures (Agg)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import subprocess
import sys

import jax
import law_cases
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection, QuadMesh

import jinit
import jinit.torch
from jinit._src.core.base import InitializerBase

plt = jinit.plot.pyplot()  # Agg when headless
ENTRIES = law_cases.entries()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _density_moments(d: jinit.plot.Density) -> tuple[float, float]:
    """Mean and variance of a Density by quadrature on its support plus its atoms."""
    m0 = m1 = m2 = 0.0
    if d.pdf is not None:
        lo, hi = d.support
        edges = np.linspace(lo, hi, 4001)
        t, w = np.polynomial.legendre.leggauss(16)
        half = 0.5 * np.diff(edges)
        x = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half[:, None] * t[None, :]
        f = d.pdf(x) * w[None, :] * half[:, None]
        m0, m1, m2 = float(np.sum(f)), float(np.sum(f * x)), float(np.sum(f * x * x))
    for v, mass in d.atoms:
        m0, m1, m2 = m0 + mass, m1 + mass * v, m2 + mass * v * v
    assert math.isclose(m0, 1.0, rel_tol=1e-9), m0
    return m1, m2 - m1 * m1


def _assert_density_has_the_law(init, shape):
    d = jinit.plot.density(init, shape)
    law = init.moments(shape)
    mean, var = _density_moments(d)
    scale = math.sqrt(law.variance) + abs(law.mean)
    assert math.isclose(mean, law.mean, abs_tol=1e-9 * scale), (init, shape, mean, law.mean)
    assert math.isclose(var, law.variance, rel_tol=1e-7, abs_tol=1e-12), (init, shape, var, law.variance)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_density_has_the_law_of_moments(entry):
    """Every law case: the density (each scheme's ``_density``) and ``moments`` (from the formula) agree."""
    for case in entry.cases():
        _assert_density_has_the_law(case.init, case.shape)


def _mup(init, zero_readout=False):
    return jinit.mup.initializer(init, jinit.mup.WidthMultipliers("output", fan_in=4.0), zero_readout=zero_readout)


# Wrappers take the density of the initializer they wrap (muP scales it by sqrt(variance_scale)).
WRAPPED = [
    ("mup.orthogonal", _mup(jinit.orthogonal()), (8, 4)),
    ("mup.eye", _mup(jinit.eye(-2.0)), (8, 4)),
    ("mup.truncated_normal", _mup(jinit.truncated_normal(1.0, lower=-1.0, upper=3.0)), (8, 4)),
    ("mup.torch.sparse", _mup(jinit.torch.sparse(0.2)), (8, 4)),
    ("mup.zero_readout", _mup(jinit.lecun_normal(), zero_readout=True), (8, 4)),
    ("stacked.stacked.eye", jinit.stacked(jinit.stacked(jinit.eye(), 2), 3), (3, 2, 4, 6)),
    ("stacked.zero_init", jinit.stacked(jinit.zero_init(), 2), (2, 3, 3, 5, 12)),
]


@pytest.mark.parametrize(("name", "init", "shape"), WRAPPED, ids=[c[0] for c in WRAPPED])
def test_wrapped_density_has_the_law_of_moments(name, init, shape):
    _assert_density_has_the_law(init, shape)


def test_scaled_density():
    d = jinit.plot.density(jinit.uniform(1.0), (4,)).scaled(-2.0)  # U(0, 1) times -2: U(-2, 0)
    assert d.family == "uniform" and d.support == (-2.0, 0.0)
    np.testing.assert_allclose(d.pdf(np.array([-1.5, -0.5, 0.5])), [0.5, 0.5, 0.0])
    d = jinit.plot.density(jinit.eye(3.0), (2, 4)).scaled(0.5)
    assert d.atoms == ((1.5, 0.25), (0.0, 0.75))
    assert jinit.plot.density(jinit.normal(1.0), (4,)).scaled(0.0).atoms == ((0.0, 1.0),)


# A quick sample of families for the draw-against-density test (each draws 64k values).
FIT_CASES = [
    ("he_normal", jinit.he_normal(), (256, 256)),
    ("glorot_uniform", jinit.glorot_uniform(), (256, 256)),
    ("normal", jinit.normal(0.3), (256, 256)),
    ("truncated_normal", jinit.truncated_normal(1.0, lower=-1.0, upper=3.0), (256, 256)),
    ("uniform", jinit.uniform(2.0), (256, 256)),
    ("orthogonal", jinit.orthogonal(scale=2.0), (128, 512)),
    ("delta_orthogonal", jinit.delta_orthogonal(), (3, 64, 128)),
    ("eye", jinit.eye(0.1), (64, 128)),
    ("stacked", jinit.stacked(jinit.lecun_uniform(), 4), (4, 128, 128)),
    ("torch.trunc_normal", jinit.torch.trunc_normal(0.5, 2.0, 1.0, 2.5), (256, 256)),
    ("torch.sparse", jinit.torch.sparse(0.2), (256, 256)),
    ("mup.orthogonal", _mup(jinit.orthogonal()), (512, 128)),
]


@pytest.mark.parametrize(("name", "init", "shape"), FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_draws_follow_the_density(name, init, shape):
    fit = jinit.plot.goodness_of_fit(init, shape, key=11)
    assert abs(fit.z) < 6.0, (name, fit.z, fit.statistic, fit.dof)
    assert fit.observed.sum() == math.prod(shape)
    np.testing.assert_allclose(fit.expected.sum(), math.prod(shape), rtol=1e-9)


def test_the_fit_rejects_a_wrong_density():
    """He-normal draws tested against the same-variance uniform, and against Glorot's narrower law."""
    draws = np.asarray(jinit.he_normal()(jax.random.key(0), (256, 256)))
    assert jinit.plot.goodness_of_fit(jinit.he_uniform(), (256, 256), draws=draws).z > 50
    assert jinit.plot.goodness_of_fit(jinit.glorot_normal(), (256, 256), draws=draws).z > 50
    # A draw outside the support of the continuous part and the atoms is impossible: z = inf.
    eye_draws = np.asarray(jinit.eye()(jax.random.key(0), (8, 8))) + 0.5
    assert jinit.plot.goodness_of_fit(jinit.eye(), (8, 8), draws=eye_draws).z == math.inf


def test_density_formulas():
    d = jinit.plot.density(jinit.he_uniform(), (100, 10))
    assert d.family == "uniform"
    np.testing.assert_allclose(d.support, (-math.sqrt(6 / 100), math.sqrt(6 / 100)))
    np.testing.assert_allclose(d.pdf(np.array([0.0, 1.0])), [1 / (2 * math.sqrt(6 / 100)), 0.0])
    d = jinit.plot.density(jinit.normal(2.0), (4, 4))
    np.testing.assert_allclose(d.pdf(np.array([0.0])), [1 / (2.0 * math.sqrt(2 * math.pi))])
    # One entry of a Haar orthogonal 3 x 3 matrix: uniform on [-1, 1] ((1 - x^2)^0, c = 1/2).
    d = jinit.plot.density(jinit.orthogonal(), (3, 3))
    np.testing.assert_allclose(d.pdf(np.array([-0.9, 0.0, 0.5])), [0.5, 0.5, 0.5])
    d = jinit.plot.density(jinit.delta_orthogonal(), (3, 4, 4))
    assert d.atoms[0] == (0.0, pytest.approx(2 / 3))
    edges = d.quantile_edges(10)
    np.testing.assert_allclose(d.probabilities(edges), np.full(10, (1 / 3) / 10), rtol=1e-4)  # as documented


def test_deterministic_atoms_are_the_shares_of_the_array():
    """ZerO and IRNN: each atom is a value the array holds (rounded to the dtype) with its exact share."""
    for init, shape in [(jinit.zero_init(), (3, 3, 5, 12)), (jinit.irnn(-0.3), (2, 3, 6)), (jinit.irnn(0.1), (4, 8))]:
        for dtype in (np.float32, jax.numpy.bfloat16):
            d = jinit.plot.density(init, shape, dtype)
            w = np.asarray(init(jax.random.key(0), shape, dtype)).astype(np.float64)
            values, counts = np.unique(w, return_counts=True)
            assert d.atoms == tuple(zip(values.tolist(), (counts / w.size).tolist(), strict=True)), (init, dtype)


def test_density_errors():
    with pytest.raises(ValueError, match=r"jinit.plot.density: complex draws have no density on the real line"):
        jinit.plot.density(jinit.he_normal(), (4, 4), np.complex64)
    with pytest.raises(ValueError, match=r"jinit.plot.density: complex draws .*; got dtype=complex64"):
        jinit.plot.density(jinit.normal(dtype=np.complex64), (4, 4))
    with pytest.raises(ValueError, match=r"jinit.plot.density: an empty shape has no entries, so no density"):
        jinit.plot.density(jinit.he_normal(), (0, 4))
    # The scheme's own checks of the shape, as when drawing.
    with pytest.raises(ValueError, match=r"jinit.stacked: shape must start with n=4"):
        jinit.plot.density(jinit.stacked(jinit.he_normal(), 4), (3, 4, 4))
    with pytest.raises(ValueError, match=r"jinit.torch.sparse: shape needs 2 dimensions"):
        jinit.plot.density(jinit.torch.sparse(0.1), (4,))

    class Odd:
        def __call__(self, key, shape, dtype=None, out_sharding=None):
            return jax.numpy.zeros(shape)

    # A user's own initializer (alone or wrapped) has no law to read a density from.
    for init in (Odd(), jinit.stacked(Odd(), 2)):
        with pytest.raises(TypeError, match=r"jinit.plot.density: needs a jinit initializer .*; got <.*Odd object"):
            jinit.plot.density(init, (2, 4, 4))


def test_a_scheme_without_a_density_says_so():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Halves(InitializerBase):
        def _sample(self, key, shape, dtype, out_sharding):
            return jax.numpy.full(shape, 0.5, dtype)

        def _law(self, shape, dtype):
            return None

    with pytest.raises(NotImplementedError, match=r"jinit.plot.density: Halves defines no density"):
        jinit.plot.density(Halves(), (4, 4))


def test_histogram_artists():
    ax = jinit.plot.histogram(jinit.he_normal(), (64, 64))
    assert len(ax.patches) == 80  # the bars
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["formula"]
    assert ax.get_legend().get_title().get_text().startswith("$\\chi^2$ z = ")
    # Point masses: stems (a LineCollection) and a measured dot per atom.
    ax = jinit.plot.histogram(jinit.eye(0.5), (16, 32))
    assert sum(isinstance(c, LineCollection) for c in ax.collections) == 2
    assert len(ax.patches) == 0
    assert ax.get_ylabel() == "density / point mass"


@pytest.fixture(scope="module")
def run() -> jinit.Propagation:
    return jinit.propagate(
        {"he": jinit.he_normal(), "glorot": jinit.glorot_normal(), "large": jinit.normal(1.0)},
        "relu",
        depth=30,
        width=64,
        batch=8,
        seeds=2,  # the configuration of tests/test_propagate.py: one compilation
    )


def test_depth_profile(run):
    assert not np.isfinite(run.second_moment.median[2, -1])  # the large init overflows float32
    ax = jinit.plot.depth_profile(run, "second_moment")
    assert [line.get_label() for line in ax.lines] == ["he", "glorot", "large"]
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3  # the bands
    assert ax.get_yscale() == "log"
    # The overflowing scheme's line stops where float32 does.
    assert len(ax.lines[2].get_xdata()) < run.depth == len(ax.lines[0].get_xdata())
    ax = jinit.plot.depth_profile(run, "dead_fraction", schemes=["he"])
    assert ax.get_yscale() == "linear" and len(ax.lines) == 1
    assert jinit.plot.variance_vs_depth(run).get_ylabel() == r"$\mathbb{E}[(z^l)^2]$"  # mathtext, not TeX source
    assert jinit.plot.gradient_vs_depth(run).get_ylabel() == r"$\|\partial L / \partial W^l\|_F$"


def _notes(ax) -> list[str]:
    """The texts of the notes box that depth_profile adds (a Legend among ax.artists)."""
    from matplotlib.legend import Legend

    return [t.get_text() for a in ax.artists if isinstance(a, Legend) for t in a.get_texts()]


def test_depth_profile_notes_what_a_line_cannot_show():
    """Zeros on a log axis, underflow, overflow and one curve hiding another are written in the panel."""
    p = jinit.propagate(
        {"zeros": jinit.zeros, "he": jinit.he_normal(), "he again": jinit.he_normal(), "large": jinit.normal(1.0)},
        "relu",
        depth=30,
        width=64,
        batch=8,
        seeds=2,
    )
    ax = jinit.plot.depth_profile(p, "second_moment")
    notes = _notes(ax)
    # The same keys for every scheme: "he again" draws exactly he's networks.
    assert notes == [
        "zeros: 0 at every layer",
        "he again = he (one line)",
        f"large: not finite (overflow) from layer {int(p.layers[~np.isfinite(p.second_moment.median[3])][0])}",
    ]
    assert [line.get_label() for line in ax.lines] == list(p.schemes)  # the legend keeps the plain names
    assert ax.get_legend() is not None and ax.get_legend() not in ax.artists
    # On a linear axis zeros are drawn: no note.
    assert not any(n.startswith("zeros") for n in _notes(jinit.plot.depth_profile(p, "dead_fraction")))
    # The same colour and line style for a scheme in every panel.
    a, b = jinit.plot.depth_profile(p, "second_moment"), jinit.plot.depth_profile(p, "dead_fraction")
    assert [(x.get_color(), x.get_linestyle()) for x in a.lines] == [
        (x.get_color(), x.get_linestyle()) for x in b.lines
    ]
    assert a.lines[1].get_color().lower() == jinit.plot.OKABE_ITO[1].lower()


def test_propagation_figure(run, tmp_path):
    fig = jinit.plot.propagation(run)
    assert len(fig.axes) == 4
    # One legend for the figure, none on the panels.
    assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["he", "glorot", "large"]
    fig = jinit.plot.propagation(run, ("second_moment", "grad_norm", "correlation"))
    assert len(fig.axes) == 3
    fig.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="`quantity` must be one of"):
        jinit.plot.propagation(run, ("variance",))
    with pytest.raises(ValueError, match=r"jinit.plot.propagation: `result` needs at least one Propagation"):
        jinit.plot.propagation([])


def test_propagation_side_by_side(run):
    """Several results: a column per result (activation), a row per quantity, one legend."""
    tanh = jinit.propagate(
        {"he": jinit.he_normal(), "glorot": jinit.glorot_normal(), "large": jinit.normal(1.0)},
        "tanh",
        depth=30,
        width=64,
        batch=8,
        seeds=2,
    )
    fig = jinit.plot.propagation([run, tanh])
    assert len(fig.axes) == 4 and len(fig.legends) == 1
    assert [ax.get_title() for ax in fig.axes[:2]] == ["relu", "tanh"]  # the top row, left to right
    assert [ax.get_ylabel() for ax in fig.axes] == [
        jinit.plot.AXIS_LABELS["second_moment"],
        "",
        jinit.plot.AXIS_LABELS["grad_norm"],
        "",
    ]


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_by_suffix(tmp_path, suffix, magic):
    fig = jinit.plot.histogram(jinit.he_normal(), (32, 32)).figure
    out = jinit.plot.save(fig, tmp_path / "sub" / f"f{suffix}")
    data = out.read_bytes()
    assert data.startswith(magic)
    if suffix != ".png":  # vector files carry no date: the same figure gives the same bytes
        assert jinit.plot.save(fig, tmp_path / f"again{suffix}").read_bytes() == data


def test_save_refuses_other_suffixes(tmp_path):
    fig = plt.figure()
    with pytest.raises(ValueError, match=r"jinit.plot.save: `path` must end in .png, .svg or .pdf; got '.*f.jpg'"):
        jinit.plot.save(fig, tmp_path / "f.jpg")


def test_shared_legend():
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        ax.plot([0, 1], label="a")
        ax.plot([1, 0], label="b")
        ax.legend()
    axes[1].plot([0, 0], label="c")
    legend = jinit.plot.shared_legend(fig)
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c"]  # each label once, in order
    assert all(ax.get_legend() is None for ax in axes)
    assert jinit.plot.shared_legend(plt.figure()) is None


def test_histogram_without_legend_puts_z_in_the_title():
    ax = jinit.plot.histogram(jinit.he_normal(), (64, 64), title="he", legend=False)
    assert ax.get_legend() is None
    assert re.fullmatch(r"he \(\$\\chi\^2\$ z = -?\d+\.\d\d\)", ax.get_title())


def test_mean_field_plots():
    ax = jinit.plot.length_map("tanh", (0.5, 1.5, 3.0), 0.05, points=21)
    # mathtext labels: rendered as formulas, not shown as TeX source.
    assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == [
        "$\\sigma_w^2 = 0.5$",
        "$\\sigma_w^2 = 1.5$",
        "$\\sigma_w^2 = 3$",
        "$q^l = q^{l-1}$",
    ]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$q^{l-1}$", "$q^l$")
    ax = jinit.plot.chi1_map("tanh", np.linspace(0.5, 3.0, 6), np.linspace(0.0, 0.2, 3), edge_points=11)
    mesh = ax.collections[0]
    assert isinstance(mesh, QuadMesh)
    # The colour scale is centred at chi_1 = 1 and reaches both phases' extremes.
    values = np.asarray(mesh.get_array())
    assert values.min() < 0 < values.max()  # this grid spans both phases
    assert (mesh.norm.vmin, mesh.norm.vmax) == (pytest.approx(values.min()), pytest.approx(values.max()))
    assert mesh.norm(0.0) == pytest.approx(0.5)
    (edge,) = [line for line in ax.lines if line.get_label() == "edge of chaos"]
    # The edge is drawn on edge_points bias variances, finer than the 3-point grid.
    assert len(edge.get_xdata()) == 11
    # At sigma_b^2 = 0 the tanh edge of chaos is sigma_w^2 = 1; chi_1 = 1 all along it.
    assert edge.get_xdata()[0] == pytest.approx(1.0, rel=1e-6)
    for w, b in zip(edge.get_xdata(), edge.get_ydata(), strict=True):
        assert jinit.mean_field.chi1("tanh", float(w), float(b)) == pytest.approx(1.0, rel=1e-6)


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_import_jinit_without_matplotlib():
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import jinit\n"
        "print(jinit.plot.density(jinit.he_normal(), (4, 4)).family)\n"
        "try:\n"
        "    jinit.plot.histogram(jinit.he_normal(), (4, 4))\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = _run_python(code, dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["truncated_normal", "jinit.plot needs matplotlib: pip install 'jinit[plot]'."]


def test_headless_backend_is_agg():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    code = "import jinit, matplotlib; jinit.plot.pyplot(); print(matplotlib.get_backend())"
    out = _run_python(code, env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().lower() == "agg"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: jinit.plot.save(1, "f.png"), TypeError, r"jinit\.plot\.save: `fig` must be a matplotlib Figure"),
        (lambda: jinit.plot.propagation(1), TypeError, r"jinit\.plot\.propagation: `result` must be what jinit"),
        (lambda: jinit.plot.depth_profile("x"), TypeError, r"jinit\.plot\.depth_profile: `result` must be"),
        (lambda: jinit.plot.histogram(jinit.he_normal(), ax=1), TypeError, r"jinit\.plot\.histogram: `ax` must be"),
        (lambda: jinit.plot.length_map("relu", q_max=-1.0), ValueError, r"jinit\.plot\.length_map: `q_max` must be"),
        (lambda: jinit.plot.length_map("relu", (1.0, math.nan)), ValueError, r"`weight_variances` must be finite"),
        (lambda: jinit.plot.chi1_map("relu", (), (0.0,)), ValueError, r"`weight_variances` needs 1 to 10000"),
        (lambda: jinit.plot.chi1_map("relu", edge_points=1), ValueError, r"`edge_points` must be at least 2"),
        (lambda: jinit.plot.shared_legend(None), TypeError, r"jinit\.plot\.shared_legend: `fig` must be"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
