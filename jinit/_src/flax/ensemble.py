"""Ensembles: N independent models created in one jit, member i equal to the model built alone from key i."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import numpy as np
from flax import nnx

from jinit._src.core import validation

NAME = "flax.ensemble_init"


def _keys(name: str, keys: Any) -> jax.Array:
    """A batch of keys: typed of shape (n,) or legacy uint32 of shape (n, 2), n >= 1."""
    dt = getattr(keys, "dtype", None)
    shape: tuple[int, ...] = tuple(np.shape(keys)) if dt is not None else ()
    if dt is not None and jax.dtypes.issubdtype(dt, jax.dtypes.prng_key):
        ok = len(shape) == 1
    else:
        ok = dt is not None and np.dtype(dt) == np.uint32 and len(shape) == 2 and shape[1] == 2
    if not ok:
        raise TypeError(
            validation.error(
                name,
                "`keys` must be a batch of PRNG keys (jax.random.split(key, n): typed keys of shape (n,) or "
                f"uint32 keys of shape (n, 2)); got {keys!r}.",
            )
        )
    if shape[0] < 1:
        raise ValueError(validation.error(name, f"`keys` must hold at least one key; got shape {shape}."))
    return keys


def ensemble_init(model: Any, keys: jax.Array, *args: Any, **kwargs: Any) -> Any:
    """Creates ``len(keys)`` independent models in one jit; member i is the model built from ``keys[i]``.

    * linen: ``model`` is a ``flax.linen.Module``; returns the variables of
      ``model.init(keys[i], *args, **kwargs)`` stacked on a new leading axis
      (``jax.jit(jax.vmap(model.init))``). ``args`` (sample inputs) are
      shared by all members; ``kwargs`` are static.
    * nnx: ``model`` is an ``nnx.Module`` class or any callable taking
      ``rngs=``; returns one module whose every variable has a leading axis
      of size n (``nnx.jit`` of ``nnx.vmap``), member i being
      ``model(*args, **kwargs, rngs=nnx.Rngs(keys[i]))``. Use it with
      ``nnx.vmap(..., in_axes=(0, None))`` to run all members at once.

    Use :func:`ensemble_member` to take member i out.

    Args:
      model: a linen module instance, or an nnx module class / factory.
      keys: a batch of keys, e.g. ``jax.random.split(key, n)``.
      *args: linen: sample inputs of ``init``; nnx: constructor arguments.
      **kwargs: further (static) arguments of ``init`` or of the constructor.

    Returns:
      linen: a variables tree with a leading ensemble axis; nnx: an nnx module.

    Raises:
      TypeError: ``keys`` is not a batch of keys, or ``model`` is neither a
        linen module nor callable.

    Examples:
      >>> import jax, jax.numpy as jnp, flax.linen as nn, jinit.flax
      >>> keys = jax.random.split(jax.random.key(0), 5)
      >>> params = jinit.flax.ensemble_init(nn.Dense(3), keys, jnp.ones((1, 2)))
      >>> params["params"]["kernel"].shape
      (5, 2, 3)

    References:
      Lakshminarayanan et al. (2017), Simple and scalable predictive
      uncertainty estimation using deep ensembles, arXiv:1612.01474.
    """
    keys = _keys(NAME, keys)
    if isinstance(model, nn.Module):
        init = jax.vmap(lambda k, *a: model.init(k, *a, **kwargs), in_axes=(0,) + (None,) * len(args))
        return jax.jit(init)(keys, *args)
    if isinstance(model, nnx.Module) or not callable(model):
        raise TypeError(
            validation.error(
                NAME,
                "`model` must be a linen Module instance or an nnx Module class (or a callable taking rngs=); "
                f"got {model!r}.",
            )
        )
    factory: Callable[..., nnx.Module] = model

    @nnx.jit
    def create(batch: jax.Array) -> nnx.Module:
        return nnx.vmap(lambda k: factory(*args, **kwargs, rngs=nnx.Rngs(k)), in_axes=0, out_axes=0)(batch)

    return create(keys)


def ensemble_member(ensemble: Any, i: int) -> Any:
    """Member ``i`` of an ensemble from :func:`ensemble_init` (a linen tree or an nnx module).

    Args:
      ensemble: the stacked variables (linen) or the stacked nnx module.
      i: the member index, ``0 <= i < n`` (negative counts from the end).

    Returns:
      The variables or the nnx module of member ``i`` (a new object).

    Raises:
      TypeError: ``i`` is not an int.

    Examples:
      >>> import jax, jax.numpy as jnp, flax.linen as nn, jinit.flax
      >>> keys = jax.random.split(jax.random.key(0), 3)
      >>> params = jinit.flax.ensemble_init(nn.Dense(3), keys, jnp.ones((1, 2)))
      >>> jinit.flax.ensemble_member(params, 1)["params"]["kernel"].shape
      (2, 3)

    References:
      Flax's guide to ensembles with ``nnx.vmap``:
      https://flax.readthedocs.io/en/latest/guides/transforms.html
    """
    name = "flax.ensemble_member"
    i = validation.integer(name, "i", i)
    if isinstance(ensemble, nnx.Module):
        graphdef, state = nnx.split(ensemble)
    else:
        graphdef, state = None, ensemble
    leaves = jax.tree_util.tree_leaves(state)
    if not leaves or not all(isinstance(x, jax.Array | np.ndarray) and np.ndim(x) >= 1 for x in leaves):
        raise TypeError(
            validation.error(
                name, f"`ensemble` must be the stacked variables or nnx module of ensemble_init; got {ensemble!r:.80}."
            )
        )
    n = int(np.shape(leaves[0])[0])
    if not -n <= i < n:
        raise ValueError(validation.error(name, f"`i` must be in [{-n}, {n}) for an ensemble of {n}; got i={i}."))
    member = jax.tree_util.tree_map(lambda x: x[i], state)
    return member if graphdef is None else nnx.merge(graphdef, member)
