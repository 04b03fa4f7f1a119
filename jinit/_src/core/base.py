"""The frozen-dataclass base every initializer shares.

``__call__`` validates the key, shape and dtype, handles zero-size shapes,
runs the one range check and hands a canonical ``(key, shape, dtype)`` to the
subclass's ``_sample``. ``moments`` validates the same way, runs the same
range check and hands them to ``_law``, so a law that does not fit the dtype
raises in both.

Floats of 8 bits or fewer (float8, float6, float4) are drawn in float32 and
rounded once: their own arithmetic has no erf_inv, QR or sqrt worth the name
(a float8 normal is all NaN). The range check then asks of the rounded draws
what it asks of any dtype (finite, not flushed to zero), plus that not every
value rounds to zero and, for a dtype without sign or zero
(float8_e8m0fnu), that the law is positive.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import validation
from jinit._src.core.densities import Density
from jinit._src.core.types import DTypeLike, Moments, Shape, Sharding

OVERFLOW_SIGMAS = 9.0

#: Floats this narrow or narrower are drawn in float32 and rounded once.
NARROW_BITS = 8


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a sampler computes in: float32 for floats of 8 bits or fewer, else ``dtype``."""
    if is_narrow(dtype):
        return np.dtype(np.float32)
    return np.dtype(dtype)


