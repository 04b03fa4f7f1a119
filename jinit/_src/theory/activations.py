"""Activations by name: the function, its parameter, and where it or a derivative jumps.

A name (case-insensitive) or one of jax's own activation functions, matched by
identity (``jax.nn.relu``, ``jax.nn.gelu``, ...), resolves to an entry of the
table; any other elementwise callable stands for itself. The breakpoints are
where quadrature cuts the line (``jinit._src.theory.quadrature``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jinit._src.core import validation


@dataclasses.dataclass(frozen=True)
class Activation:
    """A resolved activation: its name, the function, and its breakpoints."""

    name: str
    fn: Callable[[Any], Any]
    breakpoints: tuple[float, ...] = (0.0,)


def _leaky_relu(slope: float) -> Callable[[Any], Any]:
    return lambda x: jnp.where(x >= 0, x, slope * x)


def _elu(alpha: float) -> Callable[[Any], Any]:
    return lambda x: jax.nn.elu(x, alpha)


_TABLE: dict[str, Callable[[float | None], Activation]] = {
    "linear": lambda p: Activation("linear", lambda x: x),
    "identity": lambda p: Activation("identity", lambda x: x),
    "relu": lambda p: Activation("relu", jax.nn.relu),
    "relu6": lambda p: Activation("relu6", jax.nn.relu6, (0.0, 6.0)),
    "leaky_relu": lambda p: Activation("leaky_relu", _leaky_relu(0.01 if p is None else p)),
    "elu": lambda p: Activation("elu", _elu(1.0 if p is None else p)),
    "selu": lambda p: Activation("selu", jax.nn.selu),
    "celu": lambda p: Activation("celu", lambda x: jax.nn.celu(x, 1.0 if p is None else p)),
    "tanh": lambda p: Activation("tanh", jnp.tanh),
    "hard_tanh": lambda p: Activation("hard_tanh", jax.nn.hard_tanh, (-1.0, 1.0)),
    "sigmoid": lambda p: Activation("sigmoid", jax.nn.sigmoid),
    "softsign": lambda p: Activation("softsign", jax.nn.soft_sign),
    "gelu": lambda p: Activation("gelu", lambda x: jax.nn.gelu(x, approximate=False)),
    "gelu_tanh": lambda p: Activation("gelu_tanh", lambda x: jax.nn.gelu(x, approximate=True)),
    "silu": lambda p: Activation("silu", jax.nn.silu),
    "swish": lambda p: Activation("swish", jax.nn.silu),
    "softplus": lambda p: Activation("softplus", jax.nn.softplus),
    "mish": lambda p: Activation("mish", jax.nn.mish),
    "sin": lambda p: Activation("sin", jnp.sin),
}

#: Names with a parameter: leaky_relu (negative slope, default 0.01), elu and celu (alpha, default 1).
PARAMETRIC = ("leaky_relu", "elu", "celu")
NAMES = tuple(_TABLE)

#: jax's own functions, matched by identity, with jax's default parameters (the table's too):
#: ``jax.nn.<name>`` for the names below (``jax.nn.swish is jax.nn.silu``, ``jax.nn.tanh is
#: jnp.tanh``), ``jax.nn.soft_sign``, ``jnp.sin``, and ``jax.nn.gelu``, whose default
#: ``approximate=True`` is the tanh form, "gelu_tanh".
_JAX_NN_NAMES = "identity relu relu6 leaky_relu elu selu celu tanh hard_tanh sigmoid silu softplus mish".split()
JAX_FUNCTIONS: tuple[tuple[Callable[..., Any], str], ...] = (
    *((getattr(jax.nn, name), name) for name in _JAX_NN_NAMES),
    (jax.nn.soft_sign, "softsign"),
    (jax.nn.gelu, "gelu_tanh"),
    (jnp.sin, "sin"),
)

#: jax functions that normalise over an axis: no elementwise gain.
NOT_ELEMENTWISE: tuple[Callable[..., Any], ...] = (jax.nn.softmax, jax.nn.log_softmax)


def table_name(activation: str | Callable[[Any], Any]) -> str | None:
    """The table's name for a name or one of jax's functions (``JAX_FUNCTIONS``); None otherwise."""
    if isinstance(activation, str):
        return activation.lower()
    return next((name for fn, name in JAX_FUNCTIONS if activation is fn), None)


@functools.lru_cache(maxsize=64)
def _entry(name: str, param: float | None) -> Activation:
    """One Activation per name and parameter, so that its ``fn`` is the same object each time."""
    return _TABLE[name](param)


def get_activation(activation: str | Callable[[Any], Any], param: float | None = None, *, caller: str) -> Activation:
    """Resolve a name or a callable; ``caller`` names the public function in errors."""
    if callable(activation) and not isinstance(activation, str):
        if param is not None:
            raise ValueError(
                validation.error(caller, f"`param` applies to named activations only; got param={param!r}.")
            )
        if any(activation is fn for fn in NOT_ELEMENTWISE):
            raise TypeError(
                validation.error(
                    caller,
                    f"`activation` must be elementwise; {getattr(activation, '__name__', activation)!s} "
                    "normalises over an axis.",
                )
            )
        name = table_name(activation)
        if name is None:
            return Activation(getattr(activation, "__name__", repr(activation)), activation)
        return _entry(name, None)
    if not isinstance(activation, str):
        raise TypeError(validation.error(caller, f"`activation` must be a name or a callable; got {activation!r}."))
    key = activation.lower()
    if key not in _TABLE:
        raise ValueError(
            validation.error(
                caller, f"unknown activation {activation!r}; known: {', '.join(NAMES)} (or pass a callable)."
            )
        )
    if param is not None:
        if key not in PARAMETRIC:
            raise ValueError(
                validation.error(caller, f"activation {activation!r} takes no `param`; got param={param!r}.")
            )
        param = validation.real_scalar(caller, "param", param)
    return _entry(key, param)
