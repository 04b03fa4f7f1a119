"""The house: ``jinit/_src`` is a stack of rooms, and no room imports from a room above it.

Room order, lowest first: core < random < schemes < torch < theory < tree < flax
< recipes, interop < diagnostics < cli. Imports inside functions count too
(a lazy import upward is still a cycle waiting to happen). The public modules
``jinit/*.py`` only re-export, and nothing in ``jinit`` imports jax's private
modules.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "jinit"
SRC = ROOT / "_src"

RANK = {
    "core": 0,
    "random": 1,
    "schemes": 2,
    "torch": 3,
    "theory": 4,
    "tree": 5,
    "flax": 6,
    "recipes": 7,
    "interop": 7,
    "diagnostics": 8,
    "cli": 9,
}


def room_of(module: str) -> str | None:
    """The room of a dotted module name under ``jinit._src`` (None outside it)."""
    parts = module.split(".")
    if parts[:2] != ["jinit", "_src"] or len(parts) < 3:
        return None
    return parts[2]


def imports_of(path: pathlib.Path) -> list[str]:
    """Every module a file imports, at any depth of its code (``from a import b`` gives ``a.b`` and ``a``)."""
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            out.append(node.module)
            out.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def src_files() -> list[pathlib.Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@pytest.mark.parametrize("path", src_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_room_imports_from_a_room_above(path: pathlib.Path) -> None:
    here = room_of(module_name(path))
    if here is None:  # jinit/_src/__init__.py
        return
    assert here in RANK, f"{path}: module outside every room ({here!r}); add it to a room"
    for target in imports_of(path):
        there = room_of(target)
        if there is None or there not in RANK:
            continue
        assert RANK[there] <= RANK[here], f"{module_name(path)} (room {here}) imports {target} (room {there}, higher)"


def test_src_top_keeps_a_handful_of_modules() -> None:
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert top == ["__init__.py", "cli.py"], top
    rooms = sorted(p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert set(rooms) <= set(RANK), rooms


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_jax_imports(path: pathlib.Path) -> None:
    private = [m for m in imports_of(path) if m.split(".")[0] in {"jax", "jaxlib", "flax", "optax"} and "._" in m]
    assert not private, f"{path}: imports private modules {private}"


def test_a_wrong_import_is_caught(tmp_path: pathlib.Path) -> None:
    """The checker itself: a core module that imports from schemes is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from jinit._src.schemes import basic\n")
    found = [m for m in imports_of(bad) if room_of(m) == "schemes"]
    assert found and RANK["schemes"] > RANK["core"]


def test_top_level_names_are_the_same_for_type_checkers_and_at_run_time() -> None:
    """``jinit/__init__.py`` lists each name twice (the lazy table and the TYPE_CHECKING imports): they must agree."""
    import jinit

    tree = ast.parse((ROOT / "__init__.py").read_text())
    static: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module is not None
                for alias in imp.names:
                    static[alias.asname or alias.name] = (imp.module, alias.name)
    runtime = {**jinit._EXPORTS, **{s: ("jinit", s) for s in jinit._SUBMODULES}}
    assert static == runtime
    for name in jinit.__all__:
        assert getattr(jinit, name) is not None


def test_import_jinit_and_the_cli_list_do_not_import_jax() -> None:
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\n"
        "import jinit\n"
        "from jinit._src import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['list'])\n"
        "assert 'jax' not in sys.modules, sorted(m for m in sys.modules if m.startswith('jax'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_jinit_flax_without_flax_names_the_extra() -> None:
    """A user without flax gets one ImportError naming the extra, not a traceback from deep inside."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['flax'] = None  # as if flax were not installed\n"
        "import importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'flax' else real(n, *a)\n"
        "try:\n"
        "    import jinit.flax\n"
        "except ImportError as e:\n"
        "    assert \"pip install 'jinit[flax]'\" in str(e), e\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
