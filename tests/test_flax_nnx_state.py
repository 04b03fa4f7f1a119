"""nnx models with state: rules apply to nnx.Param by default; batch statistics and RNG state are kept or defined.

reinit keeps every variable the filter leaves out (BatchNorm's running
statistics, Dropout's RNG key and count); materialize of an abstract model
gives them defined values (mean 0, var 1, the path's key, count 0) and asks a
rule for any other abstract variable.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jinit
import jinit.flax

KEY = jax.random.key(13)


class Cache(nnx.Variable):
    """A variable type jinit knows no value for."""


class Net(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, cache: bool = False) -> None:
        self.lin = nnx.Linear(4, 8, rngs=rngs)
        self.bn = nnx.BatchNorm(8, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)
        if cache:
            self.cache = Cache(jnp.zeros((2, 8)))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.drop(self.bn(self.lin(x)))


def trained() -> Net:
    """A model whose running statistics and RNG count have moved off their initial values."""
    model = Net(nnx.Rngs(0, dropout=1))
    model.train()
    model(jax.random.normal(jax.random.key(0), (16, 4)) * 3.0 + 1.0)
    return model


def key_data(k: jax.Array) -> np.ndarray:
    return np.asarray(jax.random.key_data(k))


def test_reinit_leaves_batch_statistics_and_rng_state_alone() -> None:
    model = trained()
    before = jax.tree_util.tree_map(
        lambda x: np.asarray(jax.random.key_data(x)) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else np.array(x),
        nnx.state(model),
    )
    new = jinit.flax.reinit(model, {".*": jinit.ones}, KEY)
    for var in (new.lin.kernel, new.lin.bias, new.bn.scale, new.bn.bias):
        chex.assert_trees_all_equal(var[...], jnp.ones(var[...].shape))
    chex.assert_trees_all_equal(new.bn.mean[...], before["bn"]["mean"][...])
    chex.assert_trees_all_equal(new.bn.var[...], before["bn"]["var"][...])
    assert not np.allclose(before["bn"]["mean"][...], 0.0)  # the statistics kept are the trained ones
    np.testing.assert_array_equal(key_data(new.drop.rngs.key[...]), before["drop"]["rngs"]["key"][...])
    assert int(new.drop.rngs.count[...]) == int(before["drop"]["rngs"]["count"][...]) > 0
    # A new model: no Variable shared, the input untouched.
    assert new.bn.mean is not model.bn.mean and new.drop.rngs.key is not model.drop.rngs.key
    chex.assert_trees_all_equal(model.lin.bias[...], before["lin"]["bias"][...])


def test_filter_chooses_the_variables_the_rules_see() -> None:
    model = trained()
    stats = jinit.flax.reinit(model, {r".*mean": jinit.zeros, r".*var": jinit.ones}, KEY, filter=nnx.BatchStat)
    chex.assert_trees_all_equal(stats.bn.mean[...], jnp.zeros((8,)))
    chex.assert_trees_all_equal(stats.bn.var[...], jnp.ones((8,)))
    chex.assert_trees_all_equal(stats.lin.kernel[...], model.lin.kernel[...])
    both = jinit.flax.reinit(model, {r".*(kernel|mean)": jinit.zeros}, KEY, filter=(nnx.Param, nnx.BatchStat))
    chex.assert_trees_all_equal(both.bn.mean[...], jnp.zeros((8,)))
    chex.assert_trees_all_equal(both.lin.kernel[...], jnp.zeros((4, 8)))


def test_a_rule_for_a_variable_the_filter_leaves_out_says_so() -> None:
    with pytest.raises(
        ValueError,
        match=r"jinit\.flax\.reinit: rule '\.\*mean' matches no leaf \(full match on '/'-joined paths; only "
        r"variables `filter` selects are matched: nnx\.Param by default\); paths: \['bn/bias'",
    ):
        jinit.flax.reinit(trained(), {r".*mean": jinit.zeros}, KEY)


def test_a_bad_filter_is_refused() -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.reinit: `filter` must be an nnx filter; got filter=3"):
        jinit.flax.reinit(trained(), {".*": jinit.zeros}, KEY, filter=3)


def test_the_state_of_a_model_gets_the_same_treatment() -> None:
    model = trained()
    state = jinit.flax.reinit(nnx.state(model), {".*": jinit.zeros}, KEY)
    chex.assert_trees_all_equal(state["bn"]["var"][...], model.bn.var[...])
    chex.assert_trees_all_equal(nnx.state(jinit.flax.reinit(model, {".*": jinit.zeros}, KEY)), state)


def test_materialize_gives_abstract_state_its_defined_values() -> None:
    abstract = nnx.eval_shape(lambda: Net(nnx.Rngs(0, dropout=1)))
    rules = {r".*kernel": jinit.he_normal(), r".*": jinit.zeros}
    made = jinit.flax.materialize(abstract, rules, KEY)
    chex.assert_trees_all_equal(made.bn.mean[...], jnp.zeros((8,)))
    chex.assert_trees_all_equal(made.bn.var[...], jnp.ones((8,)))
    assert made.drop.rngs.count[...].dtype == jnp.uint32 and int(made.drop.rngs.count[...]) == 0
    np.testing.assert_array_equal(
        key_data(made.drop.rngs.key[...]), key_data(jinit.flax.leaf_key(KEY, "drop/rngs/key"))
    )
    # Parameters: the values reinit gives a concrete model, path for path.
    real = jinit.flax.reinit(Net(nnx.Rngs(0, dropout=1)), rules, KEY)
    chex.assert_trees_all_equal(nnx.state(made, nnx.Param), nnx.state(real, nnx.Param))
    made.train()
    y = made(jnp.ones((8, 4)))  # BatchNorm and Dropout run on the defined state
    assert y.shape == (8, 8) and bool(jnp.any(y == 0.0))


def test_a_legacy_root_key_gives_the_same_rng_keys() -> None:
    abstract = nnx.eval_shape(lambda: Net(nnx.Rngs(0, dropout=1)))
    typed = jinit.flax.materialize(abstract, {".*": jinit.zeros}, KEY)
    legacy = jinit.flax.materialize(abstract, {".*": jinit.zeros}, jax.random.key_data(KEY))
    np.testing.assert_array_equal(key_data(legacy.drop.rngs.key[...]), key_data(typed.drop.rngs.key[...]))


class KeyStack(nnx.Module):
    def __init__(self) -> None:
        self.keys = nnx.RngKey(jax.random.split(jax.random.key(0), 3), tag="stack")
        self.w = nnx.Param(jnp.zeros((2, 2)))


def test_an_abstract_stack_of_rng_keys_is_the_paths_key_split() -> None:
    made = jinit.flax.materialize(nnx.eval_shape(KeyStack), {"w": jinit.ones}, KEY)
    want = jax.random.split(jinit.flax.leaf_key(KEY, "keys"), 3)
    np.testing.assert_array_equal(key_data(made.keys[...]), key_data(want))


def test_other_abstract_variables_need_a_rule() -> None:
    abstract = nnx.eval_shape(lambda: Net(nnx.Rngs(0), cache=True))
    with pytest.raises(
        ValueError, match=r"jinit\.flax\.materialize: every leaf needs a rule .*no rule matches \['cache'\]"
    ):
        jinit.flax.materialize(abstract, {r"(lin|bn)/.*": jinit.zeros}, KEY)
    made = jinit.flax.materialize(abstract, {r"cache": jinit.ones, r".*": jinit.zeros}, KEY)
    chex.assert_trees_all_equal(made.cache[...], jnp.ones((2, 8)))


def test_concrete_state_is_kept_by_materialize() -> None:
    model = trained()
    made = jinit.flax.materialize(model, {".*": jinit.zeros}, KEY)
    chex.assert_trees_all_equal(made.bn.mean[...], model.bn.mean[...])
    chex.assert_trees_all_equal(made.lin.kernel[...], jnp.zeros((4, 8)))


def test_summary_and_compare_of_nnx_models() -> None:
    model = trained()
    table = jinit.flax.summary(model, jinit.flax.torch_defaults())
    rows = {r["path"]: r for r in table.to_dicts()}
    assert rows["lin/kernel"]["init"] == "torch.linear_weight" and rows["lin/bias"]["init"] == "torch.linear_bias"
    assert rows["bn/mean"]["rule"] is None and rows["bn/mean"]["mean"] is not None
    assert rows["drop/rngs/key"]["mean"] is None and rows["drop/rngs/key"]["dtype"] == "key<fry>"
    other = Net(nnx.Rngs(5, dropout=1))
    compared = {r["path"]: r for r in jinit.flax.compare(model, other).to_dicts()}
    assert compared["drop/rngs/key"]["ks"] is None and compared["lin/kernel"]["ks"] is not None
    abstract = nnx.eval_shape(lambda: Net(nnx.Rngs(0)))
    drawn = jinit.flax.summary(abstract, {".*kernel": jinit.he_normal(), ".*": jinit.zeros}, key=KEY)
    rows = {r["path"]: r for r in drawn.to_dicts()}
    assert rows["lin/bias"]["std"] == 0.0 and rows["bn/mean"]["mean"] is None  # drawn / still abstract
