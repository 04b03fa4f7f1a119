"""torch.nn.init semantics (torch 2.13) for JAX arrays: ``jinit.torch``.

Every scheme gives the law torch gives the layer an array belongs to, in
either of two layouts:

* ``layout="flax"`` (the default): a kernel is ``(*k, in, out)`` (Dense
  ``(in, out)``, Conv HWIO ``(kh, kw, in/groups, out)``);
* ``layout="torch"``: a weight is ``(out, in, *k)`` (Linear ``(out, in)``,
  Conv ``(out, in/groups, kh, kw)``).

For the same layer both give the same fans, ``fan_in = in * prod(k)`` and
``fan_out = out * prod(k)``, hence the same law. A torch recipe applied to a
Flax kernel without telling it the layout would swap fan_in and fan_out.

The structured schemes translate torch's axes, not just its fans:

* ``orthogonal``: torch makes the ``(out, in * prod(k))`` matrix
  semi-orthogonal; in flax layout the ``(prod(k) * in, out)`` matrix is
  (columns along the out axis). Haar measure is invariant under the row
  permutation and the transpose between the two, so the law is the same.
* ``dirac``: ``W[g*opg + d, d, *c] = 1`` in torch layout and
  ``W[*c, d, g*opg + d] = 1`` in flax layout, with centre ``c = k // 2`` per
  spatial axis (``jinit.delta_orthogonal`` uses ``(k - 1) // 2``, jax's
  convention; they differ for even k).
* ``sparse``: torch zeroes ``ceil(sparsity * out)`` entries of each column of
  its ``(out, in)`` weight, i.e. per INPUT unit. In flax layout ``(in, out)``
  that is each row: ``ceil(sparsity * shape[-1])`` zeros per row.
* ``eye``: the identity of ``(out, in)`` transposed is the identity of
  ``(in, out)``, so both layouts give ``jnp.eye(*shape)``.

``trunc_normal`` takes ABSOLUTE bounds ``a``, ``b`` (jax's
``truncated_normal`` takes them in units of the standard deviation) and its
``std`` is the scale before truncation. ``calculate_gain`` is torch's table
(partly empirical: tanh 5/3, selu 3/4), with torch's exceptions;
``jinit.gain`` is the exact variance-preserving gain instead.

Half precision (float16, bfloat16) is drawn in float32 and rounded once, as
torch does. A call whose draws cannot fit the dtype (``uniform(0, 1e6)`` in
float16) raises ValueError, at the call and in ``moments``, instead of
returning inf.

References:
  torch.nn.init, https://pytorch.org/docs/2.13/nn.init.html.
  Glorot & Bengio (2010); He et al. (2015), arXiv:1502.01852;
  Saxe et al. (2013), arXiv:1312.6120; Martens (2010), Deep learning via
  Hessian-free optimization.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import Any, ClassVar, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, fans, laws, validation
from jinit._src.core.base import OVERFLOW_SIGMAS, InitializerBase, cast_constant, shard_like
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.random import sampling
from jinit._src.schemes import basic
from jinit._src.schemes.constant import Constant
from jinit._src.schemes.orthogonal import Eye, compute_dtype, haar_orthogonal

LAYOUTS = ("flax", "torch")

# torch.nn.init.calculate_gain's table (torch 2.13): these names give 1.
LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)
NONLINEARITIES = (*LINEAR_FNS, "sigmoid", "tanh", "relu", "leaky_relu", "selu")

# trunc_normal samples infinite bounds as +-8 standard deviations: the normal
# mass beyond 8 is 1.2e-15 (below float32 resolution of the sampler, whose
# draws stay within 5.4), so the law is unchanged to that order.
TRUNC_CLAMP = 8.0

# The erf-inverse sampler needs the interval to hold enough normal mass for
# erf(b') - erf(a') to be resolved in float32 (torch uses rejection there).
MIN_TRUNCATED_MASS = 1e-4


def _name(fn: str) -> str:
    return f"torch.{fn}"


def _layout(name: str, layout: Any) -> str:
    return validation.choice(name, "layout", layout, LAYOUTS)


def _dtype(name: str, dtype: DTypeLike | None, kinds: tuple[str, ...] = validation.FLOAT_KINDS) -> DTypeLike | None:
    """Check a factory's default dtype at once; keep the value as given."""
    if dtype is not None:
        validation.dtype(name, dtype, kinds)
    return dtype


@functools.partial(jax.jit, static_argnums=(5,))
def _finish(w: jax.Array, scale: Any, shift: Any, lo: Any, hi: Any, dtype: np.dtype) -> jax.Array:
    """``clip(w * scale + shift, lo, hi)`` rounded once to ``dtype``: one compiled kernel per shape."""
    return jnp.clip(w * scale + shift, lo, hi).astype(dtype)


def _draw_uniform(
    key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, low: float, high: float, out_sharding: Sharding
) -> jax.Array:
    """U[low, high), drawn in float32 for half precision and rounded once."""
    cdt = compute_dtype(dtype)
    u = sampling.uniform(key, shape, cdt, low, high, out_sharding=out_sharding)
    return u if cdt == dtype else u.astype(dtype)


