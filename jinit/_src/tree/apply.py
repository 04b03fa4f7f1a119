"""``reinit`` and ``materialize`` on any pytree: rules on leaf paths, one compiled program per group.

The tree versions here know no boxes; ``jinit.flax`` calls the same
``reinit_tree`` and ``materialize_tree`` with its nnx/linen :class:`Boxes`,
a selection of the leaves rules apply to (``nnx.Param`` by default) and
default values for abstract non-parameter variables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax

from jinit._src.core import validation
from jinit._src.tree import engine
from jinit._src.tree.paths import (
    PLAIN,
    SHOWN_PATHS,
    Boxes,
    Leaf,
    check_distinct_hashes,
    flatten,
    refuse_flax,
    siblings_of,
)
from jinit._src.tree.rules import Rules, assign, parse_rules, resolve

T = TypeVar("T")

#: Which leaves the rules apply to (None: every array leaf).
Select = Callable[[Leaf], bool] | None
#: A value for an abstract leaf the rules do not apply to (None: it needs a rule after all).
Fill = Callable[[Leaf, jax.Array], Any] | None


def claim(
    name: str, rules: Rules, leaves: Sequence[Leaf], candidates: Sequence[Leaf], hint: str = ""
) -> dict[int, tuple[str, Any]]:
    """Leaf index -> (regex, initializer) for every candidate a rule matches; context rules resolved."""
    claims = assign(name, rules, candidates, hint)
    siblings = siblings_of(leaves)
    out = {}
    for leaf in candidates:
        c = claims.get(leaf.index)
        if c is not None:
            out[leaf.index] = (c.rule.regex, resolve(name, c, leaf, siblings[leaf.parent]))
    return out


def _rebuilt(treedef: Any, values: list[Any], drawn: dict[int, Any], boxes: Boxes) -> Any:
    new = [
        boxes.rebox(v, drawn[i]) if i in drawn else (boxes.fresh(v) if boxes.is_box(v) else v)
        for i, v in enumerate(values)
    ]
    return jax.tree_util.tree_unflatten(treedef, new)


def reinit_tree(
    name: str, tree: T, rules: Rules, key: jax.Array, *, boxes: Boxes = PLAIN, select: Select = None, hint: str = ""
) -> T:
    """New values for the selected leaves a rule matches; every other leaf kept (boxes copied)."""
    values, treedef, leaves = flatten(tree, boxes)
    candidates = [leaf for leaf in leaves if select is None or select(leaf)]
    claims = claim(name, rules, leaves, candidates, hint)
    chosen = [leaf for leaf in candidates if leaf.index in claims]
    check_distinct_hashes(name, chosen)
    items = [engine.Item(leaf, claims[leaf.index][1], claims[leaf.index][0], None) for leaf in chosen]
    return _rebuilt(treedef, values, engine.draw(name, key, items), boxes)


def _is_sharding(x: Any) -> bool:
    return isinstance(x, jax.sharding.Sharding | jax.sharding.PartitionSpec)


def _sharding_leaves(name: str, treedef: Any, count: int, shardings: Any, boxes: Boxes) -> list[Any]:
    """One sharding (or None) per flat leaf of the abstract tree."""
    if shardings is None:
        return [None] * count
    if _is_sharding(shardings):
        return [shardings] * count
    flat, sdef = jax.tree_util.tree_flatten(
        shardings, is_leaf=lambda x: x is None or _is_sharding(x) or boxes.is_box(x)
    )
    if len(flat) != count or sdef != treedef:
        raise ValueError(
            validation.error(
                name,
                f"`shardings` must be one sharding or a tree with the structure of `abstract_tree`; got a tree "
                f"of {len(flat)} leaves for {count} leaves (structure {sdef} vs {treedef}).",
            )
        )
    out = []
    for s in flat:
        s = boxes.unbox(s) if boxes.is_box(s) else s
        if s is not None and not _is_sharding(s):
            raise TypeError(
                validation.error(name, f"`shardings` leaves must be jax shardings, PartitionSpecs or None; got {s!r}.")
            )
        out.append(s)
    return out


def _placed(name: str, value: Any, sharding: Any, key: jax.Array) -> Any:
    """A filled-in value put where its sharding says (outside a trace)."""
    if sharding is None or isinstance(key, jax.core.Tracer):
        return value
    _, final = engine.resolve_sharding(name, sharding)
    return jax.device_put(value, final)


def materialize_tree(
    name: str,
    tree: T,
    rules: Rules,
    key: jax.Array,
    shardings: Any,
    *,
    boxes: Boxes = PLAIN,
    select: Select = None,
    fill: Fill = None,
    hint: str = "",
) -> T:
    """Arrays for every selected leaf (each must match a rule) and every unselected abstract leaf.

    An unselected leaf keeps its value if it is an array; if abstract, it
    takes ``fill``'s value, or needs a rule when ``fill`` gives None.
    """
    values, treedef, leaves = flatten(tree, boxes)
    # Shardings are matched leaf by leaf; None counts as a leaf there (no sharding), so flatten alike.
    with_none, structure = jax.tree_util.tree_flatten(tree, is_leaf=lambda x: x is None or boxes.is_box(x))
    aligned = _sharding_leaves(name, structure, len(with_none), shardings, boxes)
    per_leaf = [s for s, x in zip(aligned, with_none, strict=True) if x is not None]

    def sharding_of(leaf: Leaf) -> Any:
        s = per_leaf[leaf.index]
        if s is None:
            own = getattr(leaf.value, "sharding", None)
            s = own if isinstance(own, jax.sharding.NamedSharding) else None
        return s

    filled: dict[int, Any] = {}
    candidates = []
    for leaf in leaves:
        if select is None or select(leaf):
            candidates.append(leaf)
        elif leaf.abstract:
            value = None if fill is None else fill(leaf, key)
            if value is None:
                candidates.append(leaf)
            else:
                filled[leaf.index] = _placed(name, value, sharding_of(leaf), key)
    claims = claim(name, rules, leaves, candidates, hint)
    missing = [leaf.path for leaf in candidates if leaf.index not in claims]
    if missing:
        shown = ", ".join(repr(p) for p in missing[:SHOWN_PATHS])
        more = f", ... ({len(missing)} in all)" if len(missing) > SHOWN_PATHS else ""
        raise ValueError(
            validation.error(
                name, f"every leaf needs a rule (add a catch-all such as '.*' last); no rule matches [{shown}{more}]."
            )
        )
    check_distinct_hashes(name, candidates)
    items = [engine.Item(leaf, claims[leaf.index][1], claims[leaf.index][0], sharding_of(leaf)) for leaf in candidates]
    drawn = engine.draw(name, key, items)
    drawn.update(filled)
    return _rebuilt(treedef, values, drawn, boxes)


# ---------------------------------------------------------------------------
# Public, for plain pytrees


def reinit(tree: T, rules: Any, key: jax.Array) -> T:
    """Re-initialises the leaves of any pytree whose path matches a rule; returns a new tree.

    Every array leaf whose '/'-joined path (``"layers/0/weight"``) fully
    matches a rule's regex gets new values from the first such rule; other
    leaves are kept as they are. A leaf's value is
    ``init(fold_in(key, crc32(path)), shape, dtype)`` (see
    :func:`jinit.tree.leaf_key`): it depends on ``key`` and the path only,
    not on the order of the tree or on other leaves. Leaves sharing an
    initializer, shape and dtype are drawn by one compiled program.

    Paths come from ``jax.tree_util`` key paths: dict keys (``DictKey``),
    attribute names (``GetAttrKey``: equinox modules, dataclasses) and
    sequence indices (``SequenceKey``), joined with ``/``. An equinox
    ``MLP`` has ``"layers/0/weight"``, a haiku params dict
    ``"mlp/~/linear_0/w"``. Flax modules, Variables and boxes are refused:
    :func:`jinit.flax.reinit` knows their paths.

    Args:
      tree: any pytree of arrays (a dict, a haiku params dict, an equinox
        module, a dataclass registered as a pytree).
      rules: ``(regex, value)`` pairs, a dict taken in its order, or a
        :class:`jinit.tree.Rules`. A value is an initializer or a
        :class:`jinit.tree.ContextRule`. Regexes are matched with
        ``re.fullmatch``; the first matching rule wins.
      key: the root PRNG key (typed or legacy ``uint32[2]``).

    Returns:
      A new tree of the same structure (the input is not modified).

    Raises:
      ValueError: a rule (not marked optional) matches no path (the message
        lists some paths), a regex does not compile, an initializer refuses
        a matched leaf (the message names the rule and the path), or two
        matched paths share a crc32.
      TypeError: malformed rules or key, or a flax object in the tree.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit, jinit.tree
      >>> params = {"dense": {"kernel": jnp.zeros((3, 4)), "bias": jnp.zeros((4,))}}
      >>> new = jinit.tree.reinit(params, {r".*kernel": jinit.he_normal(), r".*bias": jinit.ones}, jax.random.key(1))
      >>> new["dense"]["bias"]
      Array([1., 1., 1., 1.], dtype=float32)

    References:
      The torch idiom it replaces: ``model.apply(fn)`` with ``torch.nn.init``
      calls, https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.apply
    """
    name = "tree.reinit"
    parsed = parse_rules(name, rules)
    key = validation.key(name, key)
    refuse_flax(name, tree)
    return reinit_tree(name, tree, parsed, key)


def materialize(abstract_tree: T, rules: Any, key: jax.Array, *, shardings: Any = None) -> T:
    """Turns any pytree of ``jax.ShapeDtypeStruct`` into arrays drawn by rules.

    Every leaf gets ``init(fold_in(key, crc32(path)), shape, dtype)`` from
    the first rule whose regex fully matches its '/'-joined path: the same
    values as :func:`jinit.tree.reinit` for the same paths. Leaves sharing an
    initializer, shape, dtype and sharding form a group drawn by one jitted
    program, so a deep model compiles as few programs as a shallow one.

    With ``shardings`` each array is produced directly with its sharding
    (the random bits are computed where they live, values independent of
    the mesh). Without it a leaf's own ``.sharding`` is used: a
    ``ShapeDtypeStruct`` made under ``jax.set_mesh`` carries one on the
    abstract mesh, which is then placed on the mesh set.

    Args:
      abstract_tree: a pytree of ``jax.ShapeDtypeStruct`` (or arrays, whose
        shape and dtype are used), e.g. ``jax.eval_shape`` of an init, or
        ``equinox.filter_eval_shape`` of a module's constructor.
      rules: as for :func:`jinit.tree.reinit`. Every leaf must match a rule.
      key: the root PRNG key (typed or legacy ``uint32[2]``).
      shardings: None; one ``jax.sharding.Sharding`` (or ``PartitionSpec``,
        with the mesh of ``jax.set_mesh``) for every leaf; or a tree with the
        structure of ``abstract_tree`` whose leaves are shardings or None.

    Returns:
      The tree with arrays in place of the abstract leaves.

    Raises:
      ValueError: a leaf no rule matches (the message names it), a rule that
        matches no leaf, an initializer that refuses a leaf, or ``shardings``
        of another structure.
      TypeError: malformed rules, key or shardings, or a flax object in the tree.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit, jinit.tree
      >>> abstract = {"w": jax.ShapeDtypeStruct((3, 4), jnp.float32), "b": jax.ShapeDtypeStruct((4,), jnp.float32)}
      >>> params = jinit.tree.materialize(abstract, {"w": jinit.he_normal(), "b": jinit.zeros}, jax.random.key(1))
      >>> params["w"].shape, params["b"].dtype
      ((3, 4), dtype('float32'))

    References:
      jax's guide to sharded initialisation without a full-size host copy:
      https://docs.jax.dev/en/latest/notebooks/Distributed_arrays_and_automatic_parallelization.html
    """
    name = "tree.materialize"
    parsed = parse_rules(name, rules)
    key = validation.key(name, key)
    refuse_flax(name, abstract_tree)
    return materialize_tree(name, abstract_tree, parsed, key, shardings)
