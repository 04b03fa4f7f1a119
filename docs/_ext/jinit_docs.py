"""The site's own Sphinx extension: what ``make docs`` writes before Sphinx reads the sources.

* ``docs/api/``: one page per public module (``jinit`` and every ``jinit/<name>.py``) with an
  autosummary table of the names in its ``__all__``, read at build time, so a name added later
  gets its page (``docs/api/generated/<module>.<name>.rst``) without editing anything here.
* ``docs/notebooks/``: the notebooks that ``make notebooks`` executed (``notebooks/*.ipynb``,
  kept by ``nbmake --overwrite``), copied as they are: the site does not run them again.
* ``docs/_generated/``: each scheme family's law table and figure, drawn from the catalog
  (``jinit.catalog``) with ``jinit.plot``: the scheme pages include them.

All three folders are build output (git-ignored); ``tests/test_site.py`` checks the API pages.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


# --- API pages -------------------------------------------------------------------------------------------------------


def public_modules() -> list[str]:
    """``jinit`` and every public module file ``jinit/<name>.py``, sorted."""
    files = sorted(p.stem for p in (ROOT / "jinit").glob("*.py") if not p.stem.startswith("_"))
    return ["jinit", *(f"jinit.{name}" for name in files)]


def public_names(module: str) -> list[str]:
    """The names of ``module.__all__`` that get a page: all but the submodules, which have their own."""
    mod = importlib.import_module(module)
    submodules = {p.stem for p in (ROOT / "jinit").glob("*.py")} if module == "jinit" else set()
    return [name for name in mod.__all__ if name not in submodules]


def _summary(module: str) -> str:
    doc = importlib.import_module(module).__doc__ or ""
    return doc.strip().splitlines()[0].rstrip(".") if doc.strip() else ""


def _underline(title: str, char: str = "=") -> str:
    return f"{title}\n{char * len(title)}\n"


def write_api_pages(out: Path) -> dict[str, list[str]]:
    """Write ``index.rst`` and ``<module>.rst`` for every public module under ``out``; return the names per module."""
    out.mkdir(parents=True, exist_ok=True)
    names = {module: public_names(module) for module in public_modules()}
    pages = {}
    for module, members in names.items():
        lines = [
            _underline(module),
            f".. automodule:: {module}\n   :no-members:\n",
            f".. currentmodule:: {module}\n",
        ]
        if module == "jinit":
            subs = [m for m in names if m != "jinit"]
            lines.append(_underline("Modules", "-"))
            lines += [f"- :doc:`{m}`: {_summary(m)}" for m in subs]
            lines.append("")
            lines.append(_underline("Names", "-"))
        lines.append(".. autosummary::\n   :toctree: generated\n   :nosignatures:\n")
        lines += [f"   {name}" for name in members]
        lines.append("")
        pages[f"{module}.rst"] = "\n".join(lines)
    index = [
        _underline("API reference"),
        "One page per public module and one per public name, generated from the docstrings at build time",
        "(each module's ``__all__``, so every public callable and class has a page).\n",
        ".. toctree::\n   :maxdepth: 1\n   :hidden:\n",
        *(f"   {module}" for module in names),
        "",
        *(f"- :doc:`{module}`: {_summary(module)}" for module in names),
        "",
    ]
    pages["index.rst"] = "\n".join(index)
    for name, text in pages.items():
        _write_if_changed(out / name, text)
    for stale in out.glob("*.rst"):
        if stale.name not in pages:
            stale.unlink()
    return names


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (Sphinx rereads only what changed)."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def filename_map() -> dict[str, str]:
    """Page file names for public names that differ only in case (``Mimetic`` and ``mimetic``).

    On a case-insensitive disk (macOS, Windows) two such pages would be one file; the name that
    starts with a capital (the class) gets ``<name>-class`` instead.
    """
    names = [f"{module}.{name}" for module in public_modules() for name in public_names(module)]
    lower: dict[str, list[str]] = {}
    for full in names:
        lower.setdefault(full.lower(), []).append(full)
    clashes = [full for group in lower.values() if len(group) > 1 for full in group]
    return {full: f"{full}-class" for full in clashes if full.rpartition(".")[2][:1].isupper()}


def class_aliases() -> dict[str, str]:
    """``{public name: home name}`` for classes that several public modules export.

    The home is the module named after the room that defines the class (``jinit.tree.Rules`` for
    ``jinit._src.tree.rules.Rules``), else the first module in order; the other names get a page
    that points to it (two full pages would describe the same class twice).
    """
    import inspect

    homes: dict[int, list[str]] = {}
    objects: dict[int, Any] = {}
    for module in public_modules():
        mod = importlib.import_module(module)
        for name in public_names(module):
            try:
                obj = getattr(mod, name)
            except ImportError:
                continue
            if inspect.isclass(obj):
                homes.setdefault(id(obj), []).append(f"{module}.{name}")
                objects[id(obj)] = obj
    aliases = {}
    for key, names in homes.items():
        if len(names) < 2:
            continue
        room = objects[key].__module__.split(".")[2:3]  # jinit._src.<room>.<module>
        home = next((n for n in names if room and n.rpartition(".")[0] == f"jinit.{room[0]}"), names[0])
        aliases.update({n: home for n in names if n != home})
    return aliases


def _reexport_sources(module: str) -> dict[str, str]:
    """``{name: defining module}`` from the ``from X import name as name`` lines of a public module."""
    import ast

    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    out = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                out[alias.asname or alias.name] = node.module
    return out


def _data_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """A constant's page shows its ``#:`` comment where it is defined, not the docstring of its type."""
    if what != "data":
        return
    module, _, attr = name.rpartition(".")
    source = _reexport_sources(module).get(attr) if module.startswith("jinit") else None
    if source is None:
        return
    from sphinx.pycode import ModuleAnalyzer

    docs = ModuleAnalyzer.for_module(source).find_attr_docs().get(("", attr))
    if docs is not None:
        lines[:] = list(docs)
    elif _type_docstring(obj, lines):
        lines[:] = []


