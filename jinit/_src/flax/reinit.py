"""``reinit``: new values for the leaves of a linen parameter tree or an nnx model, by rules."""

from __future__ import annotations

from typing import Any, TypeVar

import jax
from flax import nnx

from jinit._src.core import validation
from jinit._src.flax import paths
from jinit._src.tree.apply import reinit_tree
from jinit._src.tree.rules import parse_rules

T = TypeVar("T")

NAME = "flax.reinit"


def reinit(tree_or_model: T, rules: Any, key: jax.Array, *, filter: Any = paths.DEFAULT_FILTER) -> T:
    """Re-initialises the leaves whose path matches a rule; returns a new tree or model.

    Every array leaf whose '/'-joined path (``"layers/0/kernel"``) fully
    matches a rule's regex gets new values from the first such rule's
    initializer; other leaves are kept as they are. A leaf's value is
    ``init(fold_in(key, crc32(path)), shape, dtype)`` (see
    :func:`jinit.flax.leaf_key`): it depends on ``key`` and the path only, not
    on the order of the tree or on other leaves, and equals what
    :func:`jinit.flax.materialize` gives for the same path. Leaves sharing an
    initializer, shape and dtype are drawn by one compiled, vmapped program.

    The input is never modified: a linen tree (any pytree: dict, FrozenDict,
    lists, ``nn.Partitioned`` boxes kept) gives a tree of the same structure;
    an nnx module gives a new module of the same class (its ``nnx.Variable``
    objects are new, with their metadata). For an nnx module the paths are
    those of ``nnx.state(model)``, e.g. ``"layers/0/kernel"``; for linen pass
    ``variables["params"]`` for ``"Dense_0/kernel"`` or the whole
    ``variables`` for ``"params/Dense_0/kernel"``.

    In an nnx model or state the rules see only the variables ``filter``
    selects (``nnx.Param`` by default): BatchNorm's running statistics, the
    RNG state of Dropout and any other variable keep their values, so
    ``reinit(model, {".*": jinit.ones})`` leaves the batch statistics alone.

    Args:
      tree_or_model: a pytree of arrays (linen ``params``), an ``nnx.State``,
        or an ``nnx.Module``.
      rules: ``(regex, value)`` pairs, a dict taken in its order, or a
        :class:`jinit.tree.Rules`; a value is an initializer or a
        :class:`jinit.tree.ContextRule`. Regexes are matched with ``re.fullmatch``.
      key: the root PRNG key (typed or legacy ``uint32[2]``).
      filter: an nnx filter (``nnx.Param``, ``nnx.BatchStat``, a tuple of
        them, ``...`` for every variable): the nnx variables the rules apply
        to. Leaves that are no nnx Variable (linen trees) are always matched.

    Returns:
      A new tree (same structure) or a new nnx module (same class).

    Raises:
      ValueError: a rule's regex matches no path (the message lists some
        existing paths), a regex does not compile, an initializer refuses a
        matched leaf (the message names the rule and the path), or two
        matched paths share a crc32.
      TypeError: malformed rules, key or filter.

    Examples:
      >>> import jax, jax.numpy as jnp, flax.linen as nn, jinit, jinit.flax
      >>> params = nn.Dense(4).init(jax.random.key(0), jnp.ones((1, 3)))["params"]
      >>> new = jinit.flax.reinit(params, {"kernel": jinit.orthogonal(), "bias": jinit.ones}, jax.random.key(1))
      >>> new["bias"]
      Array([1., 1., 1., 1.], dtype=float32)

    References:
      The torch idiom it replaces: ``model.apply(fn)`` with ``torch.nn.init``
      calls, https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.apply
    """
    parsed = parse_rules(NAME, rules)
    key = validation.key(NAME, key)
    select = paths.selector(NAME, filter)
    kwargs: dict[str, Any] = {"boxes": paths.FLAX_BOXES, "select": select, "hint": paths.hint(tree_or_model)}
    if isinstance(tree_or_model, nnx.Module):
        graphdef, state = nnx.split(tree_or_model)
        return nnx.merge(graphdef, reinit_tree(NAME, state, parsed, key, **kwargs))
    return reinit_tree(NAME, tree_or_model, parsed, key, **kwargs)
