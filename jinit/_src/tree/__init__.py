"""Path tools on any pytree: leaf paths and keys, rules, reinit, materialize, summaries.

Nothing here imports flax; ``jinit.flax`` adds nnx and linen boxes on top.
"""
