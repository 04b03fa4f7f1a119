"""Sphinx configuration of jinit's site: ``make docs`` builds it into docs/_build/html (plain HTML, opens from disk).

Why Sphinx, MyST and autodoc/autosummary: it is what the JAX libraries do (jax, flax, optax and chex
all build their documentation this way), for three reasons that hold here too.

* One source for the reference: autodoc renders the docstrings that ``help()`` shows and that
  ``make doctest`` runs (Google style, read by napoleon), so the API pages cannot drift from the
  code; autosummary gives every public name its own page, enumerated from each module's ``__all__``
  at build time (``docs/_ext/jinit_docs.py``), so a name added later gets a page without an edit.
* Markdown for the prose (MyST) and the notebooks as pages (myst-nb): the guides stay readable on
  GitHub, and the notebooks that ``make notebooks`` executed are rendered with their outputs as
  they are (``nb_execution_mode = "off"``: each notebook runs once per ``make test``).
* Static output with a client-side search index: no server, no network at build or read time
  (no intersphinx, no fonts or scripts from elsewhere; formulas are written as text, as in the
  docstrings, so no MathJax is needed).

The theme is furo (light and dark, a sidebar of the whole toctree, readable code blocks).
Warnings are errors (``sphinx-build -W --keep-going`` in the Makefile).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
# jinit.interop.KerasInitializer is built on import of keras, which must use the JAX backend.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")

import jinit  # noqa: E402

project = "jinit"
author = "the jinit authors"
copyright = "the jinit authors"
release = jinit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "myst_nb",
    "jinit_docs",
]

root_doc = "index"
exclude_patterns = ["_build", "_ext", "_generated/*.md", "**/.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
suppress_warnings = ["myst.header"]  # the guides link to their own sections by slug, and may start at level 2

# --- autodoc, autosummary, napoleon ---------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = False  # True fails on some signatures of jinit.recipes (a Sphinx bug)
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # "Attributes:" as fields, not as directives that would repeat dataclass fields
napoleon_use_rtype = False
add_module_names = False

# --- MyST and myst-nb -----------------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # make notebooks has run them (nbmake --overwrite); render the outputs as they are
nb_merge_streams = True

# --- HTML -----------------------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"jinit {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
