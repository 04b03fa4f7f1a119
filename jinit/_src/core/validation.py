"""Checks that turn bad input into one clear sentence at the earliest point.

Every message reads ``jinit.NAME: what it needs; got VALUE.`` so that the
user sees the public callable, the parameter in backticks and the bad value.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

FLOAT_KINDS = ("floating",)
INEXACT_KINDS = ("floating", "complexfloating")


def error(name: str, message: str) -> str:
    return f"jinit.{name}: {message}"


def is_key(value: Any) -> bool:
    """Whether ``value`` is a PRNG key: a typed key, or a legacy ``uint32[2]`` array."""
    dt = getattr(value, "dtype", None)
    if dt is None or not isinstance(value, np.ndarray | jax.Array):
        return False
    if jax.dtypes.issubdtype(dt, jax.dtypes.prng_key):
        return True
    return np.dtype(dt) == np.uint32 and np.shape(value) == (2,)


def not_a_key(name: str, value: Any) -> None:
    """TypeError if a PRNG key was passed where a factory's hyperparameter belongs.

    Called by every hyperparameter check below, so that ``jinit.he_normal(key,
    shape)`` (the factory called as if it were the initializer) says so
    instead of complaining about ``in_axis``.
    """
    if is_key(value):
        raise TypeError(
            error(
                name,
                f"got a PRNG key where a hyperparameter belongs; build the initializer first: "
                f"jinit.{name}()(key, shape).",
            )
        )


def real_scalar(name: str, param: str, value: Any) -> float:
    """A finite Python float from a real number (bool rejected)."""
    not_a_key(name, value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | jax.Array):
        raise TypeError(error(name, f"`{param}` must be a real number; got {value!r}."))
    if isinstance(value, np.ndarray | jax.Array):
        # Before np.asarray, which raises TracerArrayConversionError on a tracer.
        if isinstance(value, jax.core.Tracer):
            raise TypeError(error(name, f"`{param}` must be a concrete number, not a traced value; got {value!r}."))
        if np.ndim(value) != 0 or not np.issubdtype(np.asarray(value).dtype, np.number):
            raise TypeError(error(name, f"`{param}` must be a real scalar; got {value!r}."))
        value = np.asarray(value).item()
        if isinstance(value, complex):
            raise TypeError(error(name, f"`{param}` must be a real number; got {value!r}."))
    try:
        out = float(value)
    except OverflowError:  # an int past float's range, e.g. 10**400
        out = math.inf
    if not math.isfinite(out):
        shown = _show_int(value) if isinstance(value, int) else repr(value)
        raise ValueError(error(name, f"`{param}` must be finite; got {param}={shown}."))
    return out


def positive(name: str, param: str, value: Any) -> float:
    out = real_scalar(name, param, value)
    if out <= 0.0:
        raise ValueError(error(name, f"`{param}` must be positive; got {param}={value!r}."))
    return out


def non_negative(name: str, param: str, value: Any) -> float:
    out = real_scalar(name, param, value)
    if out < 0.0:
        raise ValueError(error(name, f"`{param}` must be non-negative; got {param}={value!r}."))
    return out


# The largest count any factory takes: int64's maximum. Every count fits
# numpy's and jax's index arithmetic, and every formula of counts the schemes
# evaluate in floats (2 n, L^(-1/(2m-2)), (N^4 M)^(1/16)) stays finite.
MAX_INTEGER = 2**63 - 1


def integer(name: str, param: str, value: Any, *, minimum: int | None = None, maximum: int = MAX_INTEGER) -> int:
    """A Python int from an integral value in [minimum, maximum] (default: int64's range).

    TypeError for bool, floats (even 2.0), strings, traced values and arrays
    that are not one integer; ValueError outside the range, so a huge count
    (10**400) is refused here, not by an OverflowError deep in a formula.
    """
    not_a_key(name, value)
    if isinstance(value, np.ndarray | jax.Array):
        # Before np.asarray, which raises TracerArrayConversionError on a tracer.
        if isinstance(value, jax.core.Tracer):
            raise TypeError(error(name, f"`{param}` must be a concrete int, not a traced value; got {value!r}."))
        if np.size(value) != 1 or not np.issubdtype(value.dtype, np.integer):
            raise TypeError(error(name, f"`{param}` must be an int; got {param}={value!r}."))
        value = np.asarray(value).item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(error(name, f"`{param}` must be an int; got {param}={value!r}."))
    out = operator.index(value)
    least_value = -maximum - 1 if minimum is None else minimum
    if out < least_value:
        least = "non-negative" if least_value == 0 else f"at least {least_value}"
        raise ValueError(error(name, f"`{param}` must be {least}; got {param}={_show_int(out)}."))
    if out > maximum:
        raise ValueError(error(name, f"`{param}` must be at most {maximum}; got {param}={_show_int(out)}."))
    return out


def _show_int(value: int) -> str:
    """``repr`` of an int, abridged past 30 digits (Python refuses to print one of over 4300)."""
    if abs(value) < 10**30:
        return repr(value)
    return f"<an int of {int(math.log10(abs(value))) + 1} digits>"


def choice(name: str, param: str, value: Any, choices: Iterable[str]) -> str:
    not_a_key(name, value)
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise ValueError(error(name, f"`{param}` must be one of {listed}; got {param}={value!r}."))
    return value


def axes(name: str, param: str, value: Any) -> int | tuple[int, ...]:
    """An int, or a tuple of distinct ints (hashable, as jit needs)."""
    not_a_key(name, value)
    if isinstance(value, bool):
        raise TypeError(error(name, f"`{param}` must be an int or a sequence of ints; got {value!r}."))
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(error(name, f"`{param}` must be an int or a sequence of ints; got {value!r}."))
            out.append(int(v))
        if len(set(out)) != len(out):
            raise ValueError(error(name, f"`{param}` must not repeat an axis; got {param}={value!r}."))
        return tuple(out)
    raise TypeError(error(name, f"`{param}` must be an int or a sequence of ints; got {value!r}."))


def as_tuple(value: int | tuple[int, ...]) -> tuple[int, ...]:
    return (value,) if isinstance(value, int) else value


def shape(name: str, value: Any) -> tuple[int, ...]:
    """A tuple of non-negative Python ints (from an int, a sequence of ints or a concrete integer array, as jax)."""
    if isinstance(value, np.ndarray | jax.Array):
        # Before np.asarray, which raises TracerArrayConversionError on a tracer.
        if isinstance(value, jax.core.Tracer) or not jax.dtypes.issubdtype(value.dtype, np.integer) or value.ndim > 1:
            raise TypeError(error(name, f"`shape` must be a tuple of ints (a static shape); got shape={value!r}."))
        value = tuple(int(d) for d in np.atleast_1d(np.asarray(value)))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(error(name, f"`shape` must be a tuple of ints; got shape={value!r}."))
    out = []
    for d in value:
        if isinstance(d, bool):
            raise TypeError(error(name, f"`shape` must be a tuple of ints; got shape={value!r}."))
        try:
            out.append(operator.index(d))
        except TypeError:
            raise TypeError(error(name, f"`shape` must be a tuple of ints; got shape={tuple(value)!r}.")) from None
    if any(d < 0 for d in out):
        raise ValueError(error(name, f"`shape` must not have negative sizes; got shape={tuple(out)!r}."))
    return tuple(out)


def dtype(name: str, value: Any, kinds: tuple[str, ...] = INEXACT_KINDS) -> np.dtype:
    """The canonical JAX dtype (float64 becomes float32 unless x64 is on); None means float."""
    return np.dtype(jax.dtypes.canonicalize_dtype(_checked_dtype(name, float if value is None else value, kinds)))


def default_dtype(name: str, value: Any, kinds: tuple[str, ...] = INEXACT_KINDS) -> np.dtype | None:
    """A factory's ``dtype`` argument, checked at once and stored as a numpy dtype (None kept).

    Not canonicalised: whether float64 means float32 depends on x64 at the
    call. As a numpy dtype, ``jnp.float32`` and ``"float32"`` give equal,
    hashable initializers.
    """
    not_a_key(name, value)
    return None if value is None else _checked_dtype(name, value, kinds)


def _checked_dtype(name: str, value: Any, kinds: tuple[str, ...]) -> np.dtype:
    try:
        dt = np.dtype(value)
    except (TypeError, ValueError):
        raise TypeError(error(name, f"`dtype` must be a dtype; got dtype={value!r}.")) from None
    ok = any(jnp.issubdtype(dt, getattr(jnp, k)) for k in kinds)
    if not ok:
        what = "a floating-point" if kinds == FLOAT_KINDS else "a floating-point or complex"
        raise ValueError(error(name, f"`dtype` must be {what} dtype; got dtype={dt.name}."))
    return dt


def key(name: str, value: Any, *, initializer: bool = False) -> jax.Array:
    """A typed PRNG key or a legacy uint32[2] key, returned unchanged.

    With ``initializer=True`` (an initializer's first argument), a shape in
    the key's place says how to call it from haiku or keras, which call
    initializers as ``(shape, dtype)``.
    """
    if initializer and _looks_like_shape(value):
        raise TypeError(
            error(
                name,
                f"the first argument must be a PRNG key; got shape={tuple(value)!r}. Haiku and keras call "
                f"initializers as (shape, dtype): wrap it with jinit.interop.haiku(init) or jinit.interop.keras(init).",
            )
        )
    dt = getattr(value, "dtype", None)
    if dt is not None and jax.dtypes.issubdtype(dt, jax.dtypes.prng_key):
        if np.ndim(value) != 0:
            raise ValueError(
                error(name, f"`key` must be a single key (use jax.vmap for a batch); got shape {np.shape(value)}.")
            )
        return value
    if dt is not None and np.dtype(dt) == np.uint32 and np.shape(value) == (2,):
        return value
    raise TypeError(
        error(name, f"`key` must be a PRNG key (jax.random.key(seed) or a uint32[2] key); got {_describe(value)}.")
    )


def _looks_like_shape(value: Any) -> bool:
    return isinstance(value, tuple | list) and all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in value
    )


def _describe(value: Any) -> str:
    dt = getattr(value, "dtype", None)
    if dt is not None:
        return f"an array of dtype {dt} and shape {np.shape(value)}"
    return repr(value)
