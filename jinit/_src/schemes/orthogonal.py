"""The orthogonal family: orthogonal, delta_orthogonal, eye.

Orthogonal (Saxe et al. 2013, "Exact solutions to the nonlinear dynamics of
learning in deep linear neural networks"): Q from the QR decomposition of a
Gaussian matrix, times sign(diag R), which makes Q Haar-distributed
(Mezzadri 2007). ``batch_axis`` gives one independent orthogonal matrix per
slice. Half precision is computed in float32 and cast once.

Delta-orthogonal (Xiao et al. 2018, "Dynamical isometry and a mean field
theory of CNNs"): a zero kernel whose spatial centre tap is orthogonal.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, fans, laws, validation
from jinit._src.core.base import InitializerBase, cast_constant, shard_like
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.random import householder, sampling


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """QR runs in float32 (complex64) for half precision: neither jax nor
    torch implements it below float32 on CPU."""
    if np.dtype(dtype).itemsize < 4 and not jnp.issubdtype(dtype, jnp.complexfloating):
        return np.dtype(np.float32)
    return np.dtype(dtype)


#: How ``orthogonal`` turns its Gaussian matrix into a Haar one (see :func:`haar_orthogonal`).
METHODS = ("auto", "qr", "householder")


def haar_orthogonal(
    key: jax.Array, batch: tuple[int, ...], rows: int, cols: int, dtype: np.dtype, method: str = "auto"
) -> jax.Array:
    """``(*batch, rows, cols)`` with orthonormal rows or columns, Haar-distributed.

    From the Gaussian ``Z = normal(key, (*batch, max, min))``:

    * ``method="qr"`` (and ``"auto"`` below ``householder.MIN_STEWART``
      columns on the short side, or complex): ``Q sign(diag R)`` from
      ``Z = Q R`` (Mezzadri 2007), the values of
      ``jax.random.orthogonal(key, rows, batch, dtype, cols)`` up to rounding;
    * ``method="householder"`` (and ``"auto"`` for larger real matrices):
      Stewart's product of Householder reflections built from the columns of
      ``Z`` (:mod:`jinit._src.random.householder`): the same Haar law for half the
      flops, in matrix products, without LAPACK (jax's and torch's QR are
      several times slower on CPU), but values that differ from jax's.
    """
    tall, short = max(rows, cols), min(rows, cols)
    z = sampling.normal(key, (*batch, tall, short), dtype)
    stewart = householder.use_stewart(short, dtype) if method == "auto" else method == "householder"
    if stewart:
        q = householder.haar_from_gaussian(z)
    else:
        q, r = jnp.linalg.qr(z)
        d = jnp.diagonal(r, axis1=-2, axis2=-1)
        q = q * jnp.expand_dims(jnp.sign(d), -2)
    return jnp.swapaxes(q, -1, -2) if rows < cols else q


@dataclasses.dataclass(frozen=True, kw_only=True)
class Orthogonal(InitializerBase):
    """``scale`` times a Haar-random (semi-)orthogonal matrix per slice.

    The array is viewed as a matrix whose columns run along ``column_axis``
    and whose rows are all other axes except ``batch_axis``.
    """

    scale: float = 1.0
    column_axis: int = -1
    batch_axis: int | tuple[int, ...] = ()
    method: str = "auto"
    kinds = validation.INEXACT_KINDS

    def _check_method(self, dtype: np.dtype) -> None:
        if self.method == "householder" and jnp.issubdtype(dtype, jnp.complexfloating):
            raise ValueError(
                self._error(
                    f"method='householder' builds real matrices; got dtype={np.dtype(dtype).name} "
                    f"(use method='qr' or 'auto' for unitary ones)."
                )
            )

    def _axes(self, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        if len(shape) < 2:
            raise ValueError(self._error(f"shape needs at least 2 dimensions; got shape={shape!r}."))
        (col,) = fans.normalize_axes(self.name, "column_axis", self.column_axis, len(shape))
        batch = fans.normalize_axes(self.name, "batch_axis", self.batch_axis, len(shape))
        if col in batch:
            raise ValueError(
                self._error(
                    f"`column_axis` must not be a batch axis; got column_axis={self.column_axis!r}, "
                    f"batch_axis={self.batch_axis!r}."
                )
            )
        if len(shape) - len(batch) < 2:
            raise ValueError(
                self._error(
                    f"each slice needs at least 2 dimensions besides `batch_axis`; got shape={shape!r}, "
                    f"batch_axis={self.batch_axis!r}."
                )
            )
        return col, batch

    def _check(self, shape: tuple[int, ...]) -> None:
        self._axes(shape)

    def matrix_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(rows, cols) of each slice's matrix."""
        col, batch = self._axes(shape)
        rows = math.prod(d for i, d in enumerate(shape) if i != col and i not in batch)
        return rows, shape[col]

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        self._check_method(dtype)
        col, batch = self._axes(shape)
        rows, cols = self.matrix_shape(shape)
        rest = [i for i in range(len(shape)) if i not in batch and i != col]
        batch_shape = tuple(shape[i] for i in batch)
        q = haar_orthogonal(key, batch_shape, rows, cols, compute_dtype(dtype), self.method)
        # (*batch, rows, cols) -> (*batch, *rest, col) -> the caller's axis order.
        q = q.reshape(batch_shape + tuple(shape[i] for i in rest) + (cols,))
        order = list(batch) + rest + [col]
        q = jnp.transpose(q, tuple(int(i) for i in np.argsort(order)))
        q = (q * cast_constant(self.scale, compute_dtype(dtype))).astype(dtype)
        return shard_like(q, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        rows, cols = self.matrix_shape(shape)
        return laws.semi_orthogonal_moments(rows, cols, self.scale)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.haar_entry(max(self.matrix_shape(shape)), self.scale)


def orthogonal(
    scale: float = 1.0,
    column_axis: int = -1,
    dtype: DTypeLike | None = None,
    batch_axis: int | tuple[int, ...] = (),
    *,
    method: str = "auto",
) -> Orthogonal:
    """Builds an initializer of Haar-random (semi-)orthogonal matrices.

    ``W^T W = scale^2 I`` (more rows than columns) or ``W W^T = scale^2 I``.
    Unlike jax, ``batch_axis`` makes each slice orthogonal (jax flattens a
    stack into one matrix), float16/bfloat16 work (computed in float32), and
    ``out_sharding`` is honoured.

    Both methods draw the same Gaussian matrix and give exactly the Haar law;
    they differ in speed and in which orthogonal matrix a key maps to.
    ``"qr"`` takes ``Q sign(diag R)`` of its QR decomposition, as jax does:
    the values of ``jax.nn.initializers.orthogonal`` for the same key (to
    rounding). ``"householder"`` builds Q from the Gaussian's columns as
    Householder reflections (Stewart 1980): half the flops and no LAPACK,
    about twice as fast as jax's QR on CPU from a few hundred columns on
    (benchmarks/RESULTS.md), other values. ``"auto"`` takes ``"qr"`` when the short side
    has fewer than 128 columns (jax's values where speed does not matter)
    and for complex dtypes, ``"householder"`` above.

    Args:
      scale: multiplier of the orthogonal matrix, positive and finite.
      column_axis: the axis holding the columns.
      dtype: the default dtype (real or complex: unitary).
      batch_axis: axes of independent slices.
      method: ``"auto"``, ``"qr"`` (jax's values) or ``"householder"`` (real dtypes).

    Examples:
      >>> import jax, jinit
      >>> w = jinit.orthogonal()(jax.random.key(0), (4, 4))
      >>> bool(jax.numpy.allclose(w.T @ w, jax.numpy.eye(4), atol=1e-5))
      True

    References:
      Saxe, McClelland & Ganguli (2013), arXiv:1312.6120.
      Stewart (1980), The efficient generation of random orthogonal matrices
      with an application to condition estimators, SIAM J. Numer. Anal. 17(3).
    """
    name = "orthogonal"
    common = _checked(name, scale, column_axis, method, dtype)
    return Orthogonal(batch_axis=validation.axes(name, "batch_axis", batch_axis), **common)


def _checked(name: str, scale: Any, column_axis: Any, method: Any, dtype: Any) -> dict[str, Any]:
    """The hyperparameters orthogonal and delta_orthogonal share, checked."""
    return {
        "scale": validation.positive(name, "scale", scale),
        "column_axis": validation.integer(name, "column_axis", column_axis),
        "method": validation.choice(name, "method", method, METHODS),
        "dtype": dtype,
        "name": name,
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeltaOrthogonal(InitializerBase):
    """Zero kernel except the centre tap ((k-1)//2 per spatial axis), which is orthogonal."""

    scale: float = 1.0
    column_axis: int = -1
    method: str = "auto"

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) not in (3, 4, 5):
            raise ValueError(self._error(f"shape needs 3, 4 or 5 dimensions; got shape={shape!r}."))
        if shape[-1] < shape[-2]:
            raise ValueError(
                self._error(
                    f"needs in <= out (shape[-2] <= shape[-1]) for an orthogonal centre tap; got shape={shape!r}."
                )
            )

    def _centre(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple((k - 1) // 2 for k in shape[:-2])

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        inner = Orthogonal(scale=self.scale, column_axis=self.column_axis, method=self.method, name=self.name)
        tap = inner._sample(key, shape[-2:], dtype, None)
        w = jnp.zeros(shape, dtype).at[self._centre(shape)].set(tap)
        return shard_like(w, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        taps = math.prod(shape[:-2])
        rows, cols = shape[-2], shape[-1]
        # The centre tap's squared entries sum to scale^2 * rows; all others are zero.
        return Moments(
            mean=0.0,
            variance=self.scale * self.scale * min(rows, cols) / (taps * rows * cols),  # ** 2 may raise OverflowError
            bound=abs(self.scale),
            excess_kurtosis=None,
            iid=False,
        )

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        # The centre tap is an (in, out) matrix with in <= out: its entries are those of a unit vector in R^out.
        return densities.delta_orthogonal(math.prod(shape[:-2]), shape[-1], self.scale)


def delta_orthogonal(
    scale: float = 1.0, column_axis: int = -1, dtype: DTypeLike | None = None, *, method: str = "auto"
) -> DeltaOrthogonal:
    """Builds a delta-orthogonal initializer for 3-D, 4-D or 5-D conv kernels.

    Every tap is zero except the spatial centre ``(k - 1) // 2`` (jax's
    convention; torch's ``dirac_`` uses ``k // 2``), which holds ``scale``
    times an orthogonal ``(in, out)`` matrix with orthonormal rows (in <= out).

    Args:
      scale: multiplier, positive and finite.
      column_axis: the axis of the centre matrix holding the columns.
      dtype: the default dtype.
      method: how the centre matrix is built, as in :func:`orthogonal`.

    References:
      Xiao et al. (2018), Dynamical isometry and a mean field theory of CNNs,
      arXiv:1806.05393.
    """
    name = "delta_orthogonal"
    common = _checked(name, scale, column_axis, method, dtype)
    if common["column_axis"] not in (-1, -2, 0, 1):
        raise ValueError(
            validation.error(name, f"`column_axis` must index the (in, out) matrix (-1 or -2); got {column_axis!r}.")
        )
    return DeltaOrthogonal(**common)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Eye(InitializerBase):
    """``gain`` times the identity on the last two axes (broadcast over leading axes)."""

    gain: float = 1.0
    random = False

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) < 2:
            raise ValueError(self._error(f"shape needs at least 2 dimensions; got shape={shape!r}."))

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        eye = jnp.eye(shape[-2], shape[-1], dtype=dtype) * cast_constant(self.gain, dtype)
        return shard_like(jnp.broadcast_to(eye, shape), out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        rows, cols = shape[-2], shape[-1]
        return laws.two_valued_moments(self.gain, min(rows, cols), rows * cols)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        rows, cols = shape[-2], shape[-1]
        return densities.two_valued(self.gain, min(rows, cols) / (rows * cols))


def eye(gain: float = 1.0, dtype: DTypeLike | None = None) -> Eye:
    """Builds an identity initializer: ``gain * I`` on the last two axes.

    The key is ignored. For a square Dense kernel this makes the layer the
    identity map (IRNN, Le et al. 2015, uses it for the recurrent kernel).

    Args:
      gain: multiplier, finite and non-zero.
      dtype: the default dtype.
    """
    g = validation.real_scalar("eye", "gain", gain)
    if g == 0.0:
        raise ValueError(validation.error("eye", f"`gain` must be non-zero (use jinit.zeros); got gain={gain!r}."))
    return Eye(gain=g, dtype=dtype, name="eye")


identity = eye
