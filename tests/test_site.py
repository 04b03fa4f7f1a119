"""The documentation site: every public name of every public module has a page.

``make docs`` builds the whole site with warnings as errors. This is the fast half, without a build:
it writes the API pages the build writes (``docs/_ext/jinit_docs.py``) into a temporary folder, runs
autosummary's stub generation on them (``sphinx-autogen``, as the build does) and checks that every
name of every public module's ``__all__`` got a stub page documenting that very object.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
os.environ.setdefault("KERAS_BACKEND", "jax")  # as docs/conf.py: jinit.interop.KerasInitializer imports keras

import jinit_docs  # noqa: E402

# The modules the site must document, whatever else is added later.
REQUIRED = {
    "jinit",
    "jinit.torch",
    "jinit.flax",
    "jinit.tree",
    "jinit.mup",
    "jinit.mean_field",
    "jinit.testing",
    "jinit.plot",
    "jinit.catalog",
    "jinit.attention",
    "jinit.lora",
    "jinit.ssm",
    "jinit.recipes",
    "jinit.interop",
}


def module_files() -> list[str]:
    """Every public module, found independently of the generator: jinit and the files jinit/<name>.py."""
    return ["jinit", *sorted(f"jinit.{p.stem}" for p in (ROOT / "jinit").glob("*.py") if not p.stem.startswith("_"))]


def expected_pages() -> dict[str, object]:
    """``{"<module>.<name>": object}`` for every name of every public module's ``__all__`` but the submodules."""
    out = {}
    for module in module_files():
        mod = importlib.import_module(module)
        for name in mod.__all__:
            if module == "jinit" and f"jinit.{name}" in module_files():
                continue  # a submodule: it has a module page of its own
            out[f"{module}.{name}"] = getattr(mod, name)
    return out


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The API pages and the stubs autosummary generates from them, in a temporary folder."""
    out = tmp_path_factory.mktemp("api")
    jinit_docs.write_api_pages(out)
    env = {**os.environ, "KERAS_BACKEND": "jax", "MPLBACKEND": "Agg"}
    templates = str(ROOT / "docs" / "_templates")
    pages = sorted(str(p) for p in out.glob("*.rst"))
    run = subprocess.run(
        [sys.executable, "-m", "sphinx.ext.autosummary.generate", "-t", templates, *pages],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "failed to import" not in run.stdout + run.stderr, (run.stdout + run.stderr)[-3000:]
    return out


def test_every_required_module_is_documented():
    assert set(jinit_docs.public_modules()) == set(module_files())
    assert set(module_files()) >= REQUIRED, REQUIRED - set(module_files())


def test_api_index_links_every_module(api: Path):
    index = (api / "index.rst").read_text()
    for module in module_files():
        assert re.search(rf"^   {re.escape(module)}$", index, re.MULTILINE), module
        assert (api / f"{module}.rst").exists(), module


def test_every_public_name_has_a_page(api: Path):
    stubs = {p.stem for p in (api / "generated").glob("*.rst")}
    missing = sorted(set(expected_pages()) - stubs)
    assert not missing, f"public names without an API page: {missing}"


def test_each_page_documents_that_object(api: Path):
    """The stub names the object by its public path, and that path imports to the object __all__ exports."""
    from sphinx.ext.autosummary import import_by_name

    for full, obj in expected_pages().items():
        module, _, name = full.rpartition(".")
        text = (api / "generated" / f"{full}.rst").read_text()
        assert f".. currentmodule:: {module}" in text, full
        assert re.search(rf"^\.\. (auto\w+|py:class):: {re.escape(name)}$", text, re.MULTILINE), (full, text)
        found = import_by_name(full)[1]
        assert found is obj, (full, found, obj)


def test_page_files_do_not_collide_on_case_insensitive_disks():
    """``Mimetic`` and ``mimetic`` would be one file on macOS: the build renames the class's page."""
    renamed = jinit_docs.filename_map()
    files = [renamed.get(name, name) for name in expected_pages()]
    assert len({f.lower() for f in files}) == len(files)
    assert "jinit.attention.Mimetic" in renamed  # a clash that exists today, so this test can fail
