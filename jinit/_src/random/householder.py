"""Haar-random orthogonal matrices from Householder reflections, in matmuls.

The QR route (Mezzadri 2007) draws a Gaussian ``Z`` (m x n, m >= n),
factors ``Z = Q R`` and returns ``Q diag(sign(diag R))``. Householder QR
builds ``Q = H_1 ... H_n`` where ``H_k`` maps the k-th column of
``H_{k-1} ... H_1 Z`` (rows k..m) onto a multiple of ``e_k``. Because the
Gaussian law is invariant under orthogonal maps and ``H_k`` depends only on
earlier columns, those transformed columns are independent
``N(0, I_{m-k+1})`` vectors: their joint law is that of the k-th column of
``Z`` itself, rows k..m. Stewart (1980) therefore skips the factorisation:
each reflector is built directly from the Gaussian's own column,

    x = Z[k:, k],  beta_k = -sign(x_0) ||x||,  v = x / (x_0 - beta_k) (v_0 = 1),
    tau_k = (beta_k - x_0) / beta_k,  H_k = I - tau_k v v^T,

and ``Q = H_1 ... H_n E diag(sign(beta))`` (``E`` the first n columns of the
identity) has exactly the law of the QR route: Haar on the Stiefel manifold.
It costs the formation of ``Q`` only (``4/3 n^3`` flops for a square
matrix), about half of a QR followed by the formation of ``Q``.

``Q`` is accumulated backwards in blocks of ``b`` reflectors with the compact
WY form ``H_k ... H_{k+b-1} = I - V T V^T``, where ``T`` is the inverse of the
upper-triangular ``S = diag(1 / tau) + striu(V^T V)`` (the UT transform of
Joffrain et al. 2006). Each block is two matrix products on the trailing
``(m - k) x (n - k)`` corner of ``Q``, the only part it changes.

References:
  Stewart (1980), The efficient generation of random orthogonal matrices
  with an application to condition estimators, SIAM J. Numer. Anal. 17(3).
  Mezzadri (2007), How to generate random matrices from the classical
  compact groups, Notices of the AMS 54(5), arXiv:math-ph/0609050.
  Joffrain, Low, Quintana-Orti, van de Geijn & Van Zee (2006), Accumulating
  Householder transformations, revisited, ACM TOMS 32(2).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

#: From this many columns on (the short side), ``jinit.orthogonal`` uses
#: Stewart's method; below it, the QR route keeps jax's values and costs
#: little either way.
MIN_STEWART = 128


def use_stewart(columns: int, dtype: np.dtype) -> bool:
    """Whether a matrix with ``columns`` (short side) of ``dtype`` is built by Stewart's method."""
    return columns >= MIN_STEWART and bool(jnp.issubdtype(dtype, jnp.floating))


def block_size(columns: int) -> int:
    """Reflectors per block: large enough for the products to run near matmul
    speed, small enough for the T factors and the wasted triangles to be cheap
    (64 up to 1024 columns, 128 above; measured on CPU)."""
    return 64 if columns <= 1024 else 128


_HIGHEST = jax.lax.Precision.HIGHEST


def _mm(a: jax.Array, b: jax.Array) -> jax.Array:
    # Full float32 products also on accelerators that default to tf32/bf16 passes.
    return jnp.matmul(a, b, precision=_HIGHEST)


