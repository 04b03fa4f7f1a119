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

Beyond width, ``parametrization(name, ...)`` gives one object per scheme
("sp", "ntk", "mup", "depth_mup", "completep", "umup") that says, for each
kind of parameter at a given width and depth, its initializer, its forward
multiplier, its residual-branch multiplier and its Adam learning-rate and
epsilon factors, and builds the optax transform. The depth rules put
``(depth / base_depth)^-alpha`` on every residual branch (alpha = 1/2:
depth-muP, Yang et al. 2023 and Bordelon et al. 2023; alpha = 1: CompleteP,
Dey et al. 2025) with hidden Adam learning rates times
``(depth / base_depth)^(alpha - 1)``; u-muP (Blake et al. 2024) draws every
weight from N(0, 1) and moves the scale into forward multipliers. The
tables and their sources are in docs/mup.md.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jinit._src.core import densities, fans, validation
from jinit._src.core.base import InitializerBase
from jinit._src.core.types import Initializer, Moments, Sharding
from jinit._src.schemes.basic import normal
from jinit._src.schemes.constant import zeros
from jinit._src.schemes.variance_scaling import variance_scaling

KINDS = ("input", "hidden", "output", "scalar")
OPTIMIZERS = ("adam", "sgd")
# The largest size or ratio taken: every integer up to 2**53 is exact in a
# float64, so width / base_width and its powers are computed without rounding
# the sizes themselves.
MAX_SIZE = 2**53


def _ratio(name: str, param: str, value: Any) -> float:
    """A float in [1 / MAX_SIZE, MAX_SIZE] (a width multiplier; its inverse is a factor too)."""
    out = validation.positive(name, param, value)
    if not 1.0 / MAX_SIZE <= out <= MAX_SIZE:
        raise ValueError(validation.error(name, f"`{param}` must be between 2**-53 and 2**53; got {param}={value!r}."))
    return out


def _flag(name: str, param: str, value: Any) -> bool:
    """A bool (Python or numpy); anything else is a TypeError, not its truth value."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(validation.error(name, f"`{param}` must be a bool; got {param}={value!r}."))
    return bool(value)


def _size(name: str, param: str, value: Any) -> int:
    """A Python int in [1, MAX_SIZE] (a width, depth or fan); bool and floats rejected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(validation.error(name, f"`{param}` must be a positive integer; got {param}={value!r}."))
    out = int(value)
    if out < 1:
        raise ValueError(validation.error(name, f"`{param}` must be positive; got {param}={value!r}."))
    if out > MAX_SIZE:
        raise ValueError(validation.error(name, f"`{param}` must be at most 2**53; got {param}={value!r}."))
    return out


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

    def __post_init__(self) -> None:
        name = "mup.WidthMultipliers"
        validation.choice(name, "kind", self.kind, KINDS)
        for param in ("fan_in", "fan_out"):
            object.__setattr__(self, param, _ratio(name, param, getattr(self, param)))

    def init_variance(self, zero_readout: bool = False) -> float:
        """The factor on the SP init variance (0 for a zero readout)."""
        if self.kind == "output":
            return 0.0 if zero_readout else 1.0 / self.fan_in
        return 1.0

    def learning_rate(self, optimizer: str = "adam") -> float:
        """The factor on the base learning rate for ``"adam"`` or ``"sgd"``."""
        optimizer = validation.choice("mup.WidthMultipliers.learning_rate", "optimizer", optimizer, OPTIMIZERS)
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
    flag = _flag("mup.init_variances", "zero_readout", zero_readout)
    return jax.tree.map(lambda m: m.init_variance(flag), specs, is_leaf=_is_spec)


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
    name = "mup.rescale"
    flag = _flag(name, "zero_readout", zero_readout)
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        if not isinstance(leaf, np.ndarray | jax.Array):
            raise TypeError(
                validation.error(name, f"`params` leaves must be arrays; got {leaf!r} at {jax.tree_util.keystr(path)}.")
            )
    factors = init_variances(params, base_params, zero_readout=flag)
    return jax.tree.map(lambda x, f: x if f == 1.0 else x * np.asarray(math.sqrt(f), x.dtype), params, factors)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MupInit(InitializerBase):
    """``init`` with its variance multiplied by ``variance_scale`` (a muP per-kind factor)."""

    init: Initializer
    variance_scale: float
    name: str = dataclasses.field(default="mup.MupInit", compare=False, repr=False)
    kinds = validation.INEXACT_KINDS

    def __post_init__(self) -> None:
        cls = "mup.MupInit"
        # The public callable named in every message: the class or the factory that built it.
        validation.choice(cls, "name", self.name, (cls, "mup.initializer", "mup.Parametrization"))
        if not callable(self.init):
            raise TypeError(validation.error(cls, f"`init` must be an initializer; got {self.init!r}."))
        scale = validation.non_negative(cls, "variance_scale", self.variance_scale)
        object.__setattr__(self, "variance_scale", scale)
        super().__post_init__()

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
        variance_scale=multipliers.init_variance(_flag(name, "zero_readout", zero_readout)),
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
    flat = {}
    for path, f in jax.tree_util.tree_flatten_with_path(factors)[0]:
        k = _path_key(path)
        flat[k] = validation.non_negative("mup.scale_updates", f"factors{k}", f)

    import optax

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
    name = "mup.optimizer"
    which = validation.choice(name, "kind", kind, ("adam", "adamw", "sgd"))
    import optax

    base = {"adam": optax.adam, "adamw": optax.adamw, "sgd": optax.sgd}[which]
    factors = learning_rates(params, base_params, "sgd" if which == "sgd" else "adam")
    return optax.chain(base(learning_rate, **kwargs), scale_updates(factors))


