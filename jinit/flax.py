"""Flax integration: rule-based reinit, grouped materialize, ensembles.

Needs the ``flax`` extra (``pip install jinit[flax]``); ``import jinit``
alone never imports flax. Every jinit initializer is also a valid
``kernel_init``/``bias_init``/``embedding_init``/``scale_init`` for linen
and nnx layers as it is; see docs/flax.md.
"""

from jinit._src.flax.ensemble import ensemble_init as ensemble_init
from jinit._src.flax.ensemble import ensemble_member as ensemble_member

# --- LSUV (issue 5) ---
from jinit._src.flax.lsuv import lsuv as lsuv
from jinit._src.flax.materialize import materialize as materialize
from jinit._src.flax.paths import leaf_key as leaf_key
from jinit._src.flax.reinit import reinit as reinit

__all__ = [
    "ensemble_init",
    "ensemble_member",
    "leaf_key",
    "lsuv",
    "materialize",
    "reinit",
]
