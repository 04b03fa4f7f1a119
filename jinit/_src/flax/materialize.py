"""``materialize``: abstract shapes to arrays, one compiled program per group, placed directly."""

from __future__ import annotations

from typing import Any, TypeVar

import jax
from flax import nnx

from jinit._src.core import validation
from jinit._src.flax import engine, paths

T = TypeVar("T")

NAME = "flax.materialize"


def materialize(abstract_tree: T, rules: Any, key: jax.Array, *, shardings: Any = None) -> T:
    """Turns a tree of ``jax.ShapeDtypeStruct`` into arrays drawn by rules.

    Every leaf gets ``init(fold_in(key, crc32(path)), shape, dtype)`` from the
    first rule whose regex fully matches its '/'-joined path: the same values
    as :func:`jinit.flax.reinit` for the same paths. Leaves sharing an
    initializer, shape, dtype and sharding form a group, drawn by one jitted
    program that vmaps the initializer over the group's keys: a 12-layer and a
    48-layer stack compile the same few programs, and no full-model
    ``model.init`` is traced or compiled.

    With ``shardings`` each array is produced directly with its sharding
    (the random bits are computed where they live, values independent of the
    mesh); this is how a model that fits no single device is initialised.

    Args:
      abstract_tree: a pytree of ``jax.ShapeDtypeStruct`` (or arrays, whose
        shape and dtype are used), e.g. ``jax.eval_shape(model.init, key, x)``
        for linen (``nn.Partitioned`` boxes are kept), an ``nnx.State``, or an
        abstract ``nnx.Module`` from ``nnx.eval_shape`` (a new module is
        returned).
      rules: a sequence of ``(regex, initializer)`` pairs, or a dict taken in
        its order. Every array leaf must match a rule.
      key: the root PRNG key (typed or legacy ``uint32[2]``).
      shardings: None; one ``jax.sharding.Sharding`` for every leaf; or a
        tree with the structure of ``abstract_tree`` whose leaves are
        shardings or None (e.g. ``nn.get_sharding(abstract, mesh)`` or
        ``nnx.get_named_sharding(state, mesh)``). When None, a leaf's own
        ``.sharding`` (a ``ShapeDtypeStruct`` may carry one) is used.

    Returns:
      The tree (or nnx module) with arrays in place of the abstract leaves.

    Raises:
      ValueError: a leaf no rule matches, a rule that matches no leaf, an
        initializer that refuses a leaf, or ``shardings`` of another structure.
      TypeError: malformed rules, key or shardings.

    Examples:
      >>> import jax, jax.numpy as jnp, flax.linen as nn, jinit, jinit.flax
      >>> model = nn.Dense(4)
      >>> abstract = jax.eval_shape(model.init, jax.random.key(0), jnp.ones((1, 3)))
      >>> params = jinit.flax.materialize(abstract, {".*kernel": jinit.he_normal(), ".*bias": jinit.zeros},
      ...                                 jax.random.key(1))
      >>> params["params"]["kernel"].shape
      (3, 4)

    References:
      jax's guide to sharded initialisation without a full-size host copy:
      https://docs.jax.dev/en/latest/notebooks/Distributed_arrays_and_automatic_parallelization.html
    """
    parsed = paths.parse_rules(NAME, rules)
    key = validation.key(NAME, key)
    if isinstance(abstract_tree, nnx.Module):
        graphdef, state = nnx.split(abstract_tree)
        if isinstance(shardings, nnx.Module):
            shardings = nnx.state(shardings)
        return nnx.merge(graphdef, _materialize_tree(state, parsed, key, shardings))
    return _materialize_tree(abstract_tree, parsed, key, shardings)


def _is_sharding(x: Any) -> bool:
    return isinstance(x, jax.sharding.Sharding | jax.sharding.PartitionSpec)


def _sharding_leaves(treedef: Any, count: int, shardings: Any) -> list[Any]:
    """One sharding (or None) per flat leaf of ``abstract_tree``."""
    if shardings is None:
        return [None] * count
    if _is_sharding(shardings):
        return [shardings] * count
    flat, sdef = jax.tree_util.tree_flatten(
        shardings, is_leaf=lambda x: x is None or _is_sharding(x) or paths.is_box(x)
    )
    if len(flat) != count or sdef != treedef:
        raise ValueError(
            validation.error(
                NAME,
                f"`shardings` must be one sharding or a tree with the structure of `abstract_tree`; got a tree "
                f"of {len(flat)} leaves for {count} leaves (structure {sdef} vs {treedef}).",
            )
        )
    out = []
    for s in flat:
        s = paths.unbox(s)
        if s is not None and not _is_sharding(s):
            raise TypeError(
                validation.error(NAME, f"`shardings` leaves must be jax shardings, PartitionSpecs or None; got {s!r}.")
            )
        out.append(s)
    return out


def _materialize_tree(tree: T, rules: tuple[paths.Rule, ...], key: jax.Array, shardings: Any) -> T:
    values, treedef, leaves = paths.flatten(tree)
    # Shardings are matched leaf by leaf; None counts as a leaf there (no sharding), so flatten alike.
    with_none, structure = jax.tree_util.tree_flatten(tree, is_leaf=lambda x: x is None or paths.is_box(x))
    aligned = _sharding_leaves(structure, len(with_none), shardings)
    per_leaf = [s for s, x in zip(aligned, with_none, strict=True) if x is not None]
    claimed = paths.assign(NAME, rules, leaves)
    missing = [leaf.path for leaf in leaves if leaf.index not in claimed]
    if missing:
        shown = ", ".join(repr(p) for p in missing[: paths.SHOWN_PATHS])
        more = f", ... ({len(missing)} in all)" if len(missing) > paths.SHOWN_PATHS else ""
        raise ValueError(
            validation.error(
                NAME, f"every leaf needs a rule (add a catch-all such as '.*' last); no rule matches [{shown}{more}]."
            )
        )
    paths.check_distinct_hashes(NAME, leaves)
    items = []
    for leaf in leaves:
        sharding = per_leaf[leaf.index]
        if sharding is None:
            own = getattr(leaf.value, "sharding", None)
            sharding = own if isinstance(own, jax.sharding.NamedSharding) else None
        items.append((leaf, claimed[leaf.index], sharding))
    drawn = engine.draw(NAME, key, items)
    new = [paths.rebox(v, drawn[i]) if i in drawn else v for i, v in enumerate(values)]
    return jax.tree_util.tree_unflatten(treedef, new)
