"""The Initializer protocol, for every public scheme in the registry.

Each test is parametrized over ``law_cases.entries()`` at collection time, so
a scheme added to the registry (jinit.torch, modern schemes) is covered here
without touching this file. The shape of each scheme is the smallest
"universal" shape of its ``Entry.min_rank`` (at least rank 2): small enough
to keep compile times short, and valid for every scheme of that rank
(stacked needs a leading 4, delta_orthogonal needs in <= out).
"""

from __future__ import annotations

import math
import pickle

import chex
import jax
import jax.numpy as jnp
import law_cases
import numpy as np
import pytest

import jinit

ENTRIES = law_cases.entries()
IDS = [e.name for e in ENTRIES]

#: A shape of each rank that every scheme of that minimal rank accepts.
SHAPES = {0: (), 1: (16,), 2: (8, 16), 3: (4, 8, 16), 4: (4, 3, 8, 16), 5: (4, 3, 3, 8, 16)}

REAL_DTYPES = [jnp.float16, jnp.bfloat16, jnp.float32]


def protocol_shape(entry: law_cases.Entry) -> tuple[int, ...]:
    return SHAPES[max(entry.min_rank, 2)]


def scale_of(init: jinit.Initializer, shape: tuple[int, ...], dtype) -> float:
    """The magnitude of one entry, sqrt(E w^2), from the law."""
    law = init.moments(shape, dtype)
    return math.sqrt(law.variance + law.mean**2)


def assert_close_ulps(actual, expected, dtype, scale: float, ulps: int = 4) -> None:
    """Equal up to a few rounding errors of ``dtype``.

    Two correct evaluations of the same formula (jit vs eager, vmap vs a
    loop) may fuse or reorder float operations: each entry can move by a few
    ulp of itself, or a few ulp of an intermediate of the order of the law's
    scale (e.g. erfinv near 0), hence rtol and atol of ``ulps`` eps.
    """
    eps = float(jnp.finfo(dtype).eps)
    chex.assert_trees_all_close(actual, expected, rtol=ulps * eps, atol=ulps * eps * scale)


@pytest.fixture(params=ENTRIES, ids=IDS)
def entry(request) -> law_cases.Entry:
    return request.param


@pytest.fixture
def init(entry):
    return entry.make()


@pytest.fixture
def shape(entry):
    return protocol_shape(entry)


def draw(init, key, shape, dtype=None):
    return init(key, shape, dtype)


def test_is_an_initializer(init):
    assert isinstance(init, jinit.Initializer)
    assert callable(getattr(init, "moments", None))


@pytest.mark.parametrize("dtype", REAL_DTYPES, ids=lambda d: jnp.dtype(d).name)
def test_shape_dtype_finite(init, shape, key, dtype):
    # `dtype` passed positionally, as Flax does: init(key, shape, dtype).
    w = init(key, shape, dtype)
    chex.assert_shape(w, shape)
    chex.assert_type(w, dtype)
    chex.assert_tree_all_finite(w)


def test_default_dtype_is_float32(init, shape, key):
    w = init(key, shape)
    chex.assert_type(w, jnp.float32)


def test_float64_under_x64(init, shape, key):
    with jax.enable_x64(True):
        w = init(key, shape, jnp.float64)
        chex.assert_shape(w, shape)
        chex.assert_type(w, jnp.float64)
        chex.assert_tree_all_finite(w)


def test_complex64(entry, init, shape, key):
    if entry.complex:
        w = init(key, shape, jnp.complex64)
        chex.assert_shape(w, shape)
        chex.assert_type(w, jnp.complex64)
        chex.assert_tree_all_finite(w)
    else:
        # Entry.complex=False must mean the scheme refuses complex dtypes clearly.
        with pytest.raises(ValueError, match=r"^jinit\.[\w.]+: `dtype` must be"):
            init(key, shape, jnp.complex64)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_, jnp.uint8], ids=["int32", "bool", "uint8"])
def test_non_float_dtype_is_a_value_error(init, shape, key, dtype):
    with pytest.raises(ValueError, match=r"^jinit\.[\w.]+: `dtype` must be a floating-point"):
        init(key, shape, dtype)


def test_same_key_same_values(init, shape, key):
    chex.assert_trees_all_equal(init(key, shape), init(key, shape))


def test_different_keys(entry, init, shape, key, other_key):
    a, b = init(key, shape), init(other_key, shape)
    if entry.random:
        # Continuous laws: two independent draws of >= 128 entries coincide
        # entrywise with probability 0 (only a constant entry could, e.g. a
        # zero tap of delta_orthogonal).
        assert not np.array_equal(np.asarray(a), np.asarray(b)), f"{entry.name}: values do not depend on the key"
        assert np.mean(np.asarray(a) != np.asarray(b)) > 0.0
    else:
        chex.assert_trees_all_equal(a, b)


