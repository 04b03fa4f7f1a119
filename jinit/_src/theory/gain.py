"""Variance-preserving gains for any activation, and the scheme we advise for each.

``gain(phi) = 1 / sqrt(E[phi(Z)^2])``, Z ~ N(0, 1): weights of variance
``gain^2 / fan_in`` make ``phi(W x)`` keep the second moment of standard
normal pre-activations (sqrt(2) for relu, 1 for selu and linear). The
expectation is a split quadrature (``jinit._src.theory.quadrature``).
``recommend`` reads a table for names and jax's own activation functions, and
uses the gain for any other callable. See docs/theory.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax

from jinit._src.core import validation
from jinit._src.core.types import Initializer
from jinit._src.schemes.variance_scaling import glorot_uniform, he_normal, lecun_normal, variance_scaling
from jinit._src.theory import quadrature
from jinit._src.theory.activations import Activation, get_activation, table_name

ActivationLike = str | Callable[[Any], Any]


def second_moment(activation: ActivationLike, param: float | None = None, *, caller: str = "gain") -> float:
    """E[phi(Z)^2] for Z ~ N(0, 1)."""
    act = get_activation(activation, param, caller=caller)
    value = quadrature.expectation(lambda x: act.fn(x) ** 2, breakpoints=act.breakpoints)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(
            validation.error(
                caller, f"E[phi(z)^2] must be positive and finite for a gain; got {value!r} for {act.name}."
            )
        )
    return value


def gain(activation: ActivationLike, param: float | None = None) -> float:
    """The variance-preserving gain ``1 / sqrt(E[phi(Z)^2])``, Z ~ N(0, 1).

    Args:
      activation: a name (``"relu"``, ``"leaky_relu"``, ``"tanh"``,
        ``"sigmoid"``, ``"gelu"``, ``"gelu_tanh"``, ``"silu"``/``"swish"``,
        ``"elu"``, ``"selu"``, ``"softplus"``, ``"mish"``, ``"linear"``, ...),
        one of jax's activation functions (``jax.nn.relu`` is ``"relu"``,
        ``jax.nn.gelu`` is ``"gelu_tanh"``), or any JAX-traceable elementwise
        callable.
      param: the negative slope of leaky_relu (default 0.01) or alpha of elu.

    Returns:
      The gain, a float; multiply a standard deviation by it.

    Examples:
      >>> import jax
      >>> import jinit
      >>> round(jinit.gain("relu"), 6)
      1.414214
      >>> round(jinit.gain("selu"), 6)
      1.0
      >>> round(jinit.gain("tanh"), 4)
      1.5925
      >>> jinit.gain(jax.nn.gelu) == jinit.gain("gelu_tanh")
      True
    """
    return 1.0 / math.sqrt(second_moment(activation, param, caller="gain"))


_LINEAR = "a linear map: Xavier preserves the variance both ways."
_SWISH = "Swish/SiLU, x sigmoid(x), is rectifier-like: He as for relu."

# Why, per name (in the order ``jinit explain`` lists them).
_WHY = {
    "sigmoid": "Glorot & Bengio (2010) derived Xavier for symmetric saturating units; fan_avg balances both ways.",
    "tanh": "linear near 0, where Xavier's 2/(fan_in+fan_out) keeps the variance both ways (Glorot & Bengio 2010).",
    "softsign": "a symmetric saturating unit like tanh (Glorot & Bengio 2010).",
    "hard_tanh": "identity on [-1, 1]: Xavier as for tanh.",
    "softmax": "a saturating output layer: Xavier keeps logits at unit scale.",
    "linear": _LINEAR,
    "identity": _LINEAR,
    "relu": "relu zeroes half its input, halving the second moment; He (2015) doubles Var(w) to 2/fan_in.",
    "relu6": "relu below 6: He as for relu.",
    "leaky_relu": "He et al. (2015), eq. 15: the leaky slope a keeps (1 + a^2)/2 of the second moment.",
    "elu": "rectifier-like (He 2015); its exact gain is jinit.gain('elu').",
    "celu": "rectifier-like (He 2015).",
    "gelu": "rectifier-like (He 2015); gain^2 = 1/E[gelu(z)^2] is 2.35, close to relu's 2.",
    "gelu_tanh": "as gelu (the tanh form, jax.nn.gelu's default).",
    "silu": _SWISH,
    "swish": _SWISH,
    "mish": "rectifier-like, like Swish.",
    "softplus": "a smooth relu (He 2015).",
    "selu": "self-normalising nets need Var(w) = 1/fan_in for an attracting fixed point (Klambauer et al. 2017).",
    "sin": "no classic scheme: keep the second moment with the exact gain.",
}
_SCHEME = {
    **dict.fromkeys(("sigmoid", "tanh", "softsign", "hard_tanh", "softmax", "linear", "identity"), "glorot_uniform"),
    **dict.fromkeys(
        ("relu", "relu6", "elu", "celu", "gelu", "gelu_tanh", "silu", "swish", "mish", "softplus"), "he_normal"
    ),
    "selu": "lecun_normal",
    "leaky_relu": "variance_scaling(2 / (1 + slope^2), 'fan_in', 'truncated_normal')",
    "sin": "variance_scaling(gain('sin')^2, 'fan_in', 'truncated_normal')",
}
#: name -> (what we advise, why)
RECOMMENDATIONS: dict[str, tuple[str, str]] = {name: (_SCHEME[name], why) for name, why in _WHY.items()}
CALLABLE_REASON = "any other callable: variance gain(phi)^2 / fan_in keeps E[pre-activation^2] exactly."
_SCHEMES = {"glorot_uniform": glorot_uniform, "he_normal": he_normal, "lecun_normal": lecun_normal}


def _advice(activation: ActivationLike, param: float | None, caller: str) -> tuple[str | None, Activation | None]:
    """The RECOMMENDATIONS key (None for an unknown callable) and the resolved activation (None for softmax)."""
    if activation is jax.nn.softmax or (isinstance(activation, str) and activation.lower() == "softmax"):
        return "softmax", None  # not elementwise: no gain, Xavier as for the saturating units
    act = get_activation(activation, param, caller=caller)
    return table_name(activation), act


def recommend(activation: ActivationLike, param: float | None = None) -> Initializer:
    """The kernel initializer we advise for an activation, and why.

    ============================  ================  ==========================================
    activation                    initializer       reason
    ============================  ================  ==========================================
    sigmoid, tanh, softsign,      glorot_uniform    Glorot & Bengio (2010): symmetric units,
    hard_tanh, softmax, linear                      variance 2/(fan_in+fan_out) both ways
    relu, relu6, elu, celu,       he_normal         He et al. (2015): a rectifier halves the
    gelu, gelu_tanh, silu/swish,                    second moment, Var(w) = 2/fan_in restores it
    mish, softplus
    leaky_relu (slope a)          scale 2/(1+a^2)   He et al. (2015), eq. 15
    selu                          lecun_normal      Klambauer et al. (2017): self-normalising
                                                    needs Var(w) = 1/fan_in
    any other callable phi        gain(phi)^2 /     keeps E[pre-activation^2] exactly
                                  fan_in
    ============================  ================  ==========================================

    jax's own functions count as their names (``jax.nn.relu`` as ``"relu"``,
    ``jax.nn.gelu`` as ``"gelu_tanh"``, ``jax.nn.softmax`` as ``"softmax"``).
    ``jinit.recommend_reason(activation)`` returns the reason as text.

    Args:
      activation: a name (see ``jinit.gain``), one of jax's activation
        functions, or a callable.
      param: leaky_relu's slope (default 0.01) or elu's alpha (names only).

    Returns:
      An initializer for kernels in jax/Flax layout.

    Examples:
      >>> import jax
      >>> import jinit
      >>> jinit.recommend("relu") == jinit.recommend(jax.nn.relu) == jinit.he_normal()
      True
      >>> jinit.recommend("tanh") == jinit.glorot_uniform()
      True
    """
    key, act = _advice(activation, param, "recommend")
    if act is None:  # softmax
        return glorot_uniform()
    if key is None or key == "sin":
        return variance_scaling(gain(act.fn) ** 2, "fan_in", "truncated_normal")
    if key == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return variance_scaling(2.0 / (1.0 + slope * slope), "fan_in", "truncated_normal")
    return _SCHEMES[RECOMMENDATIONS[key][0]]()


def recommend_reason(activation: ActivationLike) -> str:
    """Why ``recommend(activation)`` advises what it does."""
    key, _ = _advice(activation, None, "recommend_reason")
    return CALLABLE_REASON if key is None else RECOMMENDATIONS[key][1]
