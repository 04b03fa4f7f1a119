"""``summary`` and ``compare`` for linen trees and nnx models: the tree tables with flax's paths."""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from jinit._src.core import validation
from jinit._src.flax import paths
from jinit._src.tree.rules import parse_rules
from jinit._src.tree.summary import MAX_SAMPLES, Comparison, Summary, check_max_samples, compare_trees, summary_tree


def _state(x: Any) -> Any:
    return nnx.state(x) if isinstance(x, nnx.Module) else x


def summary(
    tree_or_model: Any, rules: Any, *, key: jax.Array | None = None, filter: Any = paths.DEFAULT_FILTER
) -> Summary:
    """:func:`jinit.tree.summary` for linen trees, ``nnx.State`` and nnx models (paths of ``nnx.state``).

    Every array leaf is listed; the rules are matched against the variables
    ``filter`` selects (``nnx.Param`` by default) and every leaf that is no
    nnx Variable. With ``key`` the matched leaves are first redrawn as
    :func:`jinit.flax.reinit` draws them.

    Args:
      tree_or_model: a linen tree, an ``nnx.State`` or an nnx module
        (concrete or from ``nnx.eval_shape``).
      rules: as for :func:`jinit.flax.reinit`.
      key: None, or a root key to summarise the redrawn leaves.
      filter: an nnx filter: the variables the rules apply to.

    Returns:
      A :class:`jinit.tree.Summary`.

    Raises:
      ValueError: as :func:`jinit.flax.reinit`.
      TypeError: malformed rules, key or filter.

    Examples:
      >>> import jax, jinit, jinit.flax
      >>> from flax import nnx
      >>> model = nnx.Linear(64, 32, rngs=nnx.Rngs(0))
      >>> table = jinit.flax.summary(model, {"kernel": jinit.he_normal(), "bias": jinit.zeros})
      >>> [row["rule"] for row in table]
      ['bias', 'kernel']
    """
    name = "flax.summary"
    parsed = parse_rules(name, rules)
    if key is not None:
        key = validation.key(name, key)
    select = paths.selector(name, filter)
    tree = _state(tree_or_model)
    return summary_tree(name, tree, parsed, key, boxes=paths.FLAX_BOXES, select=select, hint=paths.hint(tree_or_model))


def compare(tree_a: Any, tree_b: Any, *, max_samples: int = MAX_SAMPLES) -> Comparison:
    """:func:`jinit.tree.compare` for linen trees, ``nnx.State`` and nnx models (every variable, by path).

    Args:
      tree_a: a pytree of arrays, an ``nnx.State`` or an nnx module.
      tree_b: the same kinds.
      max_samples: at most this many entries of a leaf enter the test.

    Returns:
      A :class:`jinit.tree.Comparison`.

    Raises:
      ValueError: the trees share no path, or a leaf is abstract.
      TypeError: a bad ``max_samples``.

    Examples:
      >>> import jinit.flax
      >>> from flax import nnx
      >>> a, b = nnx.Linear(64, 64, rngs=nnx.Rngs(0)), nnx.Linear(64, 64, rngs=nnx.Rngs(1))
      >>> [row["path"] for row in jinit.flax.compare(a, b)]
      ['bias', 'kernel']
    """
    name = "flax.compare"
    max_samples = check_max_samples(name, max_samples)
    return compare_trees(name, _state(tree_a), _state(tree_b), max_samples, paths.FLAX_BOXES)
