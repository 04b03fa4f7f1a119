"""``materialize``: abstract linen trees and nnx models to arrays, one compiled program per group, placed directly."""

from __future__ import annotations

from typing import Any, TypeVar

import jax
from flax import nnx

from jinit._src.core import validation
from jinit._src.flax import paths
from jinit._src.tree.apply import materialize_tree
from jinit._src.tree.rules import parse_rules

T = TypeVar("T")

NAME = "flax.materialize"


def materialize(
    abstract_tree: T, rules: Any, key: jax.Array, *, shardings: Any = None, filter: Any = paths.DEFAULT_FILTER
) -> T:
    """Turns a tree of ``jax.ShapeDtypeStruct`` (or an abstract nnx model) into arrays drawn by rules.

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
    Without it, a leaf's own sharding is used: ``nnx.eval_shape`` under
    ``jax.set_mesh(mesh)`` with ``nnx.with_partitioning`` annotations gives
    ``ShapeDtypeStruct``s on the abstract mesh, placed on ``mesh``.

    In an nnx model the rules apply to the variables ``filter`` selects
    (``nnx.Param`` by default). Other variables keep their values where they
    are arrays; abstract ones take defined values: batch statistics named
    ``mean`` 0 and ``var`` 1, RNG keys ``leaf_key(key, path)`` (split to
    their shape), RNG counts 0; any other abstract variable needs a rule.

    Args:
      abstract_tree: a pytree of ``jax.ShapeDtypeStruct`` (or arrays, whose
        shape and dtype are used), e.g. ``jax.eval_shape(model.init, key, x)``
        for linen (``nn.Partitioned`` boxes are kept), an ``nnx.State``, or an
        abstract ``nnx.Module`` from ``nnx.eval_shape`` (a new module is
        returned).
      rules: ``(regex, value)`` pairs, a dict taken in its order, or a
        :class:`jinit.tree.Rules`. Every selected leaf must match a rule.
      key: the root PRNG key (typed or legacy ``uint32[2]``).
      shardings: None; one ``jax.sharding.Sharding`` for every leaf; or a
        tree with the structure of ``abstract_tree`` whose leaves are
        shardings or None (e.g. ``nn.get_sharding(abstract, mesh)`` or
        ``nnx.get_named_sharding(state, mesh)``). When None, a leaf's own
        ``.sharding`` (a ``ShapeDtypeStruct`` may carry one) is used.
      filter: an nnx filter: the nnx variables the rules apply to.

    Returns:
      The tree (or nnx module) with arrays in place of the abstract leaves.

    Raises:
      ValueError: a leaf no rule matches, a rule that matches no leaf, an
        initializer that refuses a leaf, or ``shardings`` of another structure.
      TypeError: malformed rules, key, shardings or filter.

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
    parsed = parse_rules(NAME, rules)
    key = validation.key(NAME, key)
    select = paths.selector(NAME, filter)
    kwargs: dict[str, Any] = {
        "boxes": paths.FLAX_BOXES,
        "select": select,
        "fill": paths.fill,
        "hint": paths.hint(abstract_tree),
    }
    if isinstance(abstract_tree, nnx.Module):
        graphdef, state = nnx.split(abstract_tree)
        if isinstance(shardings, nnx.Module):
            shardings = nnx.state(shardings)
        return nnx.merge(graphdef, materialize_tree(NAME, state, parsed, key, shardings, **kwargs))
    return materialize_tree(NAME, abstract_tree, parsed, key, shardings, **kwargs)
