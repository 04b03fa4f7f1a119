"""Rules: ordered ``(regex, value)`` entries matched against leaf paths, first match wins.

A value is an initializer, or a :class:`ContextRule`: a callable
``(match, leaf, siblings) -> initializer`` that picks the initializer from the
leaf's shape and its siblings' shapes (e.g. a bias whose law depends on the
fan-in of the kernel beside it). Either way the leaf's values are
``init(fold_in(key, crc32(path)), shape, dtype)``: the key is a function of
the path alone.

:class:`Rules` is the frozen, hashable, picklable form (a recipe): entries may
be marked optional, so that a rule set covering roles a model may lack (an
embedding, a norm) is no error where the role is absent.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax

from jinit._src.core import validation
from jinit._src.tree.paths import Leaf, listing


class ContextRule:
    """A rule value that chooses the initializer per leaf: ``(match, leaf, siblings) -> initializer``.

    ``match`` is the ``re.Match`` of the rule's regex on the leaf's path,
    ``leaf`` its ``jax.ShapeDtypeStruct`` and ``siblings`` a read-only
    mapping from name to ``jax.ShapeDtypeStruct`` of the array leaves under
    the same parent path (the leaf itself included): ``{"kernel": ...,
    "bias": ...}`` for a dense layer. Subclass it (a frozen dataclass stays
    hashable and picklable) or wrap a function with :func:`context_rule`.
    """

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class FunctionRule(ContextRule):
    """A function ``(match, leaf, siblings) -> initializer`` used as a context rule."""

    fn: Callable[[re.Match[str], jax.ShapeDtypeStruct, Mapping[str, Any]], Any]

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        return self.fn(match, leaf, siblings)


def context_rule(fn: Callable[[re.Match[str], jax.ShapeDtypeStruct, Mapping[str, Any]], Any]) -> ContextRule:
    """Marks ``fn(match, leaf, siblings) -> initializer`` as a rule value that depends on the leaf's context.

    Without the mark a callable is taken for an initializer (both are
    callables with three positional arguments).

    Args:
      fn: called once per matched leaf with the ``re.Match`` of the rule on
        the leaf's path, the leaf's ``jax.ShapeDtypeStruct``, and a mapping
        from name to ``jax.ShapeDtypeStruct`` of the array leaves under the
        same parent (the leaf included). It returns the initializer to draw
        the leaf with.

    Returns:
      A :class:`ContextRule`, accepted as a rule value wherever rules are.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit, jinit.torch, jinit.tree
      >>> bias = jinit.tree.context_rule(lambda m, leaf, sib: jinit.torch.linear_bias(sib["kernel"].shape[0]))
      >>> params = {"dense": {"kernel": jnp.zeros((16, 4)), "bias": jnp.zeros((4,))}}
      >>> new = jinit.tree.reinit(params, {r".*bias": bias}, jax.random.key(0))
      >>> bool(jnp.all(jnp.abs(new["dense"]["bias"]) <= 0.25))  # U(-1/4, 1/4): fan_in 16
      True
    """
    if not callable(fn):
        raise TypeError(validation.error("tree.context_rule", f"`fn` must be callable; got {fn!r}."))
    return FunctionRule(fn)


def _pattern(name: str, regex: Any) -> re.Pattern[str]:
    if isinstance(regex, re.Pattern):
        return regex
    if isinstance(regex, str):
        try:
            return re.compile(regex)
        except re.error as err:
            raise ValueError(validation.error(name, f"rule {regex!r} is not a valid regex: {err}.")) from None
    raise TypeError(validation.error(name, f"a rule's regex must be a str or re.Pattern; got {regex!r}."))


def _check_value(name: str, text: str, value: Any) -> None:
    if not callable(value):
        raise TypeError(validation.error(name, f"rule {text!r} needs an initializer (a callable); got {value!r}."))


@dataclasses.dataclass(frozen=True, init=False)
class Rule:
    """One entry: a regex fully matched against leaf paths, its value, and whether it may match nothing.

    Args:
      regex: a ``str`` or compiled ``re.Pattern``, matched with ``fullmatch``.
      value: an initializer or a :class:`ContextRule`.
      optional: if True, matching no leaf is not an error.
    """

    pattern: re.Pattern[str]
    value: Any
    optional: bool

    def __init__(self, regex: str | re.Pattern[str], value: Any, optional: bool = False) -> None:
        self._build("tree.Rule", regex, value, optional)

    def _build(self, name: str, regex: Any, value: Any, optional: Any) -> None:
        pattern = _pattern(name, regex)
        _check_value(name, pattern.pattern, value)
        if not isinstance(optional, bool):
            raise TypeError(validation.error(name, f"`optional` must be a bool; got optional={optional!r}."))
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "optional", optional)

    @classmethod
    def checked(cls, name: str, regex: Any, value: Any, optional: bool = False) -> Rule:
        """A rule validated with the caller's public name in its errors."""
        rule = cls.__new__(cls)
        rule._build(name, regex, value, optional)
        return rule

    @property
    def regex(self) -> str:
        return self.pattern.pattern

    @property
    def is_context(self) -> bool:
        return isinstance(self.value, ContextRule)

    def __repr__(self) -> str:
        extra = ", optional=True" if self.optional else ""
        return f"Rule({self.regex!r}, {self.value!r}{extra})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rule, (self.pattern, self.value, self.optional))


