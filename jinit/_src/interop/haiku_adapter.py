"""``jinit.interop.haiku``: a jinit initializer in haiku's ``(shape, dtype)`` convention.

Haiku calls ``w_init(shape, dtype)`` and leaves the key to the initializer,
which takes it from ``hk.next_rng_key()``; jinit initializers take the key
first. The adapter draws the key from haiku and calls ``init(key, shape, dtype)``,
so the values are those ``init`` gives for that key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import jax

from jinit._src.core import validation
from jinit._src.core.types import DTypeLike, Initializer
from jinit._src.interop import common


@dataclasses.dataclass(frozen=True)
class HaikuInitializer:
    """``init`` called ``(shape, dtype)``, its key drawn from ``hk.next_rng_key()``."""

    init: Initializer

    _jinit_adapter: ClassVar[bool] = True

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> jax.Array:
        return self.init(import_haiku().next_rng_key(), shape, dtype)


def import_haiku() -> Any:
    """haiku (an optional dependency), or ImportError saying what is needed."""
    try:
        import haiku as hk
    except ImportError as e:
        raise ImportError(
            validation.error("interop.haiku", f"needs dm-haiku (pip install dm-haiku); importing it failed: {e}")
        ) from e
    return hk


def haiku(init: Initializer) -> HaikuInitializer:
    """Wraps a jinit initializer for haiku's ``w_init`` / ``b_init``.

    Haiku calls initializers ``(shape, dtype)`` and expects them to draw their
    key from ``hk.next_rng_key()``; a jinit initializer takes the key first,
    so passing one directly (``hk.Linear(8, w_init=jinit.he_normal())``)
    fails. Wrap it: ``hk.Linear(8, w_init=jinit.interop.haiku(jinit.he_normal()))``.
    Inside ``hk.transform``, each call takes the next key of haiku's sequence
    and returns ``init(key, shape, dtype)``: the same ``rng`` gives the same
    values, and the law is ``init``'s. haiku is imported at the first call.

    Args:
      init: any initializer called ``(key, shape, dtype)``: a jinit scheme or
        one of ``jax.nn.initializers``.

    Returns:
      A frozen, hashable, picklable ``HaikuInitializer`` (equal when ``init`` is).

    Raises:
      TypeError: if ``init`` is not callable, is a jinit factory not yet
        called (``jinit.he_normal`` for ``jinit.he_normal()``), or is already
        an adapter.

    Examples:
      >>> import haiku as hk, jax, jinit, numpy as np
      >>> w_init = jinit.interop.haiku(jinit.he_normal())
      >>> f = hk.transform(lambda x: hk.Linear(8, w_init=w_init)(x))
      >>> params = f.init(jax.random.key(0), np.ones((2, 4), np.float32))
      >>> params["linear"]["w"].shape
      (4, 8)
    """
    common.check_init("interop.haiku", init)
    return HaikuInitializer(init)