def is_narrow(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is a real float of ``NARROW_BITS`` bits or fewer (float8, float6, float4)."""
    return bool(jnp.issubdtype(dtype, jnp.floating)) and jnp.finfo(dtype).bits <= NARROW_BITS


@functools.cache
def _holds(dtype: np.dtype) -> tuple[bool, bool]:
    """(has a zero, has negative numbers): float8_e8m0fnu has neither (0 and -1 round to NaN)."""
    zero, minus_one = np.array([0.0, -1.0], np.float32).astype(dtype).astype(np.float32)
    return bool(zero == 0.0), bool(minus_one < 0.0)


@functools.cache
def _backend_holds(dtype: np.dtype) -> bool:
    """Whether the default backend can hold an array of ``dtype`` (XLA's CPU has no float6)."""
    try:
        with jax.ensure_compile_time_eval():
            np.asarray(jnp.zeros((1,), dtype))
    except jax.errors.JaxRuntimeError:  # XLA: "Invalid XLA PrimitiveType"
        return False
    return True


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
        shape: Shape | None = None,
        dtype: DTypeLike | None = None,
        out_sharding: Sharding = None,
    ) -> jax.Array:
        # ``shape`` has a default only so that keras' call ``init(shape, dtype=...)`` reaches the key check,
        # which says how to adapt the initializer, instead of Python's "missing argument 'shape'".
        key_ = validation.key(self.name, key, initializer=True)
        shape_ = validation.shape(self.name, shape)
        dtype_ = self._dtype(dtype)
        self._check(shape_)
        # jax's samplers ignore a sharding on Auto mesh axes (or refuse its axis
        # names): draw unsharded and constrain, which the partitioner propagates
        # back into the draw under jit. The values do not depend on the placement.
        placement = auto_placement(out_sharding)
        if placement is not None:
            out_sharding = None
        if math.prod(shape_) == 0:
            out = jnp.zeros(shape_, dtype_, out_sharding=out_sharding)
        else:
            self._check_range(shape_, dtype_)
            wide = compute_dtype(dtype_)
            try:
                out = self._sample(key_, shape_, wide, out_sharding)
                if wide != dtype_:
                    out = out.astype(dtype_)
            except ValueError as err:
                if str(err).startswith("jinit.") or not _explicit_outside_mesh(out_sharding):
                    raise
                raise ValueError(
                    self._error(
                        f"`out_sharding` has Explicit mesh axes, which jax places only inside a mesh context: "
                        f"call the initializer under `with jax.set_mesh(mesh):`, or build the mesh with "
                        f"AxisType.Auto axes; got out_sharding={out_sharding!r}."
                    )
                ) from err
        if placement is not None:
            out = jax.lax.with_sharding_constraint(out, placement)
        return out

    def moments(self, shape: Shape, dtype: DTypeLike | None = None) -> Moments | None:
        """The law of one entry for this shape (None for an empty shape)."""
        shape_ = validation.shape(self.name, shape)
        dtype_ = self._dtype(dtype)
        self._check(shape_)
        if math.prod(shape_) == 0:
            return None
        self._check_range(shape_, dtype_)
        return self._law(shape_, dtype_)

    def _dtype(self, dtype: DTypeLike | None) -> np.dtype:
        """The call's dtype, checked; a narrow float the backend cannot hold is refused here."""
        dtype_ = validation.dtype(self.name, self.dtype if dtype is None else dtype, self.kinds)
        if is_narrow(dtype_) and not _backend_holds(dtype_):
            raise ValueError(
                self._error(
                    f"jax's {jax.default_backend()} backend cannot hold arrays of dtype {dtype_.name}; "
                    f"use another dtype; got dtype={dtype_.name}."
                )
            )
        return dtype_

    def _check_range(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        """ValueError unless the draws and the constants rounded to ``dtype`` fit it.

        The one range check, run by ``__call__`` and ``moments`` alike. It
        reads two hooks: ``_extent`` (the largest ``|w|`` a draw reaches) and
        ``_constants`` (hyperparameters the sampler rounds to the dtype it
        computes in: ``dtype``, or float32 for a narrow float).
        """
        try:
            law = self._range_law(shape, dtype)
        except NotImplementedError:
            law = None
        finfo = jnp.finfo(dtype)
        limit, tiny, smallest = float(finfo.max), float(finfo.tiny), float(finfo.smallest_subnormal)
        name = np.dtype(dtype).name
        if is_narrow(dtype):
            self._check_sign(shape, dtype, law)
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
            # Every value at most half the smallest subnormal rounds to zero. In a
            # narrow float that is a common scale (float4's smallest subnormal is
            # 0.5, float8_e4m3fn's 0.002: eye(0.1), ZerO's 1/sqrt(n)): refused
            # there. Wider dtypes round such a constant as a cast would.
            if is_narrow(dtype) and 0.0 < extent <= smallest / 2:
                raise ValueError(
                    self._error(
                        f"every value is at most {extent:.3g} in magnitude, which rounds to zero in {name} "
                        f"(smallest subnormal {smallest:.3g}); use a wider dtype or a larger scale; "
                        f"got shape={shape!r}."
                    )
                )
        wide = compute_dtype(dtype)
        wfinfo = jnp.finfo(wide)
        wlimit, wsmallest = float(wfinfo.max), float(wfinfo.smallest_subnormal)
        for what, value in self._constants(shape, wide):
            if not wsmallest <= abs(value) <= wlimit:
                raise ValueError(
                    self._error(
                        f"{what} = {value:.3g} must lie within {wide.name}'s range [{wsmallest:.3g}, {wlimit:.3g}], "
                        f"as it is rounded to it; use a wider dtype or other hyperparameters; got shape={shape!r}."
                    )
                )

    def _check_sign(self, shape: tuple[int, ...], dtype: np.dtype, law: Moments | None) -> None:
        """ValueError if the law takes values a dtype without zero or sign cannot hold (float8_e8m0fnu)."""
        has_zero, has_sign = _holds(np.dtype(dtype))
        if has_zero and has_sign:
            return
        name = np.dtype(dtype).name
        lacks = " and ".join(w for w, ok in (("no sign", has_sign), ("no zero", has_zero)) if not ok)
        if law is None:
            raise ValueError(
                self._error(
                    f"{name} has {lacks}, and this initializer defines no law that shows its values fit; "
                    f"use a signed float dtype; got dtype={name}."
                )
            )
        if law.interval is not None:
            lo, hi = law.interval
        elif law.bound is not None:
            lo, hi = law.mean - law.bound, law.mean + law.bound
        else:
            lo, hi = -math.inf, math.inf
        if (lo < 0.0 and not has_sign) or (lo <= 0.0 <= hi and not has_zero):
            raise ValueError(
                self._error(
                    f"{name} has {lacks} (its values are powers of two), but this law is not positive: its "
                    f"values lie in [{lo:.3g}, {hi:.3g}]; use a signed float dtype such as float8_e4m3fn; "
                    f"got dtype={name}."
                )
            )

    def _range_law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments | None:
        """The law the range check reads: ``_law``, or bounds on the values where there is none."""
        return self._law(shape, dtype)

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


def auto_placement(out_sharding: Sharding) -> Sharding:
    """The sharding to constrain a draw to when ``out_sharding`` is on Auto mesh axes, else None.

    A NamedSharding on a concrete mesh whose axes are all Auto, or a
    PartitionSpec under ``jax.set_mesh`` of such a mesh (bound to that mesh).
    Explicit axes are left to the samplers (``jax.random``'s ``out_sharding``).
    """
    if isinstance(out_sharding, jax.sharding.NamedSharding):
        mesh = out_sharding.mesh
        if isinstance(mesh, jax.sharding.Mesh) and not mesh.empty and mesh.abstract_mesh.are_all_axes_auto:
            return out_sharding
        return None
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        context = jax.sharding.get_abstract_mesh()
        if context.empty or not context.are_all_axes_auto:
            return None
        try:
            concrete = jax.sharding.get_mesh()
        except ValueError:  # under jit: with_sharding_constraint binds the spec to the context mesh
            return out_sharding
        if isinstance(concrete, jax.sharding.Mesh) and not concrete.empty:
            return jax.sharding.NamedSharding(concrete, out_sharding)
        return out_sharding
    return None


def _explicit_outside_mesh(out_sharding: Sharding) -> bool:
    """A NamedSharding with Explicit axes, outside any ``jax.set_mesh`` context."""
    if not isinstance(out_sharding, jax.sharding.NamedSharding) or out_sharding.mesh.empty:
        return False
    return bool(out_sharding.mesh.abstract_mesh.explicit_axes) and jax.sharding.get_abstract_mesh().empty


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
