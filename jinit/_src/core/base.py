"""The frozen-dataclass base every initializer shares.

``__call__`` validates the key, shape and dtype, handles zero-size shapes,
runs the one range check and hands a canonical ``(key, shape, dtype)`` to the
subclass's ``_sample``. ``moments`` validates the same way, runs the same
range check and hands them to ``_law``, so a law that does not fit the dtype
raises in both.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import validation
from jinit._src.core.densities import Density
from jinit._src.core.types import DTypeLike, Moments, Shape, Sharding

OVERFLOW_SIGMAS = 9.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class InitializerBase:
    """Shared protocol plumbing; subclasses define fields, ``_sample`` and ``_law``."""

    # The public factory's name, used in every error message. Not part of the
    # value: glorot_uniform() == variance_scaling(1.0, "fan_avg", "uniform").
    name: str = dataclasses.field(default="initializer", compare=False, repr=False)
    dtype: DTypeLike | None = None

    #: dtype kinds the scheme defines (``validation.FLOAT_KINDS`` or ``INEXACT_KINDS``).
    kinds: ClassVar[tuple[str, ...]] = validation.FLOAT_KINDS
    #: whether the values depend on the key (False for zeros, eye, ZerO, ...).
    random: ClassVar[bool] = True

    def __post_init__(self) -> None:
        # Every factory builds through here: a bad dtype fails at once, and
        # dtype=jnp.float32 and dtype="float32" give equal, hashable objects.
        object.__setattr__(self, "dtype", validation.default_dtype(self.name, self.dtype, self.kinds))

    def __call__(
        self,
        key: jax.Array,
        shape: Shape,
        dtype: DTypeLike | None = None,
        out_sharding: Sharding = None,
    ) -> jax.Array:
        shape_ = validation.shape(self.name, shape)
        dtype_ = validation.dtype(self.name, self.dtype if dtype is None else dtype, self.kinds)
        key_ = validation.key(self.name, key)
        self._check(shape_)
        if math.prod(shape_) == 0:
            return jnp.zeros(shape_, dtype_, out_sharding=out_sharding)
        self._check_range(shape_, dtype_)
        return self._sample(key_, shape_, dtype_, out_sharding)

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        """The law of one entry for this shape (None for an empty shape)."""
        shape_ = validation.shape(self.name, shape)
        dtype_ = validation.dtype(self.name, self.dtype if dtype is None else dtype, self.kinds)
        self._check(shape_)
        if math.prod(shape_) == 0:
            return None
        self._check_range(shape_, dtype_)
        return self._law(shape_, dtype_)

    def _check_range(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        """ValueError unless the draws and the constants rounded to ``dtype`` fit it.

        The one range check, run by ``__call__`` and ``moments`` alike. It
        reads two hooks: ``_extent`` (the largest ``|w|`` a draw reaches) and
        ``_constants`` (hyperparameters the sampler rounds to ``dtype``).
        """
        try:
            law = self._law(shape, dtype)
        except NotImplementedError:
            law = None
        finfo = jnp.finfo(dtype)
        limit, tiny, smallest = float(finfo.max), float(finfo.tiny), float(finfo.smallest_subnormal)
        name = np.dtype(dtype).name
        if law is not None:
            extent = self._extent(shape, law)
            if not extent <= limit:
                raise ValueError(
                    self._error(
                        f"draws reach {extent:.3g}, beyond the largest finite {name} ({limit:.3g}); "
                        f"use a wider dtype or smaller hyperparameters; got shape={shape!r}."
                    )
                )
            # A random law whose spread is below the smallest normal number is
            # drawn as subnormals with a few bits, or flushed to zero entirely.
            if self.random and 0.0 < law.std < tiny:
                raise ValueError(
                    self._error(
                        f"the standard deviation {law.std:.3g} is below the smallest normal {name} "
                        f"({tiny:.3g}), so draws would flush to zero; use a wider dtype or a larger scale; "
                        f"got shape={shape!r}."
                    )
                )
        for what, value in self._constants(shape, dtype):
            if not smallest <= abs(value) <= limit:
                raise ValueError(
                    self._error(
                        f"{what} = {value:.3g} must lie within {name}'s range [{smallest:.3g}, {limit:.3g}], "
                        f"as it is rounded to it; use a wider dtype or other hyperparameters; got shape={shape!r}."
                    )
                )

    def _extent(self, shape: tuple[int, ...], law: Moments) -> float:
        """The largest ``|w|`` a draw can reach, read off the law.

        Unbounded laws are taken to reach ``OVERFLOW_SIGMAS`` standard
        deviations (the float64 normal sampler's extreme is 8.3 sigma).
        Override where the law's spread understates the draws' reach.
        """
        if law.interval is not None:
            lo = max(law.interval[0], law.mean - OVERFLOW_SIGMAS * law.std)
            hi = min(law.interval[1], law.mean + OVERFLOW_SIGMAS * law.std)
            return max(abs(lo), abs(hi))
        spread = law.bound if law.bound is not None else OVERFLOW_SIGMAS * law.std
        return abs(law.mean) + spread

    def _constants(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[tuple[str, float], ...]:
        """``(what, value)`` for each hyperparameter the sampler rounds to ``dtype`` before use.

        Each must round to a finite non-zero number of ``dtype``.
        """
        return ()

    # -- for subclasses -------------------------------------------------
    def _check(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError if the scheme does not define this shape."""

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        raise NotImplementedError

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments | None:
        raise NotImplementedError

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> Density:
        """The density of one entry (``jinit.plot.density``), written from the law's family."""
        raise NotImplementedError(validation.error("plot.density", f"{type(self).__name__} defines no density."))

    def _error(self, message: str) -> str:
        return validation.error(self.name, message)


def cast_constant(value: float, dtype: np.dtype) -> np.ndarray:
    """A Python float rounded once to ``dtype`` (numpy scalar; XLA folds it)."""
    return np.asarray(value, dtype=dtype)


def shard_like(x: jax.Array, out_sharding: Sharding) -> jax.Array:
    """Constrain a computed array to ``out_sharding`` (no-op for None)."""
    if out_sharding is None:
        return x
    return jax.sharding.reshard(x, out_sharding)


def real_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.zeros((), dtype).real.dtype)


def is_complex(dtype: np.dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.complexfloating))
