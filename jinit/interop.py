"""Adapters for other JAX libraries: jinit initializers in haiku and keras.

haiku calls ``w_init(shape, dtype)`` and keras ``initializer(shape, dtype=None)``;
jinit initializers take a PRNG key first. ``haiku(init)`` draws the key from
``hk.next_rng_key()``; ``keras(init, seed=None)`` is a
``keras.initializers.Initializer`` (JAX backend) that holds a seed and
serialises. haiku and keras are imported on first use; so is
``KerasInitializer``, the keras class (touch it to register it with
``keras.saving`` before loading a saved model in a fresh process).
See docs/interop.md.

Examples:
  >>> import haiku as hk, jax, jinit, numpy as np
  >>> init = jinit.he_normal()
  >>> f = hk.transform(lambda x: hk.Linear(256, w_init=jinit.interop.haiku(init))(x))
  >>> params = f.init(jax.random.key(0), np.ones((1, 512), np.float32))
  >>> w = params["linear"]["w"]
  >>> round(float(w.var() / init.moments(w.shape).variance), 1)
  1.0
"""

from typing import TYPE_CHECKING, Any

from jinit._src.interop.haiku_adapter import HaikuInitializer as HaikuInitializer
from jinit._src.interop.haiku_adapter import haiku as haiku
from jinit._src.interop.keras_adapter import keras as keras

__all__ = ["HaikuInitializer", "KerasInitializer", "haiku", "keras"]


def __getattr__(name: str) -> Any:
    if name == "KerasInitializer":  # needs keras: built on first use
        from jinit._src.interop.keras_adapter import keras_class

        return keras_class()
    raise AttributeError(f"module 'jinit.interop' has no attribute {name!r}")


if TYPE_CHECKING:
    KerasInitializer: type[Any]
