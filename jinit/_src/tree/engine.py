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
* big, sharded or few leaves: the program draws one leaf from its key
  (``fold_in`` runs apart, one small program shared by every leaf) and is
  called once per leaf. At a megabyte or more per leaf the calls cost
  nothing next to the draws, nothing is ever copied, and a sharded leaf is
  computed shard by shard where it lives. (Returning many slices of one
  vmapped draw instead makes XLA duplicate the draw into every slice: the
  compile time grows with the chunk.)

Outside jit, the groups' programs are traced here and compiled on
``COMPILE_WORKERS`` threads before the draws (see :func:`_compile_ahead`):
XLA takes ~0.15 s per program on a CPU, as long as drawing a 100M-parameter
model, and its compiles of different programs can run side by side.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import AxisType

from jinit._src.core import validation
from jinit._src.random import sampling
from jinit._src.tree.paths import Leaf, path_hash

#: Leaves of at least this many bytes (or sharded) are drawn one per call.
SPLIT_BYTES = 2**20
#: Groups of fewer leaves are drawn one per call too: a call costs ~50 us, a second program ~50 ms.
STACK_MIN = 64


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, else all)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


#: Threads compiling the groups' programs (1: compile each on first call, in this thread). Capped: past a few
#: threads the compiles of a model's groups are done before its draws are.
COMPILE_WORKERS = min(_usable_cpus(), 8)
#: Upper bound on the bytes of one vmapped stack of small leaves (live next to its slices until split).
CHUNK_BYTES = 64 * 2**20


