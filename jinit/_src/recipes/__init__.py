"""Whole-model recipes: the initialisation of named reference architectures as rule sets.

A recipe is a table of roles (embeddings, attention and MLP projections,
norms, heads, biases, SSM parameters, buffers) with their initializers, and a
naming from roles to path patterns; ``jinit.tree`` and ``jinit.flax``'s
``reinit``/``materialize`` accept it as rules. See docs/recipes.md.
"""
