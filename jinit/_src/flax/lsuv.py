"""LSUV: layer-sequential unit-variance initialization for flax.nnx models.

Mishkin & Matas (2015), Algorithm 1:

1. pre-initialize every linear and convolution kernel with an orthonormal
   matrix (the kernel ``(*k, in, out)`` viewed as ``(prod(k) in, out)``);
2. for each layer in forward order: run the data batch through the model,
   take the variance of the layer's output over all its entries, and divide
   the kernel by its square root, until ``|Var(output) - 1| < tol``, or
   ``max_iter`` rescalings (at most ``MAX_ITER``), or until the variance
   stops changing (by less than ``STALL_EPS`` machine epsilons, relative:
   the dtype's resolution, which a tighter ``tol`` cannot beat).

A layer that has not converged gets a warning naming it. Biases are left as
they are (the paper's choice; with zero biases one rescaling is exact).

Forward order is observed, not assumed: during a forward pass the
``__call__`` of the layers' classes is wrapped to log which layer runs when
(the technique of ``nnx.capture``), and restored afterwards. The model must
therefore run eagerly in Python (not under an ``nnx.jit`` inside its own
``__call__``), and LSUV must not run concurrently with other calls of the
same layer classes in other threads. Every forward pass runs on a copy whose
non-parameter state (batch statistics, RNG counters) is restored after each
pass, and the input model is never modified.

Only flax.nnx is supported; flax is imported by this module alone.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jinit._src.core import validation
from jinit._src.schemes.orthogonal import compute_dtype, orthogonal

NAME = "flax.lsuv"
#: The most rescalings per layer ``max_iter`` may ask for (the paper uses 10;
#: each is a forward pass, and a linear layer converges in one).
MAX_ITER = 100
#: A rescaling that moves Var(output) by less than this many epsilons of the
#: kernel's dtype, relative, has reached the dtype's resolution: the layer stops.
STALL_EPS = 4
#: Layer types whose kernel is ``(*kernel_size, in, out)``.
LAYER_TYPES: tuple[type, ...] = (nnx.Linear, nnx.Conv, nnx.ConvTranspose)


class LSUVWarning(UserWarning):
    """A layer did not reach unit output variance within ``max_iter`` rescalings."""


class _Stop(Exception):
    """Ends a forward pass once the layer of interest has run."""


def lsuv(
    model: nnx.Module,
    batch: Any,
    *,
    tol: float = 0.1,
    max_iter: int = 10,
    key: jax.Array | None = None,
) -> nnx.Module:
    """Layer-sequential unit-variance init of an ``nnx`` model; returns a new model.

    Every ``nnx.Linear``, ``nnx.Conv`` and ``nnx.ConvTranspose`` kernel is
    made orthonormal (``W^T W = I`` for the kernel viewed as a
    ``(fan_in, out)`` matrix with fan_in >= out, else ``W W^T = I``), then,
    layer by layer in the order the forward pass calls them, divided by
    ``sqrt(Var(output))`` on ``batch`` until ``|Var(output) - 1| < tol``.

    Args:
      model: a ``flax.nnx.Module``; called as ``model(batch)``. Not modified.
      batch: the data batch passed to the model.
      tol: tolerance on the output variance, positive (the paper's 0.1).
      max_iter: rescalings per layer at most, from 1 to ``MAX_ITER`` = 100
        (the paper: 10). A layer also stops when a rescaling no longer
        changes its output variance (the dtype's resolution).
      key: a PRNG key for fresh Haar-orthogonal kernels
        (``jinit.orthogonal``, one ``fold_in`` per layer in forward order);
        None orthonormalizes the model's own kernels instead (QR with the
        signs of diag(R) fixed), so no key is needed.

    Returns:
      A new model of the same class with the rescaled kernels.

    Warns:
      LSUVWarning: naming each layer whose output variance is still off by
      ``tol`` or more after its last rescaling (or is zero).

    Raises:
      ValueError: for a layer whose kernel or output on ``batch`` is empty
        (a zero-width layer, or an empty batch): it has no variance.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit.flax
      >>> from flax import nnx
      >>> model = nnx.Sequential(nnx.Linear(8, 32, rngs=nnx.Rngs(0)), jnp.tanh, nnx.Linear(32, 4, rngs=nnx.Rngs(1)))
      >>> x = jax.random.normal(jax.random.key(0), (256, 8))
      >>> new = jinit.flax.lsuv(model, x)
      >>> h = new.layers[0](x)
      >>> round(float(jnp.var(h)), 2), round(float(jnp.var(new.layers[2](jnp.tanh(h)))), 2)
      (1.0, 1.0)

    References:
      Mishkin & Matas (2015), All you need is a good init, arXiv:1511.06422.
    """
    if not isinstance(model, nnx.Module):
        raise TypeError(validation.error(NAME, f"`model` must be a flax.nnx.Module; got {type(model).__name__}."))
    tol = validation.positive(NAME, "tol", tol)
    max_iter = validation.integer(NAME, "max_iter", max_iter, minimum=1, maximum=MAX_ITER)
    if key is not None:
        key = validation.key(NAME, key)

    new = nnx.clone(model)
    layers: dict[int, tuple[str, Any]] = {
        id(m): ("/".join(map(str, path)), m) for path, m in nnx.iter_modules(new) if isinstance(m, LAYER_TYPES)
    }
    if not layers:
        raise ValueError(
            validation.error(
                NAME, f"`model` has no nnx.Linear, nnx.Conv or nnx.ConvTranspose layer; got {type(model).__name__}."
            )
        )
    for path, layer in layers.values():
        shape = tuple(layer.kernel.get_value().shape)
        if math.prod(shape) == 0:
            raise ValueError(
                validation.error(
                    NAME,
                    f"layer {path!r} ({type(layer).__name__}) has an empty kernel, so its output has no variance "
                    f"to scale; got kernel shape={shape!r}.",
                )
            )
    rest = jax.tree.map(lambda x: x, nnx.state(new, nnx.Not(nnx.Param)))

    def forward(stop_at: int | None = None) -> list[tuple[int, jax.Array]]:
        log: list[tuple[int, jax.Array]] = []
        with _recording(layers, log, stop_at):
            try:
                new(batch)
            except _Stop:
                pass
        nnx.update(new, rest)
        return log

    order = list(dict.fromkeys(i for i, _ in forward()))
    for n, i in enumerate(order):
        _orthonormalize(layers[i][1], None if key is None else jax.random.fold_in(key, n))
    for i in order:
        path, layer = layers[i]
        eps = float(jnp.finfo(compute_dtype(layer.kernel.get_value().dtype)).eps)
        var, previous, stalled, it = math.nan, math.nan, False, 0
        for it in range(max_iter + 1):
            var = _variance(path, layer, [out for j, out in forward(stop_at=i) if j == i])
            stalled = abs(var - previous) <= STALL_EPS * eps * abs(var)
            if abs(var - 1.0) < tol or var == 0.0 or not math.isfinite(var) or stalled or it == max_iter:
                break
            previous = var
            kernel = layer.kernel.get_value()
            layer.kernel.set_value(kernel / np.asarray(math.sqrt(var), kernel.dtype))
        if not abs(var - 1.0) < tol:
            why = " (a rescaling no longer changes it: the dtype's resolution)" if stalled else ""
            warnings.warn(
                f"jinit.flax.lsuv: layer {path!r} ({type(layer).__name__}) has Var(output) = {var:.15g} after "
                f"{it} rescalings, not within tol={tol} of 1{why}.",
                LSUVWarning,
                stacklevel=2,
            )
    return new


def _variance(path: str, layer: Any, outputs: list[jax.Array]) -> float:
    flat = np.concatenate([np.asarray(o, np.float64).ravel() for o in outputs]) if outputs else np.zeros(0)
    if flat.size == 0:
        raise ValueError(
            validation.error(
                NAME,
                f"layer {path!r} ({type(layer).__name__}) gives an empty output on `batch`, which has no variance; "
                f"pass a non-empty batch; got output shapes {[tuple(o.shape) for o in outputs]!r}.",
            )
        )
    return float(flat.var())


def _orthonormalize(layer: Any, key: jax.Array | None) -> None:
    kernel = layer.kernel.get_value()
    shape, dtype = kernel.shape, kernel.dtype
    if key is not None:
        layer.kernel.set_value(orthogonal()(key, shape, dtype))
        return
    m = jnp.asarray(kernel, compute_dtype(dtype)).reshape(-1, shape[-1])
    tall = m.shape[0] >= m.shape[1]
    q, r = jnp.linalg.qr(m if tall else m.T)
    q = q * jnp.sign(jnp.where(jnp.diagonal(r) == 0, 1, jnp.diagonal(r))).reshape(1, -1)
    layer.kernel.set_value((q if tall else q.T).reshape(shape).astype(dtype))


@contextlib.contextmanager
def _recording(layers: dict[int, tuple[str, Any]], log: list, stop_at: int | None) -> Iterator[None]:
    """Wrap the ``__call__`` that the layers' classes resolve to, logging (layer id, output)."""
    owners = {next(c for c in type(m).__mro__ if "__call__" in c.__dict__) for _, m in layers.values()}
    active: set[int] = set()
    saved = []

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            i = id(self)
            if i not in layers or i in active:  # not ours, or a super().__call__ inside ours
                return original(self, *args, **kwargs)
            active.add(i)
            try:
                out = original(self, *args, **kwargs)
            finally:
                active.discard(i)
            log.append((i, out))
            if i == stop_at:
                raise _Stop
            return out

        return wrapper

    attr = "__call__"
    try:
        for cls in owners:
            original = cls.__dict__[attr]
            saved.append((cls, original))
            setattr(cls, attr, wrap(original))
        yield
    finally:
        for cls, original in saved:
            setattr(cls, attr, original)
