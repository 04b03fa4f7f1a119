"""Low-rank adapters: LoRA's factor inits, PiSSA and OLoRA, and a tree transform that adds them.

A kernel ``w`` of shape ``(..., in, out)`` (Flax layout, leading axes are
batch axes) gets an adapter ``scale * a @ b`` with ``a`` ``(..., in, r)``
and ``b`` ``(..., r, out)`` (the names and shapes of ``flax.nnx.LoRA``'s
``lora_a`` and ``lora_b``):

* LoRA (Hu et al. 2021, as PEFT initialises it): ``a`` ~
  U(-1/sqrt(in), 1/sqrt(in)) (torch's ``kaiming_uniform_(a=sqrt(5))`` on
  PEFT's ``(r, in)`` weight), ``b = 0``, ``scale = alpha / r`` (rsLoRA,
  Kalajdzievski 2023: ``alpha / sqrt(r)``). The layer starts as ``w``.
* PiSSA (Meng et al. 2024): ``w = U S V^T``; ``a = U_r sqrt(S_r / scale)``,
  ``b = sqrt(S_r / scale) V_r^T``, so ``scale * a @ b`` is the best rank-r
  approximation of ``w`` (Eckart-Young), and ``w_res = w - scale * a @ b``
  holds the rest of the spectrum.
* OLoRA (Buyukakyuz 2024): the QR decomposition of the torch-layout weight
  ``W = w^T = Q R``; ``b = Q_r^T`` (orthonormal rows, ``b b^T = I``),
  ``a = R_r^T`` (lower trapezoidal), ``w_res = w - scale * a @ b``.

In each case ``w_res + scale * a @ b == w`` up to rounding.
"""

from __future__ import annotations

import dataclasses
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import validation
from jinit._src.random import sampling
from jinit._src.schemes.constant import Constant, zeros
from jinit._src.schemes.variance_scaling import VarianceScaling

METHODS = ("lora", "pissa", "olora")
#: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` is variance_scaling with variance 1 / (3 fan_in): scale 1/3.
_KAIMING_SQRT5_SCALE = 1.0 / 3.0


def _rank(name: str, rank: Any) -> int:
    return validation.integer(name, "rank", rank, minimum=1)


def _a_init(name: str, batch_dims: int = 0, dtype: Any = None) -> VarianceScaling:
    """U(-1/sqrt(in), 1/sqrt(in)) on an ``(..., in, r)`` factor, leading axes independent."""
    return VarianceScaling(
        scale=_KAIMING_SQRT5_SCALE,
        mode="fan_in",
        distribution="uniform",
        batch_axis=tuple(range(batch_dims)),
        dtype=dtype,
        name=name,
    )


@dataclasses.dataclass(frozen=True)
class LoRA:
    """A LoRA adapter's hyperparameters and the initializers of its two factors.

    Attributes:
      rank: r.
      alpha: the LoRA alpha.
      rslora: whether ``scale`` is rsLoRA's ``alpha / sqrt(r)`` (else ``alpha / r``).
      scale: the multiplier of ``a @ b`` in the forward pass.
      a_init: the initializer of ``a`` ``(in, r)``: U(-1/sqrt(in), 1/sqrt(in)).
      b_init: the initializer of ``b`` ``(r, out)``: zeros.
    """

    rank: int
    alpha: float
    rslora: bool
    scale: float
    a_init: VarianceScaling
    b_init: Constant


def lora(rank: int, alpha: float, *, rslora: bool = False) -> LoRA:
    """LoRA's init as PEFT does it: ``a`` Kaiming-uniform, ``b`` zero, ``scale = alpha / r``.

    ``a`` (Flax layout ``(in, r)``) ~ U(-1/sqrt(in), 1/sqrt(in)), torch's
    ``kaiming_uniform_(a=sqrt(5))`` on PEFT's ``lora_A.weight`` ``(r, in)``
    (variance ``1 / (3 in)``); ``b`` ``(r, out)`` = 0, so ``w + scale * x a
    b`` starts as ``w``. ``scale = alpha / r``, or ``alpha / sqrt(r)`` with
    ``rslora=True`` (rank-stabilised LoRA, which keeps the update's scale
    independent of r).

    Args:
      rank: r, a positive int.
      alpha: LoRA's alpha, positive.
      rslora: use rsLoRA's ``alpha / sqrt(r)``.

    Returns:
      A frozen, hashable ``LoRA`` with ``a_init``, ``b_init`` and ``scale``.

    Examples:
      >>> import jinit.lora
      >>> cfg = jinit.lora.lora(8, 16)
      >>> cfg.scale, jinit.lora.lora(16, 16, rslora=True).scale
      (2.0, 4.0)
      >>> cfg.a_init.moments((64, 8)).bound  # 1 / sqrt(64)
      0.125

    References:
      Hu et al. (2021), LoRA: low-rank adaptation of large language models,
      arXiv:2106.09685. Kalajdzievski (2023), A rank stabilization scaling
      factor for fine-tuning with LoRA, arXiv:2312.03732. PEFT's
      ``LoraLayer.reset_lora_parameters`` (huggingface/peft).
    """
    name = "lora.lora"
    r = _rank(name, rank)
    a = validation.positive(name, "alpha", alpha)
    if not isinstance(rslora, bool):
        raise TypeError(validation.error(name, f"`rslora` must be a bool; got rslora={rslora!r}."))
    scale = a / math.sqrt(r) if rslora else a / r
    return LoRA(rank=r, alpha=a, rslora=rslora, scale=scale, a_init=_a_init(name), b_init=zeros)


