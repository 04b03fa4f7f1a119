"""Deterministic fills: zeros, ones, constant.

``constant`` takes a number or, as ``jax.nn.initializers.constant``, an
array-like broadcast to the shape. An array is stored as a flat tuple of its
values and its shape, so equal values build equal, hashable initializers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, laws, validation
from jinit._src.core.base import InitializerBase
from jinit._src.core.types import DTypeLike, Moments, Sharding


@dataclasses.dataclass(frozen=True, kw_only=True)
class Constant(InitializerBase):
    """Every entry equal to ``value``, or the array ``value`` (shape ``value_shape``) broadcast; the key is ignored."""

    #: the fill: a number, or the flat values of an array in C order
    value: float | tuple[float, ...] = 0.0
    #: None for a number, else the shape of the array ``value`` holds
    value_shape: tuple[int, ...] | None = None
    kinds = validation.INEXACT_KINDS
    random = False

    def __repr__(self) -> str:
        extra = "" if self.value_shape is None else f", value_shape={self.value_shape!r}"
        return f"Constant(dtype={self.dtype!r}, value={self.value!r}{extra})"

    def _array(self) -> np.ndarray:
        """The fill as a float64 array of ``value_shape`` (a 0-d array for a number)."""
        if self.value_shape is None:
            return np.asarray(self.value, np.float64)
        return np.asarray(self.value, np.float64).reshape(self.value_shape)

    def _uniform_value(self) -> float | None:
        """The one value every entry takes, or None if the array's entries differ."""
        if self.value_shape is None:
            return float(self.value)  # type: ignore[arg-type]
        values = set(self.value)  # type: ignore[arg-type]
        return float(values.pop()) if len(values) == 1 else None

    def _check(self, shape: tuple[int, ...]) -> None:
        if self.value_shape is None:
            return
        vs = self.value_shape
        fits = len(vs) <= len(shape) and all(v in (1, s) for v, s in zip(reversed(vs), reversed(shape), strict=False))
        if not fits:
            raise ValueError(
                self._error(f"`value` of shape {vs!r} does not broadcast to the shape; got shape={shape!r}.")
            )

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        # A number as a Python float, as jax passes it (an array would be rounded to float32 first).
        fill = self.value if isinstance(self.value, float) else self._array()
        return jnp.full(shape, fill, dtype, out_sharding=out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments | None:
        value = self._uniform_value()
        # An array of different values: the entries are not identically distributed.
        return None if value is None else laws.constant_moments(value)

    def _range_law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments | None:
        if self.value_shape is None:
            return self._law(shape, dtype)
        # The range check reads the values' span even where there is no law.
        v = self._array()
        lo, hi = float(v.min()), float(v.max())
        half = (hi - lo) / 2
        return Moments(mean=lo + half, variance=half * half, bound=half, interval=(lo, hi), iid=False)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        value = self._uniform_value()
        if value is None:
            return super()._density(shape, dtype)
        return densities.point_mass(value)


def constant(value: Any, dtype: DTypeLike | None = None) -> Constant:
    """Builds an initializer that fills arrays with ``value`` (as ``jax.nn.initializers.constant``).

    ``value`` is a number, or an array-like (list, numpy or jax array) that
    is broadcast to the shape as jax broadcasts it (``jnp.full``). For an
    array whose entries differ, ``moments`` is None (the entries are not
    identically distributed); for one of equal entries it is that number's.

    Args:
      value: the fill, a finite real number or an array-like of them.
      dtype: the default dtype.

    Examples:
      >>> import jax, jinit
      >>> jinit.constant(-7.0)(jax.random.key(0), (2,))
      Array([-7., -7.], dtype=float32)
      >>> jinit.constant([1.0, 2.0, 3.0])(jax.random.key(0), (2, 3))
      Array([[1., 2., 3.],
             [1., 2., 3.]], dtype=float32)
    """
    name = "constant"
    value_, value_shape = fill_value(name, "value", value)
    return Constant(value=value_, value_shape=value_shape, dtype=dtype, name=name)


def fill_value(name: str, param: str, value: Any) -> tuple[float | tuple[float, ...], tuple[int, ...] | None]:
    """``(value, None)`` for a number, ``(flat values, shape)`` for an array-like of finite reals."""
    validation.not_a_key(name, value)
    if not isinstance(value, list | tuple | np.ndarray | jax.Array) or getattr(value, "ndim", None) == 0:
        return validation.real_scalar(name, param, value), None
    if isinstance(value, jax.core.Tracer):
        raise TypeError(validation.error(name, f"`{param}` must be concrete, not a traced value; got {value!r}."))
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # a ragged nesting
        raise TypeError(
            validation.error(name, f"`{param}` must be a real number or an array of them; got {param}={value!r}.")
        ) from None
    real = jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)
    if arr.dtype == np.bool_ or not real:
        raise TypeError(
            validation.error(
                name, f"`{param}` must be a real number or an array of them; got an array of dtype {arr.dtype}."
            )
        )
    flat = np.asarray(arr, np.float64).ravel()
    if not np.isfinite(flat).all():
        raise ValueError(validation.error(name, f"`{param}` must be finite; got {param}={value!r}."))
    return tuple(float(v) for v in flat), tuple(int(d) for d in arr.shape)


#: An initializer of zeros (ready to use, as ``jax.nn.initializers.zeros``).
zeros = Constant(value=0.0, name="zeros")
#: An initializer of ones (ready to use, as ``jax.nn.initializers.ones``).
ones = Constant(value=1.0, name="ones")
