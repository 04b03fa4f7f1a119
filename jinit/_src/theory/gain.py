"""Gains for any activation, and the scheme we advise for each.

The variance-preserving gain of phi is ``1 / sqrt(E[phi(Z)^2])``,
Z ~ N(0, 1): with weights of variance ``gain^2 / fan_in``, a layer
``phi(W x)`` keeps the second moment of its pre-activations when they are
standard normal. It is exactly sqrt(2) for relu and 1 for selu and linear;
torch's ``calculate_gain`` table is partly empirical (tanh 5/3, selu 3/4):
see ``jinit.torch.calculate_gain`` for that table.

The expectation is computed by quadrature split at the activation's kinks
(``jinit._src.theory.quadrature``), accurate to about 1e-14 for the named
activations; callables are evaluated in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from jinit._src.core import validation
from jinit._src.core.types import Initializer
from jinit._src.schemes.variance_scaling import glorot_uniform, he_normal, lecun_normal, variance_scaling
from jinit._src.theory import quadrature
from jinit._src.theory.activations import get_activation


def second_moment(activation: str | Callable[[Any], Any], param: float | None = None, *, caller: str = "gain") -> float:
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


def gain(activation: str | Callable[[Any], Any], param: float | None = None) -> float:
    """The variance-preserving gain ``1 / sqrt(E[phi(Z)^2])``, Z ~ N(0, 1).

    Args:
      activation: a name (``"relu"``, ``"leaky_relu"``, ``"tanh"``,
        ``"sigmoid"``, ``"gelu"``, ``"gelu_tanh"``, ``"silu"``/``"swish"``,
        ``"elu"``, ``"selu"``, ``"softplus"``, ``"mish"``, ``"linear"``, ...)
        or any JAX-traceable elementwise callable.
      param: the negative slope of leaky_relu (default 0.01) or alpha of elu.

    Returns:
      The gain, a float; multiply a standard deviation by it.

    Examples:
      >>> import jinit
      >>> round(jinit.gain("relu"), 6)
      1.414214
      >>> round(jinit.gain("selu"), 6)
      1.0
      >>> round(jinit.gain("tanh"), 4)
      1.5925
    """
    return 1.0 / math.sqrt(second_moment(activation, param, caller="gain"))


# name -> (what we advise, why)
RECOMMENDATIONS: dict[str, tuple[str, str]] = {
    "sigmoid": (
        "glorot_uniform",
        "Glorot & Bengio (2010) derived Xavier for symmetric saturating units; "
        "fan_avg balances forward and backward variance.",
    ),
    "tanh": (
        "glorot_uniform",
        "tanh is linear near 0, where Xavier's variance 2/(fan_in+fan_out) preserves "
        "forward and backward signal (Glorot & Bengio 2010).",
    ),
    "softsign": ("glorot_uniform", "a symmetric saturating unit like tanh (Glorot & Bengio 2010)."),
    "hard_tanh": ("glorot_uniform", "identity on [-1, 1]: Xavier as for tanh."),
    "softmax": ("glorot_uniform", "a saturating output layer: Xavier keeps logits at unit scale."),
    "linear": ("glorot_uniform", "a linear map: Xavier preserves the variance both ways."),
    "identity": ("glorot_uniform", "a linear map: Xavier preserves the variance both ways."),
    "relu": (
        "he_normal",
        "relu zeroes half its input, halving the second moment; He (2015) doubles "
        "the variance to 2/fan_in to compensate.",
    ),
    "relu6": ("he_normal", "relu below 6: He as for relu."),
    "leaky_relu": (
        "variance_scaling(2 / (1 + slope^2), 'fan_in', 'truncated_normal')",
        "He et al. (2015), eq. 15: the leaky slope a keeps (1 + a^2)/2 of the second moment.",
    ),
    "elu": ("he_normal", "rectifier-like (He 2015); its exact gain is jinit.gain('elu')."),
    "celu": ("he_normal", "rectifier-like (He 2015)."),
    "gelu": ("he_normal", "rectifier-like (He 2015); gain^2 = 1/E[gelu(z)^2] is 2.35, close to relu's 2."),
    "gelu_tanh": ("he_normal", "as gelu."),
    "silu": ("he_normal", "Swish/SiLU is rectifier-like; the seeds' table puts Swish with He."),
    "swish": ("he_normal", "Swish/SiLU is rectifier-like; the seeds' table puts Swish with He."),
    "mish": ("he_normal", "rectifier-like, like Swish."),
    "softplus": ("he_normal", "a smooth relu (He 2015)."),
    "selu": (
        "lecun_normal",
        "self-normalising networks need Var(w) = 1/fan_in so that the SELU fixed "
        "point (mean 0, variance 1) is attracting (Klambauer et al. 2017).",
    ),
    "sin": (
        "variance_scaling(gain('sin')^2, 'fan_in', 'truncated_normal')",
        "no classic scheme: keep the second moment with the exact gain.",
    ),
}


def recommend(activation: str | Callable[[Any], Any], param: float | None = None) -> Initializer:
    """The kernel initializer we advise for an activation, and why.

    ==========================  ================  ==========================================
    activation                  initializer       reason
    ==========================  ================  ==========================================
    sigmoid, tanh, softsign,    glorot_uniform    Glorot & Bengio (2010): symmetric units,
    hard_tanh, softmax, linear                    variance 2/(fan_in+fan_out) both ways
    relu, relu6, elu, celu,     he_normal         He et al. (2015): a rectifier halves the
    gelu, silu/swish, mish,                       second moment, Var(w) = 2/fan_in restores it
    softplus
    leaky_relu (slope a)        scale 2/(1+a^2)   He et al. (2015), eq. 15
    selu                        lecun_normal      Klambauer et al. (2017): self-normalising
                                                  needs Var(w) = 1/fan_in
    any callable phi            gain(phi)^2 /     keeps E[pre-activation^2] exactly
                                fan_in
    ==========================  ================  ==========================================

    ``jinit.recommend_reason(activation)`` returns the reason as text.

    Args:
      activation: a name (see ``jinit.gain``) or a callable.
      param: leaky_relu's slope (default 0.01) or elu's alpha.

    Returns:
      An initializer for kernels in jax/Flax layout.

    Examples:
      >>> import jinit
      >>> jinit.recommend("relu") == jinit.he_normal()
      True
      >>> jinit.recommend("tanh") == jinit.glorot_uniform()
      True
    """
    if isinstance(activation, str) and activation.lower() == "softmax":
        return glorot_uniform()  # not elementwise: no gain, Xavier as for the saturating units
    act = get_activation(activation, param, caller="recommend")
    if not isinstance(activation, str) or act.name == "sin":
        return variance_scaling(gain(act.fn) ** 2, "fan_in", "truncated_normal")
    if act.name == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return variance_scaling(2.0 / (1.0 + slope * slope), "fan_in", "truncated_normal")
    choice = RECOMMENDATIONS[act.name][0]
    return {"glorot_uniform": glorot_uniform, "he_normal": he_normal, "lecun_normal": lecun_normal}[choice]()


def recommend_reason(activation: str) -> str:
    """Why ``recommend(activation)`` advises what it does (names only)."""
    if isinstance(activation, str) and activation.lower() == "softmax":
        return RECOMMENDATIONS["softmax"][1]
    act = get_activation(activation, caller="recommend_reason")
    return RECOMMENDATIONS[act.name][1]
