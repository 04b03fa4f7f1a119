"""jinit.flax.materialize: abstract shapes to arrays, reinit's values, one compilation per group."""

from __future__ import annotations

import dataclasses
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
from jinit._src.tree import engine

KEY = jax.random.key(11)
RULES = {r".*kernel": jinit.he_normal(), r".*bias": jinit.zeros, r".*scale": jinit.ones}


class Layer(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(64, name="up")(x)
        x = nn.Dense(16, name="down")(h)
        for name in ("q", "o"):
            x = nn.Dense(16, name=name)(x)
        return nn.LayerNorm(name="norm")(x)


class Stack(nn.Module):
    depth: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i in range(self.depth):
            x = Layer(name=f"layer_{i}")(x)
        return x


X = jnp.ones((1, 16))


def abstract(depth: int) -> Any:
    return jax.eval_shape(Stack(depth).init, jax.random.key(0), X)


def test_values_equal_reinit_for_the_same_paths() -> None:
    shapes = abstract(2)
    made = jinit.flax.materialize(shapes, RULES, KEY)
    real = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)  # any values: reinit replaces them
    chex.assert_trees_all_equal_shapes_and_dtypes(made, real)
    chex.assert_trees_all_equal(made, jinit.flax.reinit(real, RULES, KEY))
    # ... which is the documented per-leaf value.
    kernel = made["params"]["layer_1"]["up"]["kernel"]
    want = jinit.he_normal()(jinit.flax.leaf_key(KEY, "params/layer_1/up/kernel"), (16, 64))
    chex.assert_trees_all_equal(kernel, want)


@dataclasses.dataclass(frozen=True)
class Counting:
    """Records each time it is traced; ``tag`` makes every instance its own jit cache entry."""

    inner: Any
    tag: object = dataclasses.field(default_factory=object)
    calls: list = dataclasses.field(default_factory=list, compare=False, hash=False)

    def __call__(self, key: jax.Array, shape: Any, dtype: Any = None, out_sharding: Any = None) -> jax.Array:
        self.calls.append(tuple(shape))
        return self.inner(key, shape, dtype)


@pytest.mark.parametrize("depth", [2, 6])
def test_one_compilation_per_group_whatever_the_depth(depth: int) -> None:
    """Groups: kernels (16, 64), (64, 16), (16, 16); vectors (64,) and (16,): 5 programs at any depth."""
    kernel, vector = Counting(jinit.lecun_normal()), Counting(jinit.zeros)
    jinit.flax.materialize(abstract(depth), {".*kernel": kernel, ".*": vector}, KEY)
    assert sorted(kernel.calls) == [(16, 16), (16, 64), (64, 16)]
    assert sorted(vector.calls) == [(16,), (64,)]  # biases (16,) and norm scale (16,) share one program
    # A second call with equal rules reuses the compiled programs.
    jinit.flax.materialize(abstract(depth), {".*kernel": kernel, ".*": vector}, KEY)
    assert len(kernel.calls) == 3


@pytest.fixture
def backend_compiles() -> Any:
    """A list that receives one entry per XLA compilation while the test runs (jax.monitoring)."""
    seen: list[str] = []

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            seen.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    yield seen
    jax.monitoring.unregister_event_duration_listener(listener)