# ---------------------------------------------------------------------------
# PiSSA and OLoRA


def _kernel(name: str, w: Any, rank: Any, scale: Any) -> tuple[jax.Array, int, float, np.dtype]:
    """Checks ``w`` (a real ``(..., in, out)`` array), ``rank`` and ``scale``; returns w in the compute dtype."""
    if not isinstance(w, jax.Array | np.ndarray):
        raise TypeError(validation.error(name, f"`w` must be a jax or numpy array; got {type(w).__name__}."))
    if w.ndim < 2:
        raise ValueError(
            validation.error(
                name, f"`w` must be a kernel (..., in, out) with at least 2 dimensions; got shape {w.shape}."
            )
        )
    dt = np.dtype(w.dtype)
    if not jnp.issubdtype(dt, jnp.floating):
        raise ValueError(validation.error(name, f"`w` must have a real floating-point dtype; got dtype={dt.name}."))
    r = _rank(name, rank)
    n_in, n_out = w.shape[-2], w.shape[-1]
    if r > min(n_in, n_out):
        raise ValueError(
            validation.error(
                name, f"`rank` must be at most min(in, out) = {min(n_in, n_out)}; got rank={r} for shape {w.shape}."
            )
        )
    s = validation.positive(name, "scale", scale)
    # float32 (float64 for float64 kernels): jax and torch have no SVD or QR below float32.
    wide = np.dtype(np.float64) if dt.itemsize > 4 else np.dtype(np.float32)
    return jnp.asarray(w, dtype=wide), r, s, dt


def _matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


def pissa(w: jax.Array | np.ndarray, rank: int, *, scale: float = 1.0) -> tuple[jax.Array, jax.Array, jax.Array]:
    """PiSSA: the adapter holds the top ``rank`` singular directions of ``w``, the residual the rest.

    With ``w = U S V^T`` (computed in float32): ``a = U_r sqrt(S_r / scale)``
    ``(..., in, r)``, ``b = sqrt(S_r / scale) V_r^T`` ``(..., r, out)``, the
    singular values split evenly between the factors, and ``w_res = w -
    scale * a @ b``. ``scale * a @ b`` is the best rank-r approximation of
    ``w`` (so ``|w_res|_F^2`` is the sum of the other squared singular values).
    ``scale`` is the adapter's multiplier in the forward pass (PEFT divides
    ``S_r`` by it, as here); the default 1 gives ``w_res + a @ b == w``.

    Args:
      w: a kernel ``(..., in, out)`` (Flax layout; leading axes are batch axes).
      rank: r, from 1 to min(in, out).
      scale: the adapter's multiplier, positive.

    Returns:
      ``(w_res, a, b)`` in ``w.dtype``.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit.lora
      >>> w = jax.random.normal(jax.random.key(0), (16, 8))
      >>> w_res, a, b = jinit.lora.pissa(w, 2)
      >>> a.shape, b.shape, bool(jnp.allclose(w_res + a @ b, w, atol=1e-5))
      ((16, 2), (2, 8), True)

    References:
      Meng, Wang & Zhang (2024), PiSSA: principal singular values and
      singular vectors adaptation of large language models,
      arXiv:2404.02948. PEFT's ``LoraLayer.pissa_init``.
    """
    w32, r, s, dt = _kernel("lora.pissa", w, rank, scale)
    u, sv, vh = jnp.linalg.svd(w32, full_matrices=False)
    root = jnp.sqrt(sv[..., :r] / jnp.asarray(s, w32.dtype))
    a = u[..., :, :r] * root[..., None, :]
    b = root[..., :, None] * vh[..., :r, :]
    w_res = w32 - jnp.asarray(s, w32.dtype) * _matmul(a, b)
    return w_res.astype(dt), a.astype(dt), b.astype(dt)