def _draw_normal(
    key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, mean: float, std: float, out_sharding: Sharding
) -> jax.Array:
    """N(mean, std^2), drawn in float32 for half precision and rounded once."""
    cdt = compute_dtype(dtype)
    z = sampling.normal(key, shape, cdt, out_sharding=out_sharding)
    c = functools.partial(cast_constant, dtype=cdt)
    return _finish(z, c(std), c(mean), c(-np.inf), c(np.inf), dtype)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _UniformOrNormal(InitializerBase):
    """U[a, b) or N(a, b^2), whose parameters may depend on the shape: ``_parameters(shape)``."""

    def _parameters(self, shape: tuple[int, ...]) -> tuple[str, float, float]:
        """``("uniform", low, high)`` or ``("normal", mean, std)``."""
        raise NotImplementedError

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        kind, a, b = self._parameters(shape)
        draw = _draw_uniform if kind == "uniform" else _draw_normal
        return draw(key, shape, dtype, a, b, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        kind, a, b = self._parameters(shape)
        return laws.uniform_moments(a, b) if kind == "uniform" else laws.normal_moments(a, b)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        kind, a, b = self._parameters(shape)
        return densities.uniform(a, b) if kind == "uniform" else densities.normal(a, b)


# ---------------------------------------------------------------------------
# Fixed laws: uniform, normal, trunc_normal (constant is jinit's Constant)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchUniform(_UniformOrNormal):
    """U[low, high) (torch's ``uniform_(a=low, b=high)``)."""

    low: float = 0.0
    high: float = 1.0

    def _parameters(self, shape: tuple[int, ...]) -> tuple[str, float, float]:
        return "uniform", self.low, self.high


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchNormal(_UniformOrNormal):
    """N(mean, std^2) (torch's ``normal_``)."""

    mean: float = 0.0
    std: float = 1.0

    def _parameters(self, shape: tuple[int, ...]) -> tuple[str, float, float]:
        return "normal", self.mean, self.std


@dataclasses.dataclass(frozen=True, kw_only=True)
class TruncNormal(InitializerBase):
    """N(mean, std^2) truncated to the ABSOLUTE interval [a, b] (torch's ``trunc_normal_``)."""

    mean: float = 0.0
    std: float = 1.0
    a: float = -2.0
    b: float = 2.0

    def std_bounds(self) -> tuple[float, float]:
        """The bounds in units of ``std`` about ``mean``: ((a - mean)/std, (b - mean)/std)."""
        return (self.a - self.mean) / self.std, (self.b - self.mean) / self.std

    def _extent(self, shape: tuple[int, ...], law: Moments) -> float:
        # Draws lie in [a, b] and within TRUNC_CLAMP std (before truncation) of the mean.
        lo = max(self.a, self.mean - TRUNC_CLAMP * self.std)
        hi = min(self.b, self.mean + TRUNC_CLAMP * self.std)
        return max(abs(lo), abs(hi))

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        cdt = compute_dtype(dtype)
        lower, upper = self.std_bounds()
        lower, upper = max(lower, -TRUNC_CLAMP), min(upper, TRUNC_CLAMP)
        z = sampling.truncated_normal(key, lower, upper, shape, cdt, out_sharding=out_sharding)
        c = functools.partial(cast_constant, dtype=cdt)
        # mean + std * z can round past an absolute bound; torch's support is
        # [a, b]. (A bound beyond the dtype's range clips nothing: +-inf.)
        big = float(jnp.finfo(cdt).max)
        a = self.a if abs(self.a) <= big else math.copysign(math.inf, self.a)
        b = self.b if abs(self.b) <= big else math.copysign(math.inf, self.b)
        return _finish(z, c(self.std), c(self.mean), c(a), c(b), dtype)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        lower, upper = self.std_bounds()
        m = laws.truncated_normal_moments(self.mean, self.std, lower, upper)
        # The support is [a, b] exactly (mean + std * lower may differ by an ulp).
        return dataclasses.replace(m, interval=None if m.interval is None else (self.a, self.b))

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.truncated(self.mean, self.std, *self.std_bounds())


# ---------------------------------------------------------------------------
# Fan-scaled laws: xavier_*, kaiming_*, layer weights and biases


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchVarianceScaling(_UniformOrNormal):
    """``std = gain / sqrt(n)`` with torch's fans for ``layout``; uniform or plain normal.

    ``n`` is fan_in, fan_out, or (fan_in + fan_out) / 2 for ``mode="fan_avg"``
    (Xavier: ``std = gain * sqrt(2 / (fan_in + fan_out))``). The uniform law is
    U(-sqrt(3) std, sqrt(3) std).
    """

    gain: float = 1.0
    mode: str = "fan_in"
    distribution: str = "uniform"
    layout: str = "flax"

    #: the ranks the scheme accepts (None: any rank >= 2), and what they are.
    ranks: ClassVar[tuple[int, ...] | None] = None
    what: ClassVar[str] = ""

    def _check(self, shape: tuple[int, ...]) -> None:
        if self.ranks is not None and len(shape) not in self.ranks:
            need = " or ".join(str(r) for r in self.ranks)
            raise ValueError(self._error(f"shape needs {need} dimensions ({self.what}); got shape={shape!r}."))
        fans.torch_fans(self.name, shape, self.layout)

    def fans(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(fan_in, fan_out) as torch computes them for this layer."""
        return fans.torch_fans(self.name, shape, self.layout)

    def std(self, shape: tuple[int, ...]) -> float:
        """The standard deviation of one entry, as torch computes it."""
        fan_in, fan_out = self.fans(shape)
        if self.mode == "fan_avg":
            return self.gain * math.sqrt(2.0 / float(fan_in + fan_out))
        return self.gain / math.sqrt(fan_in if self.mode == "fan_in" else fan_out)

    def bound(self, shape: tuple[int, ...]) -> float:
        """The uniform law's bound ``sqrt(3) * std``."""
        return math.sqrt(3.0) * self.std(shape)

    def _parameters(self, shape: tuple[int, ...]) -> tuple[str, float, float]:
        if self.distribution == "uniform":
            b = self.bound(shape)
            return "uniform", -b, b
        return "normal", 0.0, self.std(shape)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LinearWeight(TorchVarianceScaling):
    """``nn.Linear``'s weight: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)), 2-D only."""

    ranks = (2,)
    what = "a Linear weight"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConvWeight(TorchVarianceScaling):
    """``nn.Conv{1,2,3}d``'s weight: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)), 3-5-D."""

    ranks = (3, 4, 5)
    what = "a Conv1d, Conv2d or Conv3d kernel"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LayerBias(_UniformOrNormal):
    """``nn.Linear``/``nn.Conv*d``'s bias: U(+-1/sqrt(fan_in)), fan_in of the WEIGHT; 0 for fan_in 0."""

    fan_in: int = 1

    @property
    def bound(self) -> float:
        return 1.0 / math.sqrt(self.fan_in) if self.fan_in > 0 else 0.0

    def _parameters(self, shape: tuple[int, ...]) -> tuple[str, float, float]:
        return "uniform", -self.bound, self.bound

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        return laws.constant_moments(0.0) if self.bound == 0.0 else super()._law(shape, dtype)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.point_mass(0.0) if self.bound == 0.0 else super()._density(shape, dtype)


# ---------------------------------------------------------------------------
# Structured: orthogonal, sparse, eye, dirac


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _orthogonal(key: jax.Array, gain: Any, rows: int, cols: int, shape: tuple[int, ...], dtype: np.dtype) -> jax.Array:
    """``gain * Q`` for a Haar ``(rows, cols)`` Q, reshaped to ``shape`` (QR in float32 for half precision)."""
    q = haar_orthogonal(key, (), rows, cols, compute_dtype(dtype)) * gain
    return q.reshape(shape).astype(dtype)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _zero_some(w: jax.Array, bits: jax.Array, axis: int, zeros: int) -> jax.Array:
    """``w`` with ``zeros`` entries of each line along ``axis`` set to 0, where ``bits`` rank lowest.

    The ranks of i.i.d. random bits are a uniformly random permutation of
    each line (the stable sort breaks ties), so the zeros are placed
    uniformly at random, exactly ``zeros`` per line.
    """
    ranks = jnp.argsort(jnp.argsort(bits, axis=axis), axis=axis)
    return jnp.where(ranks < zeros, jnp.zeros((), w.dtype), w)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _dirac(shape: tuple[int, ...], layout: str, groups: int, dtype: np.dtype) -> jax.Array:
    """torch's ``dirac_`` kernel from index comparisons (no host array, so ``jax.eval_shape`` stays abstract).

    Entry (o, i, *c) is 1 iff c is the centre ``k // 2`` on every spatial
    axis and ``o % (out / groups) == i``: in group g, out channel
    ``g * opg + d`` copies in channel d, for ``d < min(opg, in)``.
    """
    rank = len(shape)
    out_axis, in_axis, spatial = (0, 1, range(2, rank)) if layout == "torch" else (rank - 1, rank - 2, range(rank - 2))
    iota = functools.partial(jax.lax.broadcasted_iota, jnp.int32, shape)
    ones = iota(out_axis) % (shape[out_axis] // groups) == iota(in_axis)
    for axis in spatial:
        ones &= iota(axis) == shape[axis] // 2
    return ones.astype(dtype)


def _rank_error(init: InitializerBase, shape: tuple[int, ...], need: str) -> ValueError:
    return ValueError(init._error(f"shape needs {need}; got shape={shape!r}."))


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchOrthogonal(InitializerBase):
    """``gain`` times a Haar (semi-)orthogonal matrix: torch's ``(out, rest)`` matrix, or its flax equivalent."""

    gain: float = 1.0
    layout: str = "flax"

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) < 2:
            raise _rank_error(self, shape, "at least 2 dimensions")

    def matrix_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(rows, cols) of the matrix made semi-orthogonal.

        torch layout: rows = size(0) (out), cols = the rest flattened; flax
        layout: rows = ``prod(k) * in``, cols = out.
        """
        if self.layout == "torch":
            return shape[0], math.prod(shape[1:])
        return math.prod(shape[:-1]), shape[-1]

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        rows, cols = self.matrix_shape(shape)
        q = _orthogonal(key, cast_constant(self.gain, compute_dtype(dtype)), rows, cols, shape, dtype)
        return shard_like(q, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        rows, cols = self.matrix_shape(shape)
        return laws.semi_orthogonal_moments(rows, cols, self.gain)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.haar_entry(max(self.matrix_shape(shape)), self.gain)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sparse(InitializerBase):
    """N(0, std^2) with exactly ``ceil(sparsity * out)`` zeros per input unit (torch's ``sparse_``).

    torch layout ``(out, in)``: zeros counted down each column (axis 0);
    flax layout ``(in, out)``: along each row (axis -1).
    """

    sparsity: float = 0.1
    std: float = 0.01
    layout: str = "flax"

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 2:
            raise _rank_error(self, shape, "2 dimensions (a Linear weight)")

    def out_axis(self) -> int:
        return 0 if self.layout == "torch" else 1

    def num_zeros(self, shape: tuple[int, ...]) -> int:
        """``ceil(sparsity * out)``, computed as torch does."""
        return math.ceil(self.sparsity * shape[self.out_axis()])

    def _extent(self, shape: tuple[int, ...], law: Moments) -> float:
        # The non-zero entries are N(0, std^2): the law's variance, diluted by the zeros, understates them.
        return OVERFLOW_SIGMAS * self.std if law.variance > 0.0 else 0.0

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        key_values, key_mask = sampling.split(key)
        w = _draw_normal(key_values, shape, dtype, 0.0, self.std, None)
        bits = sampling.bits(key_mask, shape, jnp.uint32)
        return shard_like(_zero_some(w, bits, self.out_axis(), self.num_zeros(shape)), out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        p_zero = self.num_zeros(shape) / shape[self.out_axis()]
        if p_zero >= 1.0:
            return dataclasses.replace(laws.constant_moments(0.0), iid=False)
        # A mixture of 0 (probability p) and N(0, std^2): E w^4 = 3 (1 - p) std^4.
        return Moments(
            mean=0.0,
            variance=self.std**2 * (1.0 - p_zero),
            bound=None,
            excess_kurtosis=3.0 / (1.0 - p_zero) - 3.0,
            iid=False,
        )

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.sparse_normal(self.num_zeros(shape) / shape[self.out_axis()], self.std)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TorchEye(Eye):
    """The identity of a 2-D weight (torch's ``eye_``); the same array in both layouts."""

    layout: str = "flax"

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 2:
            raise _rank_error(self, shape, "2 dimensions (a Linear weight)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dirac(InitializerBase):
    """torch's ``dirac_``: per group, out channel d copies in channel d at the centre tap k // 2."""

    groups: int = 1
    layout: str = "flax"
    random = False

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) not in (3, 4, 5):
            raise _rank_error(self, shape, "3, 4 or 5 dimensions (a Conv1d, Conv2d or Conv3d kernel)")
        out = shape[0] if self.layout == "torch" else shape[-1]
        if out % self.groups:
            where = "shape[0]" if self.layout == "torch" else "shape[-1]"
            raise ValueError(
                self._error(
                    f"the out channels ({where} in {self.layout} layout) must be divisible by `groups`; "
                    f"got shape={shape!r}, groups={self.groups}."
                )
            )

    def _parts(self, shape: tuple[int, ...]) -> tuple[int, int, tuple[int, ...]]:
        if self.layout == "torch":
            return shape[0], shape[1], shape[2:]
        return shape[-1], shape[-2], shape[:-2]

    def ones(self, shape: tuple[int, ...]) -> int:
        """The number of entries equal to 1: ``groups * min(out / groups, in)``."""
        out, in_, _ = self._parts(shape)
        return self.groups * min(out // self.groups, in_)

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        return shard_like(_dirac(shape, self.layout, self.groups, dtype), out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        return laws.two_valued_moments(1.0, self.ones(shape), math.prod(shape))

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.two_valued(1.0, self.ones(shape) / math.prod(shape))


# ---------------------------------------------------------------------------
# calculate_gain


def _gain(name: str, nonlinearity: Any, param: Any) -> float:
    """torch's calculate_gain table; ValueError where torch raises ValueError."""
    if isinstance(nonlinearity, str):
        if nonlinearity in LINEAR_FNS or nonlinearity == "sigmoid":
            return 1.0
        if nonlinearity == "tanh":
            return 5.0 / 3
        if nonlinearity == "relu":
            return math.sqrt(2.0)
        if nonlinearity == "leaky_relu":
            if param is None:
                slope = 0.01
            elif (isinstance(param, int) and not isinstance(param, bool)) or isinstance(param, float):
                slope = param
            else:
                raise ValueError(
                    validation.error(
                        name,
                        f"the negative slope of leaky_relu must be an int or a float (as torch requires); "
                        f"got {param!r}.",
                    )
                )
            return math.sqrt(2.0 / (1 + slope**2))
        if nonlinearity == "selu":
            return 3.0 / 4  # torch's value, chosen empirically (calculate_gain's documentation)
    listed = ", ".join(repr(n) for n in NONLINEARITIES)
    raise ValueError(
        validation.error(name, f"unsupported nonlinearity; torch's table has {listed}; got {nonlinearity!r}.")
    )


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """torch's recommended gain for a nonlinearity (``torch.nn.init.calculate_gain``).

    =================  ====================================
    nonlinearity       gain
    =================  ====================================
    linear, conv*d,    1
    conv_transpose*d
    sigmoid            1
    tanh               5/3
    relu               sqrt(2)
    leaky_relu         sqrt(2 / (1 + negative_slope^2))
    selu               3/4
    =================  ====================================

    Same values and the same errors as torch 2.13: ValueError for any other
    nonlinearity (``"gelu"``, ``"silu"``, ``"identity"``, ``"ReLU"`` and
    non-strings included) and, for leaky_relu, for a ``param`` that is not
    an int or float (bool, str, numpy float32...). ``param`` is ignored by
    the other nonlinearities, as in torch. For the exact variance-preserving
    gain of any activation use ``jinit.gain``: tanh's is 1.5925, selu's 1.

    Args:
      nonlinearity: the ``nn.functional`` name.
      param: leaky_relu's negative slope (default 0.01).

    Returns:
      The gain, a float (multiplies a standard deviation).

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.calculate_gain("leaky_relu", 0.2), 6)
      1.38675
      >>> round(jt.calculate_gain("tanh"), 6)
      1.666667

    References:
      He et al. (2015), arXiv:1502.01852, eq. 15 (leaky_relu);
      Klambauer et al. (2017) and torch.nn.init.calculate_gain's documentation (selu).
    """
    return _gain(_name("calculate_gain"), nonlinearity, param)


# ---------------------------------------------------------------------------
# Factories


def uniform(a: float = 0.0, b: float = 1.0, *, dtype: DTypeLike | None = None) -> TorchUniform:
    """Builds torch's ``uniform_``: U[a, b).

    Mean ``(a + b) / 2``, variance ``(b - a)^2 / 12``.

    Args:
      a: the lower bound, finite.
      b: the upper bound, finite and greater than ``a``.
      dtype: the default dtype.

    Returns:
      An initializer for arrays of any shape.

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.uniform(-1.0, 1.0).moments((4, 4)).variance, 6)
      0.333333

    References:
      ``torch.nn.init.uniform_``.
    """
    name = _name("uniform")
    lo = validation.real_scalar(name, "a", a)
    hi = validation.real_scalar(name, "b", b)
    if not lo < hi:
        raise ValueError(validation.error(name, f"`a` must be less than `b`; got a={a!r}, b={b!r}."))
    if not math.isfinite(hi - lo):
        raise ValueError(validation.error(name, f"`b - a` must be finite; got a={a!r}, b={b!r}."))
    return TorchUniform(low=lo, high=hi, dtype=_dtype(name, dtype), name=name)


def normal(mean: float = 0.0, std: float = 1.0, *, dtype: DTypeLike | None = None) -> TorchNormal:
    """Builds torch's ``normal_``: N(mean, std^2).

    Args:
      mean: the mean, finite.
      std: the standard deviation, positive and finite.
      dtype: the default dtype.

    Returns:
      An initializer for arrays of any shape.

    Examples:
      >>> import jinit.torch as jt
      >>> jt.normal(1.0, 0.5).moments((8,)).variance
      0.25

    References:
      ``torch.nn.init.normal_``.
    """
    name = _name("normal")
    return TorchNormal(
        mean=validation.real_scalar(name, "mean", mean),
        std=validation.positive(name, "std", std),
        dtype=_dtype(name, dtype),
        name=name,
    )


def trunc_normal(
    mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, *, dtype: DTypeLike | None = None
) -> TruncNormal:
    """Builds torch's ``trunc_normal_``: N(mean, std^2) truncated to [a, b], ABSOLUTE bounds.

    With ``a' = (a - mean) / std``, ``b' = (b - mean) / std`` and
    ``Z = Phi(b') - Phi(a')``, the law has density ``phi((w - mean)/std) /
    (std Z)`` on [a, b], mean ``mean + std (phi(a') - phi(b')) / Z`` and
    variance ``std^2 (1 + (a' phi(a') - b' phi(b')) / Z - ((phi(a') -
    phi(b')) / Z)^2)``. Unlike jax's ``truncated_normal`` the bounds are
    values, not multiples of ``std``, and need not be symmetric about the
    mean: ``moments(...).interval`` is then ``(a, b)``. Drawn by inverting
    the CDF (torch rejects); infinite bounds are allowed.

    Args:
      mean: the mean of the normal before truncation, finite.
      std: the standard deviation before truncation, positive and finite.
      a: the lower bound (may be -inf).
      b: the upper bound (may be +inf), greater than ``a``.
      dtype: the default dtype.

    Returns:
      An initializer for arrays of any shape.

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.trunc_normal().moments((8, 8)).variance, 4)  # std 1 cut at +-2
      0.7737
      >>> jt.trunc_normal(mean=0.5, std=1.0, a=0.0, b=2.0).moments((8,)).interval
      (0.0, 2.0)

    References:
      ``torch.nn.init.trunc_normal_``; Johnson, Kotz & Balakrishnan (1994),
      Continuous Univariate Distributions, vol. 1, section 10.1.
    """
    name = _name("trunc_normal")
    mean_ = validation.real_scalar(name, "mean", mean)
    std_ = validation.positive(name, "std", std)
    bounds: list[float] = []
    for param, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(validation.error(name, f"`{param}` must be a real number; got {v!r}."))
        if math.isnan(float(v)):
            raise ValueError(validation.error(name, f"`{param}` must not be NaN; got {param}={v!r}."))
        bounds.append(float(v))
    lo, hi = bounds
    if not lo < hi:
        raise ValueError(validation.error(name, f"`a` must be less than `b`; got a={a!r}, b={b!r}."))
    sqrt2 = math.sqrt(2.0)
    mass = 0.5 * (math.erf((hi - mean_) / std_ / sqrt2) - math.erf((lo - mean_) / std_ / sqrt2))
    if not mass >= MIN_TRUNCATED_MASS:
        raise ValueError(
            validation.error(
                name,
                f"[`a`, `b`] must hold at least {MIN_TRUNCATED_MASS} of the mass of N(mean, std^2) for the "
                f"sampler to be exact; got mean={mean!r}, std={std!r}, a={a!r}, b={b!r} (mass {mass:.3g}).",
            )
        )
    return TruncNormal(mean=mean_, std=std_, a=lo, b=hi, dtype=_dtype(name, dtype), name=name)


def _fill(fn: str, value: Any, dtype: DTypeLike | None) -> Constant:
    """torch's ``constant_``, ``zeros_`` and ``ones_``: jinit's Constant under the torch name."""
    name = _name(fn)
    value_ = validation.real_scalar(name, "val", value)
    return Constant(value=value_, dtype=_dtype(name, dtype, validation.INEXACT_KINDS), name=name)


def constant(val: float, *, dtype: DTypeLike | None = None) -> Constant:
    """Builds torch's ``constant_``: every entry equal to ``val``.

    ``zeros()`` and ``ones()`` are ``constant(0.0)`` and ``constant(1.0)``
    under torch's names.

    Args:
      val: the fill value, a finite real number.
      dtype: the default dtype.

    Returns:
      An initializer for arrays of any shape (the key is ignored).

    Examples:
      >>> import jax, jinit.torch as jt
      >>> jt.constant(0.5)(jax.random.key(0), (3,))
      Array([0.5, 0.5, 0.5], dtype=float32)
      >>> jt.ones().moments((2, 2)).mean, jt.zeros().moments((2, 2)).mean
      (1.0, 0.0)

    References:
      ``torch.nn.init.constant_``, ``zeros_``, ``ones_``.
    """
    return _fill("constant", val, dtype)


def zeros(*, dtype: DTypeLike | None = None) -> Constant:
    """Builds torch's ``zeros_``: :func:`constant` with ``val=0`` (``dtype``: the default dtype)."""
    return _fill("zeros", 0.0, dtype)


def ones(*, dtype: DTypeLike | None = None) -> Constant:
    """Builds torch's ``ones_``: :func:`constant` with ``val=1`` (``dtype``: the default dtype)."""
    return _fill("ones", 1.0, dtype)


def eye(*, layout: str = "flax", dtype: DTypeLike | None = None) -> TorchEye:
    """Builds torch's ``eye_``: the identity of a 2-D weight, ``W[i, j] = [i == j]``.

    The identity of torch's ``(out, in)`` transposed is the identity of
    flax's ``(in, out)``, so both layouts give ``jnp.eye(*shape)``: the layer
    passes its first ``min(in, out)`` inputs through. Mean ``min(r, c) /
    (r c)`` per entry.

    Args:
      layout: ``"flax"`` (``(in, out)``) or ``"torch"`` (``(out, in)``);
        checked, same result.
      dtype: the default dtype.

    Returns:
      An initializer for 2-D arrays (the key is ignored).

    Examples:
      >>> import jax, jinit.torch as jt
      >>> jt.eye()(jax.random.key(0), (2, 3))
      Array([[1., 0., 0.],
             [0., 1., 0.]], dtype=float32)

    References:
      ``torch.nn.init.eye_``.
    """
    name = _name("eye")
    return TorchEye(layout=_layout(name, layout), dtype=_dtype(name, dtype), name=name)


def dirac(groups: int = 1, *, layout: str = "flax", dtype: DTypeLike | None = None) -> Dirac:
    """Builds torch's ``dirac_``: a conv kernel that is the identity per group.

    With ``opg = out / groups``, for every group g and ``d < min(opg, in)``
    the tap at the spatial centre ``c = k // 2`` (per axis) is
    ``W[g*opg + d, d, *c] = 1`` (torch layout) or ``W[*c, d, g*opg + d] = 1``
    (flax layout, ``(*k, in/groups, out)``); all other entries are 0. A conv
    with 'same' padding and odd k then copies input channel ``g*in + d`` to
    output channel ``g*opg + d``. ``jinit.delta_orthogonal`` puts its tap at
    ``(k - 1) // 2`` instead (they differ for even k).

    Args:
      groups: the conv's number of groups, a positive int dividing ``out``.
      layout: ``"flax"`` or ``"torch"``.
      dtype: the default dtype.

    Returns:
      An initializer for 3-D, 4-D or 5-D kernels (the key is ignored).

    Examples:
      >>> import jax, jinit.torch as jt
      >>> w = jt.dirac()(jax.random.key(0), (3, 2, 2))  # (k, in, out)
      >>> w[1]
      Array([[1., 0.],
             [0., 1.]], dtype=float32)

    References:
      ``torch.nn.init.dirac_``.
    """
    name = _name("dirac")
    return Dirac(
        groups=validation.integer(name, "groups", groups, minimum=1),
        layout=_layout(name, layout),
        dtype=_dtype(name, dtype),
        name=name,
    )


_Scaled = TypeVar("_Scaled", bound=TorchVarianceScaling)


def _scaled(
    cls: type[_Scaled], name: str, gain: float, mode: str, distribution: str, layout: str, dtype: Any
) -> _Scaled:
    return cls(
        gain=gain,
        mode=mode,
        distribution=distribution,
        layout=_layout(name, layout),
        dtype=_dtype(name, dtype),
        name=name,
    )


def _xavier(fn: str, distribution: str, gain: float, layout: str, dtype: Any) -> TorchVarianceScaling:
    name = _name(fn)
    return _scaled(
        TorchVarianceScaling, name, validation.positive(name, "gain", gain), "fan_avg", distribution, layout, dtype
    )


def xavier_uniform(gain: float = 1.0, *, layout: str = "flax", dtype: DTypeLike | None = None) -> TorchVarianceScaling:
    """Builds torch's ``xavier_uniform_``: U(-bound, bound), ``bound = gain sqrt(6 / (fan_in + fan_out))``.

    Variance ``gain^2 * 2 / (fan_in + fan_out)`` with torch's fans of the
    layer (``fan_in = in * prod(k)``, ``fan_out = out * prod(k)``).

    Args:
      gain: multiplies the standard deviation, positive and finite.
      layout: ``"flax"`` (``(*k, in, out)``) or ``"torch"`` (``(out, in, *k)``).
      dtype: the default dtype.

    Returns:
      An initializer for arrays of rank >= 2.

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.xavier_uniform().moments((3, 3, 16, 32)).bound, 6)  # sqrt(6 / 432)
      0.117851
      >>> jt.xavier_uniform(layout="torch").moments((32, 16, 3, 3)) == jt.xavier_uniform().moments((3, 3, 16, 32))
      True

    References:
      Glorot & Bengio (2010), Understanding the difficulty of training deep
      feedforward neural networks, eq. 16.
    """
    return _xavier("xavier_uniform", "uniform", gain, layout, dtype)


def xavier_normal(gain: float = 1.0, *, layout: str = "flax", dtype: DTypeLike | None = None) -> TorchVarianceScaling:
    """Builds torch's ``xavier_normal_``: N(0, std^2), ``std = gain sqrt(2 / (fan_in + fan_out))``.

    Arguments, fans and result as :func:`xavier_uniform`; only the
    distribution differs: a plain normal (jax's ``glorot_normal`` is
    truncated at 2 sigma and rescaled: same variance, lighter tails).

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.xavier_normal().moments((256, 512)).variance, 8)  # 2 / 768
      0.00260417

    References:
      Glorot & Bengio (2010), Understanding the difficulty of training deep
      feedforward neural networks.
    """
    return _xavier("xavier_normal", "normal", gain, layout, dtype)


def _kaiming(
    fn: str, distribution: str, a: float, mode: str, nonlinearity: str, layout: str, dtype: Any
) -> TorchVarianceScaling:
    name = _name(fn)
    slope = validation.real_scalar(name, "a", a)
    mode_ = validation.choice(name, "mode", mode.lower() if isinstance(mode, str) else mode, ("fan_in", "fan_out"))
    if nonlinearity == "leaky_relu":
        # torch's sqrt(2 / (1 + a^2)), written so that a huge |a| cannot overflow a^2.
        gain = math.sqrt(2.0) / math.hypot(1.0, slope)
    else:
        gain = _gain(name, nonlinearity, slope)
    return _scaled(TorchVarianceScaling, name, gain, mode_, distribution, layout, dtype)


def kaiming_uniform(
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    layout: str = "flax",
    dtype: DTypeLike | None = None,
) -> TorchVarianceScaling:
    """Builds torch's ``kaiming_uniform_``: U(-bound, bound), ``bound = gain sqrt(3 / fan_mode)``.

    ``gain = calculate_gain(nonlinearity, a)``, so the default (leaky_relu
    with slope 0) gives ``sqrt(2)``: variance ``2 / fan_in``. The fans are
    torch's for the layer in either layout.

    Args:
      a: the negative slope of the rectifier after this layer (used with
        ``"leaky_relu"`` only), finite.
      mode: ``"fan_in"`` (keeps forward variance) or ``"fan_out"``
        (backward); case-insensitive as in torch.
      nonlinearity: a name from ``calculate_gain``'s table.
      layout: ``"flax"`` (``(*k, in, out)``) or ``"torch"`` (``(out, in, *k)``):
        which axes ``mode``'s fan is read from.
      dtype: the default dtype.

    Returns:
      An initializer for arrays of rank >= 2.

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.kaiming_uniform().moments((256, 512)).variance, 8)  # 2 / 256
      0.0078125
      >>> round(jt.kaiming_uniform(mode="fan_out", layout="torch").moments((512, 256)).bound, 6)  # sqrt(6 / 512)
      0.108253

    References:
      He et al. (2015), Delving deep into rectifiers, arXiv:1502.01852.
    """
    return _kaiming("kaiming_uniform", "uniform", a, mode, nonlinearity, layout, dtype)


def kaiming_normal(
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    layout: str = "flax",
    dtype: DTypeLike | None = None,
) -> TorchVarianceScaling:
    """Builds torch's ``kaiming_normal_``: N(0, std^2), ``std = gain / sqrt(fan_mode)``.

    Arguments, gain ``calculate_gain(nonlinearity, a)``, fans and result as
    :func:`kaiming_uniform`; only the distribution differs: a plain normal
    (jax's ``he_normal`` is truncated and rescaled).

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.kaiming_normal(nonlinearity="relu").moments((3, 3, 64, 128)).variance, 8)  # 2 / 576
      0.00347222

    References:
      He et al. (2015), Delving deep into rectifiers, arXiv:1502.01852.
    """
    return _kaiming("kaiming_normal", "normal", a, mode, nonlinearity, layout, dtype)


def orthogonal(gain: float = 1.0, *, layout: str = "flax", dtype: DTypeLike | None = None) -> TorchOrthogonal:
    """Builds torch's ``orthogonal_``: ``gain`` times a Haar-random (semi-)orthogonal matrix.

    torch layout: the ``(out, in * prod(k))`` matrix (rows = size(0), the
    rest flattened) has orthonormal rows, or columns if taller than wide.
    flax layout: the ``(prod(k) * in, out)`` matrix (columns along the out
    axis), the same matrix up to a transpose and a row permutation, hence
    the same law. Per entry: mean 0, variance ``gain^2 / max(rows, cols)``.
    Half precision is computed in float32 and rounded.

    Args:
      gain: multiplies the matrix, positive and finite.
      layout: ``"flax"`` or ``"torch"``.
      dtype: the default dtype.

    Returns:
      An initializer for arrays of rank >= 2.

    Examples:
      >>> import jax, jinit.torch as jt
      >>> w = jt.orthogonal(layout="torch")(jax.random.key(0), (4, 2, 3))
      >>> m = w.reshape(4, 6)
      >>> bool(jax.numpy.allclose(m @ m.T, jax.numpy.eye(4), atol=1e-5))
      True

    References:
      Saxe, McClelland & Ganguli (2013), arXiv:1312.6120; Mezzadri (2007),
      How to generate random matrices from the classical compact groups.
    """
    name = _name("orthogonal")
    return TorchOrthogonal(
        gain=validation.positive(name, "gain", gain),
        layout=_layout(name, layout),
        dtype=_dtype(name, dtype),
        name=name,
    )


def sparse(sparsity: float, std: float = 0.01, *, layout: str = "flax", dtype: DTypeLike | None = None) -> Sparse:
    """Builds torch's ``sparse_``: N(0, std^2) with a fixed number of zeros per input unit.

    torch zeroes ``n0 = ceil(sparsity * out)`` entries, chosen uniformly at
    random, in each column of its ``(out, in)`` weight: per input unit. In
    flax layout ``(in, out)`` the same holds along each row. Per entry: mean
    0, variance ``std^2 (1 - n0 / out)``.

    Args:
      sparsity: the fraction of each input unit's entries set to zero, in [0, 1].
      std: the standard deviation of the non-zero entries, positive and finite.
      layout: ``"flax"`` (``(in, out)``) or ``"torch"`` (``(out, in)``).
      dtype: the default dtype.

    Returns:
      An initializer for 2-D arrays.

    Examples:
      >>> import jax, jinit.torch as jt
      >>> w = jt.sparse(0.25)(jax.random.key(0), (3, 8))  # (in, out)
      >>> (w == 0).sum(axis=1).tolist()
      [2, 2, 2]

    References:
      Martens (2010), Deep learning via Hessian-free optimization, ICML.
    """
    name = _name("sparse")
    s = validation.real_scalar(name, "sparsity", sparsity)
    if not 0.0 <= s <= 1.0:
        raise ValueError(validation.error(name, f"`sparsity` must be in [0, 1]; got sparsity={sparsity!r}."))
    return Sparse(
        sparsity=s,
        std=validation.positive(name, "std", std),
        layout=_layout(name, layout),
        dtype=_dtype(name, dtype),
        name=name,
    )


# kaiming_uniform(a=sqrt(5)): gain sqrt(2 / (1 + 5)) = sqrt(1/3), bound
# sqrt(3) * sqrt(1/3) / sqrt(fan_in) = 1 / sqrt(fan_in) (torch.nn.Linear.reset_parameters).
LAYER_GAIN = math.sqrt(2.0 / (1 + math.sqrt(5.0) ** 2))


def linear_weight(*, layout: str = "flax", dtype: DTypeLike | None = None) -> LinearWeight:
    """The law of ``torch.nn.Linear``'s weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    torch draws it as ``kaiming_uniform_(a=sqrt(5))``: variance
    ``1 / (3 fan_in)``.

    Args:
      layout: ``"flax"`` (``(in, out)``) or ``"torch"`` (``(out, in)``).
      dtype: the default dtype.

    Returns:
      An initializer for 2-D arrays.

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.linear_weight().moments((64, 10)).bound, 6)  # 1 / 8
      0.125

    References:
      torch.nn.Linear.reset_parameters.
    """
    name = _name("linear_weight")
    return _scaled(LinearWeight, name, LAYER_GAIN, "fan_in", "uniform", layout, dtype)


def conv_weight(*, layout: str = "flax", dtype: DTypeLike | None = None) -> ConvWeight:
    """The law of ``torch.nn.Conv{1,2,3}d``'s weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    ``fan_in = in/groups * prod(k)``; drawn by torch as
    ``kaiming_uniform_(a=sqrt(5))``.

    Args:
      layout: ``"flax"`` (``(*k, in/groups, out)``) or ``"torch"``
        (``(out, in/groups, *k)``).
      dtype: the default dtype.

    Returns:
      An initializer for 3-D, 4-D or 5-D kernels.

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.conv_weight().moments((3, 3, 16, 32)).bound, 6)  # 1 / 12
      0.083333

    References:
      torch.nn.modules.conv._ConvNd.reset_parameters.
    """
    name = _name("conv_weight")
    return _scaled(ConvWeight, name, LAYER_GAIN, "fan_in", "uniform", layout, dtype)


def _bias(fn: str, fan_in: int, dtype: Any) -> LayerBias:
    name = _name(fn)
    return LayerBias(fan_in=validation.integer(name, "fan_in", fan_in, minimum=0), dtype=_dtype(name, dtype), name=name)


def linear_bias(fan_in: int, *, dtype: DTypeLike | None = None) -> LayerBias:
    """The law of ``torch.nn.Linear``'s bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    ``fan_in`` is the WEIGHT's (``in_features``); for ``fan_in = 0`` the
    bound is 0, as in torch.

    Args:
      fan_in: the weight's fan_in, a non-negative int.
      dtype: the default dtype.

    Returns:
      An initializer for arrays of any shape.

    Examples:
      >>> import jinit.torch as jt
      >>> jt.linear_bias(16).moments((10,)).bound
      0.25

    References:
      torch.nn.Linear.reset_parameters.
    """
    return _bias("linear_bias", fan_in, dtype)


def conv_bias(fan_in: int, *, dtype: DTypeLike | None = None) -> LayerBias:
    """The law of ``torch.nn.Conv{1,2,3}d``'s bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    As :func:`linear_bias`, with the conv WEIGHT's ``fan_in = in_channels /
    groups * prod(kernel_size)`` (the bound is 0 for ``fan_in = 0``, as in
    torch).

    Examples:
      >>> import jinit.torch as jt
      >>> round(jt.conv_bias(3 * 3 * 16).moments((32,)).bound, 6)  # 1 / 12
      0.083333

    References:
      torch.nn.modules.conv._ConvNd.reset_parameters.
    """
    return _bias("conv_bias", fan_in, dtype)


def embedding(*, dtype: DTypeLike | None = None) -> basic.Normal:
    """The law of ``torch.nn.Embedding``'s weight: N(0, 1).

    (Flax's ``nn.Embed`` draws N(0, 1 / features) instead.)

    Args:
      dtype: the default dtype.

    Returns:
      An initializer for arrays of any shape.

    Examples:
      >>> import jinit.torch as jt
      >>> jt.embedding().moments((1000, 64)).variance
      1.0

    References:
      torch.nn.Embedding.reset_parameters.
    """
    name = _name("embedding")
    return basic.Normal(stddev=1.0, dtype=_dtype(name, dtype, validation.INEXACT_KINDS), name=name)
