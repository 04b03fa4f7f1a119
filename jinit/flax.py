"""Flax integration: rule-based reinit, grouped materialize, summaries, ensembles, LSUV.

Needs the ``flax`` extra (``pip install jinit[flax]``); ``import jinit``
alone never imports flax. Every jinit initializer is also a valid
``kernel_init``/``bias_init``/``embedding_init``/``scale_init`` for linen
and nnx layers as it is; see docs/flax.md. ``reinit``, ``materialize``,
``summary`` and ``compare`` are the tools of :mod:`jinit.tree` that also
know nnx models (paths of ``nnx.state``, ``filter=`` for the variables rules
apply to) and linen boxes; the rule helpers are re-exported as they are.
"""

import importlib.util

if importlib.util.find_spec("flax") is None:
    raise ImportError("jinit.flax needs flax: pip install 'jinit[flax]' (jinit.tree has the same tools without flax).")

from jinit._src.flax.ensemble import ensemble_init as ensemble_init
from jinit._src.flax.ensemble import ensemble_member as ensemble_member

# --- LSUV ---
from jinit._src.flax.lsuv import lsuv as lsuv
from jinit._src.flax.materialize import materialize as materialize
from jinit._src.flax.reinit import reinit as reinit
from jinit._src.flax.summary import compare as compare
from jinit._src.flax.summary import summary as summary
from jinit._src.tree.layout import torch_layout as torch_layout
from jinit._src.tree.layout import with_fans as with_fans
from jinit._src.tree.paths import leaf_key as leaf_key
from jinit._src.tree.rules import ContextRule as ContextRule
from jinit._src.tree.rules import Rule as Rule
from jinit._src.tree.rules import Rules as Rules
from jinit._src.tree.rules import context_rule as context_rule
from jinit._src.tree.torch_defaults import torch_defaults as torch_defaults

__all__ = ["compare", "ensemble_init", "ensemble_member", "lsuv", "materialize", "reinit", "summary"]
# jinit.tree's rule helpers, as they are
__all__ += ["ContextRule", "Rule", "Rules", "context_rule", "leaf_key", "torch_defaults", "torch_layout", "with_fans"]
