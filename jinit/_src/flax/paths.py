"""Leaf paths, per-leaf keys and rules: the parts reinit and materialize share.

A leaf's path is its pytree key path joined with ``/`` (``"layers/0/kernel"``):
dict keys and attribute names as they are, sequence indices as decimal
numbers. nnx ``Variable`` objects and linen ``AxisMetadata`` boxes (e.g.
``nn.Partitioned``) are leaves: the path stops at the box, not at its
``value``.

A leaf's key is ``fold_in(key, crc32(path))``: it depends on the root key and
the path only (not on the order of the tree or on other leaves), and crc32 is
stable across processes and Python versions, unlike the salted ``hash``.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import jax
from flax import nnx
from flax.core import meta

from jinit._src.core import validation
from jinit._src.core.types import Initializer
from jinit._src.random import sampling

#: How many existing paths an error message lists.
SHOWN_PATHS = 8


def path_string(keypath: Sequence[Any]) -> str:
    """The '/'-joined form of a jax key path."""
    parts = []
    for k in keypath:
        if isinstance(k, jax.tree_util.DictKey):
            parts.append(str(k.key))
        elif isinstance(k, jax.tree_util.SequenceKey):
            parts.append(str(k.idx))
        elif isinstance(k, jax.tree_util.GetAttrKey):
            parts.append(k.name)
        elif isinstance(k, jax.tree_util.FlattenedIndexKey):
            parts.append(str(k.key))
        else:
            parts.append(str(k))
    return "/".join(parts)


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
      >>> import jax, jinit, jinit.flax
      >>> k = jinit.flax.leaf_key(jax.random.key(0), "Dense_0/kernel")
      >>> w = jinit.he_normal()(k, (4, 8))  # the values reinit gives that leaf

    References:
      ``jax.random.fold_in``; CRC-32 as in ``zlib.crc32`` (ISO 3309).
    """
    if not isinstance(path, str):
        raise TypeError(validation.error("flax.leaf_key", f"`path` must be a str; got {path!r}."))
    key = validation.key("flax.leaf_key", key)
    return sampling.fold_in(key, path_hash(path))


# ---------------------------------------------------------------------------
# Trees whose leaves may be boxed (nnx Variables, linen AxisMetadata).


def is_box(x: Any) -> bool:
    return isinstance(x, nnx.Variable | meta.AxisMetadata)


def unbox(x: Any) -> Any:
    """The array (or ShapeDtypeStruct) inside a box; anything else unchanged."""
    if isinstance(x, nnx.Variable):
        return x.get_value()
    if isinstance(x, meta.Partitioned):
        return x.value  # unbox() would apply a sharding constraint
    if isinstance(x, meta.AxisMetadata):
        return x.unbox()
    return x


def rebox(box: Any, value: Any) -> Any:
    """A new box like ``box`` holding ``value`` (``box`` is not modified)."""
    if isinstance(box, nnx.Variable):
        return box.replace(value)
    if isinstance(box, meta.AxisMetadata):
        return box.replace_boxed(value)
    return value


def is_array_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not is_box(x)


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One leaf of a tree: its position, path, shape, dtype and its (possibly boxed) value."""

    index: int
    path: str
    shape: tuple[int, ...]
    dtype: Any  # a numpy dtype, or a jax extended dtype (PRNG keys)
    boxed: Any

    @property
    def value(self) -> Any:
        return unbox(self.boxed)


def flatten(tree: Any) -> tuple[list[Any], Any, list[Leaf]]:
    """(all flat leaves, treedef, the array-like leaves with their paths)."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_box)
    leaves = []
    values = []
    for i, (keypath, x) in enumerate(flat):
        values.append(x)
        v = unbox(x)
        if is_array_like(v):
            leaves.append(Leaf(i, path_string(keypath), tuple(int(d) for d in v.shape), v.dtype, x))
    return values, treedef, leaves


# ---------------------------------------------------------------------------
# Rules


@dataclasses.dataclass(frozen=True)
class Rule:
    regex: str
    pattern: re.Pattern[str]
    init: Initializer


def parse_rules(name: str, rules: Any) -> tuple[Rule, ...]:
    """Rules from a mapping (in its order) or a sequence of ``(regex, initializer)`` pairs."""
    if isinstance(rules, Mapping):
        pairs = list(rules.items())
    elif isinstance(rules, Sequence) and not isinstance(rules, str | bytes):
        pairs = list(rules)
    else:
        raise TypeError(
            validation.error(
                name, f"`rules` must be a sequence of (regex, initializer) pairs or a dict; got {rules!r}."
            )
        )
    if not pairs:
        raise ValueError(validation.error(name, "`rules` must hold at least one (regex, initializer) pair; got none."))
    out = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(validation.error(name, f"each rule must be a (regex, initializer) pair; got {pair!r}."))
        regex, init = pair
        if isinstance(regex, re.Pattern):
            pattern, text = regex, regex.pattern
        elif isinstance(regex, str):
            try:
                pattern = re.compile(regex)
            except re.error as err:
                raise ValueError(validation.error(name, f"rule {regex!r} is not a valid regex: {err}.")) from None
            text = regex
        else:
            raise TypeError(validation.error(name, f"a rule's regex must be a str or re.Pattern; got {regex!r}."))
        if not callable(init):
            raise TypeError(validation.error(name, f"rule {text!r} needs an initializer (a callable); got {init!r}."))
        out.append(Rule(text, pattern, init))
    return tuple(out)


def _listing(paths: Sequence[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:SHOWN_PATHS])
    more = f", ... ({len(paths)} in all)" if len(paths) > SHOWN_PATHS else ""
    return f"[{shown}{more}]" if paths else "[] (the tree has no array leaves)"


def assign(name: str, rules: tuple[Rule, ...], leaves: Sequence[Leaf]) -> dict[int, Rule]:
    """Leaf index -> the first rule whose regex fully matches its path.

    Raises ValueError for a rule whose regex fully matches no path (a rule
    whose matches all go to earlier rules is allowed: a catch-all such as
    ``".*"`` need not find leftovers in every model).
    """
    claimed: dict[int, Rule] = {}
    matched = [False] * len(rules)
    for leaf in leaves:
        for j, rule in enumerate(rules):
            if rule.pattern.fullmatch(leaf.path):
                matched[j] = True
                claimed.setdefault(leaf.index, rule)
    paths = [leaf.path for leaf in leaves]
    for j, rule in enumerate(rules):
        if not matched[j]:
            raise ValueError(
                validation.error(
                    name,
                    f"rule {rule.regex!r} matches no leaf (full match on '/'-joined paths); paths: {_listing(paths)}.",
                )
            )
    return claimed


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