def olora(w: jax.Array | np.ndarray, rank: int, *, scale: float = 1.0) -> tuple[jax.Array, jax.Array, jax.Array]:
    """OLoRA: the adapter starts from the first ``rank`` terms of a QR decomposition of ``w``.

    PEFT factors the torch-layout weight ``W = w^T`` (out, in) as ``Q R``
    and sets ``lora_B = Q[:, :r]``, ``lora_A = R[:r]``. In the Flax layout
    that is ``b = Q_r^T`` ``(..., r, out)``, whose rows are orthonormal
    (``b b^T = I_r``), and ``a = R_r^T`` ``(..., in, r)``, lower trapezoidal
    (``a[i, j] = 0`` for i < j); ``w_res = w - scale * a @ b``, so
    ``w_res + scale * a @ b == w``. Computed in float32 with
    ``jnp.linalg.qr`` (its sign convention: R's diagonal may be negative).

    Args:
      w: a kernel ``(..., in, out)`` (Flax layout; leading axes are batch axes).
      rank: r, from 1 to min(in, out).
      scale: the adapter's multiplier (PEFT's ``scaling``), positive.

    Returns:
      ``(w_res, a, b)`` in ``w.dtype``.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit.lora
      >>> w = jax.random.normal(jax.random.key(0), (16, 8))
      >>> w_res, a, b = jinit.lora.olora(w, 2)
      >>> bool(jnp.allclose(b @ b.T, jnp.eye(2), atol=1e-5)), bool(jnp.allclose(w_res + a @ b, w, atol=1e-5))
      (True, True)

    References:
      Buyukakyuz (2024), OLoRA: orthonormal low-rank adaptation of large
      language models, arXiv:2406.01775. PEFT's ``LoraLayer.olora_init``.
    """
    w32, r, s, dt = _kernel("lora.olora", w, rank, scale)
    q, rr = jnp.linalg.qr(jnp.swapaxes(w32, -1, -2))  # W = w^T = Q R, Q (out, k), R (k, in)
    b = jnp.swapaxes(q[..., :, :r], -1, -2)
    a = jnp.swapaxes(rr[..., :r, :], -1, -2)
    w_res = w32 - jnp.asarray(s, w32.dtype) * _matmul(a, b)
    return w_res.astype(dt), a.astype(dt), b.astype(dt)


# ---------------------------------------------------------------------------
# A tree transform


def _rules(name: str, rules: Any) -> tuple[re.Pattern[str], ...]:
    patterns = (rules,) if isinstance(rules, str) else rules
    if not isinstance(patterns, Sequence) or not patterns or not all(isinstance(p, str) for p in patterns):
        raise TypeError(
            validation.error(name, f"`rules` must be a regex or a non-empty sequence of regexes; got rules={rules!r}.")
        )
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as e:
            raise ValueError(validation.error(name, f"`rules` holds an invalid regex {p!r} ({e}).")) from None
    return tuple(out)


