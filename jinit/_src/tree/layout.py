"""Telling an initializer which axes of a stored array are its inputs, outputs and batch.

Initializers compute fans from jax's layout ``(*receptive, in, out)``. A
stored array may have another: torch and equinox keep ``(out, in, *k)``; an
einsum or ``DenseGeneral`` kernel has several input or output axes; a fused
QKV kernel holds three matrices side by side; a mixture-of-experts kernel
``(experts, in, out)`` holds independent matrices along a batch axis.

Both wrappers here draw the initializer on the canonical array and move its
axes into place: the axes named inputs are flattened into one, the outputs
into one, the others (the receptive field) are kept in order before them,
and each batch slice is an independent draw, ``fold_in(key, i)`` as in
:func:`jinit.stacked`. So the law of an entry is the initializer's law for
the canonical ``(*receptive, prod(in), prod(out))`` kernel, and structured
schemes (orthogonal) are structured in that kernel.

Explicit fan values (``fan_in=``, ``fan_out=``) rescale a zero-mean i.i.d.
law to the one the initializer gives a ``(fan_in, fan_out)`` matrix: for the
scale families (normal, uniform, truncated normal) that is the same family
with the variance of those fans.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import fans, validation
from jinit._src.core.base import shard_like
from jinit._src.core.types import DTypeLike, Moments, Shape, Sharding
from jinit._src.schemes.stacked import stacked
from jinit._src.tree.rules import ContextRule


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How a stored shape maps to the canonical kernel the initializer is drawn on."""

    order: tuple[int, ...]  # stored axes in canonical order: batch, receptive, in, out
    inner: tuple[int, ...]  # one slice: (*receptive, prod(in), prod(out))
    batch: int  # number of independent slices (0: no batch axis)
    arranged: tuple[int, ...]  # the stored sizes in canonical order

    @property
    def identity(self) -> bool:
        return self.batch == 0 and self.order == tuple(range(len(self.order))) and self.inner == self.arranged


def _plan(name: str, shape: tuple[int, ...], in_axis: Any, out_axis: Any, batch_axis: Any) -> _Plan:
    fans.compute_fans(name, shape, in_axis, out_axis, batch_axis)  # ranges and overlaps, with jax's messages
    rank = len(shape)
    ins = fans.normalize_axes(name, "in_axis", in_axis, rank)
    outs = fans.normalize_axes(name, "out_axis", out_axis, rank)
    batch = fans.normalize_axes(name, "batch_axis", batch_axis, rank)
    used = set(ins) | set(outs) | set(batch)
    receptive = tuple(a for a in range(rank) if a not in used)
    order = (*batch, *receptive, *ins, *outs)
    inner = (*(shape[a] for a in receptive), math.prod(shape[a] for a in ins), math.prod(shape[a] for a in outs))
    return _Plan(order, inner, math.prod(shape[a] for a in batch) if batch else 0, tuple(shape[a] for a in order))


def _canonical_draw(
    init: Any, key: jax.Array, plan: _Plan, dtype: Any, scale: float | None, out_sharding: Sharding
) -> jax.Array:
    draw_dtype = dtype
    if scale is not None and dtype is not None and np.dtype(dtype).itemsize < 4:
        draw_dtype = jnp.float32  # rescale in float32 and round once
    if plan.batch:
        x = stacked(init, plan.batch)(key, (plan.batch, *plan.inner), draw_dtype)
    else:
        x = init(key, plan.inner, draw_dtype)
    if scale is not None:
        x = (x * np.asarray(scale, dtype=x.dtype)).astype(dtype if dtype is not None else x.dtype)
    if not plan.identity:
        x = jnp.transpose(jnp.reshape(x, plan.arranged), tuple(int(i) for i in np.argsort(plan.order)))
    return shard_like(x, out_sharding)


def _check_init(name: str, init: Any) -> None:
    if isinstance(init, ContextRule) or not callable(init):
        raise TypeError(validation.error(name, f"`init` must be an initializer; got {init!r}."))


def _moments_of(init: Any, shape: tuple[int, ...], dtype: Any) -> Moments | None:
    method = getattr(init, "moments", None)
    return None if method is None else method(shape, dtype)


