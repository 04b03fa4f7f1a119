"""``stacked``: n independent draws of an initializer along a new leading axis."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, validation
from jinit._src.core.base import InitializerBase, shard_like
from jinit._src.core.types import Initializer, Moments, Sharding
from jinit._src.random import sampling


@dataclasses.dataclass(frozen=True, kw_only=True)
class Stacked(InitializerBase):
    """Slice i equals ``init(fold_in(key, i), shape[1:], dtype)``."""

    init: Initializer
    n: int
    kinds = validation.INEXACT_KINDS

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) < 1 or shape[0] != self.n:
            raise ValueError(self._error(f"shape must start with n={self.n}; got shape={shape!r}."))

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        keys = jax.vmap(lambda i: sampling.fold_in(key, i))(jnp.arange(self.n, dtype=jnp.uint32))
        out = jax.vmap(lambda k: self.init(k, shape[1:], dtype))(keys)
        got = np.dtype(out.dtype)
        if got != dtype:
            # An inner initializer that ignores `dtype` (a plain function drawing
            # float32): its values rounded once to the dtype asked for. A complex
            # draw cast to a real dtype would drop its imaginary part: refused.
            if jnp.issubdtype(got, jnp.complexfloating) and not jnp.issubdtype(dtype, jnp.complexfloating):
                raise ValueError(
                    self._error(
                        f"`init` returned {got.name} where {dtype.name} was asked; it must draw a real dtype "
                        f"for a real one; got shape={shape!r}."
                    )
                )
            out = out.astype(dtype)
        return shard_like(out, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments | None:
        inner = getattr(self.init, "moments", None)
        return None if inner is None else inner(shape[1:], dtype)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.density_method(self.init)(shape[1:], dtype)


def stacked(init: Initializer, n: int) -> Stacked:
    """Builds an initializer of ``n`` independent slices along a new leading axis.

    Called with shape ``(n, *s)``, slice ``i`` equals
    ``init(jax.random.fold_in(key, i), s)``: a stack of layers (for
    ``nn.scan`` or ensembles) where each layer has ``init``'s law for its own
    shape, unlike a plain call on ``(n, *s)``, which counts ``n`` into the
    receptive field. The slices are returned in the dtype asked for, even
    from an ``init`` that ignores its ``dtype`` argument.

    Args:
      init: any initializer.
      n: the number of slices, a positive int.

    Examples:
      >>> import jax, jinit
      >>> init = jinit.stacked(jinit.he_normal(), 4)
      >>> init(jax.random.key(0), (4, 64, 64)).shape
      (4, 64, 64)
    """
    validation.not_a_key("stacked", init)
    if not callable(init):
        raise TypeError(validation.error("stacked", f"`init` must be an initializer; got {init!r}."))
    n = validation.integer("stacked", "n", n, minimum=1)
    return Stacked(init=init, n=n, dtype=getattr(init, "dtype", None), name="stacked")
