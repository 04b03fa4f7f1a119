"""A recipe: a table of roles with their initializers, and a naming from roles to path patterns.

A role is a kind of tensor a model family has (token embedding, the query
projection, the MLP's output projection, a norm's scale, every bias, ...);
the table gives each role its initializer (or a context rule), the naming
gives each role the regexes that find its leaves, in priority order. The
recipe is the rule set ``[(pattern, table[role]) for role in naming for
pattern in naming[role]]``, every entry optional: a model that lacks a role
is no error, but a leaf no role claims still is for ``materialize``.

Ties name (follower, source) roles whose tensors the reference model shares
(an LM head and the token embedding): :func:`init_state_dict` gives a
follower the source's array.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import jax

from jinit._src.core import validation
from jinit._src.tree.apply import materialize_tree
from jinit._src.tree.paths import PLAIN, Leaf, flatten, refuse_flax, siblings_of
from jinit._src.tree.rules import Rule, Rules, resolve
from jinit._src.tree.rules import assign as assign_rules

T = TypeVar("T")

#: A separator: '.' in a flat state dict's dotted names, '/' in the paths of a nested tree.
SEP = r"[./]"
#: Any prefix that ends at a separator (``transformer.``, ``model/``), or none.
PREFIX = r"(?:.*[./])?"


def path(*parts: str) -> str:
    """A full-match regex for a leaf whose path ends with ``parts``, after any prefix, with either separator."""
    return PREFIX + SEP.join(parts)


def _by_role(name: str, param: str, mapping: Any, what: str, entry: Any) -> tuple[tuple[str, Any], ...]:
    """``((role, entry(role, value)), ...)`` for a mapping from role (a str) to ``what``."""
    if not isinstance(mapping, Mapping):
        raise TypeError(validation.error(name, f"`{param}` must be a mapping from role to {what}; got {mapping!r}."))
    out = []
    for role, value in mapping.items():
        if not isinstance(role, str):
            raise TypeError(validation.error(name, f"roles are named by str; got {role!r}."))
        out.append((role, entry(role, value)))
    return tuple(out)


def _roles(name: str, roles: Any) -> tuple[tuple[str, Any], ...]:
    def initializer(role: str, init: Any) -> Any:
        if not callable(init):
            raise TypeError(
                validation.error(name, f"role {role!r} needs an initializer or a context rule; got {init!r}.")
            )
        return init

    return _by_role(name, "roles", roles, "initializer", initializer)


def _patterns(name: str, role: str, value: Any) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not items or not all(isinstance(p, str) for p in items):
        raise TypeError(
            validation.error(name, f"role {role!r} needs a regex or a non-empty sequence of regexes; got {value!r}.")
        )
    return tuple(items)


def _naming(name: str, naming: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return _by_role(name, "naming", naming, "regexes", functools.partial(_patterns, name))


@dataclasses.dataclass(frozen=True, init=False)
class Recipe(Rules):
    """Initializers by role and regexes by role: a rule set every ``reinit``/``materialize`` accepts.

    Args:
      roles: role -> initializer or :class:`jinit.tree.ContextRule`.
      naming: role -> a regex or a sequence of regexes (full match on the
        '/'-joined leaf path), in priority order: the first role whose
        pattern matches a leaf claims it. Every role has both an initializer
        and a naming.
      name: a label (the named recipes put their hyperparameters there).
      ties: ``(follower, source)`` role pairs whose tensors the reference
        model shares; :func:`jinit.recipes.init_state_dict` gives a follower
        the source's array.

    Every rule is optional: a role the tree lacks is no error. A recipe is
    frozen, hashable, picklable and equal by value; ``rules + recipe`` puts
    ``rules`` first (a plain :class:`jinit.tree.Rules`).

    Examples:
      >>> import jax, jax.numpy as jnp, jinit, jinit.recipes, jinit.tree
      >>> recipe = jinit.recipes.Recipe(
      ...     {"kernel": jinit.lecun_normal(), "bias": jinit.zeros},
      ...     {"kernel": r".*/kernel", "bias": r".*/bias"},
      ...     name="mlp",
      ... )
      >>> tree = {"dense": {"kernel": jnp.zeros((4, 3)), "bias": jnp.zeros((3,))}}
      >>> new = jinit.tree.reinit(tree, recipe, jax.random.key(0))
      >>> recipe.role_of("dense/bias"), new["dense"]["bias"].tolist()
      ('bias', [0.0, 0.0, 0.0])
    """

    roles: tuple[tuple[str, Any], ...]
    naming: tuple[tuple[str, tuple[str, ...]], ...]
    ties: tuple[tuple[str, str], ...]

    def __init__(self, roles: Any, naming: Any, *, name: str, ties: Any = ()) -> None:
        fn = "recipes.Recipe"
        if not isinstance(name, str):
            raise TypeError(validation.error(fn, f"`name` must be a str; got name={name!r}."))
        roles_ = _roles(fn, roles)
        naming_ = _naming(fn, naming)
        table = dict(roles_)
        named = dict(naming_)
        unnamed = [r for r in table if r not in named]
        if unnamed:
            raise ValueError(validation.error(fn, f"roles {unnamed} have an initializer but no naming."))
        undrawn = [r for r in named if r not in table]
        if undrawn:
            raise ValueError(validation.error(fn, f"roles {undrawn} have a naming but no initializer."))
        ties_ = []
        for pair in ties:
            if not isinstance(pair, tuple | list) or len(pair) != 2 or not all(isinstance(r, str) for r in pair):
                raise TypeError(
                    validation.error(fn, f"each tie must be a (follower, source) pair of roles; got {pair!r}.")
                )
            missing = [r for r in pair if r not in table]
            if missing:
                raise ValueError(validation.error(fn, f"tie {tuple(pair)!r} names roles {missing} the recipe lacks."))
            ties_.append((pair[0], pair[1]))
        followers = [f for f, _ in ties_]
        chained = sorted({f for f in followers if followers.count(f) > 1} | {s for _, s in ties_ if s in followers})
        if chained:
            raise ValueError(
                validation.error(
                    fn, f"a role follows one source and a source follows no role; roles {chained} break this."
                )
            )
        entries = tuple(
            Rule.checked(fn, pattern, table[role], optional=True) for role, patterns in naming_ for pattern in patterns
        )
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "roles", roles_)
        object.__setattr__(self, "naming", naming_)
        object.__setattr__(self, "ties", tuple(ties_))

    @property
    def table(self) -> dict[str, Any]:
        """role -> initializer (a new dict)."""
        return dict(self.roles)

    @property
    def patterns(self) -> dict[str, tuple[str, ...]]:
        """role -> regexes, in priority order (a new dict)."""
        return dict(self.naming)

    def _entry_roles(self) -> list[str]:
        return [role for role, patterns in self.naming for _ in patterns]

    def role_of(self, leaf_path: str) -> str | None:
        """The role that claims ``leaf_path`` (its first fully matching pattern), or None."""
        if not isinstance(leaf_path, str):
            raise TypeError(
                validation.error("recipes.Recipe.role_of", f"`leaf_path` must be a str; got {leaf_path!r}.")
            )
        for rule, role in zip(self.entries, self._entry_roles(), strict=True):
            if rule.pattern.fullmatch(leaf_path):
                return role
        return None

    def assign(self, tree: Any) -> dict[str, tuple[str, Any]]:
        """``{path: (role, initializer)}`` for every array leaf of ``tree`` a role claims (context rules resolved).

        Leaves no role claims are left out; ``tree`` may hold arrays or
        ``jax.ShapeDtypeStruct`` (a plain pytree: dicts, lists, dataclasses).
        """
        fn = "recipes.Recipe.assign"
        refuse_flax(fn, tree)
        _, _, leaves = flatten(tree, PLAIN)
        claims = assign_rules(fn, self, leaves)
        siblings = siblings_of(leaves)
        roles = self._entry_roles()
        index = {id(rule): i for i, rule in enumerate(self.entries)}
        out = {}
        for leaf in leaves:
            c = claims.get(leaf.index)
            if c is not None:
                out[leaf.path] = (roles[index[id(c.rule)]], resolve(fn, c, leaf, siblings[leaf.parent]))
        return out

    def replace(self, *, roles: Any = None, naming: Any = None) -> Recipe:
        """A recipe with some roles' initializers or regexes replaced (new roles go first, before every other).

        Args:
          roles: role -> initializer for roles to change or add.
          naming: role -> regex(es) for roles to change or add.

        Returns:
          A new :class:`Recipe` (this one is unchanged); a role added needs both.
        """
        fn = "recipes.Recipe.replace"
        table = self.table
        named = self.patterns
        new_roles = dict(_roles(fn, {} if roles is None else roles))
        new_naming = dict(_naming(fn, {} if naming is None else naming))
        added = [r for r in {**new_roles, **new_naming} if r not in table]
        for role in added:
            if role not in new_roles or role not in new_naming:
                raise ValueError(
                    validation.error(
                        fn, f"role {role!r} is new to {self.name}: give it both an initializer and a naming."
                    )
                )
        table.update(new_roles)
        order = [*added, *(r for r, _ in self.naming)]
        merged = {role: new_naming.get(role, named.get(role)) for role in order}
        return Recipe(table, merged, name=f"{self.name}+", ties=self.ties)

    def __repr__(self) -> str:
        return f"Recipe(<{self.name}>)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_recipe, (self.roles, self.naming, self.name, self.ties))


def _rebuild_recipe(roles: Any, naming: Any, name: str, ties: Any) -> Recipe:
    return Recipe(dict(roles), dict(naming), name=name, ties=ties)


def with_naming(fn: str, roles: dict[str, Any], naming: dict[str, Any], override: Any) -> dict[str, Any]:
    """``naming`` with ``override``'s roles replaced (a named recipe's ``naming=`` argument); unknown roles refused."""
    if override is None:
        return naming
    given = dict(_naming(fn, override))
    unknown = [r for r in given if r not in roles]
    if unknown:
        raise ValueError(
            validation.error(fn, f"`naming` names roles {unknown} the recipe lacks; its roles are {sorted(roles)}.")
        )
    return {role: given.get(role, patterns) for role, patterns in naming.items()}


def recipe_name(fn: str, **hyper: Any) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in hyper.items())
    return f"{fn}({shown})"


# ---------------------------------------------------------------------------
# A state dict with its ties


def _shared_with(path: str, leaf: Leaf) -> int:
    """The number of leading characters ``path`` and ``leaf``'s path share."""
    n = 0
    for x, y in zip(path, leaf.path, strict=False):
        if x != y:
            break
        n += 1
    return n


