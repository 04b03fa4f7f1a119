"""Flax's boxes and variables for the tree tools: nnx ``Variable``s, linen ``AxisMetadata``, nnx filters.

Paths and keys are those of :mod:`jinit._src.tree.paths`: nnx ``Variable``
objects and linen ``AxisMetadata`` boxes (e.g. ``nn.Partitioned``) are
leaves, so the path stops at the box, not at its ``value``; for an nnx
model the paths are those of ``nnx.state(model)``.

Rules apply to the variables an nnx filter selects (``nnx.Param`` by
default); other variables keep their values, and where they are abstract
(``nnx.eval_shape``) take defined ones: batch statistics named ``mean`` 0
and ``var`` 1, RNG keys ``leaf_key(key, path)``, RNG counts 0.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from flax.core import meta

from jinit._src.core import validation
from jinit._src.tree.paths import Boxes, Leaf, leaf_key

#: What rules apply to in an nnx model or state unless ``filter`` says otherwise.
DEFAULT_FILTER = nnx.Param

#: Added to "matches no leaf" messages for nnx inputs.
FILTER_HINT = "; only variables `filter` selects are matched: nnx.Param by default"


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


def fresh(box: Any) -> Any:
    """A copy of an nnx Variable (a new model shares none with the input); linen boxes are immutable."""
    return box.replace(box.get_value()) if isinstance(box, nnx.Variable) else box


FLAX_BOXES = Boxes(is_box=is_box, unbox=unbox, rebox=rebox, fresh=fresh)


def has_variables(tree: Any) -> bool:
    """Whether a tree holds nnx Variables (an ``nnx.State``), where ``filter`` has a say."""
    return any(isinstance(x, nnx.Variable) for x in jax.tree_util.tree_leaves(tree, is_leaf=is_box))


def hint(tree: Any) -> str:
    return FILTER_HINT if isinstance(tree, nnx.Module) or has_variables(tree) else ""


def selector(name: str, filter: Any) -> Any:
    """``Leaf -> bool``: nnx Variables the filter selects, and every leaf that is no nnx Variable."""
    try:
        predicate = nnx.filterlib.to_predicate(filter)
    except (TypeError, ValueError) as err:
        raise TypeError(
            validation.error(name, f"`filter` must be an nnx filter; got filter={filter!r} ({err}).")
        ) from None

    def select(leaf: Leaf) -> bool:
        return not isinstance(leaf.boxed, nnx.Variable) or bool(predicate(leaf.keys, leaf.boxed))

    return select


def fill(leaf: Leaf, key: jax.Array) -> Any:
    """The defined value of an abstract non-parameter variable, or None if it needs a rule."""
    box = leaf.boxed
    if isinstance(box, nnx.BatchStat):
        if leaf.name.endswith("mean"):
            return jnp.zeros(leaf.shape, leaf.dtype)
        if leaf.name.endswith("var"):
            return jnp.ones(leaf.shape, leaf.dtype)
        return None
    if isinstance(box, nnx.RngCount):
        return jnp.zeros(leaf.shape, leaf.dtype)
    if isinstance(box, nnx.RngKey):
        k = leaf_key(key, leaf.path)
        if not jax.dtypes.issubdtype(k.dtype, jax.dtypes.prng_key):
            k = jax.random.wrap_key_data(k)
        if leaf.shape:
            k = jax.random.split(k, leaf.shape)
        return k if k.dtype == leaf.dtype else None
    return None