def reflectors(z: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Stewart's reflectors from a Gaussian ``z`` of shape ``(..., m, n)``, m >= n.

    Args:
      z: the Gaussian matrix (or batch); column k, rows k.., makes reflector k.

    Returns:
      ``(v, tau, sign)``: ``v`` (..., m, n) unit lower trapezoidal (column k is
      zero above row k and 1 on it), ``tau`` (..., n) in [1, 2], and
      ``sign`` (..., n) the sign of ``beta`` (the diagonal of R in the QR route).
    """
    m, n = z.shape[-2:]
    rows = jax.lax.broadcasted_iota(np.int32, (m, n), 0)
    cols = jax.lax.broadcasted_iota(np.int32, (m, n), 1)
    below = rows > cols
    zero = jnp.zeros((), z.dtype)
    one = jnp.ones((), z.dtype)
    alpha = jnp.diagonal(z, axis1=-2, axis2=-1)
    sigma = jnp.sum(jnp.where(below, z * z, zero), axis=-2)
    norm = jnp.sqrt(alpha * alpha + sigma)
    beta = jnp.where(alpha >= zero, -norm, norm)
    # |alpha - beta| = |alpha| + norm >= norm > 0: no cancellation.
    scale = one / (alpha - beta)
    v = jnp.where(below, z * jnp.expand_dims(scale, -2), jnp.where(rows == cols, one, zero))
    tau = (beta - alpha) / beta
    return v, tau, jnp.sign(beta)


#: Triangular inverses up to this size double their blocks in full-size
#: products; larger ones recurse on halves first.
_DOUBLING_MAX = 8


def _upper_inverse(s: jax.Array) -> jax.Array:
    """Inverse of upper-triangular ``s`` (..., b, b), in matrix products.

    Both steps use LAPACK's recursive ``trtri`` formula
    ``[[A, B], [0, C]]^-1 = [[A^-1, -A^-1 B C^-1], [0, C^-1]]``: above
    ``_DOUBLING_MAX`` the two halves A and C are inverted together as one
    batch (depth log2(b)); below it, all diagonal blocks of size k are
    doubled at once (``X - X B X``, with ``X`` the block-diagonal inverse and
    ``B`` the upper-right k x k parts), which costs more flops but few
    operations. ``b`` is padded to a power of two with the identity.
    """
    b = s.shape[-1]
    size = 1 << max(b - 1, 0).bit_length()
    if size != b:
        pad = [(0, 0)] * (s.ndim - 2) + [(0, size - b), (0, size - b)]
        tail = np.diag(np.concatenate([np.zeros(b), np.ones(size - b)])).astype(s.dtype)
        s = jnp.pad(s, pad)
        s = s + jnp.broadcast_to(tail, s.shape)
    return _upper_inverse_pow2(s)[..., :b, :b]


def _upper_inverse_pow2(s: jax.Array) -> jax.Array:
    b = s.shape[-1]
    if b <= _DOUBLING_MAX:
        rows = jax.lax.broadcasted_iota(np.int32, (b, b), 0)
        cols = jax.lax.broadcasted_iota(np.int32, (b, b), 1)
        zero = jnp.zeros((), s.dtype)
        x = jnp.where(rows == cols, 1 / s, zero)
        k = 1
        while k < b:
            upper_right = (rows // (2 * k) == cols // (2 * k)) & (rows // k < cols // k)
            x = x - _mm(_mm(x, jnp.where(upper_right, s, zero)), x)
            k *= 2
        return x
    h = b // 2
    inv = _upper_inverse_pow2(jnp.stack([s[..., :h, :h], s[..., h:, h:]], axis=-3))
    a_inv, c_inv = inv[..., 0, :, :], inv[..., 1, :, :]
    top = jnp.concatenate([a_inv, -_mm(_mm(a_inv, s[..., :h, h:]), c_inv)], axis=-1)
    bottom = jnp.concatenate([jnp.zeros_like(a_inv), c_inv], axis=-1)
    return jnp.concatenate([top, bottom], axis=-2)


def _t_factors(gram: jax.Array, tau: jax.Array) -> jax.Array:
    """T of every block at once: ``T = S^-1``, ``S = diag(1/tau) + striu(V^T V)``.

    This is the UT transform (Joffrain et al. 2006); it equals LAPACK's
    ``larft`` recurrence ``T[j, j] = tau_j``, ``T[:j, j] = -tau_j T[:j, :j] (V^T V)[:j, j]``.
    Padded reflectors (tau = 0) get ``S[j, j] = 1`` and drop out.

    Args:
      gram: (..., b, b) the Gram matrices ``V^T V`` of the blocks.
      tau: (..., b) their reflector coefficients (0 for padding).

    Returns:
      (..., b, b) upper-triangular T factors.
    """
    b = gram.shape[-1]
    rows = jax.lax.broadcasted_iota(np.int32, (b, b), 0)
    cols = jax.lax.broadcasted_iota(np.int32, (b, b), 1)
    zero = jnp.zeros((), gram.dtype)
    padded = tau == 0
    diag = jnp.where(padded, jnp.ones((), tau.dtype), 1 / jnp.where(padded, jnp.ones((), tau.dtype), tau))
    s = jnp.where(cols > rows, gram, zero) + jnp.where(rows == cols, jnp.expand_dims(diag, -1), zero)
    t = _upper_inverse(s)
    # A padded reflector's column and row of T are zero (its S block is the identity).
    return jnp.where(jnp.expand_dims(padded, -1) | jnp.expand_dims(padded, -2), zero, t)


def householder_product(v: jax.Array, tau: jax.Array, block: int | None = None) -> jax.Array:
    """``H_1 ... H_n E`` for unit lower-trapezoidal ``v`` (..., m, n): the first n columns.

    Blocked backward accumulation: block j (reflectors k0..k0+b) changes only
    rows and columns k0.. of the product accumulated so far, by
    ``C <- C - V (T (V^T C))``.

    Args:
      v: (..., m, n) reflector vectors, ``H_k = I - tau_k v_k v_k^T``.
      tau: (..., n) their coefficients.
      block: reflectors per block (default ``block_size(n)``).

    Returns:
      (..., m, n) with orthonormal columns.
    """
    m, n = v.shape[-2:]
    batch = v.shape[:-2]
    block = min(block_size(n) if block is None else block, n)
    starts = list(range(0, n, block))
    grams, taus = [], []
    for k0 in starts:
        k1 = min(k0 + block, n)
        vb = v[..., k0:, k0:k1]
        gram = _mm(jnp.swapaxes(vb, -1, -2), vb)
        pad = block - (k1 - k0)
        grams.append(jnp.pad(gram, [(0, 0)] * len(batch) + [(0, pad), (0, pad)]))
        taus.append(jnp.pad(tau[..., k0:k1], [(0, 0)] * len(batch) + [(0, pad)]))
    t_all = _t_factors(jnp.stack(grams, axis=-3), jnp.stack(taus, axis=-2))
    q = jnp.broadcast_to(jnp.eye(m, n, dtype=v.dtype), (*batch, m, n))
    for i in reversed(range(len(starts))):
        k0 = starts[i]
        kb = min(k0 + block, n) - k0
        vb = v[..., k0:, k0 : k0 + kb]
        t = t_all[..., i, :kb, :kb]
        corner = q[..., k0:, k0:]
        w = _mm(jnp.swapaxes(vb, -1, -2), corner)
        q = q.at[..., k0:, k0:].set(corner - _mm(vb, _mm(t, w)))
    return q


@functools.partial(jax.jit, static_argnames=("block",))
def haar_from_gaussian(z: jax.Array, block: int | None = None) -> jax.Array:
    """A Haar-distributed ``(..., m, n)`` matrix with orthonormal columns from Gaussian ``z`` (m >= n).

    Args:
      z: i.i.d. N(0, 1) entries, real float dtype, ``m >= n``.
      block: reflectors per block of the accumulation (default: ``block_size(n)``).

    Returns:
      ``Q`` with ``Q^T Q = I``, Haar-distributed (Stewart 1980).
    """
    v, tau, sign = reflectors(z)
    return householder_product(v, tau, block) * jnp.expand_dims(sign, -2)