def _entries(name: str, rules: Any) -> tuple[Rule, ...]:
    if isinstance(rules, Rules):
        return rules.entries
    if isinstance(rules, Rule):
        return (rules,)
    if isinstance(rules, Mapping):
        pairs: list[Any] = list(rules.items())
    elif isinstance(rules, Sequence) and not isinstance(rules, str | bytes):
        pairs = list(rules)
    else:
        raise TypeError(
            validation.error(
                name, f"`rules` must be a sequence of (regex, initializer) pairs or a dict; got {rules!r}."
            )
        )
    out: list[Rule] = []
    for pair in pairs:
        if isinstance(pair, Rule):
            out.append(pair)
            continue
        if isinstance(pair, Rules):
            out.extend(pair.entries)
            continue
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(validation.error(name, f"each rule must be a (regex, initializer) pair; got {pair!r}."))
        out.append(Rule.checked(name, pair[0], pair[1]))
    return tuple(out)


@dataclasses.dataclass(frozen=True, init=False)
class Rules:
    """An ordered, frozen set of rules (a recipe), accepted wherever rules are.

    Args:
      entries: ``(regex, value)`` pairs, a dict (in its order), :class:`Rule`
        objects (for ``optional=True``) or other ``Rules``, in priority order.
      name: a label shown in its repr (e.g. ``"torch_defaults(layout='flax')"``).

    ``a + b`` is ``a``'s entries then ``b``'s (``b`` may be any rules form), so
    rules put before a recipe take precedence over it.

    Examples:
      >>> import jinit, jinit.tree
      >>> rules = jinit.tree.Rules({r".*kernel": jinit.he_normal()}) + [(r".*bias", jinit.zeros)]
      >>> [rule.regex for rule in rules]
      ['.*kernel', '.*bias']
    """

    entries: tuple[Rule, ...]
    name: str | None

    def __init__(self, entries: Any = (), *, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(validation.error("tree.Rules", f"`name` must be a str or None; got name={name!r}."))
        object.__setattr__(self, "entries", () if _is_empty(entries) else _entries("tree.Rules", entries))
        object.__setattr__(self, "name", name)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __add__(self, other: Any) -> Rules:
        return Rules(self.entries + _entries("tree.Rules", other))

    def __radd__(self, other: Any) -> Rules:
        return Rules(_entries("tree.Rules", other) + self.entries)

    def __repr__(self) -> str:
        if self.name is not None:
            return f"Rules(<{self.name}>)"
        return f"Rules({list(self.entries)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_rules, (self.entries, self.name))


def _rebuild_rules(entries: tuple[Rule, ...], name: str | None) -> Rules:
    return Rules(entries, name=name)


def _is_empty(entries: Any) -> bool:
    return isinstance(entries, tuple | list | dict) and len(entries) == 0


def parse_rules(name: str, rules: Any) -> Rules:
    """Rules from a :class:`Rules`, a mapping (in its order) or a sequence of ``(regex, value)`` pairs."""
    parsed = Rules(_entries(name, rules)) if not isinstance(rules, Rules) else rules
    if not parsed.entries:
        raise ValueError(validation.error(name, "`rules` must hold at least one (regex, initializer) pair; got none."))
    return parsed


# ---------------------------------------------------------------------------
# Matching


@dataclasses.dataclass(frozen=True)
class Claim:
    """The first rule whose regex fully matches a leaf's path, and that match."""

    rule: Rule
    match: re.Match[str]


def assign(name: str, rules: Rules, leaves: Sequence[Leaf], hint: str = "") -> dict[int, Claim]:
    """Leaf index -> the first rule whose regex fully matches its path.

    Raises ValueError for a rule that is not optional and whose regex fully
    matches no path (a rule whose matches all go to earlier rules is allowed:
    a catch-all such as ``".*"`` need not find leftovers in every model).
    """
    claimed: dict[int, Claim] = {}
    matched = [False] * len(rules.entries)
    for leaf in leaves:
        for j, rule in enumerate(rules.entries):
            m = rule.pattern.fullmatch(leaf.path)
            if m is not None:
                matched[j] = True
                if leaf.index not in claimed:
                    claimed[leaf.index] = Claim(rule, m)
    paths = [leaf.path for leaf in leaves]
    for j, rule in enumerate(rules.entries):
        if not matched[j] and not rule.optional:
            raise ValueError(
                validation.error(
                    name,
                    f"rule {rule.regex!r} matches no leaf (full match on '/'-joined paths{hint}); "
                    f"paths: {listing(paths)}.",
                )
            )
    return claimed


def resolve(name: str, claim: Claim, leaf: Leaf, siblings: Mapping[str, jax.ShapeDtypeStruct]) -> Any:
    """The initializer a claim gives ``leaf``: the rule's value, or what its context rule returns."""
    value = claim.rule.value
    if not isinstance(value, ContextRule):
        return value
    where = f"rule {claim.rule.regex!r} on {leaf.path!r} (shape {leaf.shape})"
    try:
        init = value(claim.match, leaf.struct, siblings)
    except Exception as err:  # a user's function: any failure is reported with the rule and the path
        cls = TypeError if isinstance(err, TypeError) else ValueError
        detail = str(err) if isinstance(err, ValueError | TypeError) else f"{type(err).__name__}: {err}"
        raise cls(validation.error(name, f"the context rule of {where} failed: {detail}")) from err
    if not callable(init):
        raise TypeError(
            validation.error(name, f"the context rule of {where} must return an initializer; got {init!r}.")
        )
    return init
