"""Every public scheme, with the shapes its law is checked on.

``jinit list``, ``jinit check`` and the generic tests (protocol, law, errors)
iterate over this table, so a scheme added here is covered everywhere.
Each entry has at least three law cases: a dense kernel, a conv kernel and a
stacked kernel (with ``batch_axis`` where the scheme has one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jinit._src.basic as basic
import jinit._src.constant as constant
import jinit._src.orthogonal as orthogonal
import jinit._src.stacked as stacked
import jinit._src.variance_scaling as vs
from jinit._src.types import Initializer

DENSE = (256, 512)
CONV = (3, 3, 64, 128)
STACK = (4, 128, 256)


@dataclasses.dataclass(frozen=True)
class Case:
    init: Initializer
    shape: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Entry:
    """A public scheme: its dotted name under ``jinit``, a default instance, law cases."""

    name: str
    family: str
    make: Callable[[], Initializer]
    cases: Callable[[], tuple[Case, ...]]
    #: whether the scheme defines complex dtypes
    complex: bool = False
    #: whether the values depend on the key
    random: bool = True
    #: the smallest rank the scheme accepts (protocol tests use a shape of this rank)
    min_rank: int = 2


def _vs_cases(factory: Callable[..., Initializer]) -> Callable[[], tuple[Case, ...]]:
    return lambda: (
        Case(factory(), DENSE),
        Case(factory(), CONV),
        Case(factory(batch_axis=0), STACK),
    )


def _same_cases(make: Callable[[], Initializer]) -> Callable[[], tuple[Case, ...]]:
    return lambda: (Case(make(), DENSE), Case(make(), CONV), Case(make(), STACK))


def _entries_core() -> list[Entry]:
    out = [
        Entry(name, "variance_scaling", getattr(vs, name), _vs_cases(getattr(vs, name)), complex=True)
        for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal")
    ]
    out.append(
        Entry(
            "variance_scaling",
            "variance_scaling",
            lambda: vs.variance_scaling(0.5, "fan_geo_avg", "normal"),
            lambda: (
                Case(vs.variance_scaling(0.5, "fan_geo_avg", "normal"), DENSE),
                Case(vs.variance_scaling(3.0, "fan_out", "uniform"), CONV),
                Case(vs.variance_scaling(1.5, "fan_avg", "truncated_normal", batch_axis=0), STACK),
            ),
            complex=True,
        )
    )
    out += [
        Entry("uniform", "fixed", lambda: basic.uniform(0.1), _same_cases(lambda: basic.uniform(0.1)), min_rank=0),
        Entry(
            "normal",
            "fixed",
            lambda: basic.normal(0.1),
            _same_cases(lambda: basic.normal(0.1)),
            complex=True,
            min_rank=0,
        ),
        Entry(
            "truncated_normal",
            "fixed",
            lambda: basic.truncated_normal(0.1),
            lambda: (
                Case(basic.truncated_normal(0.1), DENSE),
                Case(basic.truncated_normal(0.5, lower=-1.0, upper=3.0), CONV),
                Case(basic.truncated_normal(2.0), STACK),
            ),
            min_rank=0,
        ),
        Entry(
            "zeros",
            "constant",
            lambda: constant.zeros,
            _same_cases(lambda: constant.zeros),
            complex=True,
            random=False,
            min_rank=0,
        ),
        Entry(
            "ones",
            "constant",
            lambda: constant.ones,
            _same_cases(lambda: constant.ones),
            complex=True,
            random=False,
            min_rank=0,
        ),
        Entry(
            "constant",
            "constant",
            lambda: constant.constant(-0.5),
            _same_cases(lambda: constant.constant(-0.5)),
            complex=True,
            random=False,
            min_rank=0,
        ),
        Entry(
            "orthogonal",
            "orthogonal",
            orthogonal.orthogonal,
            lambda: (
                Case(orthogonal.orthogonal(), DENSE),
                Case(orthogonal.orthogonal(scale=2.0), CONV),
                Case(orthogonal.orthogonal(batch_axis=0), STACK),
            ),
            complex=True,
        ),
        Entry(
            "delta_orthogonal",
            "orthogonal",
            orthogonal.delta_orthogonal,
            lambda: (
                Case(orthogonal.delta_orthogonal(), (3, 128, 256)),
                Case(orthogonal.delta_orthogonal(), CONV),
                Case(orthogonal.delta_orthogonal(scale=0.5), (3, 3, 3, 32, 64)),
            ),
            min_rank=3,
        ),
        Entry("eye", "orthogonal", orthogonal.eye, _same_cases(orthogonal.eye), random=False),
        Entry(
            "stacked",
            "stacked",
            lambda: stacked.stacked(vs.he_normal(), 4),
            lambda: (
                Case(stacked.stacked(vs.he_normal(), 4), (4, 256, 128)),
                Case(stacked.stacked(vs.glorot_uniform(), 4), (4, 3, 3, 32, 64)),
                Case(stacked.stacked(orthogonal.orthogonal(), 4), STACK),
            ),
            min_rank=1,
        ),
    ]
    return out


def _entries_torch() -> list[Entry]:
    # --- jinit.torch entries (torch helper) ---
    return []


def _entries_modern() -> list[Entry]:
    # --- modern schemes (issue 5) ---
    return []


def entries() -> list[Entry]:
    """Every public scheme, in display order."""
    return _entries_core() + _entries_torch() + _entries_modern()


def get(name: str) -> Entry:
    for e in entries():
        if e.name == name:
            return e
    known = ", ".join(e.name for e in entries())
    raise ValueError(f"jinit: unknown scheme {name!r}; known: {known}.")
