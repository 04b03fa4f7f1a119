"""``jinit.interop.keras``: jinit initializers in keras 3 layers (JAX backend).

keras is imported once for this module, with ``KERAS_BACKEND=jax`` set
before (keras reads it at import), and the layers are built once
(module-scoped fixtures): keras' import is slow. The checks: exact
identities (an int seed draws ``init(jax.random.key(seed), shape, dtype)``),
the built layer's kernel against the law with ``jinit.testing.assert_moments``,
seeds as keras' own initializers take them, and serialisation:
``from_config(get_config())`` rebuilds an equal initializer for every
catalog scheme, through JSON and ``keras.saving``, and a saved model loads
in a fresh process.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported, here or by anything after

import json
import pathlib
import pickle
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import chex
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import jinit
from jinit._src.interop import common, keras_adapter

ROOT = pathlib.Path(__file__).resolve().parent.parent
CATALOG = [e.name for e in jinit.catalog.entries()]


def test_keras_runs_on_jax() -> None:
    assert keras.backend.backend() == "jax", "keras was imported before this module set KERAS_BACKEND=jax"


class Drawn:
    """``init``'s law with values already drawn: ``assert_moments`` then checks a layer's stored array."""

    def __init__(self, init: Any, values: Any) -> None:
        self.init, self.values, self.name = init, jnp.asarray(values), f"{init.name} (stored)"

    def moments(self, shape: Any, dtype: Any = None) -> jinit.Moments | None:
        return self.init.moments(shape, dtype)

    def __call__(self, key: jax.Array, shape: Any, dtype: Any = None, out_sharding: Any = None) -> jax.Array:
        chex.assert_shape(self.values, tuple(shape))
        return self.values


def assert_stored_law(init: Any, values: Any) -> None:
    jinit.testing.assert_moments(Drawn(init, values), values.shape, key=jax.random.key(0), dtype=values.dtype)


@contextmanager
def keras_saving() -> Iterator[None]:
    """keras 3.15 saves a variable with ``np.array(variable)``; its ``__array__`` lacks numpy 2's ``copy``.

    numpy warns about that (DeprecationWarning, an error under this suite's
    settings) for any model, with or without jinit; only that warning is let through.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy keyword", DeprecationWarning)
        yield


# ---------------------------------------------------------------------------
# Layers built once: a Dense 512 -> 256 (131072 draws) and a Conv2D 64 -> 128 with 3x3 windows (73728).

DENSE_INIT, CONV_INIT = jinit.he_normal(), jinit.glorot_uniform()


@pytest.fixture(scope="module")
def dense() -> keras.layers.Dense:
    layer = keras.layers.Dense(256, kernel_initializer=jinit.interop.keras(DENSE_INIT, seed=0))
    layer.build((None, 512))
    return layer


@pytest.fixture(scope="module")
def conv() -> keras.layers.Conv2D:
    layer = keras.layers.Conv2D(128, 3, kernel_initializer=jinit.interop.keras(CONV_INIT, seed=1))
    layer.build((None, 8, 8, 64))
    return layer


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, keras.Model]:
    """A small model with jinit kernels (int seed and SeedGenerator), saved with keras.saving."""
    model = keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(8, kernel_initializer=jinit.interop.keras(jinit.lecun_uniform(), seed=3)),
            keras.layers.Dense(
                4,
                kernel_initializer=jinit.interop.keras(jinit.orthogonal(), seed=keras.random.SeedGenerator(4)),
                bias_initializer=jinit.interop.keras(jinit.normal(0.5), seed=5),
            ),
        ]
    )
    path = tmp_path_factory.mktemp("keras") / "model.keras"
    with keras_saving():
        model.save(path)
    return path, model


def test_dense_kernel_is_init_of_the_seed(dense: keras.layers.Dense) -> None:
    chex.assert_trees_all_equal(np.asarray(dense.kernel), DENSE_INIT(jax.random.key(0), (512, 256), jnp.float32))


def test_dense_kernel_has_the_law(dense: keras.layers.Dense) -> None:
    assert_stored_law(DENSE_INIT, np.asarray(dense.kernel))


