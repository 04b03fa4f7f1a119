"""Fixed-scale laws with jax's names and values: uniform, normal, truncated_normal."""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from jinit._src.core import densities, laws, validation
from jinit._src.core.base import InitializerBase, cast_constant
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.random import sampling


@dataclasses.dataclass(frozen=True, kw_only=True)
class Uniform(InitializerBase):
    """U[0, scale), as ``jax.nn.initializers.uniform``."""

    scale: float = 1e-2

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        return sampling.uniform(key, shape, dtype, out_sharding=out_sharding) * cast_constant(self.scale, dtype)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        return laws.uniform_moments(0.0, self.scale)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.uniform(0.0, self.scale)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Normal(InitializerBase):
    """N(0, stddev^2) (circular complex normal with E|w|^2 = stddev^2 for complex dtypes)."""

    stddev: float = 1e-2
    kinds = validation.INEXACT_KINDS

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        return sampling.normal(key, shape, dtype, out_sharding=out_sharding) * cast_constant(self.stddev, dtype)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        if np.issubdtype(dtype, np.complexfloating):
            return laws.complex_normal_moments(self.stddev * self.stddev)  # ** 2 raises OverflowError
        return laws.normal_moments(0.0, self.stddev)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.normal(0.0, self.stddev)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TruncatedNormal(InitializerBase):
    """``stddev`` times a standard normal truncated to (lower, upper), as jax.

    ``stddev`` is the standard deviation BEFORE truncation (jax's convention):
    the variance is ``stddev^2 * Var(Z | lower < Z < upper)``.
    """

    stddev: float = 1e-2
    lower: float = -2.0
    upper: float = 2.0

    def _constants(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[tuple[str, float], ...]:
        # A narrow interval has a small law but `stddev` itself is cast to dtype.
        return (("`stddev`", self.stddev),)

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        if math.isinf(self.lower) or math.isinf(self.upper):
            # jax draws u = erf(-inf) = -1 in the dtype and maps it to -inf,
            # clipped to -FLT_MAX (0.4% of bfloat16 draws). Beyond 9 sigma the
            # normal mass (1e-19) is below float32's resolution of erf, so a
            # bound of 9 is the same law; half precision is drawn in float32,
            # whose erf resolves the tail to 5.4 sigma (bfloat16's: 2.9).
            lo, hi = max(self.lower, -_INFINITE_BOUND), min(self.upper, _INFINITE_BOUND)
            wide = np.dtype(np.float32) if np.dtype(dtype).itemsize < 4 else dtype
            z = sampling.truncated_normal(key, lo, hi, shape, wide, out_sharding=out_sharding).astype(dtype)
        else:
            z = sampling.truncated_normal(key, self.lower, self.upper, shape, dtype, out_sharding=out_sharding)
        return z * cast_constant(self.stddev, dtype)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        return laws.truncated_normal_moments(0.0, self.stddev, self.lower, self.upper)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.truncated(0.0, self.stddev, self.lower, self.upper)


def uniform(scale: float = 1e-2, dtype: DTypeLike | None = None) -> Uniform:
    """Builds an initializer drawing U[0, scale) (jax's ``uniform``).

    Mean ``scale/2``, variance ``scale^2/12``.

    Args:
      scale: the upper bound, positive and finite.
      dtype: the default dtype.

    Examples:
      >>> import jinit
      >>> round(jinit.uniform(1.0).moments((3, 3)).variance, 4)
      0.0833
    """
    return Uniform(scale=validation.positive("uniform", "scale", scale), dtype=dtype, name="uniform")


def normal(stddev: float = 1e-2, dtype: DTypeLike | None = None) -> Normal:
    """Builds an initializer drawing N(0, stddev^2) (jax's ``normal``).

    Args:
      stddev: the standard deviation, positive and finite.
      dtype: the default dtype (real or complex).

    Examples:
      >>> import jinit
      >>> jinit.normal(0.5).moments((4, 4)).variance
      0.25
    """
    return Normal(stddev=validation.positive("normal", "stddev", stddev), dtype=dtype, name="normal")


_INFINITE_BOUND = 9.0

# The erf-inverse sampler needs the truncation interval to hold enough normal
# mass for erf(upper/sqrt2) - erf(lower/sqrt2) to be resolved in float32.
_MIN_TRUNCATED_MASS = 1e-4


def truncated_normal(
    stddev: float = 1e-2,
    dtype: DTypeLike | None = None,
    lower: float = -2.0,
    upper: float = 2.0,
) -> TruncatedNormal:
    """Builds an initializer drawing ``stddev * Z``, Z ~ N(0, 1) truncated to (lower, upper).

    As ``jax.nn.initializers.truncated_normal``: the bounds are in units of
    ``stddev`` and ``stddev`` is the scale before truncation, so with the
    default bounds the variance is ``0.7737 * stddev^2``. For absolute bounds
    use ``jinit.torch.trunc_normal``.

    Args:
      stddev: the scale, positive and finite.
      dtype: the default dtype.
      lower: lower bound in units of stddev.
      upper: upper bound in units of stddev (greater than ``lower``).

    Examples:
      >>> import jinit
      >>> round(jinit.truncated_normal(1.0).moments((8, 8)).variance, 4)
      0.7737
    """
    name = "truncated_normal"
    stddev = validation.positive(name, "stddev", stddev)
    lo, hi = _bounds(name, lower, upper)
    mass = 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))
    if mass < _MIN_TRUNCATED_MASS:
        raise ValueError(
            validation.error(
                name,
                f"the interval (`lower`, `upper`) must hold at least {_MIN_TRUNCATED_MASS} of the normal "
                f"mass for the sampler to be exact; got lower={lower!r}, upper={upper!r} (mass {mass:.3g}).",
            )
        )
    return TruncatedNormal(stddev=stddev, lower=lo, upper=hi, dtype=dtype, name=name)


def _bounds(name: str, lower: float, upper: float) -> tuple[float, float]:
    """Real, non-NaN bounds with lower < upper (infinities allowed)."""
    vals = []
    for param, v in (("lower", lower), ("upper", upper)):
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer):
            raise TypeError(validation.error(name, f"`{param}` must be a real number; got {v!r}."))
        if math.isnan(float(v)):
            raise ValueError(validation.error(name, f"`{param}` must not be NaN; got {param}={v!r}."))
        vals.append(float(v))
    if not vals[0] < vals[1]:
        raise ValueError(
            validation.error(name, f"`lower` must be less than `upper`; got lower={lower!r}, upper={upper!r}.")
        )
    return vals[0], vals[1]
