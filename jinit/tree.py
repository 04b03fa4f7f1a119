"""Path tools on any pytree: rule-based ``reinit``, grouped ``materialize``, ``summary``, ``compare``.

Works on dicts of arrays, haiku params, equinox modules and any other
pytree; never imports flax (``jinit.flax`` re-exports these tools and adds
nnx models and linen boxes). A leaf's path is its ``jax.tree_util`` key path
joined with ``/`` (``"layers/0/weight"``); its key is
``fold_in(key, crc32(path))``. See docs/porting.md.
"""

from jinit._src.tree.apply import materialize as materialize
from jinit._src.tree.apply import reinit as reinit
from jinit._src.tree.layout import torch_layout as torch_layout
from jinit._src.tree.layout import with_fans as with_fans
from jinit._src.tree.paths import leaf_key as leaf_key
from jinit._src.tree.rules import ContextRule as ContextRule
from jinit._src.tree.rules import Rule as Rule
from jinit._src.tree.rules import Rules as Rules
from jinit._src.tree.rules import context_rule as context_rule
from jinit._src.tree.summary import Comparison as Comparison
from jinit._src.tree.summary import Summary as Summary
from jinit._src.tree.summary import compare as compare
from jinit._src.tree.summary import summary as summary
from jinit._src.tree.torch_defaults import torch_defaults as torch_defaults

__all__ = [
    "Comparison",
    "ContextRule",
    "Rule",
    "Rules",
    "Summary",
    "compare",
    "context_rule",
    "leaf_key",
    "materialize",
    "reinit",
    "summary",
    "torch_defaults",
    "torch_layout",
    "with_fans",
]
