"""Drawing many leaves at once: one compiled program per group, whatever the depth.

Leaves that share an initializer, a shape, a dtype and a sharding form a
group; every leaf's value is ``init(fold_in(key, crc32(path)), shape,
dtype)``. A group is drawn by ONE jitted program, traced and compiled once,
so a 48-layer model compiles as many programs as a 2-layer one:

* many small leaves (at least ``STACK_MIN`` of under ``SPLIT_BYTES`` each,
  unsharded, e.g. the biases and norm scales of a deep model): the program vmaps the
  initializer over the group's path hashes and returns the stack, which a
  second small program slices into leaves (one compile per stack shape);
  big groups go in equal chunks (the largest
  divisor of the group size that keeps a chunk under ``CHUNK_BYTES``) so the
  stack, live next to its slices, stays small;
* big, sharded or few leaves: the program draws one leaf from one path hash
  and is called once per leaf. At a megabyte or more per leaf the calls cost
  nothing next to the draws, nothing is ever copied, and a sharded leaf is
  computed shard by shard where it lives. (Returning many slices of one
  vmapped draw instead makes XLA duplicate the draw into every slice: the
  compile time grows with the chunk.)
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import AxisType

from jinit._src import random, validation
from jinit._src.flax.paths import Leaf, Rule, path_hash

#: Leaves of at least this many bytes (or sharded) are drawn one per call.
SPLIT_BYTES = 2**20
#: Groups of fewer leaves are drawn one per call too: a call costs ~50 us, a second program ~50 ms.
STACK_MIN = 64
#: Upper bound on the bytes of one vmapped stack of small leaves (live next to its slices until split).
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


@functools.cache
def _auto_twin(mesh: jax.sharding.Mesh) -> jax.sharding.Mesh:
    """The same devices and axis names with every axis of type Auto."""
    return jax.sharding.Mesh(mesh.devices, mesh.axis_names, axis_types=(AxisType.Auto,) * len(mesh.axis_names))


def resolve_sharding(name: str, sharding: Any) -> tuple[Any, Any]:
    """(the sharding to draw with, the sharding to hand back) for a requested sharding.

    The draw constrains its outputs with ``with_sharding_constraint``, so the
    SPMD partitioner computes each shard's bits on its own device; that needs
    Auto mesh axes. A sharding on a mesh with Explicit axes (``jax.make_mesh``'s
    default) is drawn on the Auto twin of its mesh and handed back with the
    requested sharding (same devices, same layout). A bare PartitionSpec takes
    the mesh of ``jax.set_mesh``.
    """
    if sharding is None:
        return None, None
    if isinstance(sharding, jax.sharding.PartitionSpec):
        mesh = jax.sharding.get_mesh()
        if mesh.empty:
            raise ValueError(
                validation.error(
                    name,
                    f"a PartitionSpec sharding needs a mesh: call it inside `with jax.set_mesh(mesh):` or pass a "
                    f"NamedSharding; got {sharding!r} with no mesh set.",
                )
            )
        sharding = jax.sharding.NamedSharding(mesh, sharding)
    if isinstance(sharding, jax.sharding.NamedSharding) and isinstance(sharding.mesh, jax.sharding.Mesh):
        if all(t == AxisType.Auto for t in sharding.mesh.axis_types):
            return sharding, sharding
        return jax.sharding.NamedSharding(_auto_twin(sharding.mesh), sharding.spec), sharding
    return sharding, sharding


def _draw_one(key: jax.Array, data: jax.Array, init: Static, shape: tuple[int, ...], dtype: Any, sharding: Static):
    value = init.obj(random.fold_in(key, data), shape, dtype)
    if sharding.obj is not None:
        value = jax.lax.with_sharding_constraint(value, sharding.obj)
    return value


def _draw_stack(key: jax.Array, data: jax.Array, init: Static, shape: tuple[int, ...], dtype: Any):
    keys = jax.vmap(lambda d: random.fold_in(key, d))(data)
    return jax.vmap(lambda k: init.obj(k, shape, dtype))(keys)


_draw_one_jit = jax.jit(_draw_one, static_argnums=(2, 3, 4, 5))
_draw_stack_jit = jax.jit(_draw_stack, static_argnums=(2, 3, 4))
# Slice i of a stack with i traced: one small program per stack shape (``list(stack)`` would compile an
# unstack into as many outputs as slices, whose compile time grows with the group).
_take = jax.jit(lambda stack, i: jax.lax.dynamic_index_in_dim(stack, i, 0, keepdims=False))


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
    for (init, shape, dtype, requested), members in groups.items():
        compute, final = resolve_sharding(name, requested.obj)
        sharding = Static(compute)
        # Inside jit (a traced key) the caller's context stands; outside, the draw runs on the mesh it shards over.
        on_mesh = isinstance(compute, jax.sharding.NamedSharding) and not isinstance(key, jax.core.Tracer)
        mesh = compute.mesh if on_mesh else None
        data = np.asarray([path_hash(leaf.path) for leaf, _ in members], dtype=np.uint32)
        leaf_bytes = math.prod(shape) * _itemsize(dtype)
        one_by_one = compute is not None or leaf_bytes >= SPLIT_BYTES or len(members) < STACK_MIN
        c = 1 if one_by_one else chunk_size(len(members), leaf_bytes)
        for start in range(0, len(members), c):
            first_leaf, first_rule = members[start]
            try:
                if one_by_one:
                    with jax.set_mesh(mesh) if mesh is not None else contextlib.nullcontext():
                        values: Sequence[jax.Array] = (_draw_one_jit(key, data[start], init, shape, dtype, sharding),)
                    if final is not compute:
                        values = tuple(jax.device_put(v, final) for v in values)
                else:
                    stack = _draw_stack_jit(key, data[start : start + c], init, shape, dtype)
                    values = [_take(stack, np.int32(i)) for i in range(c)]
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
