"""State-space models: S4D's diagonal state matrices and Mamba's parameter inits.

S4D (Gu, Gupta, Goel & Re 2022), with N = n_state and k = 0 .. N/2 - 1 (one
mode of each conjugate pair, as their code keeps them):

* S4D-Lin: ``A_k = -1/2 + i pi k``;
* S4D-Inv: ``A_k = -1/2 + i (N / pi) (N / (2k + 1) - 1)``;
* S4D-Real: ``A_k = -(k + 1)``, k = 0 .. N - 1.

Mamba (Gu & Dao 2023) stores ``A = -exp(A_log)`` with ``A_log = log(1 ..
N)`` per channel (S4D-Real), and initialises the bias of the time-step
projection so that ``dt = softplus(bias)`` is log-uniform on [dt_min,
dt_max]: ``dt = exp(U (log dt_max - log dt_min) + log dt_min)``, U ~ U[0, 1),
clamped below at ``floor``, ``bias = dt + log(-expm1(-dt))`` (the inverse
softplus). Mamba-2 (Dao & Gu 2024) draws one ``A`` per head, uniform on
``a_init_range``, and stores ``A_log = log(A)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, laws, validation
from jinit._src.core.base import InitializerBase, cast_constant, shard_like
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.random import sampling
from jinit._src.schemes.constant import Constant

DT_INITS = ("random", "constant")
# Gauss-Legendre nodes for the laws' expectations: the integrands are analytic on
# the interval (polynomials times exp, or log(expm1(exp t))), so 64 nodes
# (exact for degree 127) leave an error far below float64's eps.
_QUAD_NODES = 64


def _count(name: str, param: str, value: Any, minimum: int = 1) -> int:
    return validation.integer(name, param, value, minimum=minimum)


def _even_state(name: str, n_state: Any) -> int:
    n = _count(name, "n_state", n_state, 2)
    if n % 2:
        raise ValueError(
            validation.error(name, f"`n_state` must be even (the modes come in conjugate pairs); got n_state={n}.")
        )
    return n


def _array_dtype(name: str, dtype: Any, kinds: tuple[str, ...]) -> np.dtype:
    return validation.dtype(name, dtype, kinds)


# ---------------------------------------------------------------------------
# S4D and Mamba's fixed arrays


def s4d_lin(n_state: int, dtype: DTypeLike = jnp.complex64) -> jax.Array:
    """S4D-Lin's diagonal state matrix: ``A_k = -1/2 + i pi k``, k = 0 .. n_state/2 - 1.

    The imaginary parts are the frequencies of a Fourier basis (S4D's
    approximation of S4-LegS's kernel by damped Fourier modes).

    Args:
      n_state: N, the state size, even (the N/2 conjugate partners are dropped).
      dtype: a complex dtype.

    Returns:
      An array of shape ``(n_state // 2,)``.

    Examples:
      >>> import jinit.ssm
      >>> jinit.ssm.s4d_lin(6)
      Array([-0.5+0.j       , -0.5+3.1415927j, -0.5+6.2831855j], dtype=complex64)

    References:
      Gu, Gupta, Goel & Re (2022), On the parameterization and
      initialization of diagonal state space models, arXiv:2206.11893, eq. (9).
    """
    name = "ssm.s4d_lin"
    n = _even_state(name, n_state)
    dt = _array_dtype(name, dtype, ("complexfloating",))
    k = np.arange(n // 2, dtype=np.float64)
    return jnp.asarray(-0.5 + 1j * math.pi * k, dtype=dt)


def s4d_inv(n_state: int, dtype: DTypeLike = jnp.complex64) -> jax.Array:
    """S4D-Inv's diagonal state matrix: ``A_k = -1/2 + i (N / pi) (N / (2k + 1) - 1)``.

    N = n_state, k = 0 .. N/2 - 1: imaginary parts that fall off as 1/k, an
    approximation of S4-LegS's spectrum.

    Args:
      n_state: N, the state size, even.
      dtype: a complex dtype.

    Returns:
      An array of shape ``(n_state // 2,)``.

    Examples:
      >>> import jinit.ssm
      >>> jinit.ssm.s4d_inv(4).imag.round(4)  # (4 / pi) (4 - 1), (4 / pi) (4 / 3 - 1)
      Array([3.8197, 0.4244], dtype=float32)

    References:
      Gu, Gupta, Goel & Re (2022), arXiv:2206.11893, eq. (8).
    """
    name = "ssm.s4d_inv"
    n = _even_state(name, n_state)
    dt = _array_dtype(name, dtype, ("complexfloating",))
    k = np.arange(n // 2, dtype=np.float64)
    return jnp.asarray(-0.5 + 1j * (n / math.pi) * (n / (2 * k + 1) - 1), dtype=dt)


def s4d_real(n_state: int, dtype: DTypeLike = jnp.float32) -> jax.Array:
    """S4D-Real's diagonal state matrix: ``A_k = -(k + 1)``, k = 0 .. n_state - 1.

    Args:
      n_state: N, the state size, at least 1.
      dtype: a real dtype.

    Returns:
      An array of shape ``(n_state,)``.

    Examples:
      >>> import jinit.ssm
      >>> jinit.ssm.s4d_real(3)
      Array([-1., -2., -3.], dtype=float32)

    References:
      Gu, Gupta, Goel & Re (2022), arXiv:2206.11893, section 4.
    """
    name = "ssm.s4d_real"
    n = _count(name, "n_state", n_state)
    dt = _array_dtype(name, dtype, validation.FLOAT_KINDS)
    return jnp.asarray(-np.arange(1, n + 1, dtype=np.float64), dtype=dt)


def mamba_a_log(d_inner: int, n_state: int, dtype: DTypeLike = jnp.float32) -> jax.Array:
    """Mamba's ``A_log``: ``log(k)``, k = 1, ..., n_state, in every one of ``d_inner`` rows (``A = -exp(A_log)``).

    The S4D-Real matrix per channel, stored as its log so that ``A`` stays
    negative during training (Mamba's reference code keeps it in float32).

    Args:
      d_inner: the number of channels, at least 1.
      n_state: the state size N, at least 1.
      dtype: a real dtype.

    Returns:
      An array of shape ``(d_inner, n_state)``.

    Examples:
      >>> import jinit.ssm
      >>> jinit.ssm.mamba_a_log(2, 3).round(4)
      Array([[0.    , 0.6931, 1.0986],
             [0.    , 0.6931, 1.0986]], dtype=float32)

    References:
      Gu & Dao (2023), Mamba: linear-time sequence modeling with selective
      state spaces, arXiv:2312.00752, section 3.6; reference code
      ``mamba_ssm/modules/mamba_simple.py`` (``A_log``).
    """
    name = "ssm.mamba_a_log"
    d = _count(name, "d_inner", d_inner)
    n = _count(name, "n_state", n_state)
    dt = _array_dtype(name, dtype, validation.FLOAT_KINDS)
    row = np.log(np.arange(1, n + 1, dtype=np.float64))
    return jnp.asarray(np.broadcast_to(row, (d, n)), dtype=dt)


# ---------------------------------------------------------------------------
# Laws by quadrature (no sampler code)


def _expectations(
    fn: Callable[[np.ndarray], np.ndarray], weight: Callable[[np.ndarray], np.ndarray], a: float, b: float
) -> Callable[[Callable[[np.ndarray], np.ndarray]], float]:
    """``E[h(Y)]`` for Y = fn(T), T with density ``weight`` on [a, b], by Gauss-Legendre in t."""
    t, w = np.polynomial.legendre.leggauss(_QUAD_NODES)
    half, mid = 0.5 * (b - a), 0.5 * (b + a)
    nodes = mid + half * t
    y, mass = fn(nodes), w * weight(nodes) * half
    return lambda h: float(np.sum(mass * h(y)))


def _mixture_moments(
    expect: Callable[[Callable[[np.ndarray], np.ndarray]], float] | None,
    continuous_mass: float,
    atom: tuple[float, float] | None,
    support: tuple[float, float],
) -> Moments:
    """Mean, variance and excess kurtosis of a continuous part (``expect``, mass ``continuous_mass``) plus an atom."""

    def moment(h: Callable[[np.ndarray], np.ndarray]) -> float:
        total = expect(h) if expect is not None and continuous_mass > 0.0 else 0.0
        if atom is not None:
            total += atom[1] * float(h(np.asarray(atom[0])))
        return total

    mean = moment(lambda y: y)
    var = moment(lambda y: (y - mean) ** 2)
    c4 = moment(lambda y: (y - mean) ** 4)
    lo, hi = support
    return Moments(
        mean=mean,
        variance=var,
        bound=max(hi - mean, mean - lo),
        excess_kurtosis=c4 / (var * var) - 3.0 if var > 0.0 else None,
        interval=(lo, hi),
    )


def _inverse_softplus(x: np.ndarray | float) -> np.ndarray:
    """log(e^x - 1), stably: x + log(1 - e^-x)."""
    x = np.asarray(x, dtype=np.float64)
    return x + np.log(-np.expm1(-x))


def _softplus(y: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, y)


def _sigmoid(y: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * y))


# ---------------------------------------------------------------------------
# Mamba's time-step bias


@dataclasses.dataclass(frozen=True, kw_only=True)
class MambaDtBias(InitializerBase):
    """``inverse_softplus(max(dt, floor))``, dt log-uniform on [dt_min, dt_max]."""

    dt_min: float = 1e-3
    dt_max: float = 0.1
    floor: float = 1e-4

    def _floor_share(self) -> float:
        """P(dt < floor): the mass the clamp moves onto ``floor``."""
        if self.floor <= self.dt_min:
            return 0.0
        lo, hi = math.log(self.dt_min), math.log(self.dt_max)
        return min(1.0, (math.log(self.floor) - lo) / (hi - lo))

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        # As Mamba's reference code, in float32 (float64 when asked for), cast once.
        wide = np.dtype(np.float64) if np.dtype(dtype).itemsize > 4 else np.dtype(np.float32)
        lo, hi = math.log(self.dt_min), math.log(self.dt_max)
        u = sampling.uniform(key, shape, wide)
        dt = jnp.exp(u * cast_constant(hi - lo, wide) + cast_constant(lo, wide))
        dt = jnp.maximum(dt, cast_constant(self.floor, wide))
        inv_dt = dt + jnp.log(-jnp.expm1(-dt))
        return shard_like(inv_dt.astype(dtype), out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        # dt = e^T, T ~ U[log dt_min, log dt_max]; the clamp puts P(T < log floor) on one value.
        lo, hi = math.log(self.dt_min), math.log(self.dt_max)
        p = self._floor_share()
        start = max(lo, math.log(self.floor)) if self.floor > 0.0 else lo
        atom = (float(_inverse_softplus(self.floor)), p) if p > 0.0 else None
        expect = (
            None
            if p >= 1.0
            else _expectations(
                lambda t: _inverse_softplus(np.exp(t)), lambda t: np.full_like(t, 1.0 / (hi - lo)), start, hi
            )
        )
        top = float(_inverse_softplus(max(self.dt_max, self.floor)))
        bottom = float(_inverse_softplus(max(self.dt_min, self.floor)))
        return _mixture_moments(expect, 1.0 - p, atom, (bottom, top))

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        # y = log(expm1(dt)), dt = softplus(y): T = log softplus(y) has density 1 / (hi - lo), and
        # dT/dy = sigmoid(y) / softplus(y).
        lo, hi = math.log(self.dt_min), math.log(self.dt_max)
        p = self._floor_share()
        y_floor = float(_inverse_softplus(self.floor)) if p > 0.0 else None
        if p >= 1.0:
            return densities.point_mass(float(_inverse_softplus(self.floor)))
        a = float(_inverse_softplus(max(self.dt_min, self.floor)))
        b = float(_inverse_softplus(self.dt_max))

        def pdf(y: np.ndarray) -> np.ndarray:
            y = np.asarray(y, dtype=np.float64)
            inside = (y >= a) & (y <= b)
            return np.where(inside, _sigmoid(y) / _softplus(y) / (hi - lo), 0.0)

        atoms = ((y_floor, p),) if y_floor is not None else ()
        desc = f"inverse softplus of a log-uniform dt on [{self.dt_min:.4g}, {self.dt_max:.4g}]"
        desc += f", clamped at {self.floor:.4g}" if p > 0.0 else ""
        return densities.Density("inverse_softplus_log_uniform", desc, pdf, (a, b), atoms)


def mamba_dt_bias(
    dt_min: float = 1e-3, dt_max: float = 0.1, floor: float = 1e-4, dtype: DTypeLike | None = None
) -> MambaDtBias:
    """Builds Mamba's init of the time-step bias: ``softplus(bias)`` log-uniform on [dt_min, dt_max].

    ``dt = exp(U (log dt_max - log dt_min) + log dt_min)``, U ~ U[0, 1),
    ``dt = max(dt, floor)``, ``bias = dt + log(-expm1(-dt))``, the inverse of
    softplus, as Mamba's and Mamba-2's reference code (computed in float32,
    or float64 when asked for, and cast once). The law (``moments``) is that
    of ``log(expm1(dt))``, by quadrature over the log-uniform law; with
    ``floor > dt_min`` it has a point mass at ``log(expm1(floor))``.

    Use it for the bias of Mamba's ``dt_proj`` (shape ``(d_inner,)``) or
    Mamba-2's ``dt_bias`` (shape ``(n_heads,)``).

    Args:
      dt_min: the smallest time step, positive.
      dt_max: the largest time step, above ``dt_min``.
      floor: the clamp below (Mamba's ``dt_init_floor``), non-negative.
      dtype: the default dtype (real).

    Returns:
      A ``MambaDtBias`` initializer.

    Examples:
      >>> import jax, jinit.ssm
      >>> b = jinit.ssm.mamba_dt_bias()(jax.random.key(0), (1000,))
      >>> dt = jax.nn.softplus(b)
      >>> bool(dt.min() >= 1e-3 * (1 - 1e-6)), bool(dt.max() <= 0.1)
      (True, True)

    References:
      Gu & Dao (2023), Mamba, arXiv:2312.00752, section 3.6 and appendix;
      reference code ``mamba_ssm/modules/mamba_simple.py`` (``dt_init``).
    """
    name = "ssm.mamba_dt_bias"
    lo = validation.positive(name, "dt_min", dt_min)
    hi = validation.positive(name, "dt_max", dt_max)
    if not hi > lo:
        raise ValueError(
            validation.error(name, f"`dt_max` must exceed `dt_min`; got dt_min={dt_min!r}, dt_max={dt_max!r}.")
        )
    fl = validation.non_negative(name, "floor", floor)
    return MambaDtBias(dt_min=lo, dt_max=hi, floor=fl, dtype=dtype, name=name)


# ---------------------------------------------------------------------------
# Mamba's time-step projection


@dataclasses.dataclass(frozen=True, kw_only=True)
class MambaDtProj(InitializerBase):
    """U(-bound, bound), ``bound = dt_rank**-0.5 * dt_scale``."""

    bound: float

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        u = sampling.uniform(key, shape, dtype, -1.0, 1.0, out_sharding=out_sharding)
        return u * cast_constant(self.bound, dtype)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        return laws.uniform_moments(-self.bound, self.bound)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.uniform(-self.bound, self.bound)


def mamba_dt_proj(
    dt_rank: int, dt_scale: float = 1.0, init: str = "random", dtype: DTypeLike | None = None
) -> MambaDtProj | Constant:
    """Builds Mamba's init of the time-step projection's weight (``dt_proj``, rank ``dt_rank`` to ``d_inner``).

    With ``dt_init_std = dt_rank**-0.5 * dt_scale``: ``init="random"`` draws
    U(-dt_init_std, dt_init_std) (variance ``dt_scale^2 / (3 dt_rank)``, the
    variance-preserving choice for a ``dt_rank``-input layer);
    ``init="constant"`` fills every entry with dt_init_std. The law does not
    depend on the shape: pass the projection's input size as ``dt_rank``.

    Args:
      dt_rank: the projection's input size (Mamba: ``ceil(d_model / 16)``), at least 1.
      dt_scale: multiplier of dt_init_std, positive.
      init: ``"random"`` or ``"constant"``.
      dtype: the default dtype (real).

    Returns:
      A ``MambaDtProj`` initializer, or a ``Constant`` one for ``init="constant"``.

    Examples:
      >>> import jinit.ssm
      >>> jinit.ssm.mamba_dt_proj(16).moments((16, 256)).bound  # 16 ** -0.5
      0.25

    References:
      Gu & Dao (2023), Mamba, arXiv:2312.00752; reference code
      ``mamba_ssm/modules/mamba_simple.py`` (``dt_init``).
    """
    name = "ssm.mamba_dt_proj"
    rank = _count(name, "dt_rank", dt_rank)
    std = rank**-0.5 * validation.positive(name, "dt_scale", dt_scale)
    if validation.choice(name, "init", init, DT_INITS) == "constant":
        return Constant(value=std, dtype=dtype, name=name)
    return MambaDtProj(bound=std, dtype=dtype, name=name)


# ---------------------------------------------------------------------------
# Mamba-2's per-head A


@dataclasses.dataclass(frozen=True, kw_only=True)
class Mamba2ALog(InitializerBase):
    """``log(A)``, A ~ U[low, high) per entry (one per head)."""

    n_heads: int | None = None
    low: float = 1.0
    high: float = 16.0

    def _check(self, shape: tuple[int, ...]) -> None:
        if self.n_heads is not None and (len(shape) == 0 or shape[-1] != self.n_heads):
            raise ValueError(
                self._error(f"the last axis must hold the n_heads={self.n_heads} heads; got shape={shape!r}.")
            )

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        # As Mamba-2's reference code: A drawn in float32 (float64 when asked for), log, cast once.
        wide = np.dtype(np.float64) if np.dtype(dtype).itemsize > 4 else np.dtype(np.float32)
        a = sampling.uniform(key, shape, wide, self.low, self.high)
        return shard_like(jnp.log(a).astype(dtype), out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        # Y = log A has density e^y / (high - low) on [log low, log high].
        lo, hi = math.log(self.low), math.log(self.high)
        width = self.high - self.low
        expect = _expectations(lambda t: t, lambda t: np.exp(t) / width, lo, hi)
        return _mixture_moments(expect, 1.0, None, (lo, hi))

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        lo, hi = math.log(self.low), math.log(self.high)
        width = self.high - self.low

        def pdf(y: np.ndarray) -> np.ndarray:
            y = np.asarray(y, dtype=np.float64)
            return np.where((y >= lo) & (y <= hi), np.exp(y) / width, 0.0)

        return densities.Density("log_uniform_exp", f"log A, A ~ U({self.low:.4g}, {self.high:.4g})", pdf, (lo, hi))


def mamba2_a_log(
    n_heads: int | None = None, a_init_range: Sequence[float] = (1.0, 16.0), dtype: DTypeLike | None = None
) -> Mamba2ALog:
    """Builds Mamba-2's init of the per-head ``A_log``: ``log(A)``, A ~ U[a_init_range) (``A = -exp(A_log)``).

    One scalar A per head (Mamba-2's state matrix is a scalar times the
    identity), drawn in float32 as the reference code does, logged and cast
    once. One entry Y = log A has density ``e^y / (high - low)`` on
    [log low, log high]; its moments are integrals of that.

    Args:
      n_heads: the number of heads; if given, the last axis of the shape
        must have this length (None accepts any shape).
      a_init_range: ``(low, high)`` with ``0 < low < high`` (Mamba-2: (1, 16)).
      dtype: the default dtype (real).

    Returns:
      A ``Mamba2ALog`` initializer.

    Examples:
      >>> import jinit.ssm
      >>> law = jinit.ssm.mamba2_a_log(8).moments((8,))
      >>> round(law.mean, 6)  # (16 log 16 - 1 log 1) / 15 - 1
      1.957428

    References:
      Dao & Gu (2024), Transformers are SSMs: generalized models and
      efficient algorithms through structured state space duality
      (Mamba-2), arXiv:2405.21060; reference code
      ``mamba_ssm/modules/mamba2.py`` (``A_init_range``).
    """
    name = "ssm.mamba2_a_log"
    heads = None if n_heads is None else _count(name, "n_heads", n_heads)
    if isinstance(a_init_range, str) or not isinstance(a_init_range, Sequence) or len(a_init_range) != 2:
        raise TypeError(
            validation.error(name, f"`a_init_range` must be a pair (low, high); got a_init_range={a_init_range!r}.")
        )
    low = validation.positive(name, "a_init_range[0]", a_init_range[0])
    high = validation.positive(name, "a_init_range[1]", a_init_range[1])
    if not high > low:
        raise ValueError(
            validation.error(name, f"`a_init_range` must have low < high; got a_init_range={tuple(a_init_range)!r}.")
        )
    return Mamba2ALog(n_heads=heads, low=low, high=high, dtype=dtype, name=name)