# ---------------------------------------------------------------------------
# Parametrizations in width and depth: SP, NTK, muP, depth-muP, CompleteP, u-muP.

PARAMETRIZATIONS = ("sp", "ntk", "mup", "depth_mup", "completep", "umup")
PARAM_KINDS = ("input", "embedding", "hidden", "bias", "output", "scalar")
BASES = ("adam", "adamw")
# The exponent alpha of the residual-branch multiplier (depth / base_depth)^-alpha
# (Dey et al. 2025, eq. 1: alpha = 1/2 is depth-muP, alpha = 1 is CompleteP).
_ALPHA = {"depth_mup": 0.5, "completep": 1.0}
_MUP_FAMILY = ("mup", "depth_mup", "completep")


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a parametrization prescribes for one parameter at one width and depth.

    The layer computes with ``multiplier * w``, where ``w`` is the stored
    parameter, drawn by ``init`` and trained by Adam with the base learning
    rate times ``learning_rate`` and the base epsilon times ``eps``.

    Attributes:
      kind: one of ``PARAM_KINDS`` (see ``Parametrization``).
      init: the initializer of ``w`` (``jinit.zeros`` for biases and scalars).
      multiplier: the forward multiplier on ``w``.
      learning_rate: the factor on Adam's base learning rate.
      eps: the factor on Adam's epsilon.
    """

    kind: str
    init: Initializer
    multiplier: float
    learning_rate: float
    eps: float

    def __post_init__(self) -> None:
        name = "mup.Rule"
        validation.choice(name, "kind", self.kind, PARAM_KINDS)
        if not callable(self.init):
            raise TypeError(validation.error(name, f"`init` must be an initializer; got {self.init!r}."))
        for param in ("multiplier", "learning_rate", "eps"):
            object.__setattr__(self, param, _ratio(name, param, getattr(self, param)))


def _fan_in_normal() -> Initializer:
    """N(0, 1 / fan_in): the SP law the width rules multiply."""
    return variance_scaling(1.0, "fan_in", "normal")


def _unit_normal() -> Initializer:
    return normal(1.0)


def _zeros() -> Initializer:
    return zeros


@dataclasses.dataclass(frozen=True)
class Parametrization:
    """A parametrization: per kind of parameter, its init, multipliers and Adam factors at any width and depth.

    Build it with ``parametrization(name, ...)``. The kinds of parameter:

    * ``"input"``: a dense kernel from a fixed number of features into the
      width (the first layer), and width-sized vectors outside the residual
      branches (its bias, a final norm's scale).
    * ``"embedding"``: a lookup table ``(vocab, width)``.
    * ``"hidden"``: a width-to-width kernel inside a residual branch.
    * ``"bias"``: a width-sized vector inside a residual branch (a bias, a
      norm's scale).
    * ``"output"``: the readout kernel, from the width to a fixed size.
    * ``"scalar"``: nothing grows (the readout's bias, a temperature).

    With m = width / base_width and d = depth / base_depth (``depth`` is the
    number of residual branches; ``None``: no residual stack, d = 1):

    ==========  ===============  =======  ===========  ===============  ====================
    scheme      init             multip.  residual     Adam LR          Adam eps
    ==========  ===============  =======  ===========  ===============  ====================
    sp          N(0, 1/fan_in)   1        1            1                1
    ntk         N(0, 1)          n^-1/2   1            1                1
    mup         muP (Table 3)    1        1            muP              see docs/mup.md
    depth_mup   as mup           1        d^-1/2       hidden d^-1/2/m  hidden d^-1/2/m
    completep   as mup           1        d^-1         hidden 1/m       hidden 1/(m d)
    umup        N(0, 1)          u-muP    tau rule     u-muP            1
    ==========  ===============  =======  ===========  ===============  ====================

    (n: the fan-in). docs/mup.md has every kind and the papers' tables.

    Attributes:
      name: one of ``PARAMETRIZATIONS``.
      base_width: the width the hyperparameters were tuned at (muP family).
      base_depth: the depth they were tuned at (``depth_mup``, ``completep``).
      zero_readout: start the readout at zero (muP family).
      residual_mult: u-muP's ratio of the residual branches' total variance
        to the embedding's (its tau rule; 1 elsewhere).
    """

    name: str
    base_width: int | None = None
    base_depth: int | None = None
    zero_readout: bool = False
    residual_mult: float = 1.0

    def __post_init__(self) -> None:
        fn = "mup.parametrization"
        validation.choice(fn, "name", self.name, PARAMETRIZATIONS)
        for param in ("base_width", "base_depth"):
            value = getattr(self, param)
            if value is not None:
                object.__setattr__(self, param, _size(fn, param, value))
        if self.name in _MUP_FAMILY and self.base_width is None:
            raise ValueError(
                validation.error(
                    fn, f"{self.name!r} needs `base_width` (the width the hyperparameters were tuned at); got None."
                )
            )
        if self.name in _ALPHA and self.base_depth is None:
            raise ValueError(
                validation.error(
                    fn, f"{self.name!r} needs `base_depth` (the depth the hyperparameters were tuned at); got None."
                )
            )
        object.__setattr__(self, "zero_readout", _flag(fn, "zero_readout", self.zero_readout))
        if self.zero_readout and self.name not in _MUP_FAMILY:
            raise ValueError(
                validation.error(
                    fn, f"`zero_readout` applies to 'mup', 'depth_mup' and 'completep'; got it for {self.name!r}."
                )
            )
        mult = validation.positive(fn, "residual_mult", self.residual_mult)
        if mult != 1.0 and self.name != "umup":
            raise ValueError(
                validation.error(
                    fn, f"`residual_mult` is u-muP's (its tau rule); got residual_mult={mult!r} for {self.name!r}."
                )
            )
        object.__setattr__(self, "residual_mult", mult)

    @property
    def alpha(self) -> float:
        """The depth exponent: residual branches scale like depth^-alpha (0: no depth rule)."""
        return _ALPHA.get(self.name, 0.5 if self.name == "umup" else 0.0)

    def rule(
        self,
        kind: str,
        *,
        width: int,
        depth: int | None = None,
        fan_in: int | None = None,
        fan_out: int | None = None,
    ) -> Rule:
        """The init, forward multiplier and Adam factors of one parameter.

        Args:
          kind: ``"input"``, ``"embedding"``, ``"hidden"``, ``"bias"``,
            ``"output"`` or ``"scalar"``.
          width: the model's width (the size that grows).
          depth: the number of residual branches (None: no residual stack).
          fan_in: the parameter's fan-in; defaults to ``width`` for hidden
            and output kernels. ``"input"`` kernels need it under ``"ntk"``
            and ``"umup"`` (their multiplier is ``fan_in^-1/2``).
          fan_out: the parameter's fan-out; defaults to ``width`` for
            embeddings (u-muP's embedding learning rate is ``fan_out^-1/2``).

        Returns:
          A ``Rule``.

        Examples:
          >>> from jinit import mup
          >>> p = mup.parametrization("completep", base_width=64, base_depth=2)
          >>> r = p.rule("hidden", width=256, depth=8)  # m = 4, d = 4, alpha = 1
          >>> r.multiplier, r.learning_rate, r.eps  # LR 1/m * d^(alpha-1), eps 1/m * d^-alpha
          (1.0, 0.25, 0.0625)
          >>> p.rule("bias", width=256, depth=8).learning_rate  # d^(alpha-1)
          1.0
          >>> dmup = mup.parametrization("depth_mup", base_width=64, base_depth=2)
          >>> dmup.rule("hidden", width=256, depth=8).learning_rate  # 1/m * d^-1/2
          0.125
          >>> u = mup.parametrization("umup").rule("hidden", width=256, depth=4)
          >>> u.multiplier, u.learning_rate  # fan_in^-1/2; fan_in^-1/2 * depth^-1/2
          (0.0625, 0.03125)
        """
        fn = "mup.Parametrization.rule"
        k = validation.choice(fn, "kind", kind, PARAM_KINDS)
        n = _size(fn, "width", width)
        depth_ = None if depth is None else _size(fn, "depth", depth)
        fi = None if fan_in is None else _size(fn, "fan_in", fan_in)
        fo = None if fan_out is None else _size(fn, "fan_out", fan_out)
        if k in ("hidden", "output") and fi is None:
            fi = n
        if k == "embedding" and fo is None:
            fo = n
        if k == "input" and fi is None and self.name in ("ntk", "umup"):
            raise ValueError(
                validation.error(
                    fn, f"kind='input' needs `fan_in` under {self.name!r} (its multiplier is fan_in^-1/2); got None."
                )
            )
        if self.name == "sp":
            return _sp_rule(k)
        if self.name == "ntk":
            return _ntk_rule(k, fi)
        if self.name == "umup":
            return _umup_rule(k, depth_, fi, fo)
        return self._mup_rule(k, n, depth_)

    def _mup_rule(self, kind: str, width: int, depth: int | None) -> Rule:
        assert self.base_width is not None  # checked in __post_init__
        m = width / self.base_width
        d = 1.0
        if depth is not None and self.name in _ALPHA:
            assert self.base_depth is not None
            d = depth / self.base_depth
        a = self.alpha
        # CompleteP's Table 1 (and the authors' code): hidden weights, and the
        # biases and norm scales inside the branches, get the Adam learning rate
        # times d^(alpha - 1) and epsilon times d^-alpha.
        lr_depth, eps_depth = d ** (a - 1.0), d**-a
        if kind == "input":
            return Rule(kind, _fan_in_normal(), 1.0, 1.0, 1.0 / m)
        if kind == "embedding":
            return Rule(kind, _unit_normal(), 1.0, 1.0, 1.0 / m)
        if kind == "hidden":
            return Rule(kind, _fan_in_normal(), 1.0, lr_depth / m, eps_depth / m)
        if kind == "bias":
            return Rule(kind, _zeros(), 1.0, lr_depth, eps_depth / m)
        if kind == "output":
            if self.zero_readout:
                init = _zeros()
            elif m == 1.0:
                init = _fan_in_normal()
            else:
                init = MupInit(init=_fan_in_normal(), variance_scale=1.0 / m, name="mup.Parametrization")
            return Rule(kind, init, 1.0, 1.0 / m, 1.0)
        return Rule(kind, _zeros(), 1.0, 1.0, 1.0)

    def residual(self, depth: int, layer: int = 0) -> tuple[float, float]:
        """The residual update ``h <- skip * h + branch * f(h)`` of one block: ``(skip, branch)``.

        ``(1, (depth / base_depth)^-alpha)`` for depth-muP and CompleteP;
        ``(1, 1)`` for SP, NTK and muP. u-muP keeps the residual stream at
        unit scale: ``skip = 1 / sqrt(1 + tau^2)``, ``branch = tau * skip``
        with ``tau = a / sqrt(depth + layer * a^2)``, ``a = residual_mult``
        (every branch adds ``a^2 / depth`` of the embedding's variance;
        Blake et al. 2024, Appendix G, for one kind of branch).

        Args:
          depth: the number of residual branches.
          layer: the branch's index, 0 to depth - 1 (used by u-muP).

        Returns:
          ``(skip, branch)``, Python floats.

        Examples:
          >>> from jinit import mup
          >>> mup.parametrization("completep", base_width=64, base_depth=2).residual(8)
          (1.0, 0.25)
          >>> mup.parametrization("depth_mup", base_width=64, base_depth=2).residual(8)
          (1.0, 0.5)
          >>> skip, branch = mup.parametrization("umup").residual(4, layer=0)
          >>> round(skip**2 + branch**2, 12), round(branch / skip, 12)  # unit variance, tau = 1/2
          (1.0, 0.5)
        """
        fn = "mup.Parametrization.residual"
        n_layers = _size(fn, "depth", depth)
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
            raise TypeError(validation.error(fn, f"`layer` must be an integer; got layer={layer!r}."))
        if not 0 <= int(layer) < n_layers:
            raise ValueError(
                validation.error(fn, f"`layer` must be in [0, depth); got layer={layer!r}, depth={n_layers}.")
            )
        if self.name in _ALPHA:
            assert self.base_depth is not None
            return 1.0, (n_layers / self.base_depth) ** -self.alpha
        if self.name == "umup":
            a = self.residual_mult
            tau = a / math.sqrt(n_layers + int(layer) * a * a)
            skip = 1.0 / math.sqrt(1.0 + tau * tau)
            return skip, tau * skip
        return 1.0, 1.0

    def rules(self, params: Any, kinds: Any, *, width: int, depth: int | None = None) -> Any:
        """The ``Rule`` of every parameter, its fans read from its shape.

        Fans follow the Flax layouts: a kernel ``(*receptive, in, out)`` has
        fan-in ``prod(receptive) * in`` and fan-out ``prod(receptive) * out``;
        a vector ``(n,)`` has fan-in 1 and fan-out n.

        Args:
          params: a pytree of arrays or ``jax.ShapeDtypeStruct``.
          kinds: a pytree of kind names with the same paths (a dict, an
            ``nnx.State``).
          width: the model's width.
          depth: the number of residual branches (None: no residual stack).

        Returns:
          A tree of ``Rule`` with the structure of ``params``.

        Examples:
          >>> import jax.numpy as jnp
          >>> from jinit import mup
          >>> params = {"w": jnp.zeros((128, 128)), "b": jnp.zeros(128), "out": jnp.zeros((128, 10))}
          >>> kinds = {"w": "hidden", "b": "bias", "out": "output"}
          >>> p = mup.parametrization("mup", base_width=32)
          >>> {k: r.learning_rate for k, r in p.rules(params, kinds, width=128).items()}
          {'b': 1.0, 'out': 0.25, 'w': 0.25}
        """
        fn = "mup.Parametrization.rules"
        leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
        kind_of: dict[str, str] = {}
        for path, k in jax.tree_util.tree_flatten_with_path(kinds)[0]:
            key = _path_key(path)
            kind_of[key] = validation.choice(fn, f"kinds{key}", k, PARAM_KINDS)
        keys = [_path_key(path) for path, _ in leaves]
        missing = [k for k in keys if k not in kind_of]
        if missing:
            raise ValueError(
                validation.error(
                    fn, f"`kinds` has no kind for the parameter at {missing[0]}; got kinds for {sorted(kind_of)}."
                )
            )
        extra = sorted(set(kind_of) - set(keys))
        if extra:
            raise ValueError(validation.error(fn, f"`kinds` names paths that `params` does not have: {extra}."))
        out = []
        for key, (_, leaf) in zip(keys, leaves, strict=True):
            fan_in, fan_out = _fans(fn, key, _shape(leaf))
            out.append(self.rule(kind_of[key], width=width, depth=depth, fan_in=fan_in, fan_out=fan_out))
        return jax.tree_util.tree_unflatten(treedef, out)

    def optimizer(
        self,
        learning_rate: float | Callable[[Any], Any],
        params: Any,
        kinds: Any,
        *,
        width: int,
        depth: int | None = None,
        base: str = "adam",
        eps: float = 1e-8,
        **kwargs: Any,
    ) -> Any:
        """Adam (or AdamW) with this parametrization's per-parameter learning rates and epsilons.

        ``optax.chain(scale_updates(1 / eps factors), optax.adam(learning_rate, eps=eps),
        scale_updates(learning-rate factors))``. Adam is invariant to the
        scale of the gradient except through epsilon, so dividing a leaf's
        gradient by its epsilon factor ``f`` is exactly Adam with epsilon
        ``f * eps`` on that leaf. With ``"adamw"`` the decoupled weight decay
        is scaled with each leaf's learning rate (as microsoft/mup's
        ``MuAdamW``).

        Args:
          learning_rate: the base learning rate (tuned at the base shape) or
            an optax schedule.
          params: the parameters (or their shapes).
          kinds: a tree of kind names with the same paths.
          width: the model's width.
          depth: the number of residual branches (None: no residual stack).
          base: ``"adam"`` or ``"adamw"``.
          eps: the base epsilon.
          **kwargs: passed to the optax optimizer (``b1``, ``b2``,
            ``weight_decay``, ...).

        Returns:
          An ``optax.GradientTransformation``.

        Examples:
          >>> import jax.numpy as jnp, optax
          >>> from jinit import mup
          >>> p = mup.parametrization("completep", base_width=64, base_depth=2)
          >>> params = {"w": jnp.ones((256, 256)), "out": jnp.ones((256, 10))}
          >>> tx = p.optimizer(1e-2, params, {"w": "hidden", "out": "output"}, width=256, depth=8)
          >>> updates, _ = tx.update(params, tx.init(params))  # Adam's first step: -lr * factor * sign(g)
          >>> round(float(updates["w"][0, 0]), 6), round(float(updates["out"][0, 0]), 6)
          (-0.0025, -0.0025)
        """
        fn = "mup.Parametrization.optimizer"
        which = validation.choice(fn, "base", base, BASES)
        eps_ = validation.non_negative(fn, "eps", eps)
        rules = self.rules(params, kinds, width=width, depth=depth)
        lrs = jax.tree.map(lambda r: r.learning_rate, rules, is_leaf=_is_rule)
        grad_scales = jax.tree.map(lambda r: 1.0 / r.eps, rules, is_leaf=_is_rule)
        import optax

        tx = {"adam": optax.adam, "adamw": optax.adamw}[which](learning_rate, eps=eps_, **kwargs)
        return optax.chain(scale_updates(grad_scales), tx, scale_updates(lrs))


def _is_rule(x: Any) -> bool:
    return isinstance(x, Rule)


def _fans(name: str, key: str, shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a parameter from its Flax-layout shape; vectors have fan-in 1."""
    if any(s <= 0 for s in shape):
        raise ValueError(validation.error(name, f"{key}: needs positive sizes; got shape={shape!r}."))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return 1, shape[0]
    return fans.compute_fans(name, shape)


def _sp_rule(kind: str) -> Rule:
    """The standard parametrization: N(0, 1/fan_in) kernels, one learning rate and epsilon."""
    if kind in ("input", "hidden", "output"):
        return Rule(kind, _fan_in_normal(), 1.0, 1.0, 1.0)
    if kind == "embedding":
        return Rule(kind, _unit_normal(), 1.0, 1.0, 1.0)
    return Rule(kind, _zeros(), 1.0, 1.0, 1.0)


def _ntk_rule(kind: str, fan_in: int | None) -> Rule:
    """The NTK parametrization (Jacot et al. 2018): N(0, 1) weights, forward multiplier fan_in^-1/2."""
    if kind in ("input", "hidden", "output"):
        assert fan_in is not None
        return Rule(kind, _unit_normal(), fan_in**-0.5, 1.0, 1.0)
    if kind == "embedding":
        return Rule(kind, _unit_normal(), 1.0, 1.0, 1.0)
    return Rule(kind, _zeros(), 1.0, 1.0, 1.0)


def _umup_rule(kind: str, depth: int | None, fan_in: int | None, fan_out: int | None) -> Rule:
    """u-muP (Blake et al. 2024, Table 2 and the unit-scaling library's optimizer rules).

    Every weight N(0, 1). Dense kernels (input and hidden) are unit-scaled
    matmuls, multiplier fan_in^-1/2, Adam LR fan_in^-1/2; the readout has
    multiplier 1/fan_in and LR 1; an embedding has multiplier 1 and the
    paper's embedding LR fan_out^-1/2. Everything inside the residual
    branches has its LR times depth^-1/2 (depth-muP). Epsilon is not scaled.
    """
    lr_depth = 1.0 if depth is None else depth**-0.5
    if kind == "input":
        assert fan_in is not None
        return Rule(kind, _unit_normal(), fan_in**-0.5, fan_in**-0.5, 1.0)
    if kind == "embedding":
        assert fan_out is not None
        return Rule(kind, _unit_normal(), 1.0, fan_out**-0.5, 1.0)
    if kind == "hidden":
        assert fan_in is not None
        return Rule(kind, _unit_normal(), fan_in**-0.5, fan_in**-0.5 * lr_depth, 1.0)
    if kind == "bias":
        return Rule(kind, _zeros(), 1.0, lr_depth, 1.0)
    if kind == "output":
        assert fan_in is not None
        return Rule(kind, _unit_normal(), 1.0 / fan_in, 1.0, 1.0)
    return Rule(kind, _zeros(), 1.0, 1.0, 1.0)


def parametrization(
    name: str,
    *,
    base_width: int | None = None,
    base_depth: int | None = None,
    zero_readout: bool = False,
    residual_mult: float = 1.0,
) -> Parametrization:
    """A parametrization by name: ``"sp"``, ``"ntk"``, ``"mup"``, ``"depth_mup"``, ``"completep"`` or ``"umup"``.

    * ``"sp"``: the standard parametrization, N(0, 1/fan_in) kernels and one
      learning rate.
    * ``"ntk"``: N(0, 1) weights, forward multiplier ``fan_in^-1/2``
      (Jacot et al. 2018).
    * ``"mup"``: Tensor Programs V, Table 3 (the ``WidthMultipliers`` rules)
      relative to ``base_width``.
    * ``"depth_mup"``: muP plus residual branches times
      ``(depth / base_depth)^-1/2`` and hidden Adam LR times
      ``(depth / base_depth)^-1/2`` (Yang et al. 2023; Bordelon et al. 2023).
    * ``"completep"``: muP plus residual branches times
      ``(depth / base_depth)^-1``, hidden Adam LR independent of depth, Adam
      epsilon times ``1 / (m * depth / base_depth)`` (Dey et al. 2025, Table 1).
    * ``"umup"``: u-muP, unit-variance weights, scale in the forward
      multipliers, no base shape (Blake et al. 2024, Table 2).

    Args:
      name: the scheme.
      base_width: the width the hyperparameters were tuned at (needed by
        the muP family; not used by sp, ntk, umup).
      base_depth: the number of residual branches they were tuned at
        (needed by depth_mup and completep).
      zero_readout: the readout starts at zero (muP family).
      residual_mult: u-muP's residual weight ``a`` (see ``residual``).

    Returns:
      A ``Parametrization``.

    Examples:
      >>> from jinit import mup
      >>> p = mup.parametrization("mup", base_width=64)
      >>> r = p.rule("output", width=256)
      >>> r.learning_rate, round(r.init.moments((256, 10)).variance * 256, 6)  # 1/m; variance 1/(m fan_in)
      (0.25, 0.25)
      >>> r.learning_rate == mup.WidthMultipliers("output", fan_in=4.0).learning_rate("adam")
      True

    References:
      Yang, Hu et al. (2021), Tensor Programs V, arXiv:2203.03466.
      Yang, Yu, Zhu, Hayou (2023), Tensor Programs VI: feature learning in
      infinite-depth neural networks, arXiv:2310.02244.
      Bordelon, Noci, Li, Hanin, Pehlevan (2023), Depthwise hyperparameter
      transfer in residual networks, arXiv:2309.16620.
      Dey, Zhang, Noci, Li, Bordelon, Bergsma, Pehlevan, Hanin, Hestness
      (2025), Don't be lazy: CompleteP enables compute-efficient deep
      transformers, arXiv:2505.01618, Table 1.
      Blake, Eichenberg, Dean, Balles, Prince, Deiseroth, Cruz-Salinas,
      Luschi, Weinbach, Orr (2024), u-muP: the unit-scaled maximal update
      parametrization, arXiv:2407.17465, Table 2.
      Jacot, Gabriel, Hongler (2018), Neural tangent kernel, arXiv:1806.07572.
    """
    return Parametrization(
        name=name,
        base_width=base_width,
        base_depth=base_depth,
        zero_readout=zero_readout,
        residual_mult=residual_mult,
    )
