"""Variance scaling and its named specialisations (Glorot, He, LeCun).

Variance ``v = scale / n`` with ``n`` the fan of ``mode``:

* ``normal``: N(0, v);
* ``truncated_normal``: a standard normal truncated to [-2, 2], divided by
  its standard deviation 0.8796... and multiplied by sqrt(v): variance
  exactly v, |w| <= 2 sqrt(v) / 0.8796...;
* ``uniform``: U(-sqrt(3 v), sqrt(3 v)).

For complex dtypes E|w|^2 = v: circular normal, uniform disk, or a circular
normal whose modulus is truncated at 2 (variance exactly v, unlike jax).

References:
  Glorot & Bengio (2010), Understanding the difficulty of training deep
  feedforward neural networks. He et al. (2015), Delving deep into
  rectifiers. LeCun et al. (1998), Efficient BackProp.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, fans, laws, validation
from jinit._src.core.base import InitializerBase, cast_constant, is_complex, real_dtype
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.random import sampling

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


@dataclasses.dataclass(frozen=True, kw_only=True)
class VarianceScaling(InitializerBase):
    """``scale / fan`` variance; see the module docstring for each distribution."""

    scale: float
    mode: str
    distribution: str
    in_axis: int | tuple[int, ...] = -2
    out_axis: int | tuple[int, ...] = -1
    batch_axis: int | tuple[int, ...] = ()
    kinds = validation.INEXACT_KINDS

    def _check(self, shape: tuple[int, ...]) -> None:
        self.fans(shape)

    def fans(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(fan_in, fan_out) for this shape, jax's (``in_axis`` and ``out_axis`` may share axes)."""
        return fans.jax_fans(self.name, shape, self.in_axis, self.out_axis, self.batch_axis)

    def variance(self, shape: tuple[int, ...]) -> float:
        """``scale / n`` for this shape (the target variance of one entry)."""
        fan_in, fan_out = self.fans(shape)
        return self.scale / fans.fan_denominator(self.mode, fan_in, fan_out)

    def _constants(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[tuple[str, float], ...]:
        # The variance is rounded to `dtype` before its square root (jax's
        # order, for the same values): it must neither overflow (3 v for
        # uniform) nor round to zero.
        v = self.variance(shape)
        if self.distribution == "uniform" and not is_complex(dtype):
            return (("the variance scale / fan", v), ("3 scale / fan (the uniform's squared bound)", 3.0 * v))
        return (("the variance scale / fan", v),)

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        # Constants are rounded to `dtype` in the same order as jax so the
        # values match jax.nn.initializers for the same key.
        variance = cast_constant(self.variance(shape), dtype)
        if is_complex(dtype):
            return self._sample_complex(key, shape, dtype, variance, out_sharding)
        if self.distribution == "truncated_normal":
            stddev = np.sqrt(variance) / cast_constant(laws.TRUNCATED_NORMAL_STD, dtype)
            return sampling.truncated_normal(key, -2.0, 2.0, shape, dtype, out_sharding=out_sharding) * stddev
        if self.distribution == "normal":
            return sampling.normal(key, shape, dtype, out_sharding=out_sharding) * np.sqrt(variance)
        bound = np.sqrt(cast_constant(3.0, dtype) * variance)
        return sampling.uniform(key, shape, dtype, -1.0, 1.0, out_sharding=out_sharding) * bound

    def _sample_complex(
        self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, variance: np.ndarray, out_sharding: Sharding
    ) -> jax.Array:
        if self.distribution == "normal":
            return sampling.normal(key, shape, dtype, out_sharding=out_sharding) * np.sqrt(variance)
        real = real_dtype(dtype)
        key_r, key_theta = sampling.split(key)
        u = sampling.uniform(key_r, shape, real, out_sharding=out_sharding)
        theta = 2 * np.pi * sampling.uniform(key_theta, shape, real, out_sharding=out_sharding).astype(dtype)
        if self.distribution == "uniform":
            # Uniform on the unit-variance disk: |w|^2 = 2 U.
            r = jnp.sqrt(2 * u).astype(dtype)
            return r * jnp.exp(1j * theta) * np.sqrt(variance)
        # |z|^2 ~ Exp(1) truncated at 4 by inverting its CDF, then divided by
        # the truncated second moment so that E|w|^2 = variance exactly.
        t = cast_constant(1.0 - math.exp(-4.0), dtype) * u.astype(dtype)
        r = jnp.sqrt(-jnp.log(1 - t))
        stddev = np.sqrt(variance) / cast_constant(laws.COMPLEX_TRUNCATED_NORMAL_STD, dtype)
        return r * jnp.exp(1j * theta) * stddev

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        v = self.variance(shape)
        if is_complex(dtype):
            return {
                "normal": laws.complex_normal_moments,
                "uniform": laws.complex_disk_moments,
                "truncated_normal": laws.complex_truncated_normal_moments,
            }[self.distribution](v)
        if self.distribution == "normal":
            return laws.normal_moments(0.0, math.sqrt(v))
        if self.distribution == "uniform":
            b = math.sqrt(3.0 * v)
            return laws.uniform_moments(-b, b)
        return laws.truncated_normal_moments(0.0, math.sqrt(v) / laws.TRUNCATED_NORMAL_STD, -2.0, 2.0)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        v, what = self.variance(shape), f"scale {self.scale:.4g} / {self.mode}: "
        if self.distribution == "normal":
            return densities.normal(0.0, math.sqrt(v), what)
        if self.distribution == "uniform":
            return densities.uniform(-math.sqrt(3.0 * v), math.sqrt(3.0 * v), what)
        return densities.truncated(0.0, math.sqrt(v) / laws.TRUNCATED_NORMAL_STD, -2.0, 2.0, what)


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: int | tuple[int, ...] = -2,
    out_axis: int | tuple[int, ...] = -1,
    batch_axis: int | tuple[int, ...] = (),
    dtype: DTypeLike | None = None,
) -> VarianceScaling:
    """Builds an initializer with variance ``scale / n`` (jax's ``variance_scaling``).

    ``n`` is ``fan_in``, ``fan_out``, ``(fan_in + fan_out) / 2`` (``fan_avg``)
    or ``sqrt(fan_in * fan_out)`` (``fan_geo_avg``); axes in none of
    ``in_axis``, ``out_axis``, ``batch_axis`` are the receptive field.
    ``in_axis`` and ``out_axis`` may share an axis, as in jax: it then counts
    in neither fan (Flax's embedding default ``variance_scaling(1.0,
    "fan_in", "normal", out_axis=0)`` on ``(vocab, features)`` has fan_in
    ``features``).

    Args:
      scale: variance multiplier, positive and finite.
      mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
      distribution: ``"truncated_normal"``, ``"normal"`` or ``"uniform"``.
      in_axis: input axis or axes of the kernel.
      out_axis: output axis or axes.
      batch_axis: axes of independent stacked kernels (not counted in fans).
      dtype: the default dtype (real or complex).

    Examples:
      >>> import jinit
      >>> init = jinit.variance_scaling(2.0, "fan_in", "normal")
      >>> init.moments((3, 3, 16, 32)).variance  # 2 / (3 * 3 * 16)
      0.013888888888888888
    """
    name = "variance_scaling"
    return _build(name, scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)