def _type_docstring(obj: Any, lines: list[str]) -> bool:
    """Whether ``lines`` are just the docstring of ``obj``'s type (``dict``, ``tuple``): no help for a constant."""
    import inspect

    if type(obj).__module__ != "builtins":
        return False
    doc = inspect.getdoc(type(obj)) or ""
    return bool(lines) and "\n".join(lines).strip() == doc.strip()


# --- notebooks -------------------------------------------------------------------------------------------------------


class NotebooksNotRun(RuntimeError):
    """The executed notebooks are missing: ``make notebooks`` (``make docs`` runs it first) writes them."""


def copy_notebooks(out: Path, *, require_outputs: bool = True) -> list[str]:
    """Copy the executed ``notebooks/[0-9]*.ipynb`` to ``out``; refuse notebooks that were not run.

    ``require_outputs=False`` (``sphinx-build -D jinit_require_executed_notebooks=0``) accepts
    notebooks converted but not run, for editing the prose; ``make docs`` never sets it.
    """
    sources = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for py in sources:
        nb = py.with_suffix(".ipynb")
        if not nb.exists() or nb.stat().st_mtime < py.stat().st_mtime:
            raise NotebooksNotRun(f"{nb.relative_to(ROOT)} is missing or older than {py.name}: run `make notebooks`.")
        cells = json.loads(nb.read_text())["cells"]
        if require_outputs and not any(c.get("outputs") for c in cells if c["cell_type"] == "code"):
            raise NotebooksNotRun(f"{nb.relative_to(ROOT)} has no outputs: run `make notebooks` (nbmake --overwrite).")
        target = out / nb.name
        if not target.exists() or target.read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, target)
        copied.append(nb.stem)
    for stale in out.glob("*.ipynb"):
        if stale.stem not in copied:
            stale.unlink()
    return copied


# --- scheme figures and law tables -----------------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.4g}"


def law_table(family: str) -> str:
    """A Markdown table of every catalog scheme of ``family``: its law for the shape it is shown on."""
    import jinit

    rows = [
        "| scheme | shape | mean | variance | bound on \\|w - mean\\| | excess kurtosis | density |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in jinit.catalog.entries():
        if e.family != family:
            continue
        init = e.make()
        law = init.moments(e.shape)
        try:
            dens = jinit.plot.density(init, e.shape).description
        except (NotImplementedError, ValueError, TypeError):
            dens = "-"
        shape = " x ".join(map(str, e.shape))
        dens = dens.replace("|", "\\|")
        rows.append(
            f"| {{py:obj}}`jinit.{e.name}` | {shape} | {_fmt(law.mean)} | {_fmt(law.variance)} | {_fmt(law.bound)} | "
            f"{_fmt(law.excess_kurtosis)} | {dens} |"
        )
    return "\n".join(rows) + "\n"


def family_figure(family: str) -> Any:
    """One draw of each catalog scheme of ``family`` against the density of its formula, one shared legend."""
    import jax

    import jinit

    plt = jinit.plot.pyplot()
    entries = [e for e in jinit.catalog.entries() if e.family == family]
    cols = min(4, len(entries))
    rows = math.ceil(len(entries) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 1.8 * rows + 0.5), layout="constrained", squeeze=False)
    root = jax.random.key(0)
    for i, (ax, e) in enumerate(zip(axes.ravel(), entries, strict=False)):
        key = jax.random.fold_in(root, i)  # an independent draw per panel
        jinit.plot.histogram(e.make(), e.shape, key=key, bins=40, ax=ax, title=e.name, legend=False)
        ax.set_xlabel("$w$" if i >= len(entries) - cols else "")
        ax.set_ylabel("")
    for ax in axes.ravel()[len(entries) :]:
        ax.remove()
    jinit.plot.shared_legend(fig)
    return fig


def s4d_figure() -> Any:
    """S4D's diagonal state matrices (N = 64): the imaginary parts of S4D-Lin and S4D-Inv, and S4D-Real."""
    import numpy as np

    import jinit

    plt = jinit.plot.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.8), layout="constrained")
    n = 64
    for i, name in enumerate(("s4d_lin", "s4d_inv")):
        a = np.asarray(getattr(jinit.ssm, name)(n))
        k = np.arange(a.size)
        axes[0].plot(k, a.imag, "os"[i], ms=3, color=jinit.plot.OKABE_ITO[i], label=f"{name}({n})")
    axes[0].set_yscale("symlog", linthresh=1.0)
    axes[0].set_xlabel("mode $k$")
    axes[0].set_ylabel(r"$\mathrm{Im}\, A_k$ (all have $\mathrm{Re}\, A_k = -1/2$)")
    a = np.asarray(jinit.ssm.s4d_real(n))
    axes[1].plot(np.arange(a.size), -a, "^", ms=3, color=jinit.plot.OKABE_ITO[2], label=f"s4d_real({n})")
    axes[1].set_xlabel("mode $k$")
    axes[1].set_ylabel(r"$-A_k$")
    jinit.plot.shared_legend(fig)
    return fig


def mimetic_figure() -> Any:
    """The products a mimetic init draws: W_q W_k^T (qk) and W_v W_o (vo), d = 64, one head."""
    import jax
    import numpy as np

    import jinit

    plt = jinit.plot.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(6.2, 3.0), layout="constrained")
    d = 64
    wq, wk = jinit.attention.mimetic("qk")(jax.random.key(0), d)
    wv, wo = jinit.attention.mimetic("vo")(jax.random.key(1), d)
    qk = np.asarray(wq[:, 0] @ wk[:, 0].T)
    vo = np.asarray(wv.reshape(d, -1) @ wo.reshape(-1, d))
    span = float(max(np.abs(qk).max(), np.abs(vo).max()))
    panels = ((axes[0], qk, r"$W_q W_k^\top \approx 0.7 Z + 0.7 I$"), (axes[1], vo, r"$W_v W_o \approx 0.4 Z - 0.4 I$"))
    for ax, m, title in panels:
        im = ax.imshow(m, cmap="RdBu_r", vmin=-span, vmax=span)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.8)
    return fig


def lora_figure() -> Any:
    """Singular values of a kernel, of the adapter PiSSA and OLoRA start from, and of the residual."""
    import jax
    import numpy as np

    import jinit

    plt = jinit.plot.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.8), layout="constrained", sharey=True)
    k1, k2 = jax.random.split(jax.random.key(0))
    u = np.linalg.qr(np.asarray(jax.random.normal(k1, (128, 128)), np.float64))[0]
    v = np.linalg.qr(np.asarray(jax.random.normal(k2, (128, 128))))[0]
    w = ((u * (1.0 / np.arange(1, 129) ** 0.7)) @ v.T).astype(
        np.float32
    )  # a decaying spectrum, as trained kernels have
    rank = 16
    for ax, name in zip(axes, ("pissa", "olora"), strict=True):
        w_res, a, b = getattr(jinit.lora, name)(w, rank)
        parts = (("$w$", w), ("adapter $a b$", np.asarray(a @ b)), ("residual $w_{res}$", np.asarray(w_res)))
        for i, (label, m) in enumerate(parts):
            s = np.linalg.svd(m, compute_uv=False)
            s = s[s > 1e-5 * s[0]]  # the rest is rounding: the adapter has rank 16, the residual 112
            ax.plot(np.arange(1, s.size + 1), s, color=jinit.plot.OKABE_ITO[i], ls=("-", "--", ":")[i], label=label)
        ax.set_yscale("log")
        ax.set_title(f"{name}, rank {rank}")
        ax.set_xlabel("index of the singular value")
    axes[0].set_ylabel("singular value")
    jinit.plot.shared_legend(fig)
    return fig


def chi1_figure() -> Any:
    """tanh's length map and chi_1 map (the edge of chaos)."""
    import jinit

    plt = jinit.plot.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2), layout="constrained")
    jinit.plot.length_map("tanh", (0.5, 1.0, 1.76, 3.0), 0.05, q_max=2.0, ax=axes[0])
    jinit.plot.chi1_map("tanh", ax=axes[1])
    return fig


# figure file stem -> what draws it; the families of the catalog draw their histograms.
CUSTOM: dict[str, Callable[[], Any]] = {
    "ssm-s4d": s4d_figure,
    "attention-mimetic": mimetic_figure,
    "lora-spectrum": lora_figure,
    "mean-field-chi1": chi1_figure,
}


def _source_stamp() -> str:
    """A hash of jinit's sources and of this file: the figures are redrawn when it changes."""
    h = hashlib.sha256()
    for path in sorted([*(ROOT / "jinit").rglob("*.py"), Path(__file__)]):
        h.update(path.read_bytes())
    return h.hexdigest()


def write_scheme_figures(out: Path) -> list[str]:
    """Each catalog family's law table (``laws-<family>.md``) and figure (``<family>.svg``), and the custom figures."""
    import jinit

    out.mkdir(parents=True, exist_ok=True)
    stamp = _source_stamp()
    stamp_file = out / "stamp"
    families = sorted({e.family for e in jinit.catalog.entries()})
    stems = [*families, *CUSTOM]
    if stamp_file.exists() and stamp_file.read_text() == stamp and all((out / f"{s}.svg").exists() for s in stems):
        return stems
    plt = jinit.plot.pyplot()
    with plt.style.context(jinit.plot.STYLE):
        for family in families:
            (out / f"laws-{family}.md").write_text(law_table(family))
            fig = family_figure(family)
            jinit.plot.save(fig, out / f"{family}.svg")
            plt.close(fig)
        for stem, draw in CUSTOM.items():
            fig = draw()
            jinit.plot.save(fig, out / f"{stem}.svg")
            plt.close(fig)
    stamp_file.write_text(stamp)
    return stems


# --- Sphinx ----------------------------------------------------------------------------------------------------------


def _write_sources(app: Any, config: Any) -> None:
    """The API pages and the notebooks: sources Sphinx must find, so written before it looks for them."""
    src = Path(app.srcdir)
    config.autosummary_context = {**config.autosummary_context, "aliases": class_aliases()}
    config.autosummary_filename_map = {**config.autosummary_filename_map, **filename_map()}
    write_api_pages(src / "api")
    copy_notebooks(src / "notebooks", require_outputs=bool(config.jinit_require_executed_notebooks))


def _write_figures(app: Any) -> None:
    write_scheme_figures(Path(app.srcdir) / "_generated")


def setup(app: Any) -> dict[str, Any]:
    os.environ.setdefault("MPLBACKEND", "Agg")
    app.add_config_value("jinit_require_executed_notebooks", True, "env", bool)
    # config-inited comes before Sphinx lists the source files (and autosummary reads the API pages).
    app.connect("config-inited", _write_sources)
    app.connect("builder-inited", _write_figures)
    app.connect("autodoc-process-docstring", _data_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