def _check_recipe(fn: str, recipe: Any) -> Recipe:
    if not isinstance(recipe, Recipe):
        raise TypeError(validation.error(fn, f"`recipe` must be a jinit.recipes.Recipe; got {recipe!r}."))
    return recipe


def _canonical(x: Any) -> Any:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        dtype = x.dtype
        if not jax.dtypes.issubdtype(dtype, jax.dtypes.extended):
            dtype = jax.dtypes.canonicalize_dtype(dtype)
        return jax.ShapeDtypeStruct(tuple(x.shape), dtype, sharding=getattr(x, "sharding", None))
    return x


def init_state_dict(recipe: Recipe, abstract_state_dict: T, key: jax.Array, *, shardings: Any = None) -> T:
    """Materialises a state dict with a recipe, giving tied tensors one array.

    Every leaf gets what :func:`jinit.tree.materialize` gives it (the same
    values for the same path and key), except a leaf of a tie's follower
    role (e.g. ``lm_head.weight``) when a leaf of the source role
    (``wte.weight``) is present: it is not drawn, and holds the source's
    array itself, as transformers ties them. When several source leaves
    exist, the one whose path shares the longest prefix with the follower's
    is used. Dtypes are JAX's canonical ones (an int64 buffer becomes int32
    unless x64 is on; transformers' ``num_batches_tracked`` holds 0 either way).

    Args:
      recipe: a :class:`Recipe`, e.g. ``jinit.recipes.huggingface(model.config.to_dict())``.
      abstract_state_dict: a flat dict of dotted names (a torch
        ``state_dict()``'s keys) or the same nested by the dots, whose leaves
        are ``jax.ShapeDtypeStruct`` (or arrays: their shape and dtype are used).
      key: the root PRNG key.
      shardings: as for :func:`jinit.tree.materialize`.

    Returns:
      The same structure with arrays.

    Raises:
      ValueError: a leaf no role claims, or a follower whose shape or dtype
        differs from its source's.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit.recipes
      >>> sd = {
      ...     "transformer.wte.weight": jax.ShapeDtypeStruct((100, 8), jnp.float32),
      ...     "lm_head.weight": jax.ShapeDtypeStruct((100, 8), jnp.float32),
      ... }
      >>> out = jinit.recipes.init_state_dict(jinit.recipes.gpt2(n_layer=2), sd, jax.random.key(0))
      >>> out["lm_head.weight"] is out["transformer.wte.weight"]
      True
    """
    fn = "recipes.init_state_dict"
    recipe = _check_recipe(fn, recipe)
    key = validation.key(fn, key)
    refuse_flax(fn, abstract_state_dict)
    canonical = jax.tree_util.tree_map(_canonical, abstract_state_dict)
    flat, treedef = jax.tree_util.tree_flatten(canonical)
    _, _, leaves = flatten(canonical, PLAIN)
    roles = [recipe.role_of(leaf.path) for leaf in leaves]
    follow: dict[int, int] = {}  # follower leaf index -> source leaf index
    for follower_role, source_role in recipe.ties:
        sources = [leaf for leaf, role in zip(leaves, roles, strict=True) if role == source_role]
        if not sources:
            continue
        for leaf, role in zip(leaves, roles, strict=True):
            if role != follower_role:
                continue
            source = max(sources, key=functools.partial(_shared_with, leaf.path))
            if source.shape != leaf.shape or source.dtype != leaf.dtype:
                raise ValueError(
                    validation.error(
                        fn,
                        f"{leaf.path!r} is tied to {source.path!r} by {recipe.name}, but their shapes or dtypes "
                        f"differ: {leaf.shape} {leaf.dtype} vs {source.shape} {source.dtype}.",
                    )
                )
            follow[leaf.index] = source.index
    drawn_tree = jax.tree_util.tree_unflatten(treedef, [None if i in follow else x for i, x in enumerate(flat)])
    drawn = materialize_tree(fn, drawn_tree, recipe, key, shardings)
    values = jax.tree_util.tree_leaves(drawn, is_leaf=lambda x: x is None)
    for i, j in follow.items():
        values[i] = values[j]
    return jax.tree_util.tree_unflatten(treedef, values)
