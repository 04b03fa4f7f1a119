"""Drawing many leaves at once: one compiled, vmapped program per group.

Leaves that share an initializer, a shape, a dtype and a sharding form a
group. A group is drawn by one jitted function of ``(root key, crc32 of each
path)``: it folds each path's hash into the key and vmaps the initializer
over the keys, so the compile count is the number of groups, whatever the
depth of the model. Big groups are drawn in equal chunks (the largest
divisor of the group size that keeps a chunk under ``CHUNK_BYTES``): the
stacked result of a chunk is live next to its slices, so chunking bounds
that transient without a second compilation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from jinit._src import random, validation
from jinit._src.flax.paths import Leaf, Rule, path_hash

#: Upper bound on the bytes of one vmapped chunk (its transient copy is freed per chunk).
CHUNK_BYTES = 64 * 2**20


class Static:
    """A hashable handle for a static jit argument: by value when hashable, else by identity."""

    __slots__ = ("_hash", "by_value", "obj")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        try:
            self._hash = hash(obj)
            self.by_value = True
        except TypeError:
            self._hash = id(obj)
            self.by_value = False

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Static):
            return NotImplemented
        if self.obj is other.obj:
            return True
        if not (self.by_value and other.by_value) or type(self.obj) is not type(other.obj):
            return False
        return bool(self.obj == other.obj)


def _draw_chunk(key: jax.Array, data: jax.Array, init: Static, shape: tuple[int, ...], dtype: Any, sharding: Static):
    keys = jax.vmap(lambda d: random.fold_in(key, d))(data)
    stacked = jax.vmap(lambda k: init.obj(k, shape, dtype))(keys)
    outs = tuple(stacked[i] for i in range(data.shape[0]))
    if sharding.obj is not None:
        outs = tuple(jax.lax.with_sharding_constraint(o, sharding.obj) for o in outs)
    return outs


_draw_chunk_jit = jax.jit(_draw_chunk, static_argnums=(2, 3, 4, 5))


def chunk_size(count: int, leaf_bytes: int, budget: int = CHUNK_BYTES) -> int:
    """The largest divisor of ``count`` whose chunk stays within ``budget`` bytes (at least 1)."""
    most = max(1, budget // max(1, leaf_bytes))
    if most >= count:
        return count
    return max(d for d in range(1, most + 1) if count % d == 0)


def _itemsize(dtype: Any) -> int:
    try:
        return int(np.dtype(dtype).itemsize)
    except TypeError:
        return 8  # extended dtypes (keys): a guess is enough for chunking


def draw(name: str, key: jax.Array, items: Sequence[tuple[Leaf, Rule, Any]]) -> dict[int, jax.Array]:
    """New values for ``(leaf, rule, sharding)`` items: leaf index -> array.

    The value of a leaf is ``rule.init(fold_in(key, crc32(leaf.path)), leaf.shape, leaf.dtype)``.
    """
    groups: dict[tuple[Static, tuple[int, ...], Any, Static], list[tuple[Leaf, Rule]]] = {}
    for leaf, rule, sharding in items:
        groups.setdefault((Static(rule.init), leaf.shape, leaf.dtype, Static(sharding)), []).append((leaf, rule))
    out: dict[int, jax.Array] = {}
    for (init, shape, dtype, sharding), members in groups.items():
        data = np.asarray([path_hash(leaf.path) for leaf, _ in members], dtype=np.uint32)
        c = chunk_size(len(members), math.prod(shape) * _itemsize(dtype))
        for start in range(0, len(members), c):
            first_leaf, first_rule = members[start]
            try:
                values = _draw_chunk_jit(key, data[start : start + c], init, shape, dtype, sharding)
            except (ValueError, TypeError) as err:
                cls = ValueError if isinstance(err, ValueError) else TypeError
                raise cls(
                    validation.error(
                        name,
                        f"rule {first_rule.regex!r} failed on {first_leaf.path!r} "
                        f"(shape {shape}, dtype {_dtype_name(dtype)}): {err}",
                    )
                ) from err
            for (leaf, rule), value in zip(members[start : start + c], values, strict=True):
                if tuple(value.shape) != shape or value.dtype != dtype:
                    raise ValueError(
                        validation.error(
                            name,
                            f"the initializer of rule {rule.regex!r} returned shape {tuple(value.shape)} and dtype "
                            f"{_dtype_name(value.dtype)} for {leaf.path!r}, which needs shape {shape} and dtype "
                            f"{_dtype_name(dtype)}.",
                        )
                    )
                out[leaf.index] = value
    return out


def _dtype_name(dtype: Any) -> str:
    return getattr(dtype, "name", str(dtype))