def test_conv2d_kernel_has_the_law(conv: keras.layers.Conv2D) -> None:
    kernel = np.asarray(conv.kernel)
    chex.assert_shape(kernel, (3, 3, 64, 128))  # keras' HWIO: jinit's default in_axis=-2, out_axis=-1
    assert_stored_law(CONV_INIT, kernel)  # uniform: the bound is checked too
    chex.assert_trees_all_equal(kernel, CONV_INIT(jax.random.key(1), (3, 3, 64, 128), jnp.float32))


def test_a_wrong_kernel_fails_the_law_check(dense: keras.layers.Dense) -> None:
    """The law check can fail: he_normal's kernel (twice lecun's variance) is refused as lecun_normal's."""
    with pytest.raises(AssertionError, match=r"lecun_normal \(stored\) variance"):
        assert_stored_law(jinit.lecun_normal(), np.asarray(dense.kernel))


# ---------------------------------------------------------------------------
# Seeds and dtypes.


def test_an_int_seed_draws_the_same_values_each_call() -> None:
    init = jinit.normal(1.0)
    adapter = jinit.interop.keras(init, seed=7)
    expected = init(jax.random.key(7), (64, 32), jnp.float32)
    chex.assert_trees_all_equal(adapter((64, 32)), expected)
    chex.assert_trees_all_equal(adapter((64, 32)), expected)


def test_a_seed_generator_gives_its_next_key_each_call() -> None:
    init = jinit.normal(1.0)
    adapter = jinit.interop.keras(init, seed=keras.random.SeedGenerator(11))
    twin = keras.random.SeedGenerator(11)  # the same sequence of keys
    for _ in range(2):
        chex.assert_trees_all_equal(adapter((64, 32)), init(twin.next(), (64, 32), jnp.float32))


def test_no_seed_draws_fresh_values_each_call_and_per_adapter() -> None:
    a, b = jinit.interop.keras(jinit.normal(1.0)), jinit.interop.keras(jinit.normal(1.0))
    first, second, other = a((64, 32)), a((64, 32)), b((64, 32))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, other)
    assert a.get_config()["seed"] is None  # from_config draws a fresh seed again


def test_two_layers_sharing_an_unseeded_adapter_differ() -> None:
    adapter = jinit.interop.keras(jinit.he_normal())
    one, two = keras.layers.Dense(16, kernel_initializer=adapter), keras.layers.Dense(16, kernel_initializer=adapter)
    one.build((None, 16))
    two.build((None, 16))
    assert not np.array_equal(one.kernel, two.kernel)


def test_dtype_the_layers_then_inits_own_then_floatx() -> None:
    plain, half = jinit.he_normal(), jinit.he_normal(dtype=jnp.bfloat16)
    chex.assert_type(jinit.interop.keras(plain, seed=0)((8, 8)), jnp.float32)  # keras.config.floatx()
    chex.assert_type(jinit.interop.keras(half, seed=0)((8, 8)), jnp.bfloat16)
    got = jinit.interop.keras(half, seed=0)((8, 8), "float16")
    chex.assert_trees_all_equal(got, half(jax.random.key(0), (8, 8), jnp.float16))
    layer = keras.layers.Dense(8, kernel_initializer=jinit.interop.keras(plain, seed=0), dtype="bfloat16")
    layer.build((None, 8))
    chex.assert_trees_all_equal(np.asarray(layer.kernel), plain(jax.random.key(0), (8, 8), jnp.bfloat16))


def test_any_jax_initializer_is_adapted_but_not_serialised() -> None:
    init = jax.nn.initializers.he_normal()
    adapter = jinit.interop.keras(init, seed=2)
    chex.assert_trees_all_equal(adapter((8, 8)), init(jax.random.key(2), (8, 8), jnp.float32))
    with pytest.raises(TypeError, match=r"^jinit\.interop\.keras: only jinit's own initializers can be serialised"):
        adapter.get_config()


# ---------------------------------------------------------------------------
# Serialisation.


