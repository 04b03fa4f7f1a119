"""The spectral condition: a semi-orthogonal kernel with every singular value ``scale * sqrt(fan_out / fan_in)``.

Yang, Simon & Bernstein (2023) show that features move by Theta(1) per
step at any width when each weight matrix W (fan_in x fan_out here) and its
updates have spectral norm ``Theta(sqrt(fan_out / fan_in))``. A
semi-orthogonal matrix times that factor meets the condition with every
singular value equal to it, not only the largest:

    W = scale * sqrt(fan_out / fan_in) * Q,    Q^T Q = I or Q Q^T = I,

Q Haar-random, drawn as :func:`jinit.orthogonal` draws it. The kernel is
viewed as the matrix (receptive field x inputs, outputs): a conv kernel
``(kh, kw, in, out)`` is a ``(kh kw in, out)`` matrix with fan_in =
kh kw in and fan_out = kh kw out, so the factor is ``sqrt(out / in)``.
One entry has mean 0 and variance ``scale^2 (fan_out / fan_in) / max(rows,
cols)``: ``scale^2 / fan_in`` for a widening layer (LeCun's variance),
``scale^2 fan_out / fan_in^2`` for a narrowing one.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, fans, laws, validation
from jinit._src.core.base import InitializerBase, cast_constant, shard_like
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.schemes.orthogonal import compute_dtype, haar_orthogonal


@dataclasses.dataclass(frozen=True, kw_only=True)
class Spectral(InitializerBase):
    """``scale * sqrt(fan_out / fan_in)`` times a Haar semi-orthogonal (fan_in, outputs) matrix per slice."""

    scale: float = 1.0
    in_axis: int | tuple[int, ...] = -2
    out_axis: int | tuple[int, ...] = -1
    batch_axis: int | tuple[int, ...] = ()
    kinds = validation.INEXACT_KINDS

    def _layout(
        self, shape: tuple[int, ...]
    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """The axes (batch, receptive field, inputs, outputs), each in the caller's order."""
        fans.compute_fans(self.name, shape, self.in_axis, self.out_axis, self.batch_axis)  # validates the axes
        rank = len(shape)
        ins = fans.normalize_axes(self.name, "in_axis", self.in_axis, rank)
        outs = fans.normalize_axes(self.name, "out_axis", self.out_axis, rank)
        batch = fans.normalize_axes(self.name, "batch_axis", self.batch_axis, rank)
        rest = tuple(i for i in range(rank) if i not in ins + outs + batch)
        return batch, rest, ins, outs

    def _check(self, shape: tuple[int, ...]) -> None:
        self._layout(shape)

    def matrix_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(rows, cols) of each slice's matrix: (fan_in, product of the output axes)."""
        _, rest, ins, outs = self._layout(shape)
        return math.prod(shape[i] for i in rest + ins), math.prod(shape[i] for i in outs)

    def gain(self, shape: tuple[int, ...]) -> float:
        """Every singular value of a slice: ``scale * sqrt(fan_out / fan_in)``."""
        fan_in, fan_out = fans.compute_fans(self.name, shape, self.in_axis, self.out_axis, self.batch_axis)
        return self.scale * math.sqrt(fan_out / fan_in)

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        batch, rest, ins, outs = self._layout(shape)
        rows, cols = self.matrix_shape(shape)
        batch_shape = tuple(shape[i] for i in batch)
        wide = compute_dtype(dtype)
        q = haar_orthogonal(key, batch_shape, rows, cols, wide)
        # (*batch, rows, cols) -> (*batch, *rest, *in, *out) -> the caller's axis order.
        order = batch + rest + ins + outs
        q = q.reshape(tuple(shape[i] for i in order))
        q = jnp.transpose(q, tuple(int(i) for i in np.argsort(order)))
        w = (q * cast_constant(self.gain(shape), wide)).astype(dtype)
        return shard_like(w, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        rows, cols = self.matrix_shape(shape)
        return laws.semi_orthogonal_moments(rows, cols, self.gain(shape))

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.haar_entry(max(self.matrix_shape(shape)), self.gain(shape))


def spectral(
    scale: float = 1.0,
    *,
    in_axis: int | tuple[int, ...] = -2,
    out_axis: int | tuple[int, ...] = -1,
    batch_axis: int | tuple[int, ...] = (),
    dtype: DTypeLike | None = None,
) -> Spectral:
    """Builds the spectral-condition initializer: ``scale * sqrt(fan_out / fan_in) * Q``, Q semi-orthogonal.

    Every singular value of each ``(fan_in, outputs)`` slice equals
    ``scale * sqrt(fan_out / fan_in)`` (Yang, Simon & Bernstein 2023): the
    spectral norm their condition asks for, with no small singular values.
    ``scale`` multiplies the singular values (a standard deviation, as
    ``orthogonal``'s ``scale``), not a variance as in ``variance_scaling``.
    The axes mean what they mean in ``variance_scaling``: axes in none of
    ``in_axis``, ``out_axis``, ``batch_axis`` are the receptive field and
    count into both fans; each ``batch_axis`` slice is drawn independently.

    One entry: mean 0, variance ``scale^2 (fan_out / fan_in) / max(rows,
    cols)``, ``|w| <= scale sqrt(fan_out / fan_in)``.

    Relation to Muon: Muon orthogonalises each update of a (fan_out, fan_in)
    weight and multiplies it by ``sqrt(max(1, fan_out / fan_in))``, so its
    updates have the spectral norm this initializer gives the weights
    whenever fan_out >= fan_in; for a narrowing layer Muon keeps 1 where the
    spectral condition asks for ``sqrt(fan_out / fan_in) < 1``. (Other
    Muon variants scale by ``0.2 sqrt(max(fan_in, fan_out))`` to match
    AdamW's update RMS instead.)

    Args:
      scale: multiplier of the singular values, positive and finite.
      in_axis: input axis or axes of the kernel.
      out_axis: output axis or axes.
      batch_axis: axes of independent stacked kernels (not counted in the fans).
      dtype: the default dtype (real, or complex: a unitary Q).

    Returns:
      A ``Spectral`` initializer.

    Examples:
      >>> import jax, jinit, numpy as np
      >>> w = jinit.spectral()(jax.random.key(0), (64, 256))
      >>> np.round(np.linalg.svd(np.asarray(w), compute_uv=False)[[0, -1]], 4)  # sqrt(256 / 64)
      array([2., 2.], dtype=float32)

    References:
      Yang, Simon & Bernstein (2023), A spectral condition for feature
      learning, arXiv:2310.17813. Jordan et al. (2024), Muon: an optimizer
      for hidden layers in neural networks (blog post).
    """
    name = "spectral"
    return Spectral(
        scale=validation.positive(name, "scale", scale),
        in_axis=validation.axes(name, "in_axis", in_axis),
        out_axis=validation.axes(name, "out_axis", out_axis),
        batch_axis=validation.axes(name, "batch_axis", batch_axis),
        dtype=dtype,
        name=name,
    )
