"""``jinit.interop.haiku``: jinit initializers as haiku's ``w_init`` / ``b_init``.

Haiku calls ``init(shape, dtype)`` and the initializer takes its key from
``hk.next_rng_key()``. The checks: exact identities first (the adapter's
values are ``init(key, shape, dtype)`` for the key haiku hands out, in
Linear and Conv2D), then the layer's stored kernel against ``init``'s law
with ``jinit.testing.assert_moments``, then the object (frozen, hashable,
picklable) and its errors.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import chex
import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit.interop import HaikuInitializer


class Drawn:
    """``init``'s law with values already drawn: ``assert_moments`` then checks a layer's stored array."""

    def __init__(self, init: Any, values: jax.Array) -> None:
        self.init, self.values, self.name = init, values, f"{init.name} (stored)"

    def moments(self, shape: Any, dtype: Any = None) -> jinit.Moments | None:
        return self.init.moments(shape, dtype)

    def __call__(self, key: jax.Array, shape: Any, dtype: Any = None, out_sharding: Any = None) -> jax.Array:
        chex.assert_shape(self.values, tuple(shape))
        return self.values


def assert_stored_law(init: Any, values: jax.Array) -> None:
    jinit.testing.assert_moments(Drawn(init, values), values.shape, key=jax.random.key(0), dtype=values.dtype)


def mlp_params(w1: Any, w2: Any, b: Any, rng: jax.Array) -> Any:
    def forward(x: jax.Array) -> jax.Array:
        h = hk.Linear(256, w_init=w1, b_init=b)(x)
        return hk.Linear(128, w_init=w2, b_init=b)(jax.nn.relu(h))

    return hk.transform(forward).init(rng, jnp.ones((1, 512)))


def keys_in_order(rng: jax.Array, n: int) -> list[jax.Array]:
    """The first ``n`` keys ``hk.next_rng_key()`` hands out inside a transform called with ``rng``."""
    return hk.transform(lambda: [hk.next_rng_key() for _ in range(n)]).apply({}, rng)


# ---------------------------------------------------------------------------
# Exact identities: the adapter's values are init(key, shape, dtype) for haiku's keys, in order.


def test_linear_kernels_are_init_of_haikus_keys(key: jax.Array) -> None:
    w1, w2, b = jinit.he_normal(), jinit.glorot_uniform(), jinit.normal(0.1)
    params = mlp_params(jinit.interop.haiku(w1), jinit.interop.haiku(w2), jinit.interop.haiku(b), key)
    # Linear draws w, then b; the second Linear follows.
    k = keys_in_order(key, 4)
    chex.assert_trees_all_equal(params["linear"]["w"], w1(k[0], (512, 256), jnp.float32))
    chex.assert_trees_all_equal(params["linear"]["b"], b(k[1], (256,), jnp.float32))
    chex.assert_trees_all_equal(params["linear_1"]["w"], w2(k[2], (256, 128), jnp.float32))
    chex.assert_trees_all_equal(params["linear_1"]["b"], b(k[3], (128,), jnp.float32))


def test_conv2d_kernel_is_init_of_haikus_key(key: jax.Array) -> None:
    init = jinit.he_uniform()
    conv = hk.transform(lambda x: hk.Conv2D(128, 3, w_init=jinit.interop.haiku(init))(x))
    params = conv.init(key, jnp.ones((1, 8, 8, 64)))
    w = params["conv2_d"]["w"]
    chex.assert_shape(w, (3, 3, 64, 128))  # haiku's HWIO: jinit's default in_axis=-2, out_axis=-1
    chex.assert_trees_all_equal(w, init(keys_in_order(key, 1)[0], (3, 3, 64, 128), jnp.float32))


def test_the_same_rng_gives_the_same_values_and_another_rng_others(key: jax.Array, other_key: jax.Array) -> None:
    w = jinit.interop.haiku(jinit.he_normal())
    b = jinit.interop.haiku(jinit.zeros)
    first, again, other = (mlp_params(w, w, b, k) for k in (key, key, other_key))
    chex.assert_trees_all_equal(first, again)
    assert not np.array_equal(first["linear"]["w"], other["linear"]["w"])


def test_a_legacy_rng_gives_the_values_of_the_typed_key(key: jax.Array, legacy_key: jax.Array) -> None:
    w = jinit.interop.haiku(jinit.lecun_normal())
    b = jinit.interop.haiku(jinit.zeros)
    chex.assert_trees_all_equal(mlp_params(w, w, b, key), mlp_params(w, w, b, legacy_key))


def test_the_dtype_haiku_asks_for_is_drawn(key: jax.Array) -> None:
    init = jinit.glorot_normal()
    w = hk.transform(lambda: hk.get_parameter("w", (64, 32), jnp.bfloat16, init=jinit.interop.haiku(init)))
    got = w.init(key)["~"]["w"]
    chex.assert_type(got, jnp.bfloat16)
    chex.assert_trees_all_equal(got, init(keys_in_order(key, 1)[0], (64, 32), jnp.bfloat16))


def test_any_jax_initializer_is_adapted(key: jax.Array) -> None:
    init = jax.nn.initializers.orthogonal()
    got = hk.transform(lambda: jinit.interop.haiku(init)((16, 16), jnp.float32)).apply({}, key)
    chex.assert_trees_all_equal(got, init(keys_in_order(key, 1)[0], (16, 16), jnp.float32))


# ---------------------------------------------------------------------------
# The stored parameters have the law.


def test_mlp_parameters_have_the_law(key: jax.Array) -> None:
    w1, w2, b = jinit.he_normal(), jinit.glorot_uniform(), jinit.normal(0.1)
    params = mlp_params(jinit.interop.haiku(w1), jinit.interop.haiku(w2), jinit.interop.haiku(b), key)
    assert_stored_law(w1, params["linear"]["w"])  # 131072 draws
    assert_stored_law(w2, params["linear_1"]["w"])  # bounded: the bound is checked too
    assert_stored_law(b, jnp.concatenate([params["linear"]["b"], params["linear_1"]["b"]]))


def test_conv2d_kernel_has_the_law(key: jax.Array) -> None:
    init = jinit.he_uniform()
    conv = hk.transform(lambda x: hk.Conv2D(128, 3, w_init=jinit.interop.haiku(init))(x))
    assert_stored_law(init, conv.init(key, jnp.ones((1, 8, 8, 64)))["conv2_d"]["w"])


def test_a_wrong_kernel_fails_the_law_check(key: jax.Array) -> None:
    """The check above can fail: lecun's kernel (half he's variance) is refused as he_normal's."""
    lecun, glorot = jinit.interop.haiku(jinit.lecun_normal()), jinit.interop.haiku(jinit.glorot_uniform())
    params = mlp_params(lecun, glorot, None, key)
    with pytest.raises(AssertionError, match=r"he_normal \(stored\) variance"):
        assert_stored_law(jinit.he_normal(), params["linear"]["w"])