@pytest.mark.parametrize("name", CATALOG)
def test_config_round_trip_rebuilds_an_equal_initializer(name: str) -> None:
    init = jinit.catalog.get(name).make()
    adapter = jinit.interop.keras(init, seed=0)
    config = json.loads(json.dumps(adapter.get_config()))  # plain JSON, as keras.saving writes it
    rebuilt = jinit.interop.KerasInitializer.from_config(config)
    assert rebuilt.init == init and hash(rebuilt.init) == hash(init)
    assert rebuilt.init.name == init.name and repr(rebuilt.init) == repr(init)
    assert rebuilt.seed == 0


def test_fields_of_every_kind_round_trip() -> None:
    """A nested initializer, a dtype, tuples: decode(encode(x)) == x, field by field."""
    init = jinit.stacked(jinit.variance_scaling(0.5, "fan_avg", "uniform", batch_axis=(0,), dtype=jnp.bfloat16), 4)
    config = json.loads(json.dumps(common.encode("interop.keras", init)))
    assert config["fields"]["init"]["fields"]["dtype"] == {"dtype": "bfloat16"}
    assert config["fields"]["init"]["fields"]["batch_axis"] == [0]
    rebuilt = common.decode("interop.keras", config)
    assert rebuilt == init and rebuilt.init.batch_axis == (0,) and rebuilt.init.dtype == np.dtype(jnp.bfloat16)
    key = jax.random.key(0)
    chex.assert_trees_all_equal(rebuilt(key, (4, 3, 16, 8)), init(key, (4, 3, 16, 8)))


def test_keras_serialize_round_trip_keeps_a_seed_generator() -> None:
    adapter = jinit.interop.keras(jinit.he_uniform(), seed=keras.random.SeedGenerator(9))
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(adapter))
    assert type(rebuilt) is jinit.interop.KerasInitializer and rebuilt.init == jinit.he_uniform()
    assert isinstance(rebuilt.seed, keras.random.SeedGenerator) and rebuilt.seed is not adapter.seed
    twin = keras.random.SeedGenerator(9)
    chex.assert_trees_all_equal(rebuilt((16, 8)), jinit.he_uniform()(twin.next(), (16, 8), jnp.float32))


def test_registered_with_keras_saving() -> None:
    cls = jinit.interop.KerasInitializer
    assert keras.saving.get_registered_object("jinit>KerasInitializer") is cls
    assert issubclass(cls, keras.initializers.Initializer)
    adapter = jinit.interop.keras(jinit.he_normal(), seed=0)
    assert pickle.loads(pickle.dumps(adapter)).init == adapter.init
    assert repr(adapter) == f"jinit.interop.keras({jinit.he_normal()!r}, seed=0)"


def test_saved_model_loads_with_its_initializers(saved: tuple[pathlib.Path, keras.Model]) -> None:
    path, model = saved
    with keras_saving():
        loaded = keras.saving.load_model(path)
    for a, b in zip(model.layers, loaded.layers, strict=True):
        chex.assert_trees_all_equal([np.asarray(w) for w in a.weights], [np.asarray(w) for w in b.weights])
        assert b.kernel_initializer.init == a.kernel_initializer.init
    assert loaded.layers[0].kernel_initializer.seed == 3
    assert loaded.layers[1].bias_initializer.init == jinit.normal(0.5)


def test_saved_model_loads_in_a_fresh_process(saved: tuple[pathlib.Path, keras.Model]) -> None:
    """In a new process the class is registered by touching ``jinit.interop.KerasInitializer``."""
    path, model = saved
    code = (
        "import os, sys\n"
        "os.environ['KERAS_BACKEND'] = 'jax'\n"
        "import keras, numpy as np, jinit\n"
        "from jinit.interop import KerasInitializer\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "init = model.layers[0].kernel_initializer\n"
        "assert isinstance(init, KerasInitializer) and init.init == jinit.lecun_uniform(), init\n"
        "np.save(sys.argv[2], np.asarray(model.layers[0].kernel))\n"
    )
    out = path.parent / "kernel.npy"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), str(out)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    chex.assert_trees_all_equal(np.load(out), np.asarray(model.layers[0].kernel))


