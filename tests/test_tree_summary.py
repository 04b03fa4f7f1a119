"""jinit.tree.summary and jinit.tree.compare: stable columns, laws from `moments`, KS computed in numpy.

The KS statistic is checked against scipy's two-sample statistic and its
p-value against scipy's Kolmogorov distribution (an independent
implementation); the measured statistics against numpy's on the same
arrays, and against the promised law within sampling tolerance.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import jinit
import jinit.torch as jt
import jinit.tree
from jinit._src.tree.summary import kolmogorov_sf, ks_2samp

KEY = jax.random.key(21)
N_SIGMA = 6.0
# KS p-value below which two samples are called different: a false alarm once in 10^6 seeds.
KS_ALPHA = 1e-6
# float32 accumulation of a mean or a variance over n < 2^20 terms (pairwise): a few hundred ulps at most.
F32_SUM_RTOL = 1e-5

SUMMARY_COLUMNS = ("path", "shape", "dtype", "rule", "init", "expected_mean", "expected_std", "mean", "std")
COMPARE_COLUMNS = ("path", "shape_a", "shape_b", "mean_a", "mean_b", "std_a", "std_b", "ks", "p_value")


def params() -> dict[str, Any]:
    return {
        "dense": {"kernel": jnp.full((256, 128), 0.5), "bias": jnp.zeros((128,))},
        "norm": {"scale": jnp.ones((128,))},
        "step": jnp.zeros((), jnp.int32),
    }


def test_summary_has_a_stable_column_set_and_a_json_form() -> None:
    table = jinit.tree.summary(params(), {r".*kernel": jinit.he_normal(), r".*bias": jinit.zeros})
    assert jinit.tree.Summary.columns == SUMMARY_COLUMNS
    rows = json.loads(table.to_json())
    assert [tuple(r) for r in rows] == [SUMMARY_COLUMNS] * 4
    assert rows == table.to_dicts() == list(table)
    assert [r["path"] for r in rows] == ["dense/bias", "dense/kernel", "norm/scale", "step"]
    lines = str(table).splitlines()
    assert lines[0].split() == list(SUMMARY_COLUMNS) and len(lines) == 2 + 4


def test_summary_rows_give_the_rule_the_law_and_what_the_leaf_holds() -> None:
    table = jinit.tree.summary(params(), {r".*kernel": jinit.he_normal(), r".*bias": jinit.zeros})
    rows = {r["path"]: r for r in table.to_dicts()}
    kernel = rows["dense/kernel"]
    assert kernel["shape"] == [256, 128] and kernel["dtype"] == "float32"
    assert kernel["rule"] == ".*kernel" and kernel["init"] == "he_normal"
    assert kernel["expected_mean"] == 0.0 and kernel["expected_std"] == pytest.approx(math.sqrt(2 / 256), rel=1e-15)
    assert kernel["mean"] == 0.5 and kernel["std"] == 0.0  # what the leaf holds now, not the law
    assert rows["norm/scale"]["rule"] is None and rows["norm/scale"]["expected_std"] is None
    assert rows["norm/scale"]["mean"] == 1.0
    assert rows["step"]["mean"] == 0.0  # integers are measured too
    assert "-" in str(table).splitlines()[4]  # None shows as '-'


def test_summary_with_a_key_measures_the_draws_reinit_gives() -> None:
    rules = {r".*kernel": jinit.he_normal(), r".*bias": jt.linear_bias(256)}
    abstract = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params())
    table = jinit.tree.summary(abstract, rules, key=KEY)
    drawn = jinit.tree.reinit(params(), rules, KEY)
    rows = {r["path"]: r for r in table.to_dicts()}
    for path, x in (("dense/kernel", drawn["dense"]["kernel"]), ("dense/bias", drawn["dense"]["bias"])):
        x64 = np.asarray(x, dtype=np.float64)
        assert rows[path]["std"] == pytest.approx(x64.std(), rel=F32_SUM_RTOL)
        assert rows[path]["mean"] == pytest.approx(x64.mean(), rel=F32_SUM_RTOL, abs=F32_SUM_RTOL * x64.std())
    # The measured std is the promised one within sampling error (normal kurtosis 3, uniform 1.8).
    for path, kurtosis in (("dense/kernel", 3.0), ("dense/bias", 1.8)):
        n = math.prod(rows[path]["shape"])
        ratio = (rows[path]["std"] / rows[path]["expected_std"]) ** 2
        assert abs(ratio - 1) < N_SIGMA * math.sqrt((kurtosis - 1) / n), (path, ratio)
    assert rows["norm/scale"]["mean"] is None  # abstract and matched by no rule: nothing to measure


def test_summary_reports_a_rule_that_states_no_law_for_its_leaf() -> None:
    with pytest.raises(ValueError, match=r"jinit\.tree\.summary: rule '\.\*' states no law for 'dense/bias'"):
        jinit.tree.summary({"dense": {"bias": jnp.zeros((4,))}}, {".*": jinit.he_normal()})


def test_summary_names_context_rules_and_wrappers() -> None:
    table = jinit.tree.summary(
        {"fc": {"weight": jnp.zeros((4, 8)), "bias": jnp.zeros((4,))}}, jinit.tree.torch_defaults(layout="torch")
    )
    assert [r["init"] for r in table] == ["torch.linear_bias", "torch.linear_weight"]
    wrapped = jinit.tree.summary({"w": jnp.zeros((4, 8))}, {"w": jinit.tree.torch_layout(jinit.he_normal())})
    assert [r["init"] for r in wrapped] == ["TorchLayout(he_normal)"]
    assert wrapped.to_dicts()[0]["expected_std"] == pytest.approx(math.sqrt(2 / 8), rel=1e-15)


# ---------------------------------------------------------------------------
# compare


@pytest.mark.parametrize("x", [0.0, 0.05, 0.3, 0.7, 0.99, 1.0, 1.2, 1.8, 2.5, 4.0])
def test_kolmogorov_survival_function_equals_scipys(x: float) -> None:
    # Series truncated far below float64 resolution: agreement to rounding.
    assert kolmogorov_sf(x) == pytest.approx(scipy.stats.kstwobign.sf(x), rel=1e-12, abs=1e-15)


def test_ks_statistic_equals_scipys_and_the_p_value_is_the_asymptotic_one() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=3000), rng.normal(0.1, 1.0, size=2000)
    b[:10] = a[:10]  # ties across the samples
    d, p = ks_2samp(a, b)
    assert d == scipy.stats.ks_2samp(a, b).statistic
    en = 3000 * 2000 / 5000
    assert p == pytest.approx(scipy.stats.kstwobign.sf(math.sqrt(en) * d), rel=1e-12)
    assert ks_2samp(np.zeros(50), np.zeros(70)) == (0.0, 1.0)


def test_compare_tells_one_law_from_another() -> None:
    same_a = {"w": jinit.normal(1.0)(jax.random.key(0), (100, 100)), "b": jnp.zeros((8,))}
    same_b = {"w": jinit.normal(1.0)(jax.random.key(1), (100, 100)), "b": jnp.zeros((8,))}
    other = {"w": jinit.normal(1.2)(jax.random.key(1), (100, 100))}
    rows = {r["path"]: r for r in jinit.tree.compare(same_a, same_b)}
    assert rows["w"]["p_value"] > KS_ALPHA
    assert rows["b"]["ks"] == 0.0 and rows["b"]["p_value"] == 1.0
    assert jinit.tree.compare(same_a, other).to_dicts()[0]["p_value"] < KS_ALPHA


def test_compare_columns_shapes_and_paths_found_in_one_tree_only() -> None:
    a = {"fc": {"weight": jnp.ones((4, 8)), "bias": jnp.zeros((4,))}, "extra": jnp.ones((2,))}
    b = {"fc": {"weight": jnp.ones((8, 4))}, "other": jnp.ones((3,))}  # a transposed layout: compared by value
    table = jinit.tree.compare(a, b)
    assert jinit.tree.Comparison.columns == COMPARE_COLUMNS
    (row,) = json.loads(table.to_json())
    assert tuple(row) == COMPARE_COLUMNS
    assert row["path"] == "fc/weight" and row["shape_a"] == [4, 8] and row["shape_b"] == [8, 4]
    assert row["mean_a"] == row["mean_b"] == 1.0 and row["ks"] == 0.0
    assert table.only_a == ("extra", "fc/bias") and table.only_b == ("other",)
    assert str(table).splitlines()[0].split() == list(COMPARE_COLUMNS)


def test_compare_ranks_at_most_max_samples() -> None:
    x = {"w": jinit.normal(1.0)(KEY, (200, 50))}
    y = {"w": jinit.normal(1.0)(jax.random.fold_in(KEY, 1), (200, 50))}
    full = jinit.tree.compare(x, y).to_dicts()[0]
    assert jinit.tree.compare(x, y, max_samples=10_000).to_dicts()[0] == full
    part = jinit.tree.compare(x, y, max_samples=100).to_dicts()[0]
    # 100 entries a side: the statistic is a multiple of 1/100, and the p-value follows from it.
    assert part["ks"] * 100 == pytest.approx(round(part["ks"] * 100), abs=1e-9)
    assert part["p_value"] == pytest.approx(kolmogorov_sf(math.sqrt(50) * part["ks"]), rel=1e-12)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "error", "message"),
    [
        ({"a": jnp.ones(3)}, {"b": jnp.ones(3)}, {}, ValueError, r"the trees share no path; paths of tree_a: \['a'\]"),
        ({"a": jax.ShapeDtypeStruct((3,), jnp.float32)}, {"a": jnp.ones(3)}, {}, ValueError, r"`tree_a` must hold"),
        ({"a": jnp.ones(3)}, {"a": jnp.ones(3)}, {"max_samples": 0}, ValueError, r"`max_samples` must be positive"),
        ({"a": jnp.ones(3)}, {"a": jnp.ones(3)}, {"max_samples": 1.0}, TypeError, r"`max_samples` must be an int"),
    ],
)
def test_compare_errors(a: Any, b: Any, kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=r"jinit\.tree\.compare: " + message):
        jinit.tree.compare(a, b, **kwargs)


def test_summary_leaf_values_use_the_documented_keys() -> None:
    """summary(key=...) draws reinit's values: the leaf's key is fold_in(key, crc32(path))."""
    table = jinit.tree.summary({"w": jnp.zeros((64, 64))}, {"w": jinit.orthogonal()}, key=KEY)
    w = jinit.orthogonal()(jax.random.fold_in(KEY, zlib.crc32(b"w")), (64, 64))
    assert table.to_dicts()[0]["std"] == pytest.approx(float(np.asarray(w, np.float64).std()), rel=F32_SUM_RTOL)