def _fan(name: str, param: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(validation.error(name, f"`{param}` must be an int or None; got {param}={value!r}."))
    if value < 1:
        raise ValueError(validation.error(name, f"`{param}` must be positive; got {param}={value!r}."))
    return int(value)


@dataclasses.dataclass(frozen=True)
class WithFans:
    """``init`` drawn on the canonical kernel of the named axes (see :func:`with_fans`)."""

    init: Any
    in_axis: int | tuple[int, ...] = -2
    out_axis: int | tuple[int, ...] = -1
    batch_axis: int | tuple[int, ...] = ()
    fan_in: int | None = None
    fan_out: int | None = None
    name: str = dataclasses.field(default="tree.with_fans", compare=False, repr=False)

    @property
    def dtype(self) -> DTypeLike | None:
        return getattr(self.init, "dtype", None)

    def _plan(self, shape: tuple[int, ...]) -> _Plan:
        return _plan(self.name, shape, self.in_axis, self.out_axis, self.batch_axis)

    def _scale(self, plan: _Plan, dtype: Any) -> tuple[float | None, Moments | None]:
        """(the factor from the inner law to the law of the given fans or None, the inner law)."""
        inner = _moments_of(self.init, plan.inner, dtype)
        if self.fan_in is None and self.fan_out is None:
            return None, inner
        own_in, own_out = fans.compute_fans(self.name, plan.inner)
        reference = (self.fan_in or own_in, self.fan_out or own_out)
        target = _moments_of(self.init, reference, dtype)
        if inner is None or target is None:
            raise ValueError(
                validation.error(
                    self.name, f"explicit fan values need an initializer with a law (`moments`); got {self.init!r}."
                )
            )
        for law in (inner, target):
            if law.mean != 0.0 or not law.iid:
                raise ValueError(
                    validation.error(
                        self.name,
                        f"explicit fan values rescale a zero-mean i.i.d. law; {self.init!r} gives mean "
                        f"{law.mean} (i.i.d.: {law.iid}) for shape {plan.inner}.",
                    )
                )
        if inner.variance == 0.0:
            if target.variance == 0.0:
                return 1.0, inner
            raise ValueError(
                validation.error(
                    self.name, f"{self.init!r} gives variance 0 for shape {plan.inner}: nothing to rescale."
                )
            )
        return math.sqrt(target.variance / inner.variance), inner

    def __call__(
        self, key: jax.Array, shape: Shape, dtype: DTypeLike | None = None, out_sharding: Sharding = None
    ) -> jax.Array:
        shape_ = validation.shape(self.name, shape)
        key = validation.key(self.name, key)
        dtype = self.dtype if dtype is None else dtype
        if math.prod(shape_) == 0:
            return jnp.zeros(shape_, validation.dtype(self.name, dtype), out_sharding=out_sharding)
        plan = self._plan(shape_)
        scale, _ = self._scale(plan, dtype)
        return _canonical_draw(self.init, key, plan, dtype, scale, out_sharding)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        """The law of one entry: the initializer's law on the canonical kernel (rescaled for fan values)."""
        shape_ = validation.shape(self.name, shape)
        dtype = self.dtype if dtype is None else dtype
        if math.prod(shape_) == 0:
            return None
        scale, inner = self._scale(self._plan(shape_), dtype)
        if scale is None or inner is None:
            return inner
        return dataclasses.replace(
            inner,
            variance=inner.variance * scale**2,
            bound=None if inner.bound is None else inner.bound * scale,
            interval=None if inner.interval is None else (inner.interval[0] * scale, inner.interval[1] * scale),
        )


def with_fans(
    init: Any,
    *,
    in_axis: int | tuple[int, ...] = -2,
    out_axis: int | tuple[int, ...] = -1,
    batch_axis: int | tuple[int, ...] = (),
    fan_in: int | None = None,
    fan_out: int | None = None,
) -> WithFans:
    """``init`` with the stored array's input, output and batch axes named, or its fans given.

    The array is drawn as the canonical kernel ``(*receptive, prod(in),
    prod(out))`` (axes in none of ``in_axis``, ``out_axis``, ``batch_axis``
    are the receptive field, kept in order), one independent slice per batch
    index (``fold_in(key, i)``, as :func:`jinit.stacked`), and its axes moved
    back to where they are stored. ``fan_in`` / ``fan_out`` override the
    fans: the draw is rescaled to the law the initializer gives a ``(fan_in,
    fan_out)`` matrix, which needs a zero-mean i.i.d. law (variance scaling,
    torch's layer laws).

    Typical kernels:

    * einsum / ``DenseGeneral`` ``(d, heads, head_dim)``: ``in_axis=0, out_axis=(1, 2)``;
    * attention output ``(heads, head_dim, d)``: ``in_axis=(0, 1), out_axis=2``;
    * mixture of experts ``(experts, d, f)``: ``batch_axis=0`` (each expert its own matrix);
    * fused QKV ``(d, 3, heads * head_dim)``: ``in_axis=0, out_axis=2, batch_axis=1``
      (q, k and v drawn as three matrices), or ``(d, 3 * h)`` stored flat:
      ``fan_out=h``.

    Args:
      init: any initializer (e.g. ``jinit.glorot_uniform()``).
      in_axis: the input axis or axes.
      out_axis: the output axis or axes.
      batch_axis: axes of independent kernels.
      fan_in: the fan_in to use instead of the canonical kernel's, or None.
      fan_out: the fan_out to use instead, or None.

    Returns:
      An initializer with ``moments``.

    Examples:
      >>> import jax, jinit, jinit.tree
      >>> moe = jinit.tree.with_fans(jinit.he_normal(), batch_axis=0)
      >>> moe(jax.random.key(0), (8, 64, 256)).shape
      (8, 64, 256)
      >>> round(moe.moments((8, 64, 256)).variance * 64, 6)  # 2 / fan_in, fan_in 64 (not 8 * 64)
      2.0
    """
    name = "tree.with_fans"
    _check_init(name, init)
    return WithFans(
        init=init,
        in_axis=validation.axes(name, "in_axis", in_axis),
        out_axis=validation.axes(name, "out_axis", out_axis),
        batch_axis=validation.axes(name, "batch_axis", batch_axis),
        fan_in=_fan(name, "fan_in", fan_in),
        fan_out=_fan(name, "fan_out", fan_out),
    )


@dataclasses.dataclass(frozen=True)
class TorchLayout:
    """``init`` (written for jax's ``(*k, in, out)``) applied to a torch-layout ``(out, in, *k)`` array."""

    init: Any
    name: str = dataclasses.field(default="tree.torch_layout", compare=False, repr=False)

    @property
    def dtype(self) -> DTypeLike | None:
        return getattr(self.init, "dtype", None)

    def _plan(self, shape: tuple[int, ...]) -> _Plan | None:
        return _plan(self.name, shape, 1, 0, ()) if len(shape) >= 2 else None

    def __call__(
        self, key: jax.Array, shape: Shape, dtype: DTypeLike | None = None, out_sharding: Sharding = None
    ) -> jax.Array:
        shape_ = validation.shape(self.name, shape)
        plan = self._plan(shape_)
        if plan is None:  # biases, norm scales: the same in both layouts
            if out_sharding is None:  # a plain (key, shape, dtype) function need not take out_sharding
                return self.init(key, shape_, dtype)
            return self.init(key, shape_, dtype, out_sharding=out_sharding)
        key = validation.key(self.name, key)
        dtype = self.dtype if dtype is None else dtype
        if math.prod(shape_) == 0:
            return jnp.zeros(shape_, validation.dtype(self.name, dtype), out_sharding=out_sharding)
        return _canonical_draw(self.init, key, plan, dtype, None, out_sharding)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        """The initializer's law for the same layer in jax's layout (``(*k, in, out)``)."""
        shape_ = validation.shape(self.name, shape)
        plan = self._plan(shape_)
        return _moments_of(self.init, shape_ if plan is None else plan.inner, dtype)


def torch_layout(init: Any) -> TorchLayout:
    """``init`` applied to arrays stored as torch and equinox store them: ``(out, in, *k)``.

    jinit's initializers (and jax's) read fans from ``(*k, in, out)``; on a
    torch-layout weight they would swap fan_in and fan_out. The wrapper
    draws ``init`` on the jax-layout shape of the same layer and transposes
    the result, so the law (and any structure, e.g. orthogonality of the
    ``(in * prod(k), out)`` matrix) is the one ``init`` gives that layer.
    Arrays of rank 0 or 1 (biases, norm scales) are passed through.
    ``jinit.torch``'s own schemes take ``layout="torch"`` instead.

    Args:
      init: an initializer written for jax's layout.

    Returns:
      An initializer with ``moments``.

    Examples:
      >>> import jax, jinit, jinit.tree
      >>> init = jinit.tree.torch_layout(jinit.he_normal())
      >>> init(jax.random.key(0), (128, 16)).shape  # a Linear(16, 128) weight
      (128, 16)
      >>> round(init.moments((128, 16)).variance * 16, 6)  # 2 / fan_in with fan_in 16
      2.0
    """
    _check_init("tree.torch_layout", init)
    return TorchLayout(init=init)