class Item(NamedTuple):
    """One leaf to draw: with the initializer its rule resolved to, the rule's regex (for errors), its sharding."""

    leaf: Leaf
    init: Any
    regex: str
    sharding: Any


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
    the mesh of ``jax.set_mesh``, and so does a NamedSharding on an abstract
    mesh (what ``nnx.eval_shape`` and ``jax.eval_shape`` under ``jax.set_mesh``
    put on their ``ShapeDtypeStruct``s).
    """
    if sharding is None:
        return None, None
    if isinstance(sharding, jax.sharding.NamedSharding) and isinstance(sharding.mesh, jax.sharding.AbstractMesh):
        sharding = _on_concrete_mesh(name, sharding)
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


def _on_concrete_mesh(name: str, sharding: jax.sharding.NamedSharding) -> jax.sharding.NamedSharding:
    """The same spec on the mesh of ``jax.set_mesh``, which must be the concrete form of the abstract mesh."""
    mesh = jax.sharding.get_mesh()
    if mesh.empty or mesh.abstract_mesh != sharding.mesh:
        got = "no mesh set" if mesh.empty else f"the mesh set is {mesh}"
        raise ValueError(
            validation.error(
                name,
                f"a sharding on an abstract mesh needs its devices: call it inside `with jax.set_mesh(mesh):` "
                f"with that mesh, or pass `shardings`; got {sharding} and {got}.",
            )
        )
    return jax.sharding.NamedSharding(mesh, sharding.spec)


def _draw_one(leaf_key: jax.Array, init: Static, shape: tuple[int, ...], dtype: Any, sharding: Static):
    # The leaf's key comes in ready (fold_in is one small program shared by every leaf): this program is the
    # draw alone, half the ops to trace, lower and compile.
    value = init.obj(leaf_key, shape, dtype)
    if sharding.obj is not None:
        value = jax.lax.with_sharding_constraint(value, sharding.obj)
    return value


def _draw_stack(key: jax.Array, data: jax.Array, init: Static, shape: tuple[int, ...], dtype: Any):
    keys = jax.vmap(lambda d: sampling.fold_in(key, d))(data)
    return jax.vmap(lambda k: init.obj(k, shape, dtype))(keys)


_draw_one_jit = jax.jit(_draw_one, static_argnums=(1, 2, 3, 4))
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


class _Chunk(NamedTuple):
    """One compiled call: ``size`` leaves of a group from ``start`` (size 1: one leaf, else a stack)."""

    start: int
    size: int


class _Group(NamedTuple):
    init: Static
    shape: tuple[int, ...]
    dtype: Any
    compute: Any  # the sharding drawn with (None: unsharded)
    final: Any  # the sharding handed back
    mesh: jax.sharding.Mesh | None  # entered around the draw
    members: list[Item]
    data: np.ndarray  # uint32 path hash per member
    chunks: list[_Chunk]


def _groups(items: Sequence[Item], name: str, key: jax.Array) -> list[_Group]:
    by_key: dict[tuple[Static, tuple[int, ...], Any, Static], list[Item]] = {}
    for item in items:
        leaf = item.leaf
        by_key.setdefault((Static(item.init), leaf.shape, leaf.dtype, Static(item.sharding)), []).append(item)
    groups = []
    for (init, shape, dtype, requested), members in by_key.items():
        compute, final = resolve_sharding(name, requested.obj)
        # Inside jit (a traced key) the caller's context stands; outside, the draw runs on the mesh it shards over.
        on_mesh = isinstance(compute, jax.sharding.NamedSharding) and not isinstance(key, jax.core.Tracer)
        data = np.asarray([path_hash(item.leaf.path) for item in members], dtype=np.uint32)
        leaf_bytes = math.prod(shape) * _itemsize(dtype)
        one_by_one = compute is not None or leaf_bytes >= SPLIT_BYTES or len(members) < STACK_MIN
        c = 1 if one_by_one else chunk_size(len(members), leaf_bytes)
        chunks = [_Chunk(start, c) for start in range(0, len(members), c)]
        mesh = compute.mesh if on_mesh else None
        groups.append(_Group(init, shape, dtype, compute, final, mesh, members, data, chunks))
    return groups


def _mesh_context(group: _Group) -> contextlib.AbstractContextManager:
    return jax.set_mesh(group.mesh) if group.mesh is not None else contextlib.nullcontext()


def _programs(key: jax.Array, group: _Group) -> list[tuple[Any, tuple[Any, ...]]]:
    """The distinct (jitted function, arguments) calls that drawing ``group`` makes."""
    if group.chunks[0].size == 1:
        # The root key stands for the leaf keys: fold_in returns a key of the same kind and shape.
        return [(_draw_one_jit, (key, group.init, group.shape, group.dtype, Static(group.compute)))]
    calls: list[tuple[Any, tuple[Any, ...]]] = []
    for count in sorted({chunk.size for chunk in group.chunks}):
        stack = jax.ShapeDtypeStruct((count, *group.shape), group.dtype)
        calls.append((_draw_stack_jit, (key, group.data[:count], group.init, group.shape, group.dtype)))
        calls.append((_take, (stack, np.int32(0))))
    return calls


def _compile_ahead(pool: ThreadPoolExecutor, key: jax.Array, group: _Group) -> list[Future]:
    """Traces ``group``'s programs here and compiles them on ``pool``: futures to wait on before its draw.

    Tracing and lowering hold the GIL, XLA's compiler does not: the compiles
    of a model's few groups overlap each other, the tracing of the next group
    and the draws of the previous ones. Each program is traced in the
    caller's thread and configuration; the draw then calls the same jitted
    function, which finds the compiled program in jit's own cache (were it
    missing there, the call would compile it again, never run a stale one).
    A program that fails to trace or compile is skipped: the draw itself
    raises the error, with the leaf's path.
    """
    futures = []
    for fn, args in _programs(key, group):
        try:
            with _mesh_context(group):
                lowered = fn.lower(*args)
        except (ValueError, TypeError):
            continue
        futures.append(pool.submit(lowered.compile))
    return futures


def _draw_group(name: str, key: jax.Array, group: _Group, out: dict[int, jax.Array]) -> None:
    for start, count in group.chunks:
        first = group.members[start]
        try:
            if count == 1:
                with _mesh_context(group):  # the key too: under the caller's Explicit mesh its type would differ
                    leaf_key = sampling.fold_in(key, group.data[start])
                    value = _draw_one_jit(leaf_key, group.init, group.shape, group.dtype, Static(group.compute))
                if group.final is not group.compute:
                    value = jax.device_put(value, group.final)
                values: Sequence[jax.Array] = (value,)
            else:
                stack = _draw_stack_jit(key, group.data[start : start + count], group.init, group.shape, group.dtype)
                values = [_take(stack, np.int32(i)) for i in range(count)]
        except (ValueError, TypeError) as err:
            cls = ValueError if isinstance(err, ValueError) else TypeError
            raise cls(
                validation.error(
                    name,
                    f"rule {first.regex!r} failed on {first.leaf.path!r} "
                    f"(shape {group.shape}, dtype {_dtype_name(group.dtype)}): {err}",
                )
            ) from err
        for item, value in zip(group.members[start : start + count], values, strict=True):
            leaf = item.leaf
            if tuple(value.shape) != group.shape or value.dtype != group.dtype:
                raise ValueError(
                    validation.error(
                        name,
                        f"the initializer of rule {item.regex!r} returned shape {tuple(value.shape)} and dtype "
                        f"{_dtype_name(value.dtype)} for {leaf.path!r}, which needs shape {group.shape} and dtype "
                        f"{_dtype_name(group.dtype)}.",
                    )
                )
            out[leaf.index] = value


def unplaced(key: jax.Array) -> Any:
    """A concrete key made under ``jax.set_mesh`` (committed, replicated on that mesh) as an uncommitted one.

    Its type would carry the caller's mesh, which clashes with the Auto twin
    a sharded group is drawn on; the same bits uncommitted go anywhere.
    """
    if isinstance(key, jax.core.Tracer) or not isinstance(getattr(key, "sharding", None), jax.sharding.NamedSharding):
        return key
    # A key is replicated: this process's first copy holds all of it (also where the mesh spans processes).
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        data: Any = np.asarray(jax.random.key_data(key).addressable_data(0))
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(key))
    return np.asarray(key.addressable_data(0))


def draw(name: str, key: jax.Array, items: Sequence[Item]) -> dict[int, jax.Array]:
    """New values for the items: leaf index -> array.

    The value of a leaf is ``item.init(fold_in(key, crc32(leaf.path)), leaf.shape, leaf.dtype)``.
    """
    key = unplaced(key)
    groups = _groups(items, name, key)
    out: dict[int, jax.Array] = {}
    workers = min(len(groups), COMPILE_WORKERS)
    if workers < 2 or isinstance(key, jax.core.Tracer):  # nothing to overlap, or inside the caller's trace
        for group in groups:
            _draw_group(name, key, group, out)
        return out
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jinit-compile") as pool:
        pending = [_compile_ahead(pool, key, group) for group in groups]
        for group, futures in zip(groups, pending, strict=True):
            for future in futures:
                with contextlib.suppress(ValueError, TypeError, RuntimeError):
                    future.result()
            _draw_group(name, key, group, out)
    return out


def _dtype_name(dtype: Any) -> str:
    return getattr(dtype, "name", str(dtype))
