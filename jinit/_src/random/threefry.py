"""Threefry-2x32 with 20 rounds, unrolled, in public ``jax.numpy``/``jax.lax`` ops.

Threefry-2x32 (Salmon et al. 2011) maps a key ``(k0, k1)`` and a counter
``(x0, x1)`` of two 32-bit words to two 32-bit words. With
``k2 = k0 ^ k1 ^ 0x1BD11BDA`` and the rotation table
``R = (13, 15, 26, 6 | 17, 29, 16, 24)``:

    x0 += k0; x1 += k1
    for s in 0..4:                      # five groups of four rounds
        for r in R[4 (s mod 2) : 4 (s mod 2) + 4]:
            x0 += x1; x1 = rotl(x1, r); x1 ^= x0
        x0 += k[(s + 1) mod 3]; x1 += k[(s + 2) mod 3] + (s + 1)

all modulo 2**32. jax's CPU lowering wraps the five groups in a rolled
``while`` loop, which XLA cannot fuse with what consumes the bits; written
out here, XLA fuses the hash, the counter iota and the float conversion into
one loop over memory.

The *partitionable* layout of ``jax.random`` (``jax_threefry_partitionable``,
the default since jax 0.5) hashes the 64-bit row-major index ``i`` of each
output element as the counter ``(x0, x1) = (i >> 32, i mod 2**32)``; 32-bit
bits are ``y0 ^ y1``, 64-bit bits are ``(y0 << 32) | y1`` and 8/16-bit bits
are the low bits of ``y0 ^ y1``. ``split`` into ``shape`` keys is the same
hash of the index with the key words ``(y0, y1)``; ``fold_in(key, d)``
hashes the counter ``(0, d)``.

References:
  Salmon, Moraes, Dror & Shaw (2011), Parallel random numbers: as easy as
  1, 2, 3. SC'11. https://doi.org/10.1145/2063384.2063405
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

# Rotation constants of Threefry-2x32 (Salmon et al. 2011, Table 4), the
# first four for even groups of rounds, the last four for odd ones.
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
# Skein's key-schedule parity constant (Ferguson et al., The Skein Hash
# Function Family, v1.3, C240 truncated to 32 bits).
KEY_PARITY = 0x1BD11BDA
# The largest number of elements whose 64-bit index fits in the low word.
MAX_32BIT_COUNT = 2**32

_U32 = np.dtype(np.uint32)


def _u32(value: int) -> np.ndarray:
    return np.asarray(value, dtype=_U32)


def _rotate_left(x: jax.Array, d: int) -> jax.Array:
    return jax.lax.bitwise_or(jax.lax.shift_left(x, _u32(d)), jax.lax.shift_right_logical(x, _u32(32 - d)))


def hash2x32(k0: jax.Array, k1: jax.Array, x0: jax.Array, x1: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 (20 rounds) of the counter ``(x0, x1)`` under the key ``(k0, k1)``.

    All four inputs are uint32 and broadcast against each other.

    Args:
      k0: first key word.
      k1: second key word.
      x0: first counter word.
      x1: second counter word.

    Returns:
      The two output words ``(y0, y1)``, uint32, of the broadcast shape.
    """
    # jax.lax ops throughout: jax.numpy's operators each cost a nested jit at trace time (~0.4 ms x 260).
    add, xor = jax.lax.add, jax.lax.bitwise_xor
    ks = (k0, k1, xor(xor(k0, k1), _u32(KEY_PARITY)))
    x0 = add(x0, ks[0])
    x1 = add(x1, ks[1])
    for group in range(5):
        for r in ROTATIONS[group % 2]:
            x0 = add(x0, x1)
            x1 = xor(x0, _rotate_left(x1, r))
        x0 = add(x0, ks[(group + 1) % 3])
        x1 = add(x1, add(ks[(group + 2) % 3], _u32(group + 1)))
    return x0, x1


def row_major_index(shape: tuple[int, ...]) -> jax.Array:
    """uint32 row-major index of every element of ``shape`` (needs ``prod(shape) <= 2**32``).

    Built from one iota per axis times its stride, as jax does, so that the
    SPMD partitioner can compute each shard's indices locally.
    """
    if not shape:
        return jnp.zeros((), _U32)
    strides = [math.prod(shape[i + 1 :]) for i in range(len(shape))]
    index = None
    for axis, stride in enumerate(strides):
        term = jax.lax.broadcasted_iota(_U32, shape, axis)
        if stride != 1:
            term = jax.lax.mul(term, _u32(stride % MAX_32BIT_COUNT))
        index = term if index is None else jax.lax.add(index, term)
    assert index is not None
    return index


def hash_index(key_data: jax.Array, shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """The two hash words of every element's row-major index (high word 0).

    Args:
      key_data: uint32[2] raw threefry key.
      shape: the output shape; at most ``2**32`` elements.

    Returns:
      ``(y0, y1)``, two uint32 arrays of ``shape``.
    """
    if math.prod(shape) > MAX_32BIT_COUNT:
        raise ValueError(f"jinit.random: at most 2**32 elements per draw; got shape={shape!r}.")
    lo = row_major_index(shape)
    return hash2x32(key_data[0], key_data[1], jnp.zeros((), _U32), lo)


def random_bits(key_data: jax.Array, bit_width: int, shape: tuple[int, ...]) -> jax.Array:
    """Uniform random bits of ``bit_width`` (8, 16, 32 or 64), as ``jax.random.bits``.

    Args:
      key_data: uint32[2] raw threefry key.
      bit_width: 8, 16, 32 or 64.
      shape: the output shape.

    Returns:
      An unsigned integer array of ``shape`` with ``bit_width`` bits.
    """
    y0, y1 = hash_index(key_data, shape)
    if bit_width == 64:
        u64 = np.dtype(np.uint64)
        return jax.lax.bitwise_or(jax.lax.shift_left(y0.astype(u64), np.asarray(32, u64)), y1.astype(u64))
    bits = jax.lax.bitwise_xor(y0, y1)
    if bit_width == 32:
        return bits
    return bits.astype(np.dtype(f"uint{bit_width}"))


def split(key_data: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Raw data of ``shape`` new keys, as ``jax.random.split`` (partitionable).

    Returns:
      uint32 array of ``(*shape, 2)``.
    """
    y0, y1 = hash_index(key_data, shape)
    return jnp.stack([y0, y1], axis=len(shape))


def fold_in(key_data: jax.Array, data: jax.Array) -> jax.Array:
    """Raw data of ``jax.random.fold_in(key, data)``: the hash of the counter ``(0, data)``.

    Returns:
      uint32[2].
    """
    y0, y1 = hash2x32(key_data[0], key_data[1], jnp.zeros((), _U32), data)
    return jnp.stack([y0, y1])