# ---------------------------------------------------------------------------
# The object.


def test_frozen_hashable_picklable_equal_by_value() -> None:
    a, b = jinit.interop.haiku(jinit.he_normal()), jinit.interop.haiku(jinit.he_normal())
    assert a == b and hash(a) == hash(b) and a != jinit.interop.haiku(jinit.lecun_normal())
    assert isinstance(a, HaikuInitializer)
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        a.init = jinit.zeros  # type: ignore[misc]
    assert repr(a) == f"HaikuInitializer(init={jinit.he_normal()!r})"


def test_usable_as_a_static_jit_argument(key: jax.Array) -> None:
    def draw(w_init: HaikuInitializer, rng: jax.Array) -> jax.Array:
        return hk.transform(lambda: w_init((8, 4), jnp.float32)).apply({}, rng)

    jitted = jax.jit(draw, static_argnums=0)
    got = jitted(jinit.interop.haiku(jinit.he_normal()), key)
    chex.assert_trees_all_equal(got, jinit.he_normal()(keys_in_order(key, 1)[0], (8, 4), jnp.float32))


# ---------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (3, TypeError, r"^jinit\.interop\.haiku: `init` must be an initializer called \(key, shape, dtype\).*got 3\.$"),
        (jinit.he_normal, TypeError, r"^jinit\.interop\.haiku: .*the factory he_normal itself: call it first"),
        (
            jinit.interop.haiku(jinit.he_normal()),
            TypeError,
            r"^jinit\.interop\.haiku: `init` must be a jinit initializer, not an adapter already",
        ),
    ],
    ids=["not-callable", "factory", "adapter"],
)
def test_bad_init_is_refused_at_once(bad: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        jinit.interop.haiku(bad)


def test_outside_transform_haiku_says_so() -> None:
    with pytest.raises(ValueError, match=r"must be used as part of an `hk\.transform`"):
        jinit.interop.haiku(jinit.he_normal())((4, 4), jnp.float32)


def test_without_haiku_the_call_says_what_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "haiku", None)  # import haiku now raises ImportError
    with pytest.raises(ImportError, match=r"^jinit\.interop\.haiku: needs dm-haiku \(pip install dm-haiku\)"):
        jinit.interop.haiku(jinit.he_normal())((4, 4), jnp.float32)


def direct_use(key: jax.Array) -> Any:
    """What a user writes first: a jinit initializer handed to haiku unwrapped."""
    return hk.transform(lambda x: hk.Linear(8, w_init=jinit.he_normal())(x)).init(key, jnp.ones((1, 4)))


def test_an_unwrapped_initializer_fails_with_a_type_error(key: jax.Array) -> None:
    """Haiku calls ``w_init(shape, dtype)``: the shape lands in the key's place and the call is refused."""
    with pytest.raises(TypeError, match=r"^jinit\.he_normal: "):
        direct_use(key)


def test_an_unwrapped_initializer_points_to_the_adapter(key: jax.Array) -> None:
    with pytest.raises(TypeError) as caught:
        direct_use(key)
    assert "jinit.interop.haiku(" in str(caught.value), str(caught.value)