def test_typed_and_legacy_keys_agree(init, shape, key, legacy_key):
    chex.assert_trees_all_equal(init(key, shape), init(legacy_key, shape))


def test_jit_equals_eager(init, shape, key):
    def apply(init, key, shape, dtype):
        return init(key, shape, dtype)

    # The initializer itself is a static argument: it must be hashable.
    jitted = jax.jit(apply, static_argnums=(0, 2, 3))(init, key, shape, jnp.float32)
    eager = init(key, shape, jnp.float32)
    chex.assert_type(jitted, jnp.float32)
    assert_close_ulps(jitted, eager, jnp.float32, scale_of(init, shape, jnp.float32))


def test_vmap_over_keys(init, shape, key):
    keys = jax.random.split(key, 3)
    batched = jax.vmap(lambda k: init(k, shape))(keys)
    chex.assert_shape(batched, (3, *shape))
    looped = jnp.stack([init(k, shape) for k in keys])
    assert_close_ulps(batched, looped, jnp.float32, scale_of(init, shape, jnp.float32))


def test_vmap_over_legacy_keys(init, shape, key):
    keys = jax.random.key_data(jax.random.split(key, 2))
    chex.assert_shape(keys, (2, 2))
    batched = jax.vmap(lambda k: init(k, shape))(keys)
    looped = jnp.stack([init(k, shape) for k in keys])
    assert_close_ulps(batched, looped, jnp.float32, scale_of(init, shape, jnp.float32))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=["float32", "bfloat16"])
def test_eval_shape(init, shape, key, dtype):
    out = jax.eval_shape(lambda k: init(k, shape, dtype), key)
    assert isinstance(out, jax.ShapeDtypeStruct)
    assert out.shape == shape
    assert out.dtype == jnp.dtype(dtype)


def test_out_sharding_single_device(init, shape, key):
    mesh = jax.make_mesh((1,), ("x",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    w = init(key, shape, None, sharding)
    assert w.sharding.is_equivalent_to(sharding, len(shape))
    chex.assert_trees_all_equal(w, init(key, shape))


def test_zero_size_shape(init, shape, key):
    empty = (*shape[:-2], 0, shape[-1])
    w = init(key, empty, jnp.float32)
    chex.assert_shape(w, empty)
    chex.assert_type(w, jnp.float32)
    assert init.moments(empty) is None


def test_min_rank_is_accepted_and_below_refused(entry, init, key):
    w = init(key, SHAPES[entry.min_rank])
    chex.assert_shape(w, SHAPES[entry.min_rank])
    chex.assert_tree_all_finite(w)
    if entry.min_rank > 0:
        below = SHAPES[entry.min_rank - 1]
        with pytest.raises(ValueError, match=r"^jinit\.[\w.]+: "):
            init(key, below)


def test_moments_describe_the_shape(init, shape):
    law = init.moments(shape)
    assert isinstance(law, jinit.Moments)
    assert math.isfinite(law.mean)
    assert math.isfinite(law.variance) and law.variance >= 0.0
    assert law.bound is None or law.bound >= 0.0
    # dtype positional, as in __call__.
    assert init.moments(shape, jnp.bfloat16) == law


def test_hashable_and_equal_by_value(init, entry):
    again = entry.make()
    assert again == init
    assert hash(again) == hash(init)
    assert {init: 1}[again] == 1


def test_picklable(init, shape, key):
    restored = pickle.loads(pickle.dumps(init))
    assert restored == init
    assert hash(restored) == hash(init)
    chex.assert_trees_all_equal(restored(key, shape), init(key, shape))


def test_frozen(init):
    fields = getattr(init, "__dataclass_fields__", {})
    assert fields, f"{type(init).__name__} is not a dataclass"
    with pytest.raises(AttributeError):
        setattr(init, next(iter(fields)), None)


def test_readable_repr(init):
    text = repr(init)
    assert text.startswith(type(init).__name__ + "("), text
    assert " at 0x" not in text, text
    assert "<function" not in text and "<lambda>" not in text, text


def test_flax_linen_dense_passes_dtype_positionally(entry, init, key):
    nn = pytest.importorskip("flax.linen")
    shape = protocol_shape(entry)
    if len(shape) != 2:
        pytest.skip("a Dense kernel is 2-D; this scheme needs a higher rank")
    layer = nn.Dense(shape[1], kernel_init=init, param_dtype=jnp.bfloat16, use_bias=False)
    params = layer.init(key, jnp.ones((1, shape[0]), jnp.bfloat16))
    kernel = params["params"]["kernel"]
    chex.assert_shape(kernel, shape)
    chex.assert_type(kernel, jnp.bfloat16)
    chex.assert_tree_all_finite(kernel)
