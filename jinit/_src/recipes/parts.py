"""The small initializers and context rules whole-model recipes need beyond the schemes.

* buffers: :class:`Fill` (zeros of any dtype, integers included, e.g.
  BatchNorm's ``num_batches_tracked``) and :class:`Arange` (``position_ids``:
  ``0 .. n-1`` along the last axis, as transformers fills them);
* :class:`Scaled` (an initializer's draw times a constant, e.g. Mamba's
  residual-out ``/ sqrt(n_layer)``) and :class:`PaddingRow` (an embedding whose
  row ``padding_idx`` is zero, as ``torch.nn.Embedding(padding_idx=...)``);
* :class:`MambaALog`: ``jinit.ssm.mamba_a_log`` as an initializer of the
  ``(d_inner, n_state)`` leaf;
* context rules reading a leaf's neighbours: :class:`SiblingBias` (torch's
  default bias law from the fan-in of the weight beside it),
  :class:`DepthStd` (torchtitan's per-layer std from the layer index in the
  path), :class:`WidthNormal` (a normal whose std is ``width**-0.5``),
  :class:`FlaxKernel` (a variance-scaling law on a Flax kernel with leading
  scan axes), :class:`DtProj` (Mamba's ``dt_proj`` law from its input size).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import fans, validation
from jinit._src.core.types import DTypeLike, Moments, Shape, Sharding
from jinit._src.schemes import basic, ssm, variance_scaling
from jinit._src.torch import nn_init
from jinit._src.tree.rules import ContextRule


def _dtype(name: str, dtype: Any) -> np.dtype:
    """Any numeric or bool dtype, canonical for JAX (int64 is int32 unless x64 is on); None means float."""
    if dtype is None:
        return np.dtype(jax.dtypes.canonicalize_dtype(float))
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(validation.error(name, f"`dtype` must be a dtype; got dtype={dtype!r}.")) from None
    return np.dtype(jax.dtypes.canonicalize_dtype(dt))


def _shape(name: str, shape: Shape, rank: int = 0, leaf: str = "") -> tuple[int, ...]:
    """``shape`` checked, with at least ``rank`` axes (``leaf`` says what such a leaf is)."""
    shape_ = validation.shape(name, shape)
    if len(shape_) < rank:
        raise ValueError(validation.error(name, f"needs {leaf}; got shape={shape_!r}."))
    return shape_


def _moments(init: Any, shape: tuple[int, ...], dtype: Any) -> Moments | None:
    method = getattr(init, "moments", None)
    return None if method is None else method(shape, dtype)


def _out(x: jax.Array, out_sharding: Sharding) -> jax.Array:
    return x if out_sharding is None else jax.sharding.reshard(x, out_sharding)


# ---------------------------------------------------------------------------
# Buffers


@dataclasses.dataclass(frozen=True)
class Fill:
    """Every entry equal to ``value``, in any dtype (integers and bool included); the key is ignored.

    For buffers: BatchNorm's ``num_batches_tracked`` (0), ``running_mean``
    (0), ``running_var`` (1), ``token_type_ids`` (0). An int64 leaf gets
    JAX's canonical integer (int32 unless x64 is on).
    """

    value: float = 0.0
    #: whether the values depend on the key.
    random: ClassVar[bool] = False

    def __call__(
        self, key: jax.Array, shape: Shape, dtype: DTypeLike | None = None, out_sharding: Sharding = None
    ) -> jax.Array:
        name = "recipes.Fill"
        shape_ = validation.shape(name, shape)
        return jnp.full(shape_, self.value, _dtype(name, dtype), out_sharding=out_sharding)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        shape_ = validation.shape("recipes.Fill", shape)
        return None if math.prod(shape_) == 0 else Moments(mean=self.value, variance=0.0, bound=0.0)


@dataclasses.dataclass(frozen=True)
class Arange:
    """``0, 1, .., n-1`` along the last axis, broadcast over the others (transformers' ``position_ids``)."""

    random: ClassVar[bool] = False

    def __call__(
        self, key: jax.Array, shape: Shape, dtype: DTypeLike | None = None, out_sharding: Sharding = None
    ) -> jax.Array:
        name = "recipes.Arange"
        shape_ = _shape(name, shape, 1, "at least one axis")
        return _out(jnp.broadcast_to(jnp.arange(shape_[-1], dtype=_dtype(name, dtype)), shape_), out_sharding)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        """The law of an entry at a uniformly chosen position: the discrete uniform on 0 .. n-1."""
        shape_ = validation.shape("recipes.Arange", shape)
        if math.prod(shape_) == 0:
            return None
        n = shape_[-1]
        return Moments(mean=(n - 1) / 2, variance=(n * n - 1) / 12, bound=(n - 1) / 2, iid=False)


# ---------------------------------------------------------------------------
# Wrappers


@dataclasses.dataclass(frozen=True)
class _Wrapper:
    """An initializer built on another, ``init``: random when ``init`` is."""

    init: Any

    @property
    def random(self) -> bool:
        return bool(getattr(self.init, "random", True))


@dataclasses.dataclass(frozen=True)
class Scaled(_Wrapper):
    """``factor * init(key, shape, dtype)``: the law of ``init`` with its spread times ``factor``."""

    factor: float

    def __call__(
        self, key: jax.Array, shape: Shape, dtype: DTypeLike | None = None, out_sharding: Sharding = None
    ) -> jax.Array:
        x = self.init(key, shape, dtype, out_sharding=out_sharding)
        return x * np.asarray(self.factor, dtype=x.dtype)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        law = _moments(self.init, validation.shape("recipes.Scaled", shape), dtype)
        if law is None:
            return None
        f = self.factor
        interval = None
        if law.interval is not None:
            ends = (law.interval[0] * f, law.interval[1] * f)
            interval = (min(ends), max(ends))
        return dataclasses.replace(
            law,
            mean=law.mean * f,
            variance=law.variance * f * f,
            bound=None if law.bound is None else law.bound * abs(f),
            interval=interval,
        )


def _row(name: str, index: int, rows: int) -> int:
    """torch.nn.Embedding's padding_idx: negative counts from the end; it must be a row of the table."""
    if not -rows <= index < rows:
        raise ValueError(
            validation.error(name, f"padding_idx={index} is not a row of an embedding table of {rows} rows.")
        )
    return index % rows


@dataclasses.dataclass(frozen=True)
class PaddingRow(_Wrapper):
    """``init``'s draw with row ``padding_idx`` (axis 0) set to zero, as ``nn.Embedding(padding_idx=...)`` has it."""

    padding_idx: int

    def __call__(
        self, key: jax.Array, shape: Shape, dtype: DTypeLike | None = None, out_sharding: Sharding = None
    ) -> jax.Array:
        name = "recipes.PaddingRow"
        shape_ = _shape(name, shape, 1, "an embedding table of rank >= 1")
        row = _row(name, self.padding_idx, shape_[0])
        x = self.init(key, shape_, dtype)
        return _out(x.at[row].set(0), out_sharding)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        """One entry of a uniformly chosen row: ``init``'s law with probability (V-1)/V, else 0."""
        shape_ = validation.shape("recipes.PaddingRow", shape)
        law = _moments(self.init, shape_, dtype)
        if law is None or len(shape_) < 1:
            return None
        p = (shape_[0] - 1) / shape_[0]
        mean = p * law.mean
        second = p * (law.variance + law.mean**2)
        bound = None if law.bound is None else max(abs(law.mean - mean) + law.bound, abs(mean))
        return Moments(mean=mean, variance=second - mean * mean, bound=bound, iid=False)


@dataclasses.dataclass(frozen=True)
class MambaALog:
    """Mamba's ``A_log`` for a ``(..., d_inner, n_state)`` leaf: ``log(1 .. n_state)`` in every row."""

    random: ClassVar[bool] = False

    def __call__(
        self, key: jax.Array, shape: Shape, dtype: DTypeLike | None = None, out_sharding: Sharding = None
    ) -> jax.Array:
        name = "recipes.MambaALog"
        shape_ = _shape(name, shape, 2, "a (d_inner, n_state) leaf")
        dt = validation.dtype(name, dtype, validation.FLOAT_KINDS)
        table = ssm.mamba_a_log(shape_[-2], shape_[-1], dt)
        return _out(jnp.broadcast_to(table, shape_), out_sharding)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        """The entry at a uniformly chosen column k: log(k), k uniform on 1 .. N."""
        shape_ = validation.shape("recipes.MambaALog", shape)
        if len(shape_) < 2 or math.prod(shape_) == 0:
            return None
        logs = [math.log(k) for k in range(1, shape_[-1] + 1)]
        mean = math.fsum(logs) / len(logs)
        variance = math.fsum((v - mean) ** 2 for v in logs) / len(logs)
        return Moments(mean=mean, variance=variance, bound=max(mean, logs[-1] - mean), iid=False)


# ---------------------------------------------------------------------------
# Context rules


def sibling(leaf_path: str, siblings: Mapping[str, Any], suffix: str, wanted: tuple[str, ...]) -> Any:
    """The sibling named like the leaf with ``suffix`` replaced by one of ``wanted`` (None if absent).

    In a nested tree the siblings are keyed by their last name (``"weight"``);
    in a flat dict of dotted names (a torch state dict) every leaf is a sibling
    of every other, keyed by its full name (``"fc.weight"``): the leaf's last
    '/'-separated part with its suffix replaced covers both.
    """
    own = leaf_path.rsplit("/", 1)[-1]
    if not own.endswith(suffix):
        return None
    stem = own[: len(own) - len(suffix)]
    for name in wanted:
        found = siblings.get(stem + name)
        if found is not None:
            return found
    return None


@dataclasses.dataclass(frozen=True)
class SiblingBias(ContextRule):
    """torch's default bias of a Linear or Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in of the weight beside it."""

    layout: str = "torch"

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        weight = sibling(match.string, siblings, "bias", ("weight", "kernel"))
        if weight is None or len(weight.shape) < 2:
            raise ValueError("torch's default bias law needs the layer's weight (rank >= 2) beside the bias")
        fan_in, _ = fans.torch_fans("recipes.SiblingBias", weight.shape, self.layout)
        if len(weight.shape) == 2:
            return nn_init.linear_bias(fan_in)
        return nn_init.conv_bias(fan_in)


def _layer(match: re.Match[str]) -> int:
    try:
        text = match.group("layer")
    except IndexError:
        raise ValueError(
            "a depth-scaled rule needs a regex with a named group `layer` (e.g. `(?P<layer>\\d+)`)"
        ) from None
    if text is None or not text.isdigit():
        raise ValueError(f"the `layer` group must capture a layer index; got {text!r}")
    return int(text)


@dataclasses.dataclass(frozen=True)
class DepthStd(ContextRule):
    """torchtitan's depth init: trunc_normal(std = base_std / sqrt(2 (layer + 1))), torch's absolute bounds [a, b].

    The layer index is the regex's named group ``layer``; with ``n_layers`` set
    (torchtitan's ``depth_init=False``) every layer gets
    ``base_std / sqrt(2 n_layers)`` instead.
    """

    base_std: float = 0.02
    a: float = -2.0
    b: float = 2.0
    n_layers: int | None = None

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        count = 2 * (_layer(match) + 1) if self.n_layers is None else 2 * self.n_layers
        return nn_init.trunc_normal(std=self.base_std / math.sqrt(count), a=self.a, b=self.b)


@dataclasses.dataclass(frozen=True)
class WidthNormal(ContextRule):
    """N(0, 1 / width) with width the leaf's last axis (big_vision's learnt position embedding)."""

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        if len(leaf.shape) == 0 or leaf.shape[-1] == 0:
            raise ValueError(f"needs a last axis of positive width; got shape {leaf.shape}")
        return basic.normal(stddev=leaf.shape[-1] ** -0.5)


#: Flax variance-scaling schemes a :class:`FlaxKernel` builds.
FLAX_SCHEMES = {
    "glorot_uniform": variance_scaling.glorot_uniform,
    "lecun_normal": variance_scaling.lecun_normal,
}


@dataclasses.dataclass(frozen=True)
class FlaxKernel(ContextRule):
    """A Flax variance-scaling law on a kernel whose leading axes (``nn.scan`` layers) are independent.

    ``in_axis`` and ``out_axis`` count from the end, as Flax's
    ``DenseGeneral`` kernels store them (attention ``(d, heads, head_dim)``:
    ``in_axis=-3, out_axis=(-2, -1)``); every axis before the kernel's own
    ``rank`` axes is a batch axis.
    """

    scheme: str
    in_axis: int | tuple[int, ...] = -2
    out_axis: int | tuple[int, ...] = -1
    rank: int = 2

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        extra = len(leaf.shape) - self.rank
        if extra < 0:
            raise ValueError(f"needs a kernel of rank >= {self.rank}; got shape {leaf.shape}")
        factory = FLAX_SCHEMES[self.scheme]
        return factory(in_axis=self.in_axis, out_axis=self.out_axis, batch_axis=tuple(range(extra)))


@dataclasses.dataclass(frozen=True)
class DtProj(ContextRule):
    """Mamba's ``dt_proj`` weight law with ``dt_rank`` read off the leaf: its input axis in ``layout``."""

    dt_scale: float = 1.0
    init: str = "random"
    layout: str = "torch"

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        if len(leaf.shape) != 2:
            raise ValueError(f"needs the 2-D dt_proj weight; got shape {leaf.shape}")
        rank = leaf.shape[1] if self.layout == "torch" else leaf.shape[0]
        return ssm.mamba_dt_proj(rank, dt_scale=self.dt_scale, init=self.init)
