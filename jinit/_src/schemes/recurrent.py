"""Recurrent kernels: identity (IRNN) and orthogonal, one block per gate.

A recurrent kernel of a gated cell stacks one (h, h) matrix per gate along
its last axis: Flax's ``OptimizedLSTMCell`` has a hidden kernel (h, 4h),
``GRUCell`` (h, 3h), ``SimpleCell`` and each gate of ``LSTMCell`` (h, h).
Flax's default ``orthogonal()`` on (h, 4h) gives a matrix with orthonormal
rows, but no single gate's block is orthogonal (each has singular values
about 1/2). These initializers treat a kernel ``(..., h, g h)`` as g square
blocks and make each block the identity or an independent Haar-orthogonal
matrix; leading axes are independent slices (stacked layers).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, laws, validation
from jinit._src.core.base import InitializerBase, cast_constant, shard_like
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.schemes.orthogonal import compute_dtype, haar_orthogonal


@dataclasses.dataclass(frozen=True, kw_only=True)
class _GateBlocks(InitializerBase):
    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) < 2:
            raise ValueError(
                self._error(f"shape needs at least 2 dimensions (hidden, gates * hidden); got shape={shape!r}.")
            )
        h, out = shape[-2], shape[-1]
        if h > 0 and out % h:
            raise ValueError(
                self._error(
                    f"the last axis must hold whole (h, h) gate blocks, a multiple of shape[-2]={h}; "
                    f"got shape={shape!r}."
                )
            )

    @staticmethod
    def gates(shape: tuple[int, ...]) -> int:
        return shape[-1] // shape[-2]


@dataclasses.dataclass(frozen=True, kw_only=True)
class IRNN(_GateBlocks):
    """``gain * I`` in every (h, h) gate block."""

    gain: float = 1.0
    random = False

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        h = shape[-2]
        block = jnp.eye(h, dtype=dtype) * cast_constant(self.gain, dtype)
        w = jnp.tile(block, (1, self.gates(shape)))
        return shard_like(jnp.broadcast_to(w, shape), out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        h, g = shape[-2], self.gates(shape)
        return laws.two_valued_moments(self.gain, g * h, g * h * h)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        # The values the array holds: the gain rounded to the dtype, and zeros.
        h, g = shape[-2], self.gates(shape)
        dtype_ = validation.dtype(self.name, self.dtype if dtype is None else dtype, self.kinds)
        gain = float(cast_constant(self.gain, dtype_))
        return densities.discrete([(gain, g * h), (0.0, g * h * h - g * h)], g * h * h)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecurrentOrthogonal(_GateBlocks):
    """``scale`` times an independent Haar-orthogonal matrix in every (h, h) gate block."""

    scale: float = 1.0

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        h, g = shape[-2], self.gates(shape)
        lead = shape[:-2]
        cdt = compute_dtype(dtype)
        q = haar_orthogonal(key, (*lead, g), h, h, cdt)  # (*lead, g, h, h)
        q = jnp.moveaxis(q, -3, -2).reshape(shape)  # (*lead, h, g, h) -> (*lead, h, g h)
        q = (q * cast_constant(self.scale, cdt)).astype(dtype)
        return shard_like(q, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        h = shape[-2]
        return laws.semi_orthogonal_moments(h, h, self.scale)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.haar_entry(shape[-2], self.scale)


def irnn(gain: float = 1.0, dtype: DTypeLike | None = None) -> IRNN:
    """Builds the IRNN recurrent kernel: ``gain * I`` in every (h, h) gate block.

    Le, Jaitly & Hinton (2015): a relu RNN whose recurrent matrix starts at
    the identity and biases at zero copies its state forward unchanged, so
    gradients neither vanish nor explode at the start. For a kernel
    ``(..., h, g h)`` each of the g gate blocks is ``gain * I`` (g = 1 for a
    plain RNN); the key is ignored. Use with ``recurrent_kernel_init`` of
    ``flax.nnx.SimpleCell`` (and zero biases).

    Args:
      gain: the diagonal value, finite and non-zero (the paper also uses
        small values such as 0.01 for some tasks).
      dtype: the default dtype.

    Returns:
      An ``IRNN`` initializer.

    Examples:
      >>> import jax, jinit
      >>> jinit.irnn()(jax.random.key(0), (2, 4))
      Array([[1., 0., 1., 0.],
             [0., 1., 0., 1.]], dtype=float32)

    References:
      Le, Jaitly & Hinton (2015), A simple way to initialize recurrent
      networks of rectified linear units, arXiv:1504.00941.
    """
    g = validation.real_scalar("irnn", "gain", gain)
    if g == 0.0:
        raise ValueError(validation.error("irnn", f"`gain` must be non-zero (use jinit.zeros); got gain={gain!r}."))
    return IRNN(gain=g, dtype=dtype, name="irnn")


def recurrent_orthogonal(scale: float = 1.0, dtype: DTypeLike | None = None) -> RecurrentOrthogonal:
    """Builds an orthogonal recurrent kernel: an independent Haar-orthogonal matrix per gate block.

    For a kernel ``(..., h, g h)`` every (h, h) block ``W_k`` satisfies
    ``W_k^T W_k = scale^2 I`` (Saxe et al. 2013; the usual recurrent init of
    LSTMs and GRUs, e.g. Keras' ``recurrent_initializer="orthogonal"`` per
    gate). Unlike ``orthogonal()`` on the whole (h, g h) kernel, which only
    makes the rows orthonormal, each gate's map of the hidden state is an
    isometry. Leading axes are independent slices.

    Args:
      scale: multiplier of each block, positive and finite.
      dtype: the default dtype (float16/bfloat16 computed in float32).

    Returns:
      A ``RecurrentOrthogonal`` initializer.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.recurrent_orthogonal()(jax.random.key(0), (8, 32))  # 4 gates
      >>> gate = w[:, 8:16]
      >>> bool(jax.numpy.allclose(gate.T @ gate, jax.numpy.eye(8), atol=1e-5))
      True

    References:
      Saxe, McClelland & Ganguli (2013), arXiv:1312.6120; Le, Jaitly &
      Hinton (2015), arXiv:1504.00941 (orthogonal and identity recurrent
      initializations compared).
    """
    name = "recurrent_orthogonal"
    return RecurrentOrthogonal(scale=validation.positive(name, "scale", scale), dtype=dtype, name=name)
