"""jinit.tree: rules on the '/'-joined key paths of any pytree, without flax.

Paths, per-path keys and first-match rules as in jinit.flax (the same values
for the same tree), Rules objects (frozen, hashable, picklable, optional
entries), context rules that read a leaf's siblings, and the errors.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import subprocess
import sys
import zlib
from collections.abc import Mapping
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
import jinit.torch as jt
import jinit.tree

KEY = jax.random.key(5)


def expected(init: Any, path: str, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
    """The documented value ``init(fold_in(key, crc32(path)), shape, dtype)``, written out without jinit.tree."""
    return init(jax.random.fold_in(KEY, zlib.crc32(path.encode())), shape, dtype)


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Affine:
    """A pytree with attribute keys (GetAttrKey), as equinox modules have."""

    weight: jax.Array
    bias: jax.Array
    label: str = dataclasses.field(default="affine", metadata={"static": True})


def tree() -> dict[str, Any]:
    return {
        "embed": {"table": jnp.zeros((10, 4))},
        "blocks": [Affine(jnp.zeros((4, 8)), jnp.zeros((8,))), Affine(jnp.zeros((8, 4)), jnp.zeros((4,)))],
        "step": 3,
    }


def test_import_jinit_tree_imports_no_flax() -> None:
    code = "import sys, jinit.tree; assert 'flax' not in sys.modules and 'equinox' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_paths_join_dict_keys_indices_and_attribute_names() -> None:
    rules = {r"blocks/\d+/weight": jinit.he_normal(), r"blocks/1/bias": jinit.ones}
    t = tree()
    new = jinit.tree.reinit(t, rules, KEY)
    chex.assert_trees_all_equal(new["blocks"][0].weight, expected(jinit.he_normal(), "blocks/0/weight", (4, 8)))
    chex.assert_trees_all_equal(new["blocks"][1].weight, expected(jinit.he_normal(), "blocks/1/weight", (8, 4)))
    chex.assert_trees_all_equal(new["blocks"][1].bias, jnp.ones((4,)))
    assert new["blocks"][0].bias is t["blocks"][0].bias
    assert new["step"] == 3 and new["blocks"][0].label == "affine"
    assert type(new["blocks"][0]) is Affine


def test_unmatched_leaves_and_non_arrays_are_kept_and_the_input_is_not_modified() -> None:
    t = tree()
    before = jax.tree_util.tree_map(np.array, t)
    new = jinit.tree.reinit(t, {r"embed/table": jinit.normal(1.0)}, KEY)
    chex.assert_trees_all_equal(t, before)
    assert new["blocks"][1].weight is t["blocks"][1].weight
    assert new is not t and new["embed"] is not t["embed"]


def test_values_equal_jinit_flax_for_the_same_tree() -> None:
    """The flax room adds boxes, not another path or key: a dict of arrays gets the same values from both."""
    flax = pytest.importorskip("jinit.flax")
    params = {"Dense_0": {"kernel": jnp.zeros((16, 8)), "bias": jnp.zeros((8,))}, "layers": [jnp.zeros((8, 8))]}
    rules = {r".*kernel": jinit.orthogonal(), r"layers/\d+": jinit.he_uniform(), r".*bias": jinit.normal(0.5)}
    chex.assert_trees_all_equal(jinit.tree.reinit(params, rules, KEY), flax.reinit(params, rules, KEY))
    abstract = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params)
    chex.assert_trees_all_equal(jinit.tree.materialize(abstract, rules, KEY), flax.materialize(abstract, rules, KEY))


def test_materialize_equals_reinit_and_names_a_leaf_without_rule() -> None:
    abstract = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), tree())
    abstract["step"] = 3  # not an array: kept as it is
    rules = {r".*weight": jinit.lecun_normal(), r".*": jinit.zeros}
    made = jinit.tree.materialize(abstract, rules, KEY)
    chex.assert_trees_all_equal(made, jinit.tree.reinit(tree(), rules, KEY))
    with pytest.raises(
        ValueError, match=r"jinit\.tree\.materialize: every leaf needs a rule .*no rule matches \['embed/table'\]"
    ):
        jinit.tree.materialize(abstract, {r"blocks/.*": jinit.zeros}, KEY)


def test_flax_objects_are_sent_to_jinit_flax() -> None:
    nnx = pytest.importorskip("flax.nnx")
    nn = pytest.importorskip("flax.linen")
    with pytest.raises(
        TypeError, match=r"jinit\.tree\.reinit: flax modules, .* go through jinit\.flax\.reinit.*Linear"
    ):
        jinit.tree.reinit(nnx.Linear(2, 2, rngs=nnx.Rngs(0)), {".*": jinit.zeros}, KEY)
    boxed = {"dense": {"kernel": nn.Partitioned(jnp.zeros((2, 2)), names=(None, "model"))}}
    with pytest.raises(TypeError, match=r"jinit\.tree\.materialize: .*got a Partitioned at 'dense/kernel'"):
        jinit.tree.materialize(boxed, {".*": jinit.zeros}, KEY)


# ---------------------------------------------------------------------------
# Rules objects


def test_rules_are_frozen_hashable_picklable_and_equal_by_value() -> None:
    scale = jinit.tree.Rule(r".*scale", jinit.ones, optional=True)
    a = jinit.tree.Rules([(r".*kernel", jinit.he_normal()), scale])
    b = jinit.tree.Rules({r".*kernel": jinit.he_normal()}) + [scale]  # noqa: RUF005 (Rules.__add__ under test)
    assert a == b and hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert {a: 1}[b] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.entries = ()  # type: ignore[misc]
    assert [(r.regex, r.optional) for r in a] == [(".*kernel", False), (".*scale", True)]
    assert repr(jinit.tree.Rules(a, name="my recipe")) == "Rules(<my recipe>)"


def test_earlier_rules_take_precedence_in_a_sum() -> None:
    params = {"w": jnp.zeros((4, 4))}
    first = [("w", jinit.ones)] + jinit.tree.Rules({"w": jinit.zeros})  # noqa: RUF005 (Rules.__radd__ under test)
    chex.assert_trees_all_equal(jinit.tree.reinit(params, first, KEY)["w"], jnp.ones((4, 4)))
    second = jinit.tree.Rules({"w": jinit.zeros}) + {"w": jinit.ones}
    chex.assert_trees_all_equal(jinit.tree.reinit(params, second, KEY)["w"], jnp.zeros((4, 4)))


def test_optional_rules_may_match_nothing_and_others_may_not() -> None:
    params = {"w": jnp.zeros((4, 4))}
    rules = jinit.tree.Rules([jinit.tree.Rule(r".*embedding", jt.embedding(), optional=True), ("w", jinit.ones)])
    chex.assert_trees_all_equal(jinit.tree.reinit(params, rules, KEY)["w"], jnp.ones((4, 4)))
    strict = jinit.tree.Rules([(r".*embedding", jt.embedding()), ("w", jinit.ones)])
    with pytest.raises(ValueError, match=r"jinit\.tree\.reinit: rule '\.\*embedding' matches no leaf .*\['w'\]"):
        jinit.tree.reinit(params, strict, KEY)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: jinit.tree.Rule("(", jinit.zeros), ValueError, r"jinit\.tree\.Rule: rule '\(' is not a valid regex"),
        (lambda: jinit.tree.Rule(3, jinit.zeros), TypeError, r"jinit\.tree\.Rule: a rule's regex must be a str"),
        (lambda: jinit.tree.Rule("w", "zeros"), TypeError, r"jinit\.tree\.Rule: rule 'w' needs an initializer"),
        (
            lambda: jinit.tree.Rule("w", jinit.zeros, optional=1),
            TypeError,
            r"`optional` must be a bool; got optional=1",
        ),
        (
            lambda: jinit.tree.Rules([("w",)]),
            TypeError,
            r"jinit\.tree\.Rules: each rule must be a \(regex, initializer\)",
        ),
        (lambda: jinit.tree.Rules(7), TypeError, r"jinit\.tree\.Rules: `rules` must be a sequence"),
        (
            lambda: jinit.tree.Rules([], name=3),
            TypeError,
            r"jinit\.tree\.Rules: `name` must be a str or None; got name=3",
        ),
        (lambda: jinit.tree.context_rule(3), TypeError, r"jinit\.tree\.context_rule: `fn` must be callable; got 3"),
    ],
)
def test_malformed_rule_objects(build: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build()


def test_empty_rules_are_refused_where_used() -> None:
    with pytest.raises(ValueError, match=r"jinit\.tree\.reinit: `rules` must hold at least one"):
        jinit.tree.reinit({"w": jnp.zeros((2, 2))}, jinit.tree.Rules(), KEY)


# ---------------------------------------------------------------------------
# Context rules


def test_a_context_rule_reads_the_sibling_kernel_and_the_key_stays_the_paths() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def bias(match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        seen.append((match.string, {k: v.shape for k, v in siblings.items()}))
        return jt.linear_bias(siblings["kernel"].shape[0])

    params = {
        "up": {"kernel": jnp.zeros((16, 64)), "bias": jnp.zeros((64,))},
        "down": {"kernel": jnp.zeros((64, 16)), "bias": jnp.zeros((16,))},
    }
    new = jinit.tree.reinit(params, {r".*/bias": jinit.tree.context_rule(bias)}, KEY)
    chex.assert_trees_all_equal(new["up"]["bias"], expected(jt.linear_bias(16), "up/bias", (64,)))
    chex.assert_trees_all_equal(new["down"]["bias"], expected(jt.linear_bias(64), "down/bias", (16,)))
    # Siblings: the leaves under the same parent, the leaf itself included, nothing from other parents.
    assert sorted(seen) == [
        ("down/bias", {"bias": (16,), "kernel": (64, 16)}),
        ("up/bias", {"bias": (64,), "kernel": (16, 64)}),
    ]


@dataclasses.dataclass(frozen=True)
class DepthScaled(jinit.tree.ContextRule):
    """std 0.02 / sqrt(layer + 1), read from the regex group: a hashable, picklable context rule."""

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        return jinit.normal(0.02 / (int(match.group(1)) + 1) ** 0.5)


def test_a_context_rule_subclass_uses_the_match_groups() -> None:
    params = {"layer_0": {"w": jnp.zeros((8, 8))}, "layer_3": {"w": jnp.zeros((8, 8))}}
    rules = jinit.tree.Rules({r"layer_(\d+)/w": DepthScaled()})
    assert pickle.loads(pickle.dumps(rules)) == rules
    new = jinit.tree.reinit(params, rules, KEY)
    # Drawn inside jit, expected eagerly: the scaling may round an ulp apart.
    tol = {"rtol": 4 * float(jnp.finfo(jnp.float32).eps), "atol": 0.0}
    chex.assert_trees_all_close(new["layer_3"]["w"], expected(jinit.normal(0.01), "layer_3/w", (8, 8)), **tol)
    chex.assert_trees_all_close(new["layer_0"]["w"], expected(jinit.normal(0.02), "layer_0/w", (8, 8)), **tol)


def test_context_rule_errors_name_the_rule_and_the_path() -> None:
    params = {"dense": {"bias": jnp.zeros((4,))}}
    no_kernel = jinit.tree.context_rule(lambda m, leaf, sib: jt.linear_bias(sib["kernel"].shape[0]))
    with pytest.raises(TypeError, match=r"jinit\.tree\.reinit: the context rule of rule '\.\*bias' on 'dense/bias'"):
        jinit.tree.reinit(params, {".*bias": jinit.tree.context_rule(lambda m, leaf, sib: 0.5)}, KEY)
    with pytest.raises(ValueError, match=r"on 'dense/bias' \(shape \(4,\)\) failed: KeyError: 'kernel'"):
        jinit.tree.reinit(params, {".*bias": no_kernel}, KEY)

    def refuses(m: Any, leaf: Any, sib: Any) -> Any:
        raise ValueError("no law for this leaf")

    with pytest.raises(
        ValueError, match=r"context rule of rule '\.\*' on 'dense/bias' \(shape \(4,\)\) failed: no law"
    ):
        jinit.tree.reinit(params, {".*": jinit.tree.context_rule(refuses)}, KEY)


def test_leaf_key_is_fold_in_of_crc32_and_checks_its_arguments() -> None:
    want = jax.random.fold_in(KEY, zlib.crc32(b"layers/0/weight"))
    got = jinit.tree.leaf_key(KEY, "layers/0/weight")
    chex.assert_trees_all_equal(jax.random.key_data(got), jax.random.key_data(want))
    with pytest.raises(TypeError, match=r"jinit\.tree\.leaf_key: `path` must be a str; got 3"):
        jinit.tree.leaf_key(KEY, 3)  # type: ignore[arg-type]


def test_a_sharding_on_an_abstract_mesh_needs_the_mesh_set() -> None:
    mesh = jax.make_mesh((1,), ("d",))
    sharding = jax.sharding.NamedSharding(mesh.abstract_mesh, jax.sharding.PartitionSpec("d", None))
    abstract = {"w": jax.ShapeDtypeStruct((4, 4), jnp.float32, sharding=sharding)}
    with pytest.raises(ValueError, match=r"jinit\.tree\.materialize: a sharding on an abstract mesh needs its devices"):
        jinit.tree.materialize(abstract, {"w": jinit.he_normal()}, KEY)
    with jax.set_mesh(mesh):
        made = jinit.tree.materialize(abstract, {"w": jinit.he_normal()}, jax.random.key(5))  # a key made on the mesh
    assert made["w"].sharding.mesh.devices.tolist() == mesh.devices.tolist()
    chex.assert_trees_all_equal(made["w"], expected(jinit.he_normal(), "w", (4, 4)))
