"""muP, the maximal-update parametrization (Tensor Programs V), in init and learning rates.

A parameter's dimensions that differ from a base model's are "infinite"
(they grow with width); its width multipliers are ``size / base_size`` of
the fan-in axis (-2) and the fan-out axis (-1) (Flax layouts: Dense
``(in, out)``, Conv ``(*k, in, out)``, Embed ``(vocab, features)``). The
kind follows from which fans are infinite (Yang et al. 2021, Table 3, in the
"no multipliers" form, relative to the base model so that the base model is
unchanged):

=======  =======  ========  ========================  ==========  =========
kind     fan_in   fan_out   init variance x           Adam LR x   SGD LR x
=======  =======  ========  ========================  ==========  =========
input    finite   infinite  1                         1           m_out
hidden   infinite infinite  1                         1 / m_in    m_out/m_in
output   infinite finite    1 / m_in (0: zero         1 / m_in    1 / m_in
                            readout)
scalar   finite   finite    1                         1           1
=======  =======  ========  ========================  ==========  =========

(m_in, m_out: the width multipliers of the fans). Biases and other vectors
have a finite fan-in: input-like, as in the paper ("input weights and all
biases"). The factors multiply the standard parametrization (SP) at the
target width, e.g. an init variance ``sigma^2 / fan_in`` and one base
learning rate for all parameters: with Adam, hidden and output learning
rates shrink like 1/width; the readout starts 1/sqrt(m_in) smaller (or at
zero). microsoft/mup implements the same through ``MuReadout`` (an output
multiplier ``1 / m_in``) and ``MuAdam``/``MuSGD``; the two forms give the
same training dynamics.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jinit._src.core import densities, validation
from jinit._src.core.base import InitializerBase
from jinit._src.core.types import Initializer, Moments, Sharding

KINDS = ("input", "hidden", "output", "scalar")
OPTIMIZERS = ("adam", "sgd")


@dataclasses.dataclass(frozen=True)
class WidthMultipliers:
    """How one parameter scales with width, relative to the base model.

    Attributes:
      kind: ``"input"``, ``"hidden"``, ``"output"`` or ``"scalar"``.
      fan_in: m_in, size / base size of the fan-in axis (1 if finite or absent).
      fan_out: m_out, size / base size of the fan-out axis (1 if finite).
    """

    kind: str
    fan_in: float = 1.0
    fan_out: float = 1.0

    def init_variance(self, zero_readout: bool = False) -> float:
        """The factor on the SP init variance (0 for a zero readout)."""
        if self.kind == "output":
            return 0.0 if zero_readout else 1.0 / self.fan_in
        return 1.0

    def learning_rate(self, optimizer: str = "adam") -> float:
        """The factor on the base learning rate for ``"adam"`` or ``"sgd"``."""
        if optimizer == "adam":
            return 1.0 / self.fan_in if self.kind in ("hidden", "output") else 1.0
        if self.kind == "input":
            return self.fan_out
        if self.kind == "hidden":
            return self.fan_out / self.fan_in
        if self.kind == "output":
            return 1.0 / self.fan_in
        return 1.0


def _shape(leaf: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in np.shape(leaf)) if not hasattr(leaf, "shape") else tuple(leaf.shape)


def _multipliers(path: str, shape: tuple[int, ...], base: tuple[int, ...]) -> WidthMultipliers:
    name = "mup.width_multipliers"
    if len(shape) != len(base):
        raise ValueError(
            validation.error(name, f"{path}: rank differs from the base; got shape={shape!r}, base shape={base!r}.")
        )
    if any(b <= 0 for b in base) or any(s <= 0 for s in shape):
        raise ValueError(
            validation.error(name, f"{path}: needs positive sizes; got shape={shape!r}, base shape={base!r}.")
        )
    m_out = shape[-1] / base[-1] if shape else 1.0
    m_in = shape[-2] / base[-2] if len(shape) >= 2 else 1.0
    for axis, (s, b) in enumerate(zip(shape[:-2], base[:-2], strict=True)):
        if s != b:
            raise ValueError(
                validation.error(
                    name,
                    f"{path}: only the fan-in (-2) and fan-out (-1) axes may differ from the base; axis {axis} "
                    f"has size {s}, base {b} (shape={shape!r}, base shape={base!r}).",
                )
            )
    inf_in, inf_out = m_in != 1.0, m_out != 1.0
    kind = {(False, True): "input", (True, True): "hidden", (True, False): "output", (False, False): "scalar"}[
        (inf_in, inf_out)
    ]
    return WidthMultipliers(kind=kind, fan_in=m_in, fan_out=m_out)


def width_multipliers(params: Any, base_params: Any) -> Any:
    """The width multipliers and kind of every parameter, relative to a base model.

    Axes whose size differs from the base are infinite; see the module
    docstring for the kinds. The two trees must have the same structure
    (e.g. ``nnx.state(model, nnx.Param)`` of the model and of the base model
    built at its base width, or their ``jax.eval_shape``).

    Args:
      params: a pytree of arrays or ``jax.ShapeDtypeStruct`` (the target model).
      base_params: the same tree at the base width.

    Returns:
      A tree of the same structure with ``WidthMultipliers`` leaves.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jinit import mup
      >>> p = {"w_in": jnp.zeros((8, 256)), "w_h": jnp.zeros((256, 256)), "w_out": jnp.zeros((256, 10))}
      >>> b = {"w_in": jnp.zeros((8, 64)), "w_h": jnp.zeros((64, 64)), "w_out": jnp.zeros((64, 10))}
      >>> m = mup.width_multipliers(p, b)
      >>> m["w_in"].kind, m["w_h"].kind, m["w_out"].kind
      ('input', 'hidden', 'output')
      >>> m["w_h"].fan_in, m["w_out"].fan_in, m["w_out"].fan_out
      (4.0, 4.0, 1.0)

    References:
      Yang, Hu et al. (2021), Tensor Programs V: tuning large neural networks
      via zero-shot hyperparameter transfer, arXiv:2203.03466, Table 3.
    """
    name = "mup.width_multipliers"
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    base_leaves, base_def = jax.tree_util.tree_flatten_with_path(base_params)
    if treedef != base_def:  # type: ignore[operator]
        raise ValueError(
            validation.error(
                name, f"`params` and `base_params` must have the same tree structure; got {treedef} and {base_def}."
            )
        )
    out = [
        _multipliers(jax.tree_util.keystr(path), _shape(leaf), _shape(base))
        for (path, leaf), (_, base) in zip(leaves, base_leaves, strict=True)
    ]
    return jax.tree_util.tree_unflatten(treedef, out)


def _is_spec(x: Any) -> bool:
    return isinstance(x, WidthMultipliers)


def learning_rates(params: Any, base_params: Any, optimizer: str = "adam") -> Any:
    """The factor on the base learning rate of every parameter (muP, Table 3).

    Args:
      params: the target model's parameter tree (arrays or shapes).
      base_params: the same tree at the base width.
      optimizer: ``"adam"`` (any per-coordinate normalised update: Adam,
        AdamW, Adafactor, ...) or ``"sgd"``.

    Returns:
      A tree of floats of the same structure.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jinit import mup
      >>> p = {"w_in": jnp.zeros((8, 256)), "w_h": jnp.zeros((256, 256)), "w_out": jnp.zeros((256, 10))}
      >>> b = {"w_in": jnp.zeros((8, 64)), "w_h": jnp.zeros((64, 64)), "w_out": jnp.zeros((64, 10))}
      >>> mup.learning_rates(p, b, "adam")
      {'w_h': 0.25, 'w_in': 1.0, 'w_out': 0.25}
      >>> mup.learning_rates(p, b, "sgd")
      {'w_h': 1.0, 'w_in': 4.0, 'w_out': 0.25}

    References:
      Yang, Hu et al. (2021), arXiv:2203.03466, Table 3.
    """
    which = validation.choice("mup.learning_rates", "optimizer", optimizer, OPTIMIZERS)
    specs = width_multipliers(params, base_params)
    return jax.tree.map(lambda m: m.learning_rate(which), specs, is_leaf=_is_spec)


def init_variances(params: Any, base_params: Any, *, zero_readout: bool = False) -> Any:
    """The factor on the SP init variance of every parameter: 1/m_in for the readout, else 1.

    Args:
      params: the target model's parameter tree (arrays or shapes).
      base_params: the same tree at the base width.
      zero_readout: give output-kind parameters the factor 0 (start at zero,
        as Tensor Programs V recommends for the readout).

    Returns:
      A tree of floats of the same structure.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jinit import mup
      >>> p = {"w_h": jnp.zeros((256, 256)), "w_out": jnp.zeros((256, 10))}
      >>> b = {"w_h": jnp.zeros((64, 64)), "w_out": jnp.zeros((64, 10))}
      >>> mup.init_variances(p, b)
      {'w_h': 1.0, 'w_out': 0.25}

    References:
      Yang, Hu et al. (2021), arXiv:2203.03466, Table 3 and section 7.
    """
    specs = width_multipliers(params, base_params)
    return jax.tree.map(lambda m: m.init_variance(bool(zero_readout)), specs, is_leaf=_is_spec)


def rescale(params: Any, base_params: Any, *, zero_readout: bool = False) -> Any:
    """SP-initialized parameters made muP: every leaf times ``sqrt(init_variances)``.

    Only output-kind leaves change (by ``1 / sqrt(m_in)``, or to zero). The
    input tree is not modified; a new tree is returned.

    Args:
      params: the target model's parameters, initialized in SP.
      base_params: the same tree at the base width (arrays or shapes).
      zero_readout: zero the output-kind parameters.

    Returns:
      The muP parameters, same structure and dtypes.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jinit import mup
      >>> p = {"w_out": jnp.ones((256, 10))}
      >>> float(mup.rescale(p, {"w_out": jnp.ones((64, 10))})["w_out"][0, 0])
      0.5
    """
    factors = init_variances(params, base_params, zero_readout=zero_readout)
    return jax.tree.map(lambda x, f: x if f == 1.0 else x * np.asarray(math.sqrt(f), x.dtype), params, factors)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MupInit(InitializerBase):
    """``init`` with its variance multiplied by ``variance_scale`` (a muP per-kind factor)."""

    init: Initializer
    variance_scale: float
    kinds = validation.INEXACT_KINDS

    def _sample(self, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding) -> jax.Array:
        w = self.init(key, shape, dtype, out_sharding)
        if self.variance_scale == 1.0:
            return w
        return w * np.asarray(math.sqrt(self.variance_scale), dtype)

    def _law(self, shape: tuple[int, ...], dtype: np.dtype) -> Moments | None:
        inner = getattr(self.init, "moments", None)
        law = None if inner is None else inner(shape, dtype)
        if law is None:
            return None
        g = math.sqrt(self.variance_scale)
        return dataclasses.replace(
            law,
            mean=g * law.mean,
            variance=self.variance_scale * law.variance,
            bound=None if law.bound is None else g * law.bound,
            interval=None if law.interval is None else (g * law.interval[0], g * law.interval[1]),
        )

    def _density(self, shape: tuple[int, ...], dtype: np.dtype | None) -> densities.Density:
        return densities.density_method(self.init)(shape, dtype).scaled(math.sqrt(self.variance_scale))


def initializer(init: Initializer, multipliers: WidthMultipliers, *, zero_readout: bool = False) -> MupInit:
    """``init`` (an SP initializer) with the muP variance factor of ``multipliers``.

    Args:
      init: the SP initializer of that parameter (e.g. ``jinit.lecun_normal()``).
      multipliers: its ``WidthMultipliers`` (from ``width_multipliers``).
      zero_readout: an output-kind parameter starts at zero.

    Returns:
      An initializer whose law is ``init``'s with the variance scaled.

    Examples:
      >>> import jinit
      >>> from jinit import mup
      >>> init = mup.initializer(jinit.lecun_normal(), mup.WidthMultipliers("output", fan_in=4.0))
      >>> round(init.moments((256, 10)).variance * 256, 6)  # 1/fan_in times 1/m_in
      0.25
    """
    name = "mup.initializer"
    if not callable(init):
        raise TypeError(validation.error(name, f"`init` must be an initializer; got {init!r}."))
    if not isinstance(multipliers, WidthMultipliers):
        raise TypeError(
            validation.error(name, f"`multipliers` must be a jinit.mup.WidthMultipliers; got {multipliers!r}.")
        )
    return MupInit(
        init=init,
        variance_scale=multipliers.init_variance(bool(zero_readout)),
        dtype=getattr(init, "dtype", None),
        name=name,
    )


def scale_updates(factors: Any) -> Any:
    """An optax transform multiplying each leaf's update by its factor, matched by path.

    Chain it after the base optimizer: for Adam-like optimizers (updates
    invariant to the gradient's scale) and SGD this is the per-parameter
    learning rate of muP. ``factors`` is a tree of floats (e.g. from
    ``learning_rates``); the updates are matched to it by their key paths,
    so the update tree may be any container of the same paths (a dict, an
    ``nnx.State``).

    Args:
      factors: a pytree of Python floats.

    Returns:
      An ``optax.GradientTransformation``.

    Raises:
      ValueError at update time if an update's path has no factor.
    """
    import optax

    flat = {_path_key(p): float(f) for p, f in jax.tree_util.tree_flatten_with_path(factors)[0]}

    def init_fn(params: Any) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update_fn(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params

        def scale(path: Any, u: Any) -> Any:
            k = _path_key(path)
            if k not in flat:
                raise ValueError(
                    f"jinit.mup.scale_updates: no factor for the update at {k}; got factors for {sorted(flat)}."
                )
            f = flat[k]
            return u if f == 1.0 else u * np.asarray(f, u.dtype)

        return jax.tree_util.tree_map_with_path(scale, updates), state

    return optax.GradientTransformation(init_fn, update_fn)


def _path_key(path: tuple[Any, ...]) -> str:
    """A leaf's key path without the ``.value`` of an nnx Variable: the updates nnx
    hands to optax hold raw arrays where the parameter state holds Variables."""
    kept = tuple(p for p in path if not (isinstance(p, jax.tree_util.GetAttrKey) and p.name == "value"))
    return jax.tree_util.keystr(kept)


def optimizer(
    learning_rate: float | Callable[[Any], Any],
    params: Any,
    base_params: Any,
    *,
    kind: str = "adam",
    **kwargs: Any,
) -> Any:
    """A muP optax optimizer: ``optax.adam`` (or ``adamw``, ``sgd``) then per-path learning-rate factors.

    ``optax.chain(base(learning_rate, **kwargs), scale_updates(learning_rates(params, base_params, ...)))``
    with ``base`` = ``optax.adam``, ``optax.adamw`` or ``optax.sgd``. Tune
    ``learning_rate`` on the base model: by muP it transfers to any width.
    (With ``adamw``, the decoupled weight decay is scaled with the learning
    rate, as in microsoft/mup's ``MuAdamW``.)

    Args:
      learning_rate: the base learning rate or an optax schedule.
      params: the target model's parameters (or their shapes).
      base_params: the same tree at the base width.
      kind: ``"adam"``, ``"adamw"`` or ``"sgd"``.
      **kwargs: passed to the optax optimizer.

    Returns:
      An ``optax.GradientTransformation``.

    Examples:
      >>> import jax.numpy as jnp, optax
      >>> from jinit import mup
      >>> p = {"w_h": jnp.ones((256, 256)), "w_out": jnp.ones((256, 10))}
      >>> b = {"w_h": jnp.ones((64, 64)), "w_out": jnp.ones((64, 10))}
      >>> tx = mup.optimizer(1e-2, p, b)
      >>> updates, _ = tx.update(p, tx.init(p), p)  # Adam's first step is -lr * sign(g)
      >>> round(float(updates["w_h"][0, 0]), 6), round(float(updates["w_out"][0, 0]), 6)
      (-0.0025, -0.0025)
    """
    import optax

    name = "mup.optimizer"
    which = validation.choice(name, "kind", kind, ("adam", "adamw", "sgd"))
    base = {"adam": optax.adam, "adamw": optax.adamw, "sgd": optax.sgd}[which]
    factors = learning_rates(params, base_params, "sgd" if which == "sgd" else "adam")
    return optax.chain(base(learning_rate, **kwargs), scale_updates(factors))
