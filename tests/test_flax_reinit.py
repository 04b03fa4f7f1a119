"""jinit.flax.reinit: rules on '/'-joined paths, per-path keys, inputs untouched, clear errors."""

from __future__ import annotations

import re
import zlib
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jinit
import jinit.flax

KEY = jax.random.key(7)


def params_of(model: nn.Module, *inputs: Any) -> Any:
    return model.init(jax.random.key(0), *inputs)["params"]


class Mlp(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.Dense(32, name="in")(x)
        x = nn.LayerNorm(name="norm")(x)
        return nn.Dense(8, name="out")(x)


X = jnp.ones((1, 16))


def expected(init: Any, path: str, like: jax.Array) -> jax.Array:
    """The documented value: ``init(fold_in(key, crc32(path)), shape, dtype)``, written out without jinit.flax."""
    return init(jax.random.fold_in(KEY, zlib.crc32(path.encode())), like.shape, like.dtype)


def test_matched_leaves_get_the_documented_value_and_others_are_kept() -> None:
    params = params_of(Mlp(), X)
    rules = [(r".*/kernel", jinit.orthogonal()), (r"norm/scale", jinit.constant(2.0))]
    new = jinit.flax.reinit(params, rules, KEY)
    chex.assert_trees_all_equal_structs(new, params)
    for name in ("in", "out"):
        chex.assert_trees_all_close(
            new[name]["kernel"], expected(jinit.orthogonal(), f"{name}/kernel", params[name]["kernel"])
        )
        assert new[name]["bias"] is params[name]["bias"]
    chex.assert_trees_all_equal(new["norm"]["scale"], jnp.full((32,), 2.0))
    assert new["norm"]["bias"] is params["norm"]["bias"]


def test_leaf_key_is_fold_in_of_crc32_of_the_path() -> None:
    key = jinit.flax.leaf_key(KEY, "layers/0/kernel")
    want = jax.random.fold_in(KEY, zlib.crc32(b"layers/0/kernel"))
    chex.assert_trees_all_equal(jax.random.key_data(key), jax.random.key_data(want))


def test_input_tree_is_not_modified() -> None:
    params = params_of(Mlp(), X)
    before = jax.tree_util.tree_map(np.array, params)
    containers = {k: id(v) for k, v in params.items()}
    new = jinit.flax.reinit(params, {".*": jinit.zeros}, KEY)
    chex.assert_trees_all_equal(params, before)
    assert {k: id(v) for k, v in params.items()} == containers
    assert new is not params and new["in"] is not params["in"]


def test_values_depend_on_path_only_not_on_order_or_other_leaves() -> None:
    w = jnp.zeros((8, 4))
    tree_a = {"a": {"kernel": w}, "b": {"kernel": w}}
    tree_b = {"b": {"kernel": w}, "z": [w, w, w]}  # other order, other leaves
    new_a = jinit.flax.reinit(tree_a, [(".*kernel", jinit.he_normal())], KEY)
    new_b = jinit.flax.reinit(tree_b, [(".*", jinit.he_normal())], KEY)
    chex.assert_trees_all_equal(new_a["b"]["kernel"], new_b["b"]["kernel"])
    assert not np.array_equal(new_a["a"]["kernel"], new_a["b"]["kernel"])
    # Sequence indices are path components too: "z/0", "z/1", ...
    chex.assert_trees_all_equal(new_b["z"][1], expected(jinit.he_normal(), "z/1", w))


def test_first_matching_rule_wins_and_the_match_is_full() -> None:
    params = params_of(Mlp(), X)
    rules = {r"in/kernel": jinit.ones, r".*kernel": jinit.zeros}
    new = jinit.flax.reinit(params, rules, KEY)
    chex.assert_trees_all_equal(new["in"]["kernel"], jnp.ones((16, 32)))
    chex.assert_trees_all_equal(new["out"]["kernel"], jnp.zeros((32, 8)))
    # "kernel" alone is a full match on the path, so it matches no leaf.
    with pytest.raises(ValueError, match=r"jinit\.flax\.reinit: rule 'kernel' matches no leaf"):
        jinit.flax.reinit(params, {"kernel": jinit.zeros}, KEY)


def test_compiled_patterns_and_dict_rules_are_accepted() -> None:
    params = params_of(Mlp(), X)
    a = jinit.flax.reinit(params, [(re.compile(r".*/bias"), jinit.ones)], KEY)
    b = jinit.flax.reinit(params, {r".*/bias": jinit.ones}, KEY)
    chex.assert_trees_all_equal(a, b)


def test_legacy_key_gives_the_values_of_the_typed_key() -> None:
    params = params_of(Mlp(), X)
    typed = jinit.flax.reinit(params, {".*kernel": jinit.lecun_normal()}, KEY)
    legacy = jinit.flax.reinit(params, {".*kernel": jinit.lecun_normal()}, jax.random.key_data(KEY))
    chex.assert_trees_all_equal(typed, legacy)


def test_reinit_under_jit_equals_eager() -> None:
    params = params_of(Mlp(), X)
    rules = {".*kernel": jinit.he_uniform()}
    eager = jinit.flax.reinit(params, rules, KEY)
    jitted = jax.jit(lambda p, k: jinit.flax.reinit(p, rules, k))(params, KEY)
    chex.assert_trees_all_close(eager, jitted, rtol=4 * float(jnp.finfo(jnp.float32).eps), atol=0.0)


def test_jax_initializers_and_partitioned_boxes() -> None:
    """Any initializer with jax's protocol works; linen metadata boxes are kept around the new value."""
    model = nn.Dense(4, kernel_init=nn.with_partitioning(nn.initializers.lecun_normal(), (None, "model")))
    params = model.init(jax.random.key(0), X)["params"]
    assert isinstance(params["kernel"], nn.Partitioned)
    new = jinit.flax.reinit(params, {"kernel": jax.nn.initializers.glorot_uniform()}, KEY)
    assert isinstance(new["kernel"], nn.Partitioned)
    assert new["kernel"].names == (None, "model")
    chex.assert_trees_all_equal(
        new["kernel"].value, expected(jax.nn.initializers.glorot_uniform(), "kernel", params["kernel"].value)
    )


class Block(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.layers = nnx.List([nnx.Linear(16, 32, rngs=rngs), nnx.Linear(32, 8, rngs=rngs)])
        self.norm = nnx.LayerNorm(8, rngs=rngs)


def test_nnx_model_gives_a_new_model_and_leaves_the_input_alone() -> None:
    model = Block(nnx.Rngs(0))
    before = jax.tree_util.tree_map(np.array, nnx.state(model))
    new = jinit.flax.reinit(model, {r"layers/\d+/kernel": jinit.orthogonal(), "norm/scale": jinit.zeros}, KEY)
    assert type(new) is Block and new is not model
    chex.assert_trees_all_equal(nnx.state(model), before)
    chex.assert_trees_all_close(
        new.layers[1].kernel[...], expected(jinit.orthogonal(), "layers/1/kernel", model.layers[1].kernel[...])
    )
    chex.assert_trees_all_equal(new.norm.scale[...], jnp.zeros((8,)))
    chex.assert_trees_all_equal(new.layers[0].bias[...], model.layers[0].bias[...])
    # No Variable is shared: writing to the new model leaves the input as it was.
    assert new.layers[0].bias is not model.layers[0].bias
    new.layers[0].bias[...] = jnp.ones((32,))
    chex.assert_trees_all_equal(model.layers[0].bias[...], jnp.zeros((32,)))


def test_nnx_paths_equal_the_state_paths() -> None:
    model = Block(nnx.Rngs(0))
    state_new = nnx.state(jinit.flax.reinit(nnx.state(model), {r".*kernel": jinit.he_normal()}, KEY))
    module_new = nnx.state(jinit.flax.reinit(model, {r".*kernel": jinit.he_normal()}, KEY))
    chex.assert_trees_all_equal(state_new, module_new)


# ---------------------------------------------------------------------------
# Errors: each names jinit.flax.reinit and the bad value.


def test_rule_matching_nothing_names_the_rule_and_lists_paths() -> None:
    params = params_of(Mlp(), X)
    with pytest.raises(ValueError, match=r"rule '.\*/weight' matches no leaf .*paths: \['in/bias', 'in/kernel'"):
        jinit.flax.reinit(params, [(".*/kernel", jinit.zeros), (".*/weight", jinit.zeros)], KEY)


def test_many_paths_are_listed_with_a_count() -> None:
    tree = {f"w{i}": jnp.zeros((2, 2)) for i in range(12)}
    with pytest.raises(ValueError, match=r"\.\.\. \(12 in all\)"):
        jinit.flax.reinit(tree, {"nothing": jinit.zeros}, KEY)


def test_no_array_leaves_are_reported() -> None:
    with pytest.raises(ValueError, match=r"the tree has no array leaves"):
        jinit.flax.reinit({}, {".*": jinit.zeros}, KEY)


@pytest.mark.parametrize(
    ("rules", "error", "message"),
    [
        ("kernel", TypeError, r"`rules` must be a sequence of \(regex, initializer\) pairs or a dict; got 'kernel'"),
        (42, TypeError, r"`rules` must be a sequence .* got 42"),
        ([], ValueError, r"`rules` must hold at least one \(regex, initializer\) pair; got none"),
        ([("a", jinit.zeros, 1)], TypeError, r"each rule must be a \(regex, initializer\) pair; got \('a'"),
        ([(3, jinit.zeros)], TypeError, r"a rule's regex must be a str or re.Pattern; got 3"),
        ([("(", jinit.zeros)], ValueError, r"rule '\(' is not a valid regex"),
        ([(".*", "he_normal")], TypeError, r"rule '.\*' needs an initializer \(a callable\); got 'he_normal'"),
    ],
)
def test_malformed_rules(rules: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=r"jinit\.flax\.reinit: " + message):
        jinit.flax.reinit({"w": jnp.zeros((2, 2))}, rules, KEY)


def test_bad_key() -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.reinit: `key` must be a PRNG key"):
        jinit.flax.reinit({"w": jnp.zeros((2, 2))}, {"w": jinit.zeros}, 0)


def test_initializer_refusing_a_leaf_names_rule_and_path() -> None:
    params = params_of(Mlp(), X)
    with pytest.raises(
        ValueError,
        match=r"jinit\.flax\.reinit: rule '.\*' failed on 'in/bias' \(shape \(32,\), dtype float32\): "
        r"jinit\.he_normal: shape needs at least 2 dimensions",
    ):
        jinit.flax.reinit(params, {".*": jinit.he_normal()}, KEY)


def test_initializer_returning_the_wrong_shape() -> None:
    def bad(key: jax.Array, shape: Any, dtype: Any = jnp.float32) -> jax.Array:
        return jnp.zeros((1,), dtype)

    with pytest.raises(
        ValueError,
        match=r"jinit\.flax\.reinit: the initializer of rule 'w' returned shape \(1,\) .* needs shape \(2, 2\)",
    ):
        jinit.flax.reinit({"w": jnp.zeros((2, 2))}, {"w": bad}, KEY)


def test_paths_with_one_crc32_are_refused() -> None:
    assert zlib.crc32(b"plumless") == zlib.crc32(b"buckeroo")  # a known crc32 collision
    tree = {"plumless": jnp.zeros((2, 2)), "buckeroo": jnp.zeros((2, 2))}
    with pytest.raises(ValueError, match=r"jinit\.flax\.reinit: paths '.*' and '.*' have the same crc32"):
        jinit.flax.reinit(tree, {".*": jinit.he_normal()}, KEY)


def test_leaf_key_errors() -> None:
    with pytest.raises(TypeError, match=r"jinit\.tree\.leaf_key: `path` must be a str; got \('a',\)"):
        jinit.flax.leaf_key(KEY, ("a",))
    with pytest.raises(TypeError, match=r"jinit\.tree\.leaf_key: `key` must be a PRNG key"):
        jinit.flax.leaf_key(1, "a")


def test_import_jinit_does_not_import_flax() -> None:
    """flax is an optional extra: only jinit.flax imports it (checked in a fresh interpreter)."""
    import subprocess
    import sys

    code = "import sys, jinit; import jinit.torch; assert 'flax' not in sys.modules, 'flax imported'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_initializer_raising_type_error_names_rule_and_path() -> None:
    def one_argument(key: jax.Array) -> jax.Array:
        return jnp.zeros((2, 2))

    with pytest.raises(
        TypeError, match=r"jinit\.flax\.reinit: rule 'w' failed on 'w' \(shape \(2, 2\), dtype float32\): "
    ):
        jinit.flax.reinit({"w": jnp.zeros((2, 2))}, {"w": one_argument}, KEY)
