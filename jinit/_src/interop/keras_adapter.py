"""``jinit.interop.keras``: a jinit initializer as a ``keras.initializers.Initializer`` (JAX backend).

keras calls ``initializer(shape, dtype=None)`` and leaves the randomness to
the initializer; jinit initializers take a key first. The adapter holds a
seed as keras' own initializers do and calls ``init(key, shape, dtype)``.
Its config stores the jinit initializer's JSON form (``common.encode``), so
``get_config``/``from_config`` and ``keras.saving`` rebuild an equal
initializer. keras is imported, and the class built and registered with
``keras.saving`` as ``"jinit>KerasInitializer"``, on first use.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import jax

from jinit._src.core import validation
from jinit._src.core.types import Initializer
from jinit._src.interop import common

NAME = "interop.keras"
#: the name ``keras.saving`` files record for the adapter
REGISTERED_NAME = "jinit>KerasInitializer"


def keras(init: Initializer, seed: Any = None) -> Any:
    """Wraps a jinit initializer as a ``keras.initializers.Initializer``.

    keras calls initializers ``(shape, dtype=None)``; a jinit initializer
    takes a key first, so passing one directly
    (``keras.layers.Dense(8, kernel_initializer=jinit.he_normal())``) fails.
    Wrap it: ``kernel_initializer=jinit.interop.keras(jinit.he_normal(), seed=0)``.
    Needs keras 3 with the JAX backend (``KERAS_BACKEND=jax`` set before
    keras is imported); jinit's laws assume JAX's kernel layout, which keras'
    ``Dense`` (``(in, out)``) and ``Conv`` (``(*window, in, out)``) share.

    Args:
      init: any initializer called ``(key, shape, dtype)``: a jinit scheme or
        one of ``jax.nn.initializers`` (only jinit's own can be serialised).
      seed: an int: every call draws ``init(jax.random.key(seed), shape, dtype)``
        (the same values each call, as keras' int seeds give). A
        ``keras.random.SeedGenerator``: each call takes its next key, so calls
        differ. None: a fresh ``keras.random.SeedGenerator()``, so calls differ
        and so do two adapters, and two layers sharing one adapter get
        different kernels.

    Returns:
      A ``keras.initializers.Initializer`` (class ``jinit.interop.KerasInitializer``)
      called ``(shape, dtype=None)``; ``dtype=None`` means ``init``'s own
      ``dtype`` if it has one, else ``keras.config.floatx()``. ``get_config()``
      is plain JSON (no pickle) and ``from_config`` rebuilds an equal ``init``.

    Raises:
      TypeError: if ``init`` is not an initializer (see ``jinit.interop.haiku``)
        or ``seed`` is none of the above.
      ValueError: if keras' backend is not JAX.
    """
    return keras_class()(init, seed=seed)


@functools.cache
def keras_class() -> type[Any]:
    """The adapter class, built once (it imports keras) and registered with ``keras.saving``."""
    keras_module = import_keras()
    base: Any = keras_module.initializers.Initializer

    class KerasInitializer(base):
        """A jinit initializer called ``(shape, dtype=None)``; see ``jinit.interop.keras``."""

        _jinit_adapter = True

        def __init__(self, init: Initializer, seed: Any = None) -> None:
            backend = keras_module.backend.backend()
            if backend != "jax":
                raise ValueError(
                    validation.error(
                        NAME,
                        f"needs keras' JAX backend (set KERAS_BACKEND=jax before importing keras); "
                        f"got backend={backend!r}.",
                    )
                )
            common.check_init(NAME, init)
            self.init = init
            self._init_seed, self.seed = _seed(keras_module, seed)

        def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
            if dtype is None:
                dtype = getattr(self.init, "dtype", None)
            if dtype is None:
                dtype = keras_module.config.floatx()
            # A SeedGenerator's next() is a uint32[2] array: a legacy JAX key.
            key = jax.random.key(self.seed) if isinstance(self.seed, int) else self.seed.next()
            return self.init(key, shape, dtype)

        def get_config(self) -> dict[str, Any]:
            return {
                "init": common.encode(NAME, self.init),
                "seed": keras_module.saving.serialize_keras_object(self._init_seed),
            }

        @classmethod
        def from_config(cls, config: dict[str, Any]) -> KerasInitializer:
            if "init" not in config or not set(config) <= {"init", "seed"}:
                raise ValueError(
                    validation.error(NAME, f"the config must have the keys `init` and `seed` only; got {config!r}.")
                )
            return cls(common.decode(NAME, config["init"]), seed=config.get("seed"))

        def __repr__(self) -> str:
            return f"jinit.interop.keras({self.init!r}, seed={self._init_seed!r})"

    # Named where users find it (``jinit.interop.KerasInitializer``), which also makes it picklable.
    KerasInitializer.__module__ = "jinit.interop"
    KerasInitializer.__qualname__ = "KerasInitializer"
    package, _, name = REGISTERED_NAME.partition(">")
    return keras_module.saving.register_keras_serializable(package=package, name=name)(KerasInitializer)


def import_keras() -> Any:
    """keras (an optional dependency), or ImportError saying what is needed."""
    try:
        import keras as keras_module
    except ImportError as e:
        raise ImportError(
            validation.error(
                NAME,
                f"needs keras 3 (pip install keras) with the JAX backend (KERAS_BACKEND=jax); importing it failed: {e}",
            )
        ) from e
    return keras_module


def _seed(keras_module: Any, seed: Any) -> tuple[Any, Any]:
    """``(what get_config writes, what calls draw from)`` for a ``seed`` argument."""
    generator = keras_module.random.SeedGenerator
    if isinstance(seed, dict):  # a serialised SeedGenerator, from a config
        seed = keras_module.saving.deserialize_keras_object(seed)
        if not isinstance(seed, generator):
            raise TypeError(validation.error(NAME, f"the config's `seed` is not a SeedGenerator; got {seed!r}."))
    if seed is None:
        return None, generator()
    if isinstance(seed, generator):
        return seed, seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        value = validation.integer(NAME, "seed", seed)
        return value, value
    raise TypeError(
        validation.error(NAME, f"`seed` must be an int, a keras.random.SeedGenerator or None; got seed={seed!r}.")
    )