# ---------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (3, r"`init` must be an initializer called \(key, shape, dtype\).*got 3\.$"),
        (
            jinit.he_normal,
            r".*the factory he_normal itself: call it first, as in jinit\.interop\.keras\(he_normal\(\)\)",
        ),
        (jinit.interop.haiku(jinit.he_normal()), r"`init` must be a jinit initializer, not an adapter already"),
    ],
    ids=["not-callable", "factory", "adapter"],
)
def test_bad_init_is_refused_at_once(bad: Any, match: str) -> None:
    with pytest.raises(TypeError, match=r"^jinit\.interop\.keras: " + match):
        jinit.interop.keras(bad)


@pytest.mark.parametrize("seed", [1.5, True, "0", [0, 1]], ids=["float", "bool", "str", "list"])
def test_a_bad_seed_is_refused(seed: Any) -> None:
    with pytest.raises(TypeError, match=r"^jinit\.interop\.keras: `seed` must be an int, a keras\.random\.SeedGen"):
        jinit.interop.keras(jinit.he_normal(), seed=seed)


def test_a_seed_past_int64_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^jinit\.interop\.keras: `seed` must be at most 9223372036854775807"):
        jinit.interop.keras(jinit.he_normal(), seed=2**63)


def test_a_config_seed_that_is_no_seed_generator_is_refused() -> None:
    config = jinit.interop.keras(jinit.he_normal(), seed=0).get_config()
    config["seed"] = keras.saving.serialize_keras_object(keras.initializers.Zeros())
    with pytest.raises(TypeError, match=r"^jinit\.interop\.keras: the config's `seed` is not a SeedGenerator"):
        jinit.interop.KerasInitializer.from_config(config)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda c: c.pop("init"), ValueError, r"the config must have the keys `init` and `seed` only"),
        (lambda c: c.update({"mean": 0.0}), ValueError, r"the config must have the keys `init` and `seed` only"),
        (lambda c: c["init"].update({"class": "os:system"}), ValueError, r"the config names no jinit initializer"),
        (
            lambda c: c["init"].update({"class": "jinit._src.core.validation:error"}),
            ValueError,
            r"the config names no jinit initializer class; got class='jinit\._src\.core\.validation:error'",
        ),
        (lambda c: c["init"]["fields"].update({"colour": 1}), ValueError, r"the config does not fit jinit\._src"),
        (lambda c: c["init"].pop("scheme"), ValueError, r"the config is not one get_config wrote"),
    ],
    ids=["no-init", "unknown-key", "outside-jinit", "not-an-initializer", "unknown-field", "malformed"],
)
def test_a_bad_config_is_refused(change: Any, error: type[Exception], match: str) -> None:
    config = jinit.interop.keras(jinit.he_normal(), seed=0).get_config()
    change(config)
    with pytest.raises(error, match=r"^jinit\.interop\.keras: " + match):
        jinit.interop.KerasInitializer.from_config(config)


def test_another_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    with pytest.raises(
        ValueError, match=r"^jinit\.interop\.keras: needs keras' JAX backend .*got backend='tensorflow'"
    ):
        jinit.interop.keras(jinit.he_normal())


def test_without_keras_the_adapter_says_what_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)  # import keras now raises ImportError
    with pytest.raises(ImportError, match=r"^jinit\.interop\.keras: needs keras 3 \(pip install keras\) with the JAX"):
        keras_adapter.import_keras()


def direct_use() -> Any:
    """What a user writes first: a jinit initializer handed to keras unwrapped."""
    layer = keras.layers.Dense(8, kernel_initializer=jinit.he_normal())
    layer.build((None, 4))
    return layer


def test_an_unwrapped_initializer_fails_with_a_type_error() -> None:
    """keras calls ``initializer(shape, dtype=...)``: the key is missing and the call is refused."""
    with pytest.raises(TypeError):
        direct_use()


def test_an_unwrapped_initializer_points_to_the_adapter() -> None:
    with pytest.raises(TypeError) as caught:
        direct_use()
    assert "jinit.interop.keras(" in str(caught.value), str(caught.value)
