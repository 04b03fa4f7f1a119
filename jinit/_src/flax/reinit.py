"""``reinit``: new values for the leaves of a parameter tree or nnx model, by rules."""

from __future__ import annotations

from typing import Any, TypeVar

import jax
from flax import nnx

from jinit._src.core import validation
from jinit._src.flax import engine, paths

T = TypeVar("T")

NAME = "flax.reinit"


def reinit(tree_or_model: T, rules: Any, key: jax.Array) -> T:
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

    Args:
      tree_or_model: a pytree of arrays (linen ``params``), an ``nnx.State``,
        or an ``nnx.Module``.
      rules: a sequence of ``(regex, initializer)`` pairs, or a dict taken in
        its order. Regexes are matched with ``re.fullmatch``.
      key: the root PRNG key (typed or legacy ``uint32[2]``).

    Returns:
      A new tree (same structure) or a new nnx module (same class).

    Raises:
      ValueError: a rule's regex matches no path (the message lists some
        existing paths), a regex does not compile, an initializer refuses a
        matched leaf (the message names the rule and the path), or two
        matched paths share a crc32.
      TypeError: malformed rules or key.

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
    parsed = paths.parse_rules(NAME, rules)
    key = validation.key(NAME, key)
    if isinstance(tree_or_model, nnx.Module):
        graphdef, state = nnx.split(tree_or_model)
        return nnx.merge(graphdef, _reinit_tree(state, parsed, key))
    return _reinit_tree(tree_or_model, parsed, key)


def _reinit_tree(tree: T, rules: tuple[paths.Rule, ...], key: jax.Array) -> T:
    values, treedef, leaves = paths.flatten(tree)
    claimed = paths.assign(NAME, rules, leaves)
    chosen = [leaf for leaf in leaves if leaf.index in claimed]
    paths.check_distinct_hashes(NAME, chosen)
    drawn = engine.draw(NAME, key, [(leaf, claimed[leaf.index], None) for leaf in chosen])
    new = list(values)
    for leaf in chosen:
        new[leaf.index] = paths.rebox(leaf.boxed, drawn[leaf.index])
    # Untouched nnx Variables are copied too, so the new model shares no Variable with the input.
    new = [
        paths.rebox(v, paths.unbox(v)) if i not in drawn and isinstance(v, nnx.Variable) else v
        for i, v in enumerate(new)
    ]
    return jax.tree_util.tree_unflatten(treedef, new)
