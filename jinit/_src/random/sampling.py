"""The random core: every sampler of jinit draws its bits through here.

Each function has the semantics and the values of its namesake in
``jax.random`` for the same key, bit for bit, except the truncated normal's
draws that jax puts at a bound (below). For threefry2x32 keys (typed
``jax.random.key`` or legacy ``uint32[2]``) in jax's default *partitionable*
mode, the bits come from :mod:`jinit._src.random.threefry`, an unrolled Threefry
that XLA fuses with the float conversion into one pass over memory (jax's
own CPU lowering runs the 20 rounds as a rolled loop, several times slower).
Everything else falls back to ``jax.random`` itself: other key
implementations (``rbg``, ``unsafe_rbg``, custom), the non-partitionable
layout (``jax_threefry_partitionable=False``), non-scalar bounds, dtypes that
jax would canonicalise (float64 without x64), legacy keys when jax is set to
warn about them, and shardings jax would reject (so jax raises its own error).

The samplers (``bits``, ``uniform``, ``normal``, ``truncated_normal``) take
jax.random's arguments: ``key`` a typed key or a legacy ``uint32[2]`` key,
``shape`` the output shape, ``dtype``, and ``out_sharding`` None, a
NamedSharding or a PartitionSpec (explicit axes); each returns an array of
``shape`` and ``dtype``.

The maps from bits to floats are jax's (``jax/_src/random/core.py``):

* uniform on [minval, maxval): the top ``nmant`` random bits under the
  exponent of 1.0 give ``f`` in [1, 2); ``u = max(minval, (f - 1) (maxval -
  minval) + minval)``. Types with fewer than 8 mantissa bits (bfloat16)
  draw 8 random bits per value.
* normal: ``sqrt(2) erfinv(u)``, ``u`` uniform on [nextafter(-1, 0), 1);
  complex: ``(x + i y) / sqrt(2)`` with x, y from the two keys of
  ``split(key)``.
* truncated normal on (lower, upper): ``sqrt(2) erfinv(u)`` with ``u``
  uniform on [erf(lower/sqrt2), erf(upper/sqrt2)), clipped to the open
  interval. jax lets ``u`` reach -1 (or round up to 1) when a bound lies
  beyond what erf resolves (about 5.6 sigma in float32), and erfinv(-1) =
  -inf is clipped to the bound: one float32 draw in 2^23 at -100 sigma for
  bounds of +-100. Here ``u`` stays inside (-1, 1), so such a draw is the
  dtype's most extreme resolvable one (-5.4 sigma in float32, as for the
  normal); the other draws are jax's.

References:
  Salmon et al. (2011), Parallel random numbers: as easy as 1, 2, 3.
  JAX PRNG design: https://docs.jax.dev/en/latest/jep/263-prng.html
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.random import threefry

Sharding = Any

THREEFRY = "threefry2x32"

# ---------------------------------------------------------------------------
# When the fast path applies


# jax's defaults, for a jax release that drops one of these options.
_CONFIG_DEFAULTS = {
    "jax_threefry_partitionable": True,
    "jax_default_prng_impl": THREEFRY,
    "jax_legacy_prng_key": "allow",
    "jax_enable_custom_prng": False,
    "jax_enable_x64": False,
}
# Without x64, jax computes these in their 32-bit counterparts (with a warning).
_X64_ONLY = tuple(np.dtype(t) for t in (np.float64, np.complex128, np.uint64, np.int64))


def _config(name: str) -> Any:
    """A jax config value, read at trace time as jax.random itself does."""
    return getattr(jax.config, name, _CONFIG_DEFAULTS[name])


def _key_data(key: Any) -> jax.Array | None:
    """The raw uint32[2] threefry data of ``key``, or None if jax.random must draw."""
    if not _config("jax_threefry_partitionable"):
        return None
    dt = getattr(key, "dtype", None)
    if dt is None:
        return None
    if jax.dtypes.issubdtype(dt, jax.dtypes.prng_key):
        if np.ndim(key) != 0 or jax.random.key_impl(key) != THREEFRY:
            return None
        return jax.random.key_data(key)
    if np.dtype(dt) != np.uint32 or np.shape(key) != (2,):
        return None
    # A legacy key is read with jax's default implementation; jax may also be
    # configured to warn about (or refuse) legacy keys, or to return typed keys.
    if (
        _config("jax_default_prng_impl") != THREEFRY
        or _config("jax_legacy_prng_key") != "allow"
        or _config("jax_enable_custom_prng")
    ):
        return None
    return jnp.asarray(key)


def _wrap_like(key: Any, data: jax.Array) -> jax.Array:
    """New key data in the kind of ``key``: typed in, typed out; legacy in, legacy out."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(key))
    return data