def _build(
    name: str,
    scale: float,
    mode: str,
    distribution: str,
    in_axis: int | tuple[int, ...],
    out_axis: int | tuple[int, ...],
    batch_axis: int | tuple[int, ...],
    dtype: DTypeLike | None,
) -> VarianceScaling:
    return VarianceScaling(
        scale=validation.positive(name, "scale", scale),
        mode=validation.choice(name, "mode", mode, MODES),
        distribution=validation.choice(name, "distribution", distribution, DISTRIBUTIONS),
        in_axis=validation.axes(name, "in_axis", in_axis),
        out_axis=validation.axes(name, "out_axis", out_axis),
        batch_axis=validation.axes(name, "batch_axis", batch_axis),
        dtype=dtype,
        name=name,
    )


def _named(name: str, scale: float, mode: str, distribution: str, doc: str):
    def factory(
        in_axis: int | tuple[int, ...] = -2,
        out_axis: int | tuple[int, ...] = -1,
        batch_axis: int | tuple[int, ...] = (),
        dtype: DTypeLike | None = None,
    ) -> VarianceScaling:
        return _build(name, scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = doc
    return factory


_AXES_DOC = """
    Args:
      in_axis: input axis or axes of the kernel (default -2).
      out_axis: output axis or axes (default -1).
      batch_axis: axes of independent stacked kernels, not counted in the fans.
      dtype: the default dtype (real or complex).
"""

glorot_uniform = _named(
    "glorot_uniform",
    1.0,
    "fan_avg",
    "uniform",
    "Glorot/Xavier uniform: U(-sqrt(6 / (fan_in + fan_out)), +sqrt(6 / (fan_in + fan_out))).\n\n"
    "    Variance 2 / (fan_in + fan_out): keeps forward and backward variance of a\n"
    "    linear (or tanh near 0) layer, Glorot & Bengio (2010), eq. 16.\n" + _AXES_DOC,
)
glorot_normal = _named(
    "glorot_normal",
    1.0,
    "fan_avg",
    "truncated_normal",
    "Glorot/Xavier normal (jax's: truncated at 2 sigma, rescaled): variance 2 / (fan_in + fan_out).\n\n"
    "    Glorot & Bengio (2010). torch's ``xavier_normal_`` is an untruncated\n"
    "    normal: see ``jinit.torch.xavier_normal``.\n" + _AXES_DOC,
)
he_uniform = _named(
    "he_uniform",
    2.0,
    "fan_in",
    "uniform",
    "He/Kaiming uniform: U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)), variance 2 / fan_in.\n\n"
    "    Keeps the second moment of ReLU activations constant with depth,\n"
    "    He et al. (2015), eq. 10.\n" + _AXES_DOC,
)
he_normal = _named(
    "he_normal",
    2.0,
    "fan_in",
    "truncated_normal",
    "He/Kaiming normal (jax's: truncated at 2 sigma, rescaled): variance 2 / fan_in.\n\n"
    "    He et al. (2015). torch's ``kaiming_normal_`` is an untruncated normal:\n"
    "    see ``jinit.torch.kaiming_normal``.\n" + _AXES_DOC,
)
lecun_uniform = _named(
    "lecun_uniform",
    1.0,
    "fan_in",
    "uniform",
    "LeCun uniform: U(-sqrt(3 / fan_in), +sqrt(3 / fan_in)), variance 1 / fan_in.\n\n"
    "    LeCun et al. (1998), Efficient BackProp.\n" + _AXES_DOC,
)
lecun_normal = _named(
    "lecun_normal",
    1.0,
    "fan_in",
    "truncated_normal",
    "LeCun normal (truncated at 2 sigma, rescaled): variance 1 / fan_in.\n\n"
    "    LeCun et al. (1998); with SELU the init of self-normalising networks\n"
    "    (Klambauer et al. 2017). Flax's default kernel init.\n" + _AXES_DOC,
)

xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal
