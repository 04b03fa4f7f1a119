"""jinit.flax.ensemble_init: N independent models in one jit, member i equal to the model built alone."""

from __future__ import annotations

from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest
from flax import nnx

import jinit
import jinit.flax

N = 4
KEYS = jax.random.split(jax.random.key(5), N)
X = jnp.ones((2, 8))


class LinenMlp(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.relu(nn.Dense(16, kernel_init=jinit.he_normal())(x))
        return nn.Dense(3, kernel_init=jinit.orthogonal())(x)


class NnxMlp(nnx.Module):
    def __init__(self, din: int, dout: int, *, rngs: nnx.Rngs) -> None:
        self.hidden = nnx.Linear(din, 16, kernel_init=jinit.he_normal(), rngs=rngs)
        self.out = nnx.Linear(16, dout, kernel_init=jinit.orthogonal(), rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(nnx.relu(self.hidden(x)))


def test_linen_member_i_equals_the_model_built_from_key_i() -> None:
    model = LinenMlp()
    stacked = jinit.flax.ensemble_init(model, KEYS, X)
    chex.assert_shape(stacked["params"]["Dense_0"]["kernel"], (N, 8, 16))
    for i in range(N):
        chex.assert_trees_all_equal(jinit.flax.ensemble_member(stacked, i), model.init(KEYS[i], X))
    # Members are independent draws, not copies.
    k = stacked["params"]["Dense_0"]["kernel"]
    assert not bool(jnp.array_equal(k[0], k[1]))


def test_linen_ensemble_runs_with_vmap() -> None:
    model = LinenMlp()
    stacked = jinit.flax.ensemble_init(model, KEYS, X)
    outs = jax.vmap(model.apply, in_axes=(0, None))(stacked, X)
    for i in range(N):
        chex.assert_trees_all_close(outs[i], model.apply(jinit.flax.ensemble_member(stacked, i), X), rtol=1e-6)


def test_nnx_member_i_equals_the_model_built_from_key_i() -> None:
    ensemble = jinit.flax.ensemble_init(NnxMlp, KEYS, 8, 3)
    assert isinstance(ensemble, NnxMlp)
    chex.assert_shape(ensemble.hidden.kernel[...], (N, 8, 16))
    for i in range(N):
        member = jinit.flax.ensemble_member(ensemble, i)
        alone = NnxMlp(8, 3, rngs=nnx.Rngs(KEYS[i]))
        chex.assert_trees_all_equal(nnx.state(member), nnx.state(alone))


def test_nnx_ensemble_is_created_in_one_trace_and_runs_with_vmap() -> None:
    traces = []

    def factory(din: int, dout: int, *, rngs: nnx.Rngs) -> NnxMlp:
        traces.append(1)
        return NnxMlp(din, dout, rngs=rngs)

    ensemble = jinit.flax.ensemble_init(factory, KEYS, 8, 3)
    assert len(traces) == 1  # one vmapped trace inside one jit, not one per member
    outs = nnx.vmap(lambda m, x: m(x), in_axes=(0, None))(ensemble, X)
    # vmapped and single matmuls may sum in another order: a few ulp of the output's scale, not of each entry
    # (an entry near zero is the difference of O(1) terms).
    atol = 4 * float(jnp.finfo(jnp.float32).eps) * float(jnp.max(jnp.abs(outs)))
    for i in range(N):
        chex.assert_trees_all_close(outs[i], jinit.flax.ensemble_member(ensemble, i)(X), rtol=1e-6, atol=atol)


def test_legacy_key_batch() -> None:
    legacy = jax.random.key_data(KEYS)
    chex.assert_trees_all_equal(
        jinit.flax.ensemble_init(LinenMlp(), legacy, X), jinit.flax.ensemble_init(LinenMlp(), KEYS, X)
    )


@pytest.mark.parametrize(
    "keys", [jax.random.key(0), jnp.zeros((3,), jnp.uint32), jnp.zeros((3, 2), jnp.float32), 3], ids=str
)
def test_keys_must_be_a_batch_of_keys(keys: Any) -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.ensemble_init: `keys` must be a batch of PRNG keys"):
        jinit.flax.ensemble_init(LinenMlp(), keys, X)


def test_keys_must_not_be_empty() -> None:
    with pytest.raises(
        ValueError, match=r"jinit\.flax\.ensemble_init: `keys` must hold at least one key; got shape \(0,\)"
    ):
        jinit.flax.ensemble_init(LinenMlp(), KEYS[:0], X)


def test_model_must_be_a_linen_module_or_an_nnx_class() -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.ensemble_init: `model` must be a linen Module instance"):
        jinit.flax.ensemble_init(NnxMlp(8, 3, rngs=nnx.Rngs(0)), KEYS)
    with pytest.raises(TypeError, match=r"jinit\.flax\.ensemble_init: `model` must be .* got 'mlp'"):
        jinit.flax.ensemble_init("mlp", KEYS)


def test_member_index_must_be_an_int() -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.ensemble_member: `i` must be an int; got i=1.0"):
        jinit.flax.ensemble_member({"w": jnp.zeros((2, 2))}, 1.0)


@pytest.mark.parametrize("ensemble", [1, {}, {"w": jnp.float32(1.0)}, "params"], ids=repr)
def test_ensemble_member_needs_an_ensemble(ensemble: Any) -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.ensemble_member: `ensemble` must be the stacked variables"):
        jinit.flax.ensemble_member(ensemble, 0)


def test_ensemble_member_index_in_range() -> None:
    with pytest.raises(
        ValueError, match=r"jinit\.flax\.ensemble_member: `i` must be in \[-2, 2\) for an ensemble of 2"
    ):
        jinit.flax.ensemble_member({"w": jnp.zeros((2, 3))}, 2)
    chex.assert_trees_all_equal(jinit.flax.ensemble_member({"w": jnp.arange(2.0)}, -1), {"w": jnp.float32(1.0)})