def _static_shape(shape: Any) -> tuple[int, ...] | None:
    try:
        dims = tuple(shape)
    except TypeError:
        return None
    if not all(isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 0 for d in dims):
        return None
    if np.prod(dims, dtype=np.float64) > threefry.MAX_32BIT_COUNT:
        return None
    return tuple(int(d) for d in dims)


def _canonical_dtype(dtype: Any, kind: type) -> np.dtype | None:
    """``dtype`` if it is of ``kind`` and jax would not canonicalise it, else None."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return None
    if not jnp.issubdtype(dt, kind) or (dt in _X64_ONLY and not _config("jax_enable_x64")):
        return None
    return dt


def _is_scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


# ---------------------------------------------------------------------------
# out_sharding, as jax.random handles it

_FALLBACK = object()


def _spec_axes(spec: jax.sharding.PartitionSpec) -> list[str]:
    names: list[str] = []
    for entry in spec:
        if entry is None:
            continue
        names.extend(entry if isinstance(entry, tuple) else (entry,))
    return names


def _canonical_sharding(out_sharding: Sharding, shape: tuple[int, ...], scalar_replicated: bool) -> Any:
    """A NamedSharding on an abstract mesh, None, or _FALLBACK where jax must decide (or raise)."""
    if out_sharding is None and (shape or not scalar_replicated):
        return None
    context = jax.sharding.get_abstract_mesh()
    if out_sharding is None:
        if not context.empty and context.are_all_axes_explicit:
            return jax.sharding.NamedSharding(context, jax.sharding.PartitionSpec())
        return None
    if isinstance(out_sharding, jax.sharding.NamedSharding):
        if out_sharding.mesh.empty:
            return None
        mesh = out_sharding.mesh.abstract_mesh
        if not context.empty and mesh != context:
            return _FALLBACK
        sharding = jax.sharding.NamedSharding(mesh, out_sharding.spec)
    elif isinstance(out_sharding, jax.sharding.PartitionSpec):
        if context.empty:
            return _FALLBACK
        sharding = jax.sharding.NamedSharding(context, out_sharding)
    else:
        return _FALLBACK
    spec = sharding.spec
    if getattr(spec, "unreduced", None) or getattr(spec, "reduced", None):
        return _FALLBACK
    if not set(_spec_axes(spec)) <= set(sharding.mesh.explicit_axes):
        return _FALLBACK
    return sharding


def _sharded(
    fn: Callable[..., jax.Array], out_sharding: Sharding, shape: tuple[int, ...], scalar_replicated: bool = True
) -> Callable[..., jax.Array] | None:
    """``fn`` run with its output placed on ``out_sharding`` (None: let jax.random do it)."""
    sharding = _canonical_sharding(out_sharding, shape, scalar_replicated)
    if sharding is _FALLBACK:
        return None
    if sharding is None:
        return fn
    return jax.sharding.auto_axes(fn, out_sharding=sharding, axes=sharding.mesh.explicit_axes)


# ---------------------------------------------------------------------------
# Compiled samplers on raw key data (one trace per shape and dtype)


@functools.partial(jax.jit, static_argnums=(1,))
def _split(key_data: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return threefry.split(key_data, shape)


@jax.jit
def _fold_in(key_data: jax.Array, data: jax.Array) -> jax.Array:
    return threefry.fold_in(key_data, data)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _bits(key_data: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> jax.Array:
    return threefry.random_bits(key_data, dtype.itemsize * 8, shape)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _uniform(key_data: jax.Array, minval: Any, maxval: Any, shape: tuple[int, ...], dtype: np.dtype) -> jax.Array:
    minval = jax.lax.broadcast_to_rank(jax.lax.convert_element_type(minval, dtype), len(shape))
    maxval = jax.lax.broadcast_to_rank(jax.lax.convert_element_type(maxval, dtype), len(shape))
    finfo = jnp.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    rng_bits = 8 if nmant < 8 else nbits
    uint = np.dtype(f"uint{nbits}")
    bits = threefry.random_bits(key_data, rng_bits, shape)
    if rng_bits != nbits:
        bits = jax.lax.convert_element_type(bits, uint)
    # Random mantissa under the exponent of 1.0: a float in [1, 2).
    # numpy constants: jnp.asarray would cost a dispatch each at trace time.
    float_bits = jax.lax.shift_right_logical(bits, np.asarray(rng_bits - nmant, uint))
    float_bits = jax.lax.bitwise_or(float_bits, np.array(1.0, dtype).view(uint))
    floats = jax.lax.sub(jax.lax.bitcast_convert_type(float_bits, dtype), np.array(1.0, dtype))
    return jax.lax.max(minval, jax.lax.reshape(floats * (maxval - minval) + minval, shape))


def _normal_real(key_data: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> jax.Array:
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    hi = np.array(1.0, dtype)
    u = _uniform(key_data, lo, hi, shape, dtype)
    return jax.lax.mul(np.array(np.sqrt(2), dtype), jax.lax.erf_inv(u))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _normal(key_data: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> jax.Array:
    if not jnp.issubdtype(dtype, jnp.complexfloating):
        return _normal_real(key_data, shape, dtype)
    sqrt2 = np.array(np.sqrt(2), dtype)
    real = np.dtype(np.array(0, dtype).real.dtype)
    # Both parts in one pass (keys split(key) = (key_re, key_im)), stored
    # once: the complex arithmetic reads each part twice, and XLA would
    # otherwise fuse (duplicate) the whole hash into every read.
    parts = jax.vmap(lambda k: _normal_real(k, shape, real))(threefry.split(key_data, (2,)))
    parts = jax.lax.optimization_barrier(parts)
    re, im = parts[0].astype(dtype), parts[1].astype(dtype)
    return (re + 1j * im) / sqrt2


@functools.partial(jax.jit, static_argnums=(3, 4))
def _truncated_normal(
    key_data: jax.Array, lower: Any, upper: Any, shape: tuple[int, ...], dtype: np.dtype
) -> jax.Array:
    return _truncate(_uniform(key_data, 0.0, 1.0, shape, dtype), lower, upper)


@jax.jit
def _truncate_jit(f: jax.Array, lower: Any, upper: Any) -> jax.Array:
    return _truncate(f, lower, upper)


def _truncated_normal_fallback(
    key: Any, shape: Any, dtype: Any, lower: Any, upper: Any, out_sharding: Sharding = None
) -> jax.Array:
    """``jax.random.truncated_normal``'s signature: jax.random's uniform bits, transformed as on the fast path."""
    return _truncate_jit(jax.random.uniform(key, shape, dtype, out_sharding=out_sharding), lower, upper)


def _truncate(f: jax.Array, lower: Any, upper: Any) -> jax.Array:
    """jax's truncated normal from ``f``, uniform on [0, 1), with ``u`` kept inside (-1, 1).

    ``u = max(a, f (b - a) + a)`` is jax's uniform on [a, b) = [erf(lower/sqrt2),
    erf(upper/sqrt2)). Where a bound is beyond erf's resolution, ``a`` is -1
    (or ``u`` rounds up to ``b`` = 1), erf_inv gives -inf (+inf) and the clip
    puts the draw on the bound; clamping ``u`` first changes only those draws.
    """
    dtype = f.dtype
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower = jax.lax.convert_element_type(lower, dtype)
    upper = jax.lax.convert_element_type(upper, dtype)
    a = jax.lax.erf(lower / sqrt2)
    b = jax.lax.erf(upper / sqrt2)
    u = jax.lax.max(a, f * (b - a) + a)
    one = np.array(1.0, dtype)
    u = jax.lax.clamp(np.nextafter(-one, one, dtype=dtype), u, np.nextafter(one, -one, dtype=dtype))
    out = sqrt2 * jax.lax.erf_inv(u)
    # Rounding could still reach a bound: clip to the open interval, as jax.
    return jnp.clip(
        out,
        jax.lax.nextafter(jax.lax.stop_gradient(lower), np.array(np.inf, dtype=dtype)),
        jax.lax.nextafter(jax.lax.stop_gradient(upper), np.array(-np.inf, dtype=dtype)),
    )


def _draw(
    fast: Callable[..., jax.Array],
    fallback: Callable[..., jax.Array],
    kind: type,
    key: Any,
    shape: Any,
    dtype: Any,
    args: tuple[Any, ...],
    out_sharding: Sharding,
    scalar_replicated: bool = True,
) -> jax.Array:
    """``fast(key_data, *args, shape=, dtype=)`` where the unrolled path applies, else the fallback.

    The fallback, ``fallback(key, shape, dtype, *args, out_sharding=)``, is
    jax.random (or, for the truncated normal, jax.random's bits), which also
    raises jax's own errors and warnings.
    """
    data = _key_data(key)
    shape_ = _static_shape(shape)
    dtype_ = _canonical_dtype(dtype, kind)
    fn = None
    if data is not None and shape_ is not None and dtype_ is not None and _is_scalar(*args):
        fn = _sharded(functools.partial(fast, shape=shape_, dtype=dtype_), out_sharding, shape_, scalar_replicated)
    if fn is None:
        return fallback(key, shape, dtype, *args, out_sharding=out_sharding)
    return fn(data, *args)


# ---------------------------------------------------------------------------
# Public functions (jax.random's signatures and values)


def split(key: jax.Array, num: int | tuple[int, ...] = 2) -> jax.Array:
    """``jax.random.split(key, num)``: ``num`` new keys (of the same kind as ``key``).

    Key ``i`` is the Threefry hash of the counter ``(0, i)`` (partitionable layout).

    Args:
      key: a typed key or a legacy uint32[2] key.
      num: the number (or shape) of keys.

    Returns:
      Keys of shape ``num`` (legacy: ``(*num, 2)`` uint32).
    """
    data = _key_data(key)
    shape = _static_shape(tuple(num) if isinstance(num, Sequence) else (num,))
    if data is None or shape is None:
        return jax.random.split(key, num)
    return _wrap_like(key, _split(data, shape))


def fold_in(key: jax.Array, data: Any) -> jax.Array:
    """``jax.random.fold_in(key, data)``: the key hashed with the counter ``(0, uint32(data))``.

    Args:
      key: a typed key or a legacy uint32[2] key.
      data: a 32-bit integer scalar (may be traced).

    Returns:
      A new key of the same kind as ``key``.
    """
    key_data = _key_data(key)
    if key_data is None or np.ndim(data) != 0:
        return jax.random.fold_in(key, data)
    return _wrap_like(key, _fold_in(key_data, jnp.asarray(data, dtype="uint32")))


def bits(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.uint32, out_sharding: Sharding = None) -> jax.Array:
    """``jax.random.bits``: uniform unsigned integers of ``dtype``'s width (an unsigned integer dtype).

    32-bit: ``y0 ^ y1`` of the Threefry hash of each element's row-major
    index; 64-bit: ``(y0 << 32) | y1``; 8/16-bit: the low bits of ``y0 ^ y1``.
    """
    return _draw(_bits, jax.random.bits, np.unsignedinteger, key, shape, dtype, (), out_sharding)


def uniform(
    key: jax.Array,
    shape: tuple[int, ...],
    dtype: np.dtype,
    minval: float = 0.0,
    maxval: float = 1.0,
    out_sharding: Sharding = None,
) -> jax.Array:
    """``jax.random.uniform``: U[minval, maxval) in ``dtype``, a float dtype (``minval`` inclusive, ``maxval`` not)."""
    return _draw(_uniform, jax.random.uniform, np.floating, key, shape, dtype, (minval, maxval), out_sharding)


def normal(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype, out_sharding: Sharding = None) -> jax.Array:
    """``jax.random.normal``: standard normal in a float ``dtype``, circular complex normal (E|z|^2 = 1) in complex."""
    return _draw(_normal, jax.random.normal, np.inexact, key, shape, dtype, (), out_sharding)


def truncated_normal(
    key: jax.Array,
    lower: float,
    upper: float,
    shape: tuple[int, ...],
    dtype: np.dtype,
    out_sharding: Sharding = None,
) -> jax.Array:
    """``jax.random.truncated_normal``: a standard normal truncated to (lower, upper), scalar bounds, a float ``dtype``.

    jax's values, except that no draw lands on a bound beyond erf's
    resolution (see the module docstring). The fallback for other keys
    draws jax.random's uniform bits and transforms them the same way.
    """
    return _draw(
        _truncated_normal,
        _truncated_normal_fallback,
        np.floating,
        key,
        shape,
        dtype,
        (lower, upper),
        out_sharding,
        scalar_replicated=False,
    )
