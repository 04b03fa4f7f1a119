"""Mimetic initialization of self-attention (Trockman & Kolter 2023).

Pre-trained vision transformers have ``W_q W_k^T`` close to a positive
multiple of the identity plus noise, and ``W_v W_o`` close to a negative
multiple of it. Mimetic init draws the products directly,

    W_q^h W_k^h^T ~ alpha_1 Z_h + beta_1 I,      W_v W_o ~ alpha_2 Z - beta_2 I,

with ``Z`` of i.i.d. N(0, 1/d) entries (d = model width), and factors each
target by an SVD ``A = U S V^T``: the left factor is ``U sqrt(S)``, the right
``V sqrt(S)``, truncated to the rank the head dimensions allow (the best
approximation of that rank, Eckart-Young). Query/key: one target per head,
rank ``head_dim``. Value/output: one target for the concatenation of all
heads, rank ``num_heads * head_dim`` (exact when that equals d).

The factors of one draw are coupled, so this is not one initializer per
array: ``mimetic(...)(key, d_model)`` returns both kernels, in the layout of
``flax.nnx.MultiHeadAttention``: query/key/value ``(d, heads, head_dim)``,
output ``(heads, head_dim, d)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import validation
from jinit._src.core.types import DTypeLike, Moments
from jinit._src.random import sampling
from jinit._src.schemes.orthogonal import compute_dtype

CIRCUITS = ("qk", "vo")
# The paper's values for ViTs (Trockman & Kolter 2023, section 4).
DEFAULTS = {"qk": (0.7, 0.7), "vo": (0.4, 0.4)}
# How many standard deviations of the noise Z the range check allows for (a normal draw beyond 9 sigma has
# probability 2e-19 per entry: none in any array that fits in memory).
REACH = 9.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Mimetic:
    """A pair of attention kernels whose product is ``alpha Z + sign beta I``.

    Attributes:
      circuit: ``"qk"`` (query, key; target ``alpha Z + beta I``) or ``"vo"``
        (value, output; target ``alpha Z - beta I``).
      alpha: scale of the noise Z.
      beta: weight of the identity.
      num_heads: number of heads.
      head_dim: dimension per head (None: d_model // num_heads).
      dtype: default dtype of the kernels.
    """

    circuit: str
    alpha: float
    beta: float
    num_heads: int = 1
    head_dim: int | None = None
    dtype: DTypeLike | None = None

    @property
    def sign(self) -> float:
        return 1.0 if self.circuit == "qk" else -1.0

    def _dims(self, d_model: Any) -> tuple[int, int, int]:
        name = "mimetic"
        d = validation.integer(name, "d_model", d_model, minimum=1)
        k = d // self.num_heads if self.head_dim is None else self.head_dim
        rank = k if self.circuit == "qk" else k * self.num_heads
        if k < 1 or rank > d:
            raise ValueError(
                validation.error(
                    name,
                    f"needs 1 <= head_dim and num_heads * head_dim <= d_model for a {self.circuit} target of "
                    f"rank at most d_model; got d_model={d}, num_heads={self.num_heads}, head_dim={k}.",
                )
            )
        return d, self.num_heads, k

    def _check_range(self, d: int, cdt: Any, out_dtype: Any) -> None:
        """Refuse a target or kernels beyond the dtypes' range (they would come out inf or NaN).

        The target's entries reach about ``|beta| + REACH alpha / sqrt(d)``; its largest singular value is at
        most ``d`` times that (a bound on the Frobenius norm), and each kernel entry at most the square root of it.
        """
        reach = abs(self.beta) + REACH * abs(self.alpha) / math.sqrt(d)
        for what, need, dt in (
            ("the target alpha Z + beta I (entries and SVD)", d * reach, cdt),
            ("the kernels (square roots of the singular values)", math.sqrt(d * reach), out_dtype),
        ):
            top = float(jnp.finfo(dt).max)
            if not need < top:
                raise ValueError(
                    validation.error(
                        "mimetic",
                        f"{what} would reach about {need:.3g}, beyond the largest finite {np.dtype(dt).name} "
                        f"({top:.3g}); use a smaller alpha or beta or a wider dtype; got alpha={self.alpha}, "
                        f"beta={self.beta}, d_model={d}.",
                    )
                )

    def target(self, key: jax.Array, d_model: int, dtype: DTypeLike | None = None) -> jax.Array:
        """The matrices factored: ``(heads, d, d)`` for qk, ``(d, d)`` for vo (float32 or float64)."""
        d, h, _ = self._dims(d_model)
        validation.key("mimetic", key)
        out_dtype = validation.dtype("mimetic", self.dtype if dtype is None else dtype, validation.FLOAT_KINDS)
        cdt = compute_dtype(out_dtype)
        self._check_range(d, cdt, out_dtype)
        shape = (h, d, d) if self.circuit == "qk" else (d, d)
        z = sampling.normal(key, shape, cdt) * np.asarray(1.0 / math.sqrt(d), cdt)
        eye = jnp.eye(d, dtype=cdt).reshape((1,) * (len(shape) - 2) + (d, d))
        return z * np.asarray(self.alpha, cdt) + eye * np.asarray(self.sign * self.beta, cdt)

    def __call__(self, key: jax.Array, d_model: int, dtype: DTypeLike | None = None) -> tuple[jax.Array, jax.Array]:
        """The two kernels: ``(W_q, W_k)`` or ``(W_v, W_o)``, Flax attention layout."""
        d, h, k = self._dims(d_model)
        out_dtype = validation.dtype("mimetic", self.dtype if dtype is None else dtype, validation.FLOAT_KINDS)
        a = self.target(key, d, dtype)
        u, s, vt = jnp.linalg.svd(a)
        root = jnp.sqrt(s)
        if self.circuit == "qk":  # per head: (h, d, k) -> (d, h, k)
            left = u[..., :k] * root[..., None, :k]
            right = jnp.swapaxes(vt[..., :k, :], -1, -2) * root[..., None, :k]
            return (
                jnp.transpose(left, (1, 0, 2)).astype(out_dtype),
                jnp.transpose(right, (1, 0, 2)).astype(out_dtype),
            )
        r = h * k
        left = (u[:, :r] * root[None, :r]).reshape(d, h, k)
        right = (root[:r, None] * vt[:r]).reshape(h, k, d)
        return left.astype(out_dtype), right.astype(out_dtype)

    def product_moments(self, d_model: int) -> tuple[Moments, Moments]:
        """The law of the target's entries: (diagonal, off-diagonal).

        Diagonal ``N(sign beta, alpha^2 / d)``, off-diagonal ``N(0, alpha^2 / d)``;
        the product of the kernels equals the target when its rank
        (head_dim for qk, num_heads * head_dim for vo) is d.
        """
        d, _, _ = self._dims(d_model)
        var = self.alpha**2 / d
        return (
            Moments(mean=self.sign * self.beta, variance=var, excess_kurtosis=0.0),
            Moments(mean=0.0, variance=var, excess_kurtosis=0.0),
        )


def mimetic(
    circuit: str = "qk",
    *,
    alpha: float | None = None,
    beta: float | None = None,
    num_heads: int = 1,
    head_dim: int | None = None,
    dtype: DTypeLike | None = None,
) -> Mimetic:
    """Builds mimetic attention init: kernels whose product mimics a trained attention layer.

    ``circuit="qk"``: ``W_q^h W_k^h^T ~ alpha Z_h + beta I`` for every head h
    (rank-``head_dim`` SVD truncation of an independent target per head);
    ``circuit="vo"``: ``W_v W_o ~ alpha Z - beta I`` with W_v the
    (d, heads * head_dim) concatenation of the value kernels and W_o the
    output kernel (one target, rank ``heads * head_dim``). Z has i.i.d.
    N(0, 1/d) entries. Defaults are the paper's ViT values: (0.7, 0.7) for
    qk, (0.4, 0.4) for vo. Call the result as ``init(key, d_model)`` to get
    both kernels.

    Args:
      circuit: ``"qk"`` or ``"vo"``.
      alpha: noise scale, non-negative (default per circuit).
      beta: identity weight, real (default per circuit; the sign of the
        identity is + for qk and - for vo, as in the paper).
      num_heads: number of heads, at least 1.
      head_dim: dimension per head (default d_model // num_heads).
      dtype: default dtype of the kernels.

    Returns:
      A ``Mimetic`` object; ``init(key, d_model, dtype=None)`` returns
      ``(W_q, W_k)`` of shape ``(d, heads, head_dim)`` each, or ``(W_v, W_o)``
      of shapes ``(d, heads, head_dim)`` and ``(heads, head_dim, d)``.

    Examples:
      >>> import jax, jinit
      >>> wq, wk = jinit.mimetic("qk", num_heads=1)(jax.random.key(0), 64)
      >>> a = jinit.mimetic("qk").target(jax.random.key(0), 64)[0]
      >>> bool(jax.numpy.allclose(wq[:, 0] @ wk[:, 0].T, a, atol=1e-4))
      True

    References:
      Trockman & Kolter (2023), Mimetic initialization of self-attention
      layers, ICML, arXiv:2305.09828.
    """
    name = "mimetic"
    which = validation.choice(name, "circuit", circuit, CIRCUITS)
    a0, b0 = DEFAULTS[which]
    a = validation.non_negative(name, "alpha", a0 if alpha is None else alpha)
    b = validation.real_scalar(name, "beta", b0 if beta is None else beta)
    for param, value in (("num_heads", num_heads), ("head_dim", head_dim)):
        if value is None:
            continue
        validation.integer(name, param, value, minimum=1)
    return Mimetic(
        circuit=which,
        alpha=a,
        beta=b,
        num_heads=int(num_heads),
        head_dim=None if head_dim is None else int(head_dim),
        dtype=validation.default_dtype(name, dtype, validation.FLOAT_KINDS),
    )
