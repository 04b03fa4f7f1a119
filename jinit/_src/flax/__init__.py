"""Flax helpers: leaf paths and keys, rule-based reinit, grouped materialize, ensembles.

Only ``jinit.flax`` imports this package, so ``import jinit`` works without flax.
"""
