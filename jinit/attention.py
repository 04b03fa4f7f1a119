"""Initialization of attention blocks, where the kernels of one block are drawn together.

These are not one initializer per array: each call returns the coupled
kernels of a block (e.g. query and key), in the layout of
``flax.nnx.MultiHeadAttention``.
"""

from jinit._src.schemes.mimetic import Mimetic as Mimetic
from jinit._src.schemes.mimetic import mimetic as mimetic

__all__ = ["Mimetic", "mimetic"]
