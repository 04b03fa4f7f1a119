"""The random core: every sampler of jinit draws its bits through here.

Each function has the semantics and the values of its namesake in
``jax.random`` for the same key. Keeping them in one module lets a faster
bit-exact implementation replace the jax.random calls without touching any
scheme.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Sharding = Any


def split(key: jax.Array, num: int = 2) -> jax.Array:
    return jax.random.split(key, num)


def fold_in(key: jax.Array, data: Any) -> jax.Array:
    return jax.random.fold_in(key, data)


def bits(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.uint32, out_sharding: Sharding = None) -> jax.Array:
    return jax.random.bits(key, shape, dtype, out_sharding=out_sharding)


def uniform(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    minval: float = 0.0,
    maxval: float = 1.0,
    out_sharding: Sharding = None,
) -> jax.Array:
    return jax.random.uniform(key, shape, dtype, minval, maxval, out_sharding=out_sharding)


def normal(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding = None) -> jax.Array:
    return jax.random.normal(key, shape, dtype, out_sharding=out_sharding)


def truncated_normal(
    key: jax.Array,
    lower: float,
    upper: float,
    shape: tuple[int, ...],
    dtype: np.dtype,
    out_sharding: Sharding = None,
) -> jax.Array:
    return jax.random.truncated_normal(key, lower, upper, shape, dtype, out_sharding=out_sharding)