def _walk(tree: Mapping[str, Any], prefix: str = "") -> list[tuple[str, tuple[Any, ...]]]:
    """Every leaf of nested mappings: its '/'-joined path and its key path."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    for k, v in tree.items():
        path = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.extend((p, (k, *keys)) for p, keys in _walk(v, path + "/"))
        else:
            out.append((path, (k,)))
    return out


def _names(leaf: Any) -> tuple[str, str]:
    """The siblings' names: ``lora_a``/``lora_b`` beside ``kernel`` (flax.nnx.LoRA's), else ``<leaf>_lora_a``/``_b``."""
    if leaf == "kernel":
        return "lora_a", "lora_b"
    return f"{leaf}_lora_a", f"{leaf}_lora_b"


def add_adapters(
    params: Mapping[str, Any],
    rules: str | Sequence[str],
    key: jax.Array,
    *,
    rank: int,
    method: str = "lora",
    scale: float = 1.0,
) -> Mapping[str, Any]:
    """A new parameter tree with a low-rank adapter beside every kernel a rule matches.

    ``params`` is a nested mapping (Flax's ``params``). Every leaf whose
    '/'-joined path (``"layers_0/attn/query/kernel"``) fully matches one of
    the ``rules`` gets two siblings: ``lora_a`` ``(..., in, rank)`` and
    ``lora_b`` ``(..., rank, out)`` beside a leaf named ``kernel`` (the
    names ``flax.nnx.LoRA`` uses), ``<name>_lora_a`` and ``<name>_lora_b``
    beside any other name. Leading axes of a kernel are batch axes (stacked
    layers); a conv kernel is treated as a stack of ``(in, out)`` taps, not
    given PEFT's conv adapters.

    * ``method="lora"``: ``a`` ~ U(-1/sqrt(in), 1/sqrt(in)) drawn with the
      key ``fold_in(key, crc32(path))`` (the per-leaf key of
      ``jinit.flax.reinit``), ``b = 0``; the kernel is unchanged.
    * ``"pissa"``, ``"olora"``: ``(w_res, a, b)`` of :func:`pissa` or
      :func:`olora` with this ``scale``; the kernel becomes ``w_res``
      (the key is not used).

    The input is never mutated: mappings on the way to a matched leaf are
    copied (with their own type), everything else is shared.

    Args:
      params: a nested mapping of arrays.
      rules: a regex, or a sequence of regexes, each of which must match at least one leaf.
      key: the root key (typed or legacy ``uint32[2]``).
      rank: r, a positive int, at most min(in, out) of every matched kernel.
      method: ``"lora"``, ``"pissa"`` or ``"olora"``.
      scale: the adapters' multiplier in the forward pass (for pissa and olora).

    Returns:
      The new tree.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit.lora
      >>> params = {"dense": {"kernel": jnp.ones((8, 4)), "bias": jnp.zeros(4)}}
      >>> new = jinit.lora.add_adapters(params, r".*kernel", jax.random.key(0), rank=2)
      >>> sorted(new["dense"]), new["dense"]["lora_a"].shape, new["dense"]["lora_b"].shape
      (['bias', 'kernel', 'lora_a', 'lora_b'], (8, 2), (2, 4))
    """
    name = "lora.add_adapters"
    if not isinstance(params, Mapping):
        raise TypeError(validation.error(name, f"`params` must be a nested mapping; got {type(params).__name__}."))
    patterns = _rules(name, rules)
    key = validation.key(name, key)
    r = _rank(name, rank)
    how = validation.choice(name, "method", method, METHODS)
    s = validation.positive(name, "scale", scale)
    leaves = _walk(params)
    chosen = [(path, keys) for path, keys in leaves if any(p.fullmatch(path) for p in patterns)]
    for p in patterns:
        if not any(p.fullmatch(path) for path, _ in leaves):
            shown = ", ".join(repr(path) for path, _ in leaves[:8]) + (", ..." if len(leaves) > 8 else "")
            raise ValueError(validation.error(name, f"the rule {p.pattern!r} matches no leaf; the paths are {shown}."))

    new: dict[tuple[Any, ...], Any] = {}
    for path, keys in chosen:
        w = _leaf(params, keys)
        if not isinstance(w, jax.Array | np.ndarray) or w.ndim < 2:
            shape = getattr(w, "shape", None)
            raise ValueError(
                validation.error(
                    name, f"{path!r} is not a kernel (..., in, out) of at least 2 dimensions; got shape {shape}."
                )
            )
        a_name, b_name = _names(keys[-1])
        parent = keys[:-1]
        siblings = _leaf(params, parent) if parent else params
        for sibling in (a_name, b_name):
            if sibling in siblings:
                raise ValueError(
                    validation.error(name, f"{path!r} already has a sibling {sibling!r}; adapters were added before?")
                )
        if r > min(w.shape[-2], w.shape[-1]):
            raise ValueError(
                validation.error(
                    name,
                    f"`rank` must be at most min(in, out) = {min(w.shape[-2], w.shape[-1])}; got rank={r} "
                    f"for {path!r} of shape {w.shape}.",
                )
            )
        if how == "lora":
            leaf_key = sampling.fold_in(key, zlib.crc32(path.encode("utf-8")))
            dt = np.dtype(w.dtype)
            a = _a_init(name, w.ndim - 2, dt)(leaf_key, (*w.shape[:-1], r))
            b = jnp.zeros((*w.shape[:-2], r, w.shape[-1]), dt)
        else:
            w_res, a, b = (pissa if how == "pissa" else olora)(w, r, scale=s)
            new[keys] = w_res
        new[(*parent, a_name)] = a
        new[(*parent, b_name)] = b
    return _rebuild(params, new)


def _leaf(tree: Mapping[str, Any], keys: tuple[Any, ...]) -> Any:
    node: Any = tree
    for k in keys:
        node = node[k]
    return node


def _rebuild(tree: Mapping[str, Any], new: dict[tuple[Any, ...], Any], prefix: tuple[Any, ...] = ()) -> Any:
    """A copy of ``tree`` with the ``new`` leaves set (mappings copied only on the way to a change)."""
    touched = {k[len(prefix)] for k in new if k[: len(prefix)] == prefix and len(k) > len(prefix)}
    if not touched:
        return tree
    items: dict[Any, Any] = {}
    for k, v in tree.items():
        if k in touched and isinstance(v, Mapping):
            items[k] = _rebuild(v, new, (*prefix, k))
        elif (*prefix, k) in new:
            items[k] = new[(*prefix, k)]
        else:
            items[k] = v
    for k in sorted(touched - set(tree), key=str):
        items[k] = new[(*prefix, k)]
    if isinstance(tree, dict):
        return items
    kind: Any = type(tree)  # a Mapping type that builds from a dict (e.g. flax's FrozenDict)
    return kind(items)
