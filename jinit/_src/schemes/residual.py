"""Residual-stream and normalisation schemes: ReZero/SkipInit, SmallInit, Wang's init, IDInit, nGPT's unit norm.

* ReZero (Bachlechner et al. 2020) and SkipInit (De & Smith 2020): each
  residual branch is multiplied by a learnable scalar gain ``alpha``
  initialised to 0, so every block starts as the identity
  (``x + alpha F(x) = x``).
* SmallInit (Nguyen & Salazar 2019): embeddings N(0, 2 / (5 d)), a standard
  deviation ``sqrt(2 / (5 d))``, smaller than ``1 / sqrt(d)``.
* Wang's init (Wang 2021, as GPT-NeoX-20B uses it): the output projections
  that write into the residual stream N(0, (2 / (L sqrt(d)))^2), L layers.
* IDInit (Pan et al. 2025): ``tau`` times an identity padded to the shape
  by repeating it along the longer side, ``K_ij = tau [i = j mod min(in,
  out)]``, so that even a non-square kernel keeps full rank.
* nGPT (Loshchilov et al. 2024): every weight vector along the embedding
  axis lies on the unit sphere; drawn as a normal vector divided by its L2 norm.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import densities, fans, laws, validation
from jinit._src.core.base import InitializerBase, cast_constant, shard_like
from jinit._src.core.types import DTypeLike, Moments, Sharding
from jinit._src.random import sampling
from jinit._src.schemes.basic import Normal
from jinit._src.schemes.constant import Constant
from jinit._src.schemes.orthogonal import compute_dtype


def rezero(dtype: DTypeLike | None = None) -> Constant:
    """ReZero's and SkipInit's residual gain: ``alpha = 0``.

    A block computes ``x + alpha F(x)`` with a learnable scalar ``alpha``
    (ReZero: one per block, after the whole branch; SkipInit: the same
    scalar at the end of each residual branch, replacing batch norm). At 0
    every block is the identity, so the signal and the gradients pass
    through a network of any depth unchanged at initialization; the gain
    grows as training needs it. Initialise the gain (usually shape ``()``)
    with this, the branch's weights as usual.

    Args:
      dtype: the default dtype.

    Returns:
      An initializer of zeros (equal to ``jinit.zeros``).

    Examples:
      >>> import jax, jinit
      >>> jinit.rezero()(jax.random.key(0), ())
      Array(0., dtype=float32)

    References:
      Bachlechner et al. (2020), ReZero is all you need: fast convergence at
      large depth, arXiv:2003.04887. De & Smith (2020), Batch normalization
      biases residual blocks towards the identity function in deep networks
      (SkipInit), arXiv:2002.10444.
    """
    return Constant(value=0.0, dtype=dtype, name="rezero")


def small_init(d_model: int, dtype: DTypeLike | None = None) -> Normal:
    """SmallInit: N(0, 2 / (5 d_model)), standard deviation ``sqrt(2 / (5 d))``.

    Nguyen & Salazar's init for the embeddings (and, in GPT-NeoX, the other
    non-output weights) of a pre-norm transformer: a little smaller than
    ``1 / sqrt(d)``, so that the residual stream starts small against the
    updates.

    Args:
      d_model: the model width d, at least 1.
      dtype: the default dtype.

    Returns:
      ``jinit.normal(sqrt(2 / (5 d_model)))``.

    Examples:
      >>> import jinit
      >>> round(jinit.small_init(1024).moments((50000, 1024)).std, 6)  # sqrt(2 / 5120)
      0.019764

    References:
      Nguyen & Salazar (2019), Transformers without tears: improving the
      normalization of self-attention, arXiv:1910.05895. Black et al.
      (2022), GPT-NeoX-20B: an open-source autoregressive language model,
      arXiv:2204.06745, which writes it ``sqrt(2 / (d + 4 d))``.
    """
    name = "small_init"
    d = validation.integer(name, "d_model", d_model, minimum=1)
    return Normal(stddev=math.sqrt(2.0 / (5.0 * d)), dtype=dtype, name=name)


def wang_init(n_layers: int, d_model: int, dtype: DTypeLike | None = None) -> Normal:
    """Wang's init of the projections into the residual stream: N(0, (2 / (L sqrt(d)))^2).

    For the output projection of each attention and MLP block of an L-layer
    transformer of width d (GPT-NeoX's ``wang_init``; the other weights
    take :func:`small_init`). Like GPT-2's ``1 / sqrt(2 L)`` factor, it
    shrinks with depth so that the sum of the branches stays bounded, here
    as ``1 / L``.

    Args:
      n_layers: L, the number of transformer blocks, at least 1.
      d_model: the model width d, at least 1.
      dtype: the default dtype.

    Returns:
      ``jinit.normal(2 / (n_layers sqrt(d_model)))``.

    Examples:
      >>> import jinit
      >>> round(jinit.wang_init(44, 6144).moments((24576, 6144)).std, 7)  # GPT-NeoX-20B: 2 / (44 sqrt(6144))
      0.0005799

    References:
      Wang (2021), Mesh-Transformer-JAX (github.com/kingoflolz/mesh-transformer-jax).
      Black et al. (2022), GPT-NeoX-20B, arXiv:2204.06745, which uses
      ``2 / (L sqrt(d))`` for the feed-forward output layers.
    """
    name = "wang_init"
    big_l = validation.integer(name, "n_layers", n_layers, minimum=1)
    d = validation.integer(name, "d_model", d_model, minimum=1)
    return Normal(stddev=2.0 / (big_l * math.sqrt(d)), dtype=dtype, name=name)


# ---------------------------------------------------------------------------
# IDInit


@dataclasses.dataclass(frozen=True, kw_only=True)
class IDInit(InitializerBase):
    """``gain [i = j mod min(in, out)]`` on the centre tap of a ``(*k, in, out)`` kernel, 0 elsewhere."""

    gain: float = 1.0
    random = False

    def _check(self, shape: tuple[int, ...]) -> None:
        if len(shape) < 2:
            raise ValueError(self._error(f"shape needs at least 2 dimensions (*kernel, in, out); got shape={shape!r}."))

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        n_in, n_out = shape[-2], shape[-1]
        short = min(n_in, n_out)
        i = jnp.arange(n_in).reshape(n_in, 1) % short
        j = jnp.arange(n_out).reshape(1, n_out) % short
        tap = jnp.where(i == j, cast_constant(self.gain, dtype), cast_constant(0.0, dtype))
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        w = jnp.zeros(shape, dtype).at[centre].set(tap)
        return shard_like(w, out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        # Each index of the longer side meets exactly one of the shorter side: max(in, out) entries are gain.
        return laws.two_valued_moments(self.gain, max(shape[-2], shape[-1]), math.prod(shape))

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        dtype_ = validation.dtype(self.name, self.dtype if dtype is None else dtype, self.kinds)
        gain, count, total = float(cast_constant(self.gain, dtype_)), max(shape[-2], shape[-1]), math.prod(shape)
        return densities.discrete([(gain, count), (0.0, total - count)], total)


def id_init(gain: float = 1.0, dtype: DTypeLike | None = None) -> IDInit:
    """Builds IDInit's identity-preserving init: an identity padded to any shape by repetition.

    For a kernel ``(in, out)``: ``K_ij = gain`` when ``i = j mod min(in,
    out)``, else 0. A square kernel is ``gain I``; a wider one is ``[I, I,
    ...]`` (the identity repeated along the outputs, the last copy cut
    short), a taller one the identity repeated along the inputs. Padding
    with zeros instead (``jinit.eye``) leaves rank ``min(in, out)`` to a
    chain of layers that widen and then narrow; the repetition keeps every
    output a copy of an input, so the chain stays as close to the identity
    as the shapes allow (Pan et al. 2025, section 3.1, "IDI_tau" with
    ``tau = gain``). Convolutions ``(*k, in, out)``: the centre tap
    ``(k - 1) // 2`` holds that matrix, the other taps are 0 (a Dirac
    kernel; the paper's patch-maintain variant for convolutions and its
    small ``epsilon`` for zero-initialised layers are not implemented). The
    key is ignored.

    Args:
      gain: tau, the value on the identity's entries, finite and non-zero.
      dtype: the default dtype.

    Returns:
      An ``IDInit`` initializer.

    Examples:
      >>> import jax, jinit
      >>> jinit.id_init()(jax.random.key(0), (2, 5))
      Array([[1., 0., 1., 0., 1.],
             [0., 1., 0., 1., 0.]], dtype=float32)

    References:
      Pan, Wang, Wu, Wang, Zhang & Xu (2025), IDInit: a universal and stable
      initialization method for neural network training, ICLR 2025,
      arXiv:2503.04626.
    """
    name = "id_init"
    g = validation.real_scalar(name, "gain", gain)
    if g == 0.0:
        raise ValueError(validation.error(name, f"`gain` must be non-zero (use jinit.zeros); got gain={gain!r}."))
    return IDInit(gain=g, dtype=dtype, name=name)


# ---------------------------------------------------------------------------
# nGPT's unit-norm vectors


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnitNorm(InitializerBase):
    """A normal draw divided by its L2 norm along ``axis``: each such vector uniform on the unit sphere."""

    axis: int | tuple[int, ...] = -1

    def _axes(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return fans.normalize_axes(self.name, "axis", self.axis, len(shape))

    def _check(self, shape: tuple[int, ...]) -> None:
        self._axes(shape)

    def dimension(self, shape: tuple[int, ...]) -> int:
        """The length of each unit vector: the product of the ``axis`` lengths."""
        return math.prod(shape[a] for a in self._axes(shape))

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        wide = compute_dtype(dtype)
        z = sampling.normal(key, shape, wide)
        norm = jnp.sqrt(jnp.sum(z * z, axis=self._axes(shape), keepdims=True))
        # A zero vector (probability ~2^-24 per entry, only reachable for a 1-entry vector) becomes +1/sqrt(d).
        fill = cast_constant(1.0 / math.sqrt(self.dimension(shape)), wide)
        safe = jnp.where(norm > 0, norm, cast_constant(1.0, wide))
        w = jnp.where(norm > 0, z / safe, fill)
        return shard_like(w.astype(dtype), out_sharding)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments:
        # u uniform on the sphere in R^d: E u_i = 0 by symmetry and sum_i u_i^2 = 1, so E u_i^2 = 1 / d.
        return Moments(mean=0.0, variance=1.0 / self.dimension(shape), bound=1.0, excess_kurtosis=None, iid=False)

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.haar_entry(self.dimension(shape), 1.0)


def unit_norm(axis: int | tuple[int, ...] = -1, dtype: DTypeLike | None = None) -> UnitNorm:
    """Builds nGPT's init: every vector along ``axis`` uniform on the unit sphere (unit L2 norm).

    ``w = z / |z|``, z ~ N(0, I) along ``axis`` (one independent vector per
    position of the other axes): nGPT keeps every embedding and every weight
    vector along the embedding dimension of length 1, and starts from normal
    draws normalised so. One entry of a vector of length d has mean 0,
    variance ``1 / d`` and ``|w| <= 1``. Pick ``axis`` as the model-width
    axis: ``-1`` for an embedding table ``(vocab, d)`` or for a kernel that
    writes into the residual stream ``(hidden, d)``; ``-2`` (or 0) for a
    kernel ``(d, out)`` that reads from it.

    Args:
      axis: the axis (or axes) along which each vector has unit norm.
      dtype: the default dtype (real).

    Returns:
      A ``UnitNorm`` initializer.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.unit_norm()(jax.random.key(0), (4, 64))
      >>> jax.numpy.linalg.norm(w, axis=-1).round(5)
      Array([1., 1., 1., 1.], dtype=float32)

    References:
      Loshchilov, Hsieh, Sun & Ginsburg (2024), nGPT: normalized transformer
      with representation learning on the hypersphere, arXiv:2410.01131.
    """
    name = "unit_norm"
    return UnitNorm(axis=validation.axes(name, "axis", axis), dtype=dtype, name=name)
