"""Leaf paths and per-leaf keys of any pytree.

A leaf's path is its jax key path joined with ``/`` (``"layers/0/kernel"``):
``DictKey`` keys and ``GetAttrKey`` attribute names as they are (``str``),
``SequenceKey`` indices and ``FlattenedIndexKey`` keys as decimal numbers. A
dict of arrays gives ``"dense/kernel"``, an equinox ``MLP`` gives
``"layers/0/weight"``, a haiku params dict ``"mlp/~/linear_0/w"``.

A leaf's key is ``fold_in(key, crc32(path))``: it depends on the root key and
the path only (not on the order of the tree or on other leaves), and crc32 is
stable across processes and Python versions, unlike the salted ``hash``.

Boxed leaves (flax's nnx ``Variable`` and linen ``AxisMetadata``) are handled
by a :class:`Boxes` adapter that ``jinit.flax`` supplies; this room knows no
box of its own.
"""

from __future__ import annotations

import dataclasses
import types
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax

from jinit._src.core import validation
from jinit._src.random import sampling

#: How many existing paths an error message lists.
SHOWN_PATHS = 8


def key_part(k: Any) -> str | int:
    """One entry of a jax key path as a dict key, attribute name or index."""
    if isinstance(k, jax.tree_util.DictKey):
        return k.key
    if isinstance(k, jax.tree_util.SequenceKey):
        return k.idx
    if isinstance(k, jax.tree_util.GetAttrKey):
        return k.name
    if isinstance(k, jax.tree_util.FlattenedIndexKey):
        return k.key
    return str(k)


def path_string(keypath: Sequence[Any]) -> str:
    """The '/'-joined form of a jax key path."""
    return "/".join(str(key_part(k)) for k in keypath)


def path_hash(path: str) -> int:
    """crc32 of the UTF-8 path: a stable 32-bit number (Python's ``hash`` is salted per process)."""
    return zlib.crc32(path.encode("utf-8"))


def leaf_key(key: jax.Array, path: str) -> jax.Array:
    """The key ``reinit`` and ``materialize`` give the leaf at ``path``.

    ``fold_in(key, crc32(path))``: it depends on ``key`` and ``path`` only.

    Args:
      key: the root key (typed or legacy ``uint32[2]``).
      path: the '/'-joined leaf path, e.g. ``"layers/0/kernel"``.

    Returns:
      A key of the same kind as ``key``.

    Examples:
      >>> import jax, jinit, jinit.tree
      >>> k = jinit.tree.leaf_key(jax.random.key(0), "Dense_0/kernel")
      >>> w = jinit.he_normal()(k, (4, 8))  # the values reinit gives that leaf

    References:
      ``jax.random.fold_in``; CRC-32 as in ``zlib.crc32`` (ISO 3309).
    """
    name = "tree.leaf_key"
    if not isinstance(path, str):
        raise TypeError(validation.error(name, f"`path` must be a str; got {path!r}."))
    key = validation.key(name, key)
    return sampling.fold_in(key, path_hash(path))


# ---------------------------------------------------------------------------
# Boxes


def _identity(x: Any) -> Any:
    return x


def _never(x: Any) -> bool:
    return False


def _value(box: Any, value: Any) -> Any:
    return value


@dataclasses.dataclass(frozen=True)
class Boxes:
    """How boxed leaves are recognised, opened and rebuilt (flax supplies one for nnx and linen).

    Attributes:
      is_box: whether a node is a box (flattening stops there: the path ends at the box).
      unbox: the array or ShapeDtypeStruct inside a box.
      rebox: a new box like the first argument holding the second.
      fresh: a copy of an untouched box, so that an output shares no mutable box with the input.
    """

    is_box: Callable[[Any], bool] = _never
    unbox: Callable[[Any], Any] = _identity
    rebox: Callable[[Any, Any], Any] = _value
    fresh: Callable[[Any], Any] = _identity


PLAIN = Boxes()


def is_array_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One array leaf of a tree: its position, path, shape, dtype and its (possibly boxed) value.

    ``parent`` is the path of the node holding it ('' at the root) and
    ``name`` the last part of its path (``"kernel"``).
    """

    index: int
    path: str
    keys: tuple[str | int, ...]
    shape: tuple[int, ...]
    dtype: Any  # a numpy dtype, or a jax extended dtype (PRNG keys)
    boxed: Any
    value: Any

    @property
    def parent(self) -> str:
        return "/".join(str(k) for k in self.keys[:-1])

    @property
    def name(self) -> str:
        return str(self.keys[-1]) if self.keys else ""

    @property
    def struct(self) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct(self.shape, self.dtype)

    @property
    def abstract(self) -> bool:
        return isinstance(self.value, jax.ShapeDtypeStruct)


def flatten(tree: Any, boxes: Boxes = PLAIN) -> tuple[list[Any], Any, list[Leaf]]:
    """(all flat leaves, treedef, the array-like leaves with their paths)."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=boxes.is_box)
    leaves = []
    values = []
    for i, (keypath, x) in enumerate(flat):
        values.append(x)
        v = boxes.unbox(x) if boxes.is_box(x) else x
        if is_array_like(v):
            keys = tuple(key_part(k) for k in keypath)
            path = "/".join(str(k) for k in keys)
            leaves.append(Leaf(i, path, keys, tuple(int(d) for d in v.shape), v.dtype, x, v))
    return values, treedef, leaves


def _is_flax_object(x: Any) -> bool:
    """A flax node that is not a plain mapping (nnx Module/Variable, linen box): jinit.flax's business."""
    return type(x).__module__.split(".")[0] == "flax" and not isinstance(x, Mapping)


def refuse_flax(name: str, tree: Any) -> None:
    """TypeError for flax modules, Variables and boxes: their paths are defined by jinit.flax."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_flax_object)
    for keypath, x in flat:
        if _is_flax_object(x):
            where = f" at {path_string(keypath)!r}" if keypath else ""
            public = name.split(".")[-1]
            raise TypeError(
                validation.error(
                    name,
                    f"flax modules, Variables and metadata boxes go through jinit.flax.{public}, which knows their "
                    f"paths; got a {type(x).__name__}{where}.",
                )
            )


def siblings_of(leaves: Sequence[Leaf]) -> dict[str, Mapping[str, jax.ShapeDtypeStruct]]:
    """Parent path -> {leaf name: ShapeDtypeStruct} for every parent of the array leaves."""
    groups: dict[str, dict[str, jax.ShapeDtypeStruct]] = {}
    for leaf in leaves:
        groups.setdefault(leaf.parent, {})[leaf.name] = leaf.struct
    return {parent: types.MappingProxyType(members) for parent, members in groups.items()}


def listing(paths: Sequence[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:SHOWN_PATHS])
    more = f", ... ({len(paths)} in all)" if len(paths) > SHOWN_PATHS else ""
    return f"[{shown}{more}]" if paths else "[] (the tree has no array leaves)"


def check_distinct_hashes(name: str, leaves: Sequence[Leaf]) -> None:
    """Two paths with one crc32 would get the same key: refuse rather than draw equal values."""
    seen: dict[int, str] = {}
    for leaf in leaves:
        h = path_hash(leaf.path)
        if h in seen and seen[h] != leaf.path:
            raise ValueError(
                validation.error(
                    name,
                    f"paths {seen[h]!r} and {leaf.path!r} have the same crc32 ({h}), so they would get the same "
                    "key; rename one of them.",
                )
            )
        seen[h] = leaf.path
