"""ZerO: deterministic initialization with only zeros, ones and a Hadamard transform.

Zhao, Schäfer & Anandkumar (2021), Algorithm 1, for a weight W of shape
(P_out, P_in) (torch layout; the Flax kernel is W^T):

* P_out = P_in: W = I;
* P_out < P_in: W = I* (the partial identity, ``I*_ij = [i == j]``);
* P_out > P_in: W = c I* H_m I*, ``m = ceil(log2 P_out)``, H_m the 2^m x 2^m
  Sylvester-Hadamard matrix (entries +-1, ``H_ij = (-1)^popcount(i & j)``),
  so W's entries are ``c H_ij`` for i < P_out, j < P_in.

The scale c. The paper writes ``c = 2^(-(m-1)/2)``; the authors' released
code (``example_mnist.ipynb`` and the ``Hadamard_Transform`` of their CIFAR
and ImageNet ResNets) divides H by ``2^(m/2)``: a factor sqrt(2) smaller.
We default to the code's ``2^(-m/2)`` (``hadamard_scale="orthonormal"``)
because (1) it is what produced the published results, and (2) it makes the
expanding layer an isometry like the identity cases: for P_out = 2^m the
columns of W are orthonormal (W^T W = I), so a ZerO network is
norm-preserving at initialization; the paper's c gives W^T W = 2 I there.
``hadamard_scale="paper"`` gives the paper's constant.

Convolution kernels ``(*k, in, out)``: every tap is zero except the spatial
centre ``(k - 1) // 2`` (as ``delta_orthogonal``), which holds the matrix,
so the convolution starts as the 1x1 ZerO map.

The key is ignored: equal shapes give equal arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, laws, validation
from jinit._src.core.base import InitializerBase, shard_like
from jinit._src.core.types import DTypeLike, Moments, Sharding

SCALES = ("orthonormal", "paper")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ZerO(InitializerBase):
    """Identity, partial identity or scaled Hadamard block; see the module docstring."""

    hadamard_scale: str = "orthonormal"
    random = False

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) < 2:
            raise ValueError(self._error(f"shape needs at least 2 dimensions (*kernel, in, out); got shape={shape!r}."))

    def hadamard_constant(self, fan_out: int) -> float:
        """c for an expanding layer with ``fan_out`` outputs."""
        m = math.ceil(math.log2(fan_out))
        return 2.0 ** (-(m - 1) / 2) if self.hadamard_scale == "paper" else 2.0 ** (-m / 2)

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        n_in, n_out = shape[-2], shape[-1]
        if n_out <= n_in:
            tap = jnp.eye(n_in, n_out, dtype=dtype)
        else:
            i = jnp.arange(n_in, dtype=jnp.uint32).reshape(n_in, 1)
            j = jnp.arange(n_out, dtype=jnp.uint32).reshape(1, n_out)
            parity = jax.lax.population_count(i & j) & 1
            signs = (1 - 2 * parity.astype(jnp.int32)).astype(dtype)
            tap = signs * np.asarray(self.hadamard_constant(n_out), dtype)
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        w = jnp.zeros(shape, dtype).at[centre].set(tap)
        return shard_like(w, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        # The distribution of the entries over the array (deterministic values).
        n_in, n_out = shape[-2], shape[-1]
        total = math.prod(shape)
        if n_out <= n_in:
            return laws.two_valued_moments(1.0, n_out, total)
        c = self.hadamard_constant(n_out)
        mean = c * _hadamard_block_sum(n_in, n_out) / total
        second = c * c * n_in * n_out / total
        return Moments(
            mean=mean,
            variance=second - mean * mean,
            bound=c + abs(mean),
            excess_kurtosis=None,
            iid=False,
        )

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        # The values the array holds and how often: a block of 1s or of +-c (c rounded to the dtype), zeros.
        n_in, n_out = shape[-2], shape[-1]
        block = [(1.0, n_out)]
        if n_out > n_in:
            dtype_ = validation.dtype(self.name, self.dtype if dtype is None else dtype, self.kinds)
            c, s = float(np.asarray(self.hadamard_constant(n_out), dtype_)), _hadamard_block_sum(n_in, n_out)
            block = [(c, (n_in * n_out + s) // 2), (-c, (n_in * n_out - s) // 2)]
        total = math.prod(shape)
        return densities.discrete([*block, (0.0, total - sum(n for _, n in block))], total)


@functools.cache
def _hadamard_block_sum(a: int, b: int) -> int:
    """Sum of the entries of the top-left a x b block of a Sylvester-Hadamard matrix.

    With t the largest power of two below max(a, b), the matrix is
    [[H, H], [H, -H]] in blocks of size t, so the block sum splits into
    at most four smaller ones; the full t x t block of H sums to t (its
    first row is all ones, every other row sums to zero).
    """
    if a == 0 or b == 0:
        return 0
    if a == 1 or b == 1:
        return b if a == 1 else a  # first row or first column: all ones
    t = 1 << (max(a, b) - 1).bit_length() - 1
    if a <= t:
        return _hadamard_block_sum(a, t) + _hadamard_block_sum(a, b - t)
    if b <= t:
        return _hadamard_block_sum(t, b) + _hadamard_block_sum(a - t, b)
    return t + _hadamard_block_sum(a - t, t) + _hadamard_block_sum(t, b - t) - _hadamard_block_sum(a - t, b - t)


def zero_init(hadamard_scale: str = "orthonormal", dtype: DTypeLike | None = None) -> ZerO:
    """Builds ZerO, the deterministic initializer of Zhao et al. (2021).

    For a kernel ``(*k, in, out)`` (centre tap only for convolutions):
    ``out <= in``: the partial identity ``K_ij = [i == j]``; ``out > in``:
    ``K_ij = c (-1)^popcount(i & j)``, the first ``in`` rows and ``out``
    columns of a Sylvester-Hadamard matrix of size 2^m, m = ceil(log2 out),
    with ``c = 2^(-m/2)`` (the authors' code, default) or ``2^(-(m-1)/2)``
    (the paper's Algorithm 1): see the module docstring for why we default
    to the code. The key is ignored.

    Args:
      hadamard_scale: ``"orthonormal"`` (c = 2^(-m/2): K K^T = I when out is
        a power of two) or ``"paper"`` (c = 2^(-(m-1)/2): K K^T = 2 I there).
      dtype: the default dtype.

    Returns:
      A ``ZerO`` initializer.

    Examples:
      >>> import jax, jinit
      >>> jinit.zero_init()(jax.random.key(0), (2, 4))
      Array([[ 0.5,  0.5,  0.5,  0.5],
             [ 0.5, -0.5,  0.5, -0.5]], dtype=float32)
      >>> jinit.zero_init()(jax.random.key(0), (3, 2))
      Array([[1., 0.],
             [0., 1.],
             [0., 0.]], dtype=float32)

    References:
      Zhao, Schäfer & Anandkumar (2021), ZerO initialization: initializing
      neural networks with only zeros and ones, arXiv:2110.12661;
      code: github.com/jiaweizzhao/ZerO-initialization.
    """
    name = "zero_init"
    return ZerO(
        hadamard_scale=validation.choice(name, "hadamard_scale", hadamard_scale, SCALES), dtype=dtype, name=name
    )


#: The former name of :func:`zero_init`, kept as a plain alias (the same function).
zer_o = zero_init
