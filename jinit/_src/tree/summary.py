"""``summary`` and ``compare``: what rules promise each leaf and what the leaves hold, as tables.

``summary(tree, rules)`` lists every array leaf with the rule that matches it,
the law that rule's initializer states for the leaf's shape (mean and std
from ``moments``) and the leaf's measured mean and std (population std,
ddof 0). With ``key`` the leaves are first drawn as ``reinit`` draws them.

``compare(tree_a, tree_b)`` puts two trees side by side path by path (e.g. a
converted torch state_dict and Flax params): mean and std of each, and the
two-sample Kolmogorov-Smirnov statistic ``D = sup |F_a - F_b|`` with its
asymptotic p-value ``Q(sqrt(n m / (n + m)) D)``, where
``Q(x) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2)`` is the Kolmogorov
distribution's survival function (accurate once n m / (n + m) is in the
tens; computed in numpy).

References:
  Kolmogorov (1933); Smirnov (1948), Table for estimating the goodness of
  fit of empirical distributions. Marsaglia, Tsang & Wang (2003),
  Evaluating Kolmogorov's distribution, J. Stat. Softw. 8(18).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import validation
from jinit._src.tree.apply import Select, claim, reinit_tree
from jinit._src.tree.paths import PLAIN, Boxes, Leaf, flatten, listing, refuse_flax
from jinit._src.tree.rules import Rules, parse_rules

#: Entries per side ``compare`` ranks at most (evenly spaced over the flattened leaf beyond that).
MAX_SAMPLES = 1_000_000
#: Terms of the Kolmogorov series: exp(-2 k^2 x^2) < 1e-300 from k = 100 at x = 1 (the switch-over point).
KOLMOGOROV_TERMS = 100


@dataclasses.dataclass(frozen=True)
class Table:
    """Rows of a fixed column set: ``str(table)`` is a text table, ``to_json()`` a JSON list of objects."""

    columns: ClassVar[tuple[str, ...]] = ()
    rows: tuple[tuple[Any, ...], ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.to_dicts())

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per row, keyed by :attr:`columns` (shapes as lists, missing values None)."""
        return [
            {c: list(v) if isinstance(v, tuple) else v for c, v in zip(self.columns, row, strict=True)}
            for row in self.rows
        ]

    def to_json(self, **kwargs: Any) -> str:
        """The rows as a JSON list of objects (``json.dumps`` keyword arguments pass through)."""
        return json.dumps(self.to_dicts(), **kwargs)

    def __str__(self) -> str:
        cells = [[_cell(v) for v in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        numeric = [
            all(isinstance(row[i], float | int) or row[i] is None for row in self.rows) for i in range(len(widths))
        ]

        def line(values: Sequence[str]) -> str:
            parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
            return "  ".join(parts).rstrip()

        out = [line(self.columns), line(["-" * w for w in widths])]
        out.extend(line(r) for r in cells)
        return "\n".join(out)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@dataclasses.dataclass(frozen=True)
class Summary(Table):
    """One row per array leaf: where it is, which rule matched, the law promised, what it holds.

    Columns: ``path``, ``shape``, ``dtype``, ``rule`` (the regex, None if no
    rule matches), ``init`` (the initializer's name), ``expected_mean``,
    ``expected_std`` (from its ``moments``; None without a law),
    ``mean``, ``std`` (measured; None for abstract or non-numeric leaves).
    """

    columns: ClassVar[tuple[str, ...]] = (
        "path",
        "shape",
        "dtype",
        "rule",
        "init",
        "expected_mean",
        "expected_std",
        "mean",
        "std",
    )


@dataclasses.dataclass(frozen=True)
class Comparison(Table):
    """One row per path present in both trees, and the paths found in one only.

    Columns: ``path``, ``shape_a``, ``shape_b``, ``mean_a``, ``mean_b``,
    ``std_a``, ``std_b``, ``ks`` (the two-sample Kolmogorov-Smirnov
    statistic), ``p_value`` (its asymptotic p-value); statistics are None
    for leaves that are not real numbers.
    """

    columns: ClassVar[tuple[str, ...]] = (
        "path",
        "shape_a",
        "shape_b",
        "mean_a",
        "mean_b",
        "std_a",
        "std_b",
        "ks",
        "p_value",
    )
    only_a: tuple[str, ...] = ()
    only_b: tuple[str, ...] = ()


def _init_name(init: Any) -> str:
    name = getattr(init, "name", None)
    if isinstance(name, str) and not name.startswith("tree."):
        return name.removeprefix("jinit.")
    inner = getattr(init, "init", None)
    if inner is not None:
        return f"{type(init).__name__}({_init_name(inner)})"
    return getattr(init, "__name__", type(init).__name__)


def _numeric(dtype: Any) -> bool:
    try:
        return bool(np.issubdtype(np.dtype(dtype), np.number) or np.dtype(dtype) == np.bool_)
    except TypeError:
        return False  # extended dtypes (PRNG keys)


def _measured(value: Any) -> tuple[float | None, float | None]:
    """(mean, population std) of a concrete leaf; the real part's mean for complex leaves."""
    if isinstance(value, jax.ShapeDtypeStruct) or not _numeric(value.dtype) or math.prod(value.shape) == 0:
        return None, None
    x = jnp.asarray(value)
    wide = jnp.complex64 if jnp.iscomplexobj(x) else jnp.float32
    x = x.astype(wide)
    mean = jnp.mean(x)
    std = jnp.sqrt(jnp.mean(jnp.abs(x - mean) ** 2))
    return float(jnp.real(mean)), float(std)


def summary_tree(
    name: str,
    tree: Any,
    rules: Rules,
    key: jax.Array | None,
    *,
    boxes: Boxes = PLAIN,
    select: Select = None,
    hint: str = "",
) -> Summary:
    if key is not None:
        tree = reinit_tree(name, tree, rules, key, boxes=boxes, select=select, hint=hint)
    _, _, leaves = flatten(tree, boxes)
    candidates = [leaf for leaf in leaves if select is None or select(leaf)]
    claims = claim(name, rules, leaves, candidates, hint)
    rows = []
    for leaf in leaves:
        regex, init = claims.get(leaf.index, (None, None))
        law = None if init is None else _law(name, regex, init, leaf)
        mean, std = _measured(leaf.value)
        rows.append(
            (
                leaf.path,
                leaf.shape,
                getattr(leaf.dtype, "name", str(leaf.dtype)),
                regex,
                None if init is None else _init_name(init),
                None if law is None else float(law.mean),
                None if law is None else float(law.std),
                mean,
                std,
            )
        )
    return Summary(tuple(rows))


def _law(name: str, regex: str | None, init: Any, leaf: Leaf) -> Any:
    moments = getattr(init, "moments", None)
    if moments is None:
        return None
    try:
        return moments(leaf.shape, leaf.dtype)
    except (ValueError, TypeError) as err:
        cls = ValueError if isinstance(err, ValueError) else TypeError
        raise cls(
            validation.error(
                name, f"rule {regex!r} states no law for {leaf.path!r} (shape {leaf.shape}, dtype {leaf.dtype}): {err}"
            )
        ) from err


def summary(tree: Any, rules: Any, *, key: jax.Array | None = None) -> Summary:
    """The law each leaf's rule promises beside what the leaf holds, as a table.

    One row per array leaf, in tree order: ``path``, ``shape``, ``dtype``,
    ``rule`` (the regex that matched, first match wins), ``init`` (the
    initializer's name), ``expected_mean``, ``expected_std`` (from the
    initializer's ``moments`` for the leaf's shape and dtype) and the
    measured ``mean``, ``std`` (population std). Leaves no rule matches have
    no rule or law; abstract leaves (``ShapeDtypeStruct``) are not measured.
    With ``key``, the matched leaves are first redrawn exactly as
    :func:`jinit.tree.reinit` draws them (abstract ones too), so the table
    checks a rule set against its own draws.

    Args:
      tree: any pytree of arrays or ``jax.ShapeDtypeStruct``.
      rules: as for :func:`jinit.tree.reinit`.
      key: None to measure the tree as it is, or a root key to measure
        ``reinit(tree, rules, key)``.

    Returns:
      A :class:`jinit.tree.Summary`: ``str()`` gives the text table,
      ``.to_json()`` the rows as JSON objects, ``.to_dicts()`` as dicts.

    Raises:
      ValueError: as :func:`jinit.tree.reinit` (a rule that matches nothing,
        an initializer that refuses a leaf).
      TypeError: malformed rules or key, or a flax object in the tree.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit, jinit.tree
      >>> abstract = {"w": jax.ShapeDtypeStruct((256, 128), jnp.float32)}
      >>> table = jinit.tree.summary(abstract, {"w": jinit.he_normal()}, key=jax.random.key(0))
      >>> row = table.to_dicts()[0]
      >>> round(row["expected_std"] ** 2 * 256, 6), abs(row["std"] / row["expected_std"] - 1) < 0.02
      (2.0, True)
    """
    name = "tree.summary"
    parsed = parse_rules(name, rules)
    if key is not None:
        key = validation.key(name, key)
    refuse_flax(name, tree)
    return summary_tree(name, tree, parsed, key)


# ---------------------------------------------------------------------------
# Two-sample comparison


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for Kolmogorov's limiting distribution of sqrt(n) D.

    For x >= 1 the alternating series ``2 sum (-1)^(k-1) exp(-2 k^2 x^2)``;
    below, ``1 - sqrt(2 pi) / x sum exp(-(2k-1)^2 pi^2 / (8 x^2))`` (Jacobi's
    theta form of the same function), which converges fast there.
    """
    if x <= 0.0:
        return 1.0
    k = np.arange(1, KOLMOGOROV_TERMS + 1, dtype=np.float64)
    if x >= 1.0:
        terms = np.exp(-2.0 * k**2 * x**2)
        signs = np.where(k % 2 == 1, 1.0, -1.0)
        return float(min(1.0, max(0.0, 2.0 * np.sum(signs * terms))))
    cdf = math.sqrt(2.0 * math.pi) / x * np.sum(np.exp(-((2.0 * k - 1.0) ** 2) * math.pi**2 / (8.0 * x**2)))
    return float(min(1.0, max(0.0, 1.0 - cdf)))


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(D, p): the two-sample Kolmogorov-Smirnov statistic and its asymptotic two-sided p-value."""
    a = np.sort(np.asarray(a, dtype=np.float64).ravel())
    b = np.sort(np.asarray(b, dtype=np.float64).ravel())
    n, m = a.size, b.size
    both = np.concatenate([a, b])
    # Empirical CDFs at every sample point, ties counted on both sides ('right').
    d = float(np.max(np.abs(np.searchsorted(a, both, side="right") / n - np.searchsorted(b, both, side="right") / m)))
    return d, kolmogorov_sf(math.sqrt(n * m / (n + m)) * d)


def _sample(value: Any, max_samples: int) -> np.ndarray:
    x = jnp.ravel(jnp.asarray(value))
    if x.size > max_samples:
        x = x[np.linspace(0, x.size - 1, max_samples).astype(np.int64)]
    return np.asarray(x, dtype=np.float64)


def _real(leaf: Leaf) -> bool:
    if not _numeric(leaf.dtype) or math.prod(leaf.shape) == 0:
        return False
    return not np.issubdtype(np.dtype(leaf.dtype), np.complexfloating)


def compare_trees(name: str, tree_a: Any, tree_b: Any, max_samples: int, boxes: Boxes = PLAIN) -> Comparison:
    _, _, leaves_a = flatten(tree_a, boxes)
    _, _, leaves_b = flatten(tree_b, boxes)
    for which, leaves in (("tree_a", leaves_a), ("tree_b", leaves_b)):
        for leaf in leaves:
            if leaf.abstract:
                raise ValueError(
                    validation.error(name, f"`{which}` must hold arrays; got a ShapeDtypeStruct at {leaf.path!r}.")
                )
    by_b = {leaf.path: leaf for leaf in leaves_b}
    common = [leaf for leaf in leaves_a if leaf.path in by_b]
    if not common:
        raise ValueError(
            validation.error(
                name,
                f"the trees share no path; paths of tree_a: {listing([x.path for x in leaves_a])}, "
                f"of tree_b: {listing([x.path for x in leaves_b])}.",
            )
        )
    rows = []
    for a in common:
        b = by_b[a.path]
        mean_a, std_a = _measured(a.value)
        mean_b, std_b = _measured(b.value)
        d: float | None = None
        p: float | None = None
        if _real(a) and _real(b):
            d, p = ks_2samp(_sample(a.value, max_samples), _sample(b.value, max_samples))
        rows.append((a.path, a.shape, b.shape, mean_a, mean_b, std_a, std_b, d, p))
    paths_a = {leaf.path for leaf in leaves_a}
    return Comparison(
        tuple(rows),
        only_a=tuple(leaf.path for leaf in leaves_a if leaf.path not in by_b),
        only_b=tuple(leaf.path for leaf in leaves_b if leaf.path not in paths_a),
    )


def check_max_samples(name: str, max_samples: Any) -> int:
    if isinstance(max_samples, bool) or not isinstance(max_samples, int | np.integer):
        raise TypeError(validation.error(name, f"`max_samples` must be an int; got max_samples={max_samples!r}."))
    if max_samples < 1:
        raise ValueError(validation.error(name, f"`max_samples` must be positive; got max_samples={max_samples!r}."))
    return int(max_samples)


def compare(tree_a: Any, tree_b: Any, *, max_samples: int = MAX_SAMPLES) -> Comparison:
    """Two trees side by side, path by path: shapes, mean, std and a two-sample KS test.

    For every path present in both trees (e.g. a torch ``state_dict``
    converted to a nested dict and Flax params, or two initialisations of
    one model): both shapes (which may differ, e.g. a transposed layout: the
    test compares the values' distributions), each side's mean and
    population std, and the two-sample Kolmogorov-Smirnov statistic ``ks``
    with its asymptotic p-value (numpy only). A small p-value says the two
    leaves were not drawn from one law. Paths in one tree only are listed in
    ``only_a`` and ``only_b``.

    Args:
      tree_a: a pytree of arrays.
      tree_b: a pytree of arrays.
      max_samples: at most this many entries of a leaf enter the test
        (evenly spaced over the flattened leaf beyond that).

    Returns:
      A :class:`jinit.tree.Comparison` (``str()``: a text table;
      ``.to_json()``; ``.only_a``, ``.only_b``).

    Raises:
      ValueError: the trees share no path, or a leaf is abstract.
      TypeError: a flax object in a tree, or a bad ``max_samples``.

    Examples:
      >>> import jax, jinit, jinit.tree
      >>> a = {"w": jinit.normal(1.0)(jax.random.key(0), (100, 100))}
      >>> b = {"w": jinit.normal(1.0)(jax.random.key(1), (100, 100))}
      >>> row = jinit.tree.compare(a, b).to_dicts()[0]
      >>> row["p_value"] > 1e-3  # one law: no evidence against it
      True
    """
    name = "tree.compare"
    max_samples = check_max_samples(name, max_samples)
    refuse_flax(name, tree_a)
    refuse_flax(name, tree_b)
    return compare_trees(name, tree_a, tree_b, max_samples)
