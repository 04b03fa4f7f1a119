"""Deterministic fills: zeros, ones, constant."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, laws, validation
from jinit._src.core.base import InitializerBase
from jinit._src.core.types import DTypeLike, Moments, Sharding


@dataclasses.dataclass(frozen=True, kw_only=True)
class Constant(InitializerBase):
    """Every entry equal to ``value``; the key is ignored."""

    value: float = 0.0
    kinds = validation.INEXACT_KINDS
    random = False

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        return jnp.full(shape, self.value, dtype, out_sharding=out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        return laws.constant_moments(self.value)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.point_mass(float(self.value))


def constant(value: float, dtype: DTypeLike | None = None) -> Constant:
    """Builds an initializer that fills arrays with ``value`` (as ``jax.nn.initializers.constant``).

    Args:
      value: the fill value (a finite real number).
      dtype: the default dtype.

    Examples:
      >>> import jax, jinit
      >>> jinit.constant(-7.0)(jax.random.key(0), (2,))
      Array([-7., -7.], dtype=float32)
    """
    return Constant(value=validation.real_scalar("constant", "value", value), dtype=dtype, name="constant")


#: An initializer of zeros (ready to use, as ``jax.nn.initializers.zeros``).
zeros = Constant(value=0.0, name="zeros")
#: An initializer of ones (ready to use, as ``jax.nn.initializers.ones``).
ones = Constant(value=1.0, name="ones")