@pytest.mark.parametrize("stacked", [False, True], ids=["one-by-one", "stacked"])
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_programs_compiled_ahead_on_threads_are_the_ones_the_draws_run(
    workers: int, stacked: bool, backend_compiles: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiling ahead on worker threads fills jit's cache: each group's program is compiled exactly once."""
    monkeypatch.setattr(engine, "COMPILE_WORKERS", workers)
    if stacked:
        monkeypatch.setattr(engine, "STACK_MIN", 1)  # each group one vmapped draw, then a slicing program
    shapes = abstract(2)
    # Programs shared by any rules (fold_in, the stacks' slicing) are compiled by a first call: count the rest.
    jinit.flax.materialize(shapes, {".*": jinit.zeros}, KEY)
    backend_compiles.clear()
    rules = {".*kernel": Counting(jinit.lecun_normal()), ".*": Counting(jinit.normal(0.5))}  # fresh cache entries
    made = jinit.flax.materialize(shapes, rules, KEY)
    assert len(backend_compiles) == 5  # kernels (16, 64), (64, 16), (16, 16); vectors (64,), (16,)
    chex.assert_trees_all_equal(made, jinit.flax.materialize(shapes, rules, KEY))
    assert len(backend_compiles) == 5  # the second call compiles nothing
    want = jinit.normal(0.5)(jinit.flax.leaf_key(KEY, "params/layer_0/norm/scale"), (16,))
    chex.assert_trees_all_equal(made["params"]["layer_0"]["norm"]["scale"], want)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_leaf_the_initializer_refuses_is_named_with_or_without_compile_threads(
    workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "COMPILE_WORKERS", workers)
    with pytest.raises(ValueError, match=r"rule '\.\*' failed on 'params/layer_0/down/bias' \(shape \(16,\)"):
        jinit.flax.materialize(abstract(1), {".*kernel": jinit.he_normal(), ".*": jinit.orthogonal()}, KEY)


def test_stacked_chunked_and_one_by_one_draws_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = abstract(3)
    default = jinit.flax.materialize(shapes, RULES, KEY)  # groups of 3 to 9 leaves: one by one
    monkeypatch.setattr(engine, "STACK_MIN", 1)  # every group vmapped in one stack
    chex.assert_trees_all_equal(jinit.flax.materialize(shapes, RULES, KEY), default)
    # One (16, 16) kernel is 1 KiB: a 3 KiB budget stacks the 6 q/o kernels three at a time.
    monkeypatch.setattr(engine, "CHUNK_BYTES", 3 * 1024)
    chex.assert_trees_all_equal(jinit.flax.materialize(shapes, RULES, KEY), default)


def test_many_small_leaves_are_drawn_in_one_vmapped_program() -> None:
    count = engine.STACK_MIN + 6
    shapes = {f"b{i}": jax.ShapeDtypeStruct((8,), jnp.float32) for i in range(count)}
    scheme = Counting(jinit.normal(1.0))
    made = jinit.flax.materialize(shapes, {".*": scheme}, KEY)
    assert scheme.calls == [(8,)]  # traced once, under vmap
    for name in ("b0", f"b{count - 1}"):
        chex.assert_trees_all_equal(made[name], jinit.normal(1.0)(jinit.flax.leaf_key(KEY, name), (8,)))


@pytest.mark.parametrize(
    ("count", "leaf_bytes", "budget", "size"),
    [(12, 4, 100, 12), (12, 16, 64, 4), (12, 16, 80, 4), (13, 16, 64, 1), (6, 1000, 10, 1), (1, 10**9, 10, 1)],
)
def test_chunk_size_is_the_largest_divisor_within_budget(count: int, leaf_bytes: int, budget: int, size: int) -> None:
    assert engine.chunk_size(count, leaf_bytes, budget) == size


def test_bfloat16_and_mixed_dtypes() -> None:
    shapes = {"a": jax.ShapeDtypeStruct((8, 4), jnp.bfloat16), "b": jax.ShapeDtypeStruct((8, 4), jnp.float32)}
    made = jinit.flax.materialize(shapes, {".*": jinit.orthogonal()}, KEY)
    assert made["a"].dtype == jnp.bfloat16 and made["b"].dtype == jnp.float32
    # Same path and key, different dtype: the float32 draw rounded is the bfloat16 one.
    f32 = jinit.orthogonal()(jinit.flax.leaf_key(KEY, "a"), (8, 4), jnp.float32)
    chex.assert_trees_all_equal(made["a"], f32.astype(jnp.bfloat16))


def test_linen_partitioned_boxes_are_kept() -> None:
    model = nn.Dense(8, kernel_init=nn.with_partitioning(nn.initializers.lecun_normal(), (None, "model")))
    shapes = jax.eval_shape(model.init, jax.random.key(0), X)
    made = jinit.flax.materialize(shapes, {".*kernel": jinit.glorot_uniform(), ".*bias": jinit.zeros}, KEY)
    assert isinstance(made["params"]["kernel"], nn.Partitioned)
    assert made["params"]["kernel"].names == (None, "model")
    chex.assert_shape(made["params"]["kernel"].value, (16, 8))


class NnxBlock(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.up = nnx.Linear(16, 64, rngs=rngs)
        self.down = nnx.Linear(64, 16, rngs=rngs)


def test_abstract_nnx_module_gives_a_module_equal_to_reinit() -> None:
    shapes = nnx.eval_shape(lambda: NnxBlock(nnx.Rngs(0)))
    rules = {r".*kernel": jinit.he_normal(), r".*bias": jinit.normal()}
    made = jinit.flax.materialize(shapes, rules, KEY)
    assert type(made) is NnxBlock
    real = jinit.flax.reinit(NnxBlock(nnx.Rngs(0)), rules, KEY)
    chex.assert_trees_all_equal(nnx.state(made), nnx.state(real))


def test_every_leaf_needs_a_rule() -> None:
    with pytest.raises(
        ValueError,
        match=r"jinit\.flax\.materialize: every leaf needs a rule \(add a catch-all such as '\.\*' last\); "
        r"no rule matches \['params/layer_0/down/bias'",
    ):
        jinit.flax.materialize(abstract(1), {".*kernel": jinit.he_normal()}, KEY)


def test_rule_matching_nothing() -> None:
    with pytest.raises(ValueError, match=r"jinit\.flax\.materialize: rule 'emb.\*' matches no leaf"):
        jinit.flax.materialize(abstract(1), {"emb.*": jinit.normal(), ".*": jinit.zeros}, KEY)


def test_shardings_of_another_structure() -> None:
    with pytest.raises(
        ValueError, match=r"jinit\.flax\.materialize: `shardings` must be one sharding or a tree with the structure"
    ):
        jinit.flax.materialize(
            {"a": jax.ShapeDtypeStruct((2,), jnp.float32)}, {".*": jinit.zeros}, KEY, shardings=[None]
        )


def test_shardings_leaves_must_be_shardings() -> None:
    with pytest.raises(TypeError, match=r"jinit\.flax\.materialize: `shardings` leaves must be jax shardings"):
        jinit.flax.materialize(
            {"a": jax.ShapeDtypeStruct((2,), jnp.float32)}, {".*": jinit.zeros}, KEY, shardings={"a": 3}
        )


def test_single_device_sharding_places_every_leaf() -> None:
    device = jax.devices()[0]
    sharding = jax.sharding.SingleDeviceSharding(device)
    made = jinit.flax.materialize(abstract(1), RULES, KEY, shardings=sharding)
    for leaf in jax.tree_util.tree_leaves(made):
        assert leaf.sharding.device_set == {device}
    chex.assert_trees_all_equal(made, jinit.flax.materialize(abstract(1), RULES, KEY))


def test_arrays_count_as_abstract_leaves_and_are_not_modified() -> None:
    tree = {"w": jnp.zeros((4, 4))}
    before = np.asarray(tree["w"]).copy()
    made = jinit.flax.materialize(tree, {"w": jinit.ones}, KEY)
    chex.assert_trees_all_equal(made["w"], jnp.ones((4, 4)))
    np.testing.assert_array_equal(np.asarray(tree["w"]), before)


def test_partition_spec_needs_a_mesh() -> None:
    with pytest.raises(
        ValueError, match=r"jinit\.flax\.materialize: a PartitionSpec sharding needs a mesh: call it inside"
    ):
        jinit.flax.materialize(
            {"a": jax.ShapeDtypeStruct((2,), jnp.float32)},
            {".*": jinit.zeros},
            KEY,
            shardings=jax.sharding.PartitionSpec(),
        )
