"""Every error message of the core, matched.

One test (or parameter) per ``raise`` in jinit/_src/{validation, base, fans,
basic, variance_scaling, orthogonal, constant, stacked, quadrature,
activations, gain, testing, registry, cli}.py. Each message reads
``jinit.NAME: what it needs; got VALUE.``: the public callable, the
parameter in backticks, the bad value.
"""

from __future__ import annotations

import inspect
import math
import re

import jax
import jax.numpy as jnp
import law_cases
import numpy as np
import pytest

import jinit
from jinit._src.core import base, fans, validation
from jinit._src.diagnostics import catalog
from jinit._src.diagnostics.testing import LawCheck
from jinit._src.theory import quadrature
from jinit._src.theory.activations import get_activation
from jinit._src.theory.gain import second_moment

KEY = jax.random.key(0)


def raises(exc, pattern):
    """pytest.raises with the message matched from its start (every message names its callable)."""
    return pytest.raises(exc, match="^" + pattern)


# ---------------------------------------------------------------------------
# Hyperparameters (validation.real_scalar, positive, non_negative, choice)


@pytest.mark.parametrize(
    ("value", "exc", "pattern"),
    [
        ("0.1", TypeError, r"jinit\.normal: `stddev` must be a real number; got '0\.1'\."),
        (True, TypeError, r"jinit\.normal: `stddev` must be a real number; got True\."),
        (None, TypeError, r"jinit\.normal: `stddev` must be a real number; got None\."),
        (1 + 0j, TypeError, r"jinit\.normal: `stddev` must be a real number; got \(1\+0j\)\."),
        (
            np.array([0.1, 0.2]),
            TypeError,
            r"jinit\.normal: `stddev` must be a real scalar; got array\(\[0\.1, 0\.2\]\)\.",
        ),
        (np.array("x"), TypeError, r"jinit\.normal: `stddev` must be a real scalar; got array\('x'"),
        (np.array(1 + 2j), TypeError, r"jinit\.normal: `stddev` must be a real number; got \(1\+2j\)\."),
        (float("nan"), ValueError, r"jinit\.normal: `stddev` must be finite; got stddev=nan\."),
        (float("-inf"), ValueError, r"jinit\.normal: `stddev` must be finite; got stddev=-inf\."),
        (0.0, ValueError, r"jinit\.normal: `stddev` must be positive; got stddev=0\.0\."),
        (-2, ValueError, r"jinit\.normal: `stddev` must be positive; got stddev=-2\."),
    ],
    ids=repr,
)
def test_real_scalar_and_positive(value, exc, pattern):
    with raises(exc, pattern):
        jinit.normal(value)


def test_accepts_numpy_and_jax_scalars():
    assert jinit.normal(np.float32(0.5)) == jinit.normal(0.5)
    assert jinit.normal(jnp.asarray(0.5)) == jinit.normal(0.5)
    assert jinit.normal(np.array(2)) == jinit.normal(2.0)


def test_traced_hyperparameter():
    def build(stddev):
        return jinit.normal(stddev)(KEY, (2,))

    with raises(TypeError, r"jinit\.normal: `stddev` must be a concrete number, not a traced value; got "):
        jax.jit(build)(0.5)


def test_non_negative():
    assert validation.non_negative("some_factory", "alpha", 0.0) == 0.0
    with raises(ValueError, r"jinit\.some_factory: `alpha` must be non-negative; got alpha=-0\.5\."):
        validation.non_negative("some_factory", "alpha", -0.5)


def test_choice():
    with raises(
        ValueError,
        r"jinit\.variance_scaling: `mode` must be one of 'fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg'; "
        r"got mode='FAN_IN'\.",
    ):
        jinit.variance_scaling(1.0, "FAN_IN", "normal")
    with raises(ValueError, r"jinit\.variance_scaling: `distribution` must be one of .*; got distribution=None\."):
        jinit.variance_scaling(1.0, "fan_in", None)


@pytest.mark.parametrize(
    ("factory", "param", "kwargs"),
    [
        ("uniform", "scale", {"scale": -1.0}),
        ("truncated_normal", "stddev", {"stddev": 0.0}),
        ("orthogonal", "scale", {"scale": -1.0}),
        ("delta_orthogonal", "scale", {"scale": 0.0}),
        ("variance_scaling", "scale", {"scale": -1.0, "mode": "fan_in", "distribution": "normal"}),
    ],
)
def test_positive_per_factory(factory, param, kwargs):
    with raises(ValueError, rf"jinit\.{factory}: `{param}` must be positive; got {param}="):
        getattr(jinit, factory)(**kwargs)


def test_constant_value():
    with raises(ValueError, r"jinit\.constant: `value` must be finite; got value=inf\."):
        jinit.constant(float("inf"))
    with raises(TypeError, r"jinit\.constant: `value` must be a real number; got '1'\."):
        jinit.constant("1")


# ---------------------------------------------------------------------------
# Axes (validation.axes, fans)


@pytest.mark.parametrize(
    ("value", "exc", "pattern"),
    [
        (True, TypeError, r"jinit\.glorot_uniform: `in_axis` must be an int or a sequence of ints; got True\."),
        (
            (0, 1.5),
            TypeError,
            r"jinit\.glorot_uniform: `in_axis` must be an int or a sequence of ints; got \(0, 1\.5\)\.",
        ),
        (
            (0, False),
            TypeError,
            r"jinit\.glorot_uniform: `in_axis` must be an int or a sequence of ints; got \(0, False\)\.",
        ),
        ("0", TypeError, r"jinit\.glorot_uniform: `in_axis` must be an int or a sequence of ints; got '0'\."),
        (1.0, TypeError, r"jinit\.glorot_uniform: `in_axis` must be an int or a sequence of ints; got 1\.0\."),
        ((0, 0), ValueError, r"jinit\.glorot_uniform: `in_axis` must not repeat an axis; got in_axis=\(0, 0\)\."),
    ],
    ids=repr,
)
def test_axes(value, exc, pattern):
    with raises(exc, pattern):
        jinit.glorot_uniform(in_axis=value)


def test_axes_accepts_lists_as_tuples():
    assert jinit.glorot_uniform(in_axis=[0, 1]) == jinit.glorot_uniform(in_axis=(0, 1))


def test_axis_out_of_range():
    with raises(ValueError, r"jinit\.he_normal: `out_axis`=5 is out of range for a shape of rank 2\."):
        jinit.he_normal(out_axis=5)(KEY, (4, 4))
    with raises(ValueError, r"jinit\.he_normal: `batch_axis`=\(-3,\) is out of range for a shape of rank 2\."):
        jinit.he_normal(batch_axis=(-3,))(KEY, (4, 4))


def test_rank_below_two_with_default_in_axis():
    with raises(
        ValueError,
        r"jinit\.lecun_normal: shape needs at least 2 dimensions with the default `in_axis`=-2 "
        r"\(pass `in_axis` and `out_axis` for other ranks\); got shape=\(5,\)\.",
    ):
        jinit.lecun_normal()(KEY, (5,))
    # With explicit axes a vector is fine (as in jax).
    assert jinit.lecun_normal(in_axis=0, out_axis=())(KEY, (5,)).shape == (5,)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"batch_axis": -2}, r"`in_axis` and `batch_axis` share an axis; got in_axis=\(1,\), batch_axis=\(1,\)"),
        (
            {"batch_axis": (0, 2)},
            r"`out_axis` and `batch_axis` share an axis; got out_axis=\(2,\), batch_axis=\(0, 2\)",
        ),
    ],
)
def test_shared_axes(kwargs, pattern):
    with raises(ValueError, r"jinit\.he_uniform: " + pattern):
        jinit.he_uniform(**kwargs)(KEY, (3, 4, 5))


def test_torch_fans_rank():
    assert fans.torch_fans("torch.xavier_uniform", (3, 4, 5), "torch") == (4 * 5, 3 * 5)
    assert fans.torch_fans("torch.xavier_uniform", (5, 4, 3), "flax") == (4 * 5, 3 * 5)
    with raises(
        ValueError, r"jinit\.torch\.xavier_uniform: fans need an array of at least 2 dimensions; got shape=\(3,\)\."
    ):
        fans.torch_fans("torch.xavier_uniform", (3,), "torch")


# ---------------------------------------------------------------------------
# Call arguments: shape, dtype, key (validation.shape, dtype, key)


@pytest.mark.parametrize(
    ("shape", "exc", "pattern"),
    [
        ("ab", TypeError, r"jinit\.normal: `shape` must be a tuple of ints; got shape='ab'\."),
        (2.5, TypeError, r"jinit\.normal: `shape` must be a tuple of ints; got shape=2\.5\."),
        (None, TypeError, r"jinit\.normal: `shape` must be a tuple of ints; got shape=None\."),
        ((2, True), TypeError, r"jinit\.normal: `shape` must be a tuple of ints; got shape=\(2, True\)\."),
        ((2, 1.0), TypeError, r"jinit\.normal: `shape` must be a tuple of ints; got shape=\(2, 1\.0\)\."),
        ([2, "3"], TypeError, r"jinit\.normal: `shape` must be a tuple of ints; got shape=\(2, '3'\)\."),
        ((2, -1), ValueError, r"jinit\.normal: `shape` must not have negative sizes; got shape=\(2, -1\)\."),
    ],
    ids=repr,
)
def test_shape(shape, exc, pattern):
    with raises(exc, pattern):
        jinit.normal()(KEY, shape)
    with raises(exc, pattern):
        jinit.normal().moments(shape)


def test_shape_accepts_ints_and_numpy_ints():
    assert jinit.normal()(KEY, 3).shape == (3,)
    assert jinit.normal()(KEY, (np.int64(2), np.int32(3))).shape == (2, 3)
    assert jinit.normal()(KEY, [2, 3]).shape == (2, 3)


def test_dtype():
    with raises(TypeError, r"jinit\.normal: `dtype` must be a dtype; got dtype='not_a_dtype'\."):
        jinit.normal()(KEY, (2,), "not_a_dtype")
    with raises(ValueError, r"jinit\.normal: `dtype` must be a floating-point or complex dtype; got dtype=int32\."):
        jinit.normal()(KEY, (2,), jnp.int32)
    with raises(ValueError, r"jinit\.uniform: `dtype` must be a floating-point dtype; got dtype=complex64\."):
        jinit.uniform()(KEY, (2,), jnp.complex64)
    with raises(ValueError, r"jinit\.uniform: `dtype` must be a floating-point dtype; got dtype=bool\."):
        jinit.uniform().moments((2,), bool)
    # The factory's dtype is checked by the factory, with the same message.
    with raises(ValueError, r"jinit\.he_normal: `dtype` must be a floating-point or complex dtype; got dtype=int8\."):
        jinit.he_normal(dtype=jnp.int8)


def _public(name: str):
    """The public object ``jinit.<name>`` (dotted: ``torch.xavier_uniform``)."""
    obj = jinit
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _takes_dtype(entry: catalog.Entry) -> bool:
    obj = _public(entry.name)
    return not hasattr(obj, "moments") and "dtype" in inspect.signature(obj).parameters


@pytest.mark.parametrize("entry", [e for e in catalog.entries() if _takes_dtype(e)], ids=lambda e: e.name)
def test_every_factory_checks_and_stores_its_dtype(entry: catalog.Entry) -> None:
    # The catalog's own arguments for the scheme, so each factory is built as `jinit check` builds it.
    given = inspect.getclosurevars(entry.make).nonlocals
    assert {"args", "kwargs"} <= set(given), f"{entry.name}: catalog entry not built by catalog._factory"

    def make(dtype):
        return _public(entry.name)(*given["args"], **given["kwargs"], dtype=dtype)

    name = re.escape(entry.name)
    # At once, in the factory, not at the first call.
    with raises(TypeError, rf"jinit\.{name}: `dtype` must be a dtype; got dtype='flaot32'\."):
        make("flaot32")
    with raises(TypeError, rf"jinit\.{name}: `dtype` must be a dtype; got dtype=\[1\]\."):
        make([1])
    with raises(ValueError, rf"jinit\.{name}: `dtype` must be a floating-point( or complex)? dtype; got dtype=int32\."):
        make(jnp.int32)
    # Stored as a numpy dtype: every spelling gives an equal, equally hashed initializer.
    spellings = [make(d) for d in (jnp.float32, "float32", np.float32, np.dtype("float32"), jnp.dtype("float32"))]
    for init in spellings:
        assert init.dtype == np.dtype("float32") and isinstance(init.dtype, np.dtype)
        assert init == spellings[0] and hash(init) == hash(spellings[0])
    assert "float32" in repr(spellings[0])
    assert make(jnp.bfloat16) != spellings[0]
    assert make(None).dtype is None


@pytest.mark.parametrize(
    ("key", "exc", "pattern"),
    [
        (
            jax.random.split(KEY, 2),
            ValueError,
            r"jinit\.normal: `key` must be a single key \(use jax\.vmap for a batch\); got shape \(2,\)\.",
        ),
        (
            0,
            TypeError,
            r"jinit\.normal: `key` must be a PRNG key \(jax\.random\.key\(seed\) or a uint32\[2\] key\); got 0\.",
        ),
        (
            jnp.zeros(2, jnp.float32),
            TypeError,
            r"jinit\.normal: `key` must be a PRNG key .*; got an array of dtype float32 and shape \(2,\)\.",
        ),
        (
            jnp.zeros((2, 2), jnp.uint32),
            TypeError,
            r"jinit\.normal: `key` must be a PRNG key .*; got an array of dtype uint32 and shape \(2, 2\)\.",
        ),
    ],
    ids=["batched", "int", "float-array", "uint32-2x2"],
)
def test_key(key, exc, pattern):
    with raises(exc, pattern):
        jinit.normal()(key, (2,))


# ---------------------------------------------------------------------------
# basic: truncated_normal


def test_truncated_normal_errors():
    with raises(TypeError, r"jinit\.truncated_normal: `lower` must be a real number; got '-2'\."):
        jinit.truncated_normal(1.0, lower="-2")
    with raises(TypeError, r"jinit\.truncated_normal: `upper` must be a real number; got True\."):
        jinit.truncated_normal(1.0, upper=True)
    with raises(ValueError, r"jinit\.truncated_normal: `upper` must not be NaN; got upper=nan\."):
        jinit.truncated_normal(1.0, upper=float("nan"))
    with raises(
        ValueError, r"jinit\.truncated_normal: `lower` must be less than `upper`; got lower=1\.0, upper=1\.0\."
    ):
        jinit.truncated_normal(1.0, lower=1.0, upper=1.0)
    with raises(
        ValueError,
        r"jinit\.truncated_normal: the interval \(`lower`, `upper`\) must hold at least 0\.0001 of the normal mass "
        r"for the sampler to be exact; got lower=4\.0, upper=5\.0 \(mass 3\.14e-05\)\.",
    ):
        jinit.truncated_normal(1.0, lower=4.0, upper=5.0)
    # Infinite bounds are a normal (half-normal) law, not an error.
    assert jinit.truncated_normal(1.0, lower=0.0, upper=float("inf")).moments((2,)).bound is None


# ---------------------------------------------------------------------------
# orthogonal, delta_orthogonal, eye


def test_orthogonal_errors():
    with raises(ValueError, r"jinit\.orthogonal: shape needs at least 2 dimensions; got shape=\(5,\)\."):
        jinit.orthogonal()(KEY, (5,))
    with raises(
        ValueError,
        r"jinit\.orthogonal: `column_axis` must not be a batch axis; got column_axis=-1, batch_axis=2\.",
    ):
        jinit.orthogonal(batch_axis=2)(KEY, (2, 3, 4))
    with raises(
        ValueError,
        r"jinit\.orthogonal: each slice needs at least 2 dimensions besides `batch_axis`; "
        r"got shape=\(3, 4\), batch_axis=0\.",
    ):
        jinit.orthogonal(batch_axis=0)(KEY, (3, 4))
    with raises(ValueError, r"jinit\.orthogonal: `column_axis`=2 is out of range for a shape of rank 2\."):
        jinit.orthogonal(column_axis=2)(KEY, (3, 4))
    with raises(TypeError, r"jinit\.orthogonal: `column_axis` must be an int; got column_axis=1\.0\."):
        jinit.orthogonal(column_axis=1.0)
    with raises(TypeError, r"jinit\.orthogonal: `column_axis` must be an int; got column_axis=True\."):
        jinit.orthogonal(column_axis=True)
    with raises(
        ValueError, r"jinit\.orthogonal: `method` must be one of 'auto', 'qr', 'householder'; got method='svd'\."
    ):
        jinit.orthogonal(method="svd")
    with raises(ValueError, r"jinit\.delta_orthogonal: `method` must be one of .*; got method=None\."):
        jinit.delta_orthogonal(method=None)
    with raises(
        ValueError,
        r"jinit\.orthogonal: method='householder' builds real matrices; got dtype=complex64 "
        r"\(use method='qr' or 'auto' for unitary ones\)\.",
    ):
        jinit.orthogonal(method="householder")(KEY, (4, 4), jnp.complex64)


def test_delta_orthogonal_errors():
    with raises(ValueError, r"jinit\.delta_orthogonal: shape needs 3, 4 or 5 dimensions; got shape=\(4, 4\)\."):
        jinit.delta_orthogonal()(KEY, (4, 4))
    with raises(
        ValueError, r"jinit\.delta_orthogonal: shape needs 3, 4 or 5 dimensions; got shape=\(1, 1, 1, 1, 4, 4\)\."
    ):
        jinit.delta_orthogonal()(KEY, (1, 1, 1, 1, 4, 4))
    with raises(
        ValueError,
        r"jinit\.delta_orthogonal: needs in <= out \(shape\[-2\] <= shape\[-1\]\) for an orthogonal centre tap; "
        r"got shape=\(3, 8, 4\)\.",
    ):
        jinit.delta_orthogonal()(KEY, (3, 8, 4))
    for bad in (2, -3):
        with raises(
            ValueError,
            rf"jinit\.delta_orthogonal: `column_axis` must index the \(in, out\) matrix \(-1 or -2\); got {bad!r}\.",
        ):
            jinit.delta_orthogonal(column_axis=bad)


def test_eye_errors():
    with raises(ValueError, r"jinit\.eye: shape needs at least 2 dimensions; got shape=\(3,\)\."):
        jinit.eye()(KEY, (3,))
    with raises(ValueError, r"jinit\.eye: `gain` must be non-zero \(use jinit\.zeros\); got gain=0\.0\."):
        jinit.eye(0.0)
    with raises(ValueError, r"jinit\.eye: `gain` must be finite; got gain=nan\."):
        jinit.eye(float("nan"))


# ---------------------------------------------------------------------------
# stacked


def test_stacked_errors():
    with raises(TypeError, r"jinit\.stacked: `init` must be an initializer; got 3\."):
        jinit.stacked(3, 2)
    with raises(TypeError, r"jinit\.stacked: `n` must be an int; got n=2\.0\."):
        jinit.stacked(jinit.he_normal(), 2.0)
    with raises(TypeError, r"jinit\.stacked: `n` must be an int; got n=True\."):
        jinit.stacked(jinit.he_normal(), True)
    with raises(ValueError, r"jinit\.stacked: `n` must be at least 1; got n=0\."):
        jinit.stacked(jinit.he_normal(), 0)
    with raises(ValueError, r"jinit\.stacked: shape must start with n=3; got shape=\(4, 8, 8\)\."):
        jinit.stacked(jinit.he_normal(), 3)(KEY, (4, 8, 8))
    with raises(ValueError, r"jinit\.stacked: shape must start with n=3; got shape=\(\)\."):
        jinit.stacked(jinit.normal(), 3)(KEY, ())
    # The inner initializer's own errors name it.
    with raises(ValueError, r"jinit\.he_normal: shape needs at least 2 dimensions"):
        jinit.stacked(jinit.he_normal(), 3)(KEY, (3, 8))


# ---------------------------------------------------------------------------
# base: the protocol plumbing


def test_base_has_no_sampler_or_law():
    bare = base.InitializerBase(name="bare")
    with pytest.raises(NotImplementedError):
        bare(KEY, (2,))
    with pytest.raises(NotImplementedError):
        bare.moments((2,))


# ---------------------------------------------------------------------------
# activations, gain, quadrature


def test_activation_errors():
    with raises(ValueError, r"jinit\.gain: `param` applies to named activations only; got param=0\.1\."):
        jinit.gain(jnp.tanh, 0.1)
    with raises(TypeError, r"jinit\.gain: `activation` must be a name or a callable; got 3\."):
        jinit.gain(3)
    with raises(
        ValueError,
        r"jinit\.gain: unknown activation 'relu7'; known: linear, identity, relu, .* \(or pass a callable\)\.",
    ):
        jinit.gain("relu7")
    with raises(ValueError, r"jinit\.gain: activation 'tanh' takes no `param`; got param=0\.2\."):
        jinit.gain("tanh", 0.2)
    with raises(ValueError, r"jinit\.gain: `param` must be finite; got param=nan\."):
        jinit.gain("leaky_relu", float("nan"))
    with raises(ValueError, r"jinit\.recommend: unknown activation 'nope'"):
        jinit.recommend("nope")
    with raises(ValueError, r"jinit\.recommend_reason: unknown activation 'nope'"):
        jinit.recommend_reason("nope")
    # Names are case-insensitive.
    assert get_activation("ReLU", caller="gain").name == "relu"


def test_gain_needs_a_positive_second_moment():
    with raises(
        ValueError, r"jinit\.gain: E\[phi\(z\)\^2\] must be positive and finite for a gain; got 0\.0 for <lambda>\."
    ):
        jinit.gain(lambda x: 0.0 * x)
    with raises(ValueError, r"jinit\.gain: E\[phi\(z\)\^2\] must be positive and finite for a gain; got nan for "):
        jinit.gain(lambda x: jnp.log(x))
    with raises(ValueError, r"jinit\.second: E\[phi\(z\)\^2\] must be positive"):
        second_moment(lambda x: 0.0 * x, caller="second")


def test_quadrature_method():
    with raises(ValueError, r"jinit\.quadrature: `method` must be 'split' or 'hermite'; got 'simpson'\."):
        quadrature.nodes(method="simpson")


# ---------------------------------------------------------------------------
# testing, registry


class _NoLaw:
    name = "no_law"

    def __call__(self, key, shape, dtype=None, out_sharding=None):
        return jnp.zeros(shape)


def test_check_moments_errors():
    with raises(TypeError, r"jinit\.testing\.check_moments: no_law has no `moments` method\."):
        jinit.testing.check_moments(_NoLaw(), (2, 2), key=KEY)
    with raises(ValueError, r"jinit\.testing\.check_moments: he_normal defines no law for shape=\(0, 4\)\."):
        jinit.testing.check_moments(jinit.he_normal(), (0, 4), key=KEY)
    with raises(ValueError, r"jinit\.testing\.check_moments: he_normal defines no law for shape=\(0, 4\)\."):
        jinit.testing.assert_moments(jinit.he_normal(), [0, 4], key=KEY)


def test_law_check_get_unknown_statistic():
    check = LawCheck("x", (2,), "float32", jinit.Moments(0.0, 1.0), ())
    with pytest.raises(KeyError, match="skewness"):
        check.get("skewness")


def test_catalog_get_unknown():
    with raises(ValueError, r"jinit\.catalog\.get: unknown scheme 'nope'; known: glorot_uniform, "):
        catalog.get("nope")
    with raises(TypeError, r"jinit\.catalog\.get: `name` must be a scheme name \(a str\); got 3\."):
        catalog.get(3)
    assert catalog.get("he_normal").name == "he_normal"


# ---------------------------------------------------------------------------
# Every error any registry scheme raises for a bad call reads "jinit.NAME: ..."


MESSAGE = re.compile(r"^jinit\.[\w.]+: \S.*\.$", re.S)


@pytest.mark.parametrize("entry", law_cases.entries(), ids=lambda e: e.name)
def test_registry_errors_follow_the_template(entry):
    init = entry.make()
    for args in ((KEY, (2, -1)), (KEY, "x"), (KEY, (4, 8, 16), jnp.int32), (0, (4, 8, 16)), (KEY, (4, 8, 16), "nope")):
        with pytest.raises((ValueError, TypeError)) as info:
            init(*args)
        assert MESSAGE.match(str(info.value)), str(info.value)


# ---------------------------------------------------------------------------
# Laws that do not fit the dtype (raised at the call, where the dtype is known)


def test_law_beyond_the_dtype():
    with raises(ValueError, r"jinit\.normal: draws reach 9e\+10, beyond the largest finite float16 \(6\.55e\+04\); "):
        jinit.normal(1e10)(KEY, (3,), jnp.float16)
    with raises(ValueError, r"jinit\.orthogonal: draws reach 7e\+04, beyond the largest finite float16"):
        jinit.orthogonal(7e4)(KEY, (4, 4), jnp.float16)


def test_law_below_the_dtype():
    with raises(
        ValueError,
        r"jinit\.normal: the standard deviation 1e-30 is below the smallest normal float16 \(6\.1e-05\), so draws "
        r"would flush to zero; use a wider dtype or a larger scale; got shape=\(3,\)\.",
    ):
        jinit.normal(1e-30)(KEY, (3,), jnp.float16)
    # The same law fits float32; a constant that rounds to zero is just rounded, as a cast would.
    assert jinit.normal(1e-30)(KEY, (3,), jnp.float32).shape == (3,)
    assert not np.asarray(jinit.constant(1e-30)(KEY, (3,), jnp.float16)).any()


def test_variance_scaling_variance_must_fit():
    with raises(
        ValueError,
        r"jinit\.variance_scaling: the variance scale / fan = 5e\+05 must lie within float16's range "
        r"\[5\.96e-08, 6\.55e\+04\], as it is rounded to it; use a wider dtype or other hyperparameters; "
        r"got shape=\(2, 2\)\.",
    ):
        jinit.variance_scaling(1e6, "fan_in", "normal")(KEY, (2, 2), jnp.float16)
    with raises(ValueError, r"jinit\.variance_scaling: 3 scale / fan \(the uniform's squared bound\) = 7\.5e\+04 must"):
        jinit.variance_scaling(5e4, "fan_in", "uniform")(KEY, (2, 2), jnp.float16)
    with raises(ValueError, r"jinit\.variance_scaling: the variance scale / fan = 5e-09 must lie within float16's"):
        jinit.variance_scaling(1e-8, "fan_in", "normal")(KEY, (2, 2), jnp.float16)


def test_truncated_normal_stddev_must_fit():
    with raises(
        ValueError,
        r"jinit\.truncated_normal: `stddev` = 1e\+06 must lie within float16's range \[5\.96e-08, 6\.55e\+04\]",
    ):
        jinit.truncated_normal(1e6, None, -1e-3, 1e-3)(KEY, (3,), jnp.float16)


# ---------------------------------------------------------------------------
# Errors that point at the cause: a key where a hyperparameter belongs, a shape where the key belongs


def _public(name: str):
    """The public object of a catalog name (``torch.uniform`` -> ``jinit.torch.uniform``)."""
    obj = jinit
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _takes_a_hyperparameter_first(factory) -> bool:
    """A factory whose first parameter is a positional hyperparameter (not an initializer or activation)
    and that needs at most two positional arguments: ``f(key, shape)`` (or ``f(key)``) reaches it."""
    params = list(inspect.signature(factory).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    return bool(positional) and positional[0].name not in ("init", "activation") and len(required) <= 2


FACTORIES = [
    e.name
    for e in catalog.entries()
    if not hasattr(_public(e.name), "moments") and _takes_a_hyperparameter_first(_public(e.name))
]


@pytest.mark.parametrize("legacy", [False, True], ids=["typed", "legacy"])
@pytest.mark.parametrize("name", FACTORIES)
def test_a_key_where_a_hyperparameter_belongs(name: str, legacy: bool) -> None:
    key = jax.random.key_data(KEY) if legacy else KEY
    factory = _public(name)
    params = inspect.signature(factory).parameters.values()
    args = (key, (4, 4)) if sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in params) >= 2 else (key,)
    with raises(
        TypeError,
        rf"jinit\.{re.escape(name)}: got a PRNG key where a hyperparameter belongs; build the initializer first: "
        rf"jinit\.{re.escape(name)}\(\)\(key, shape\)\.$",
    ):
        factory(*args)


def test_a_key_where_a_hyperparameter_belongs_the_issue_example() -> None:
    assert {"he_normal", "normal", "constant", "orthogonal", "torch.uniform", "gpt2_residual"} <= set(FACTORIES)
    with raises(TypeError, r"jinit\.he_normal: got a PRNG key where a hyperparameter belongs; build the initializer"):
        jinit.he_normal(KEY, (4, 4))
    with raises(TypeError, r"jinit\.stacked: got a PRNG key where a hyperparameter belongs"):
        jinit.stacked(KEY, 4)
    # Checked in every helper: a key passed by keyword is caught too.
    with raises(TypeError, r"jinit\.variance_scaling: got a PRNG key where a hyperparameter belongs"):
        jinit.variance_scaling(1.0, "fan_in", "normal", batch_axis=KEY)
    with raises(TypeError, r"jinit\.fixup: got a PRNG key"):
        jinit.fixup(16, 2, mode=KEY)


@pytest.mark.parametrize("shape_type", [tuple, list])
@pytest.mark.parametrize("entry", law_cases.entries(), ids=lambda e: e.name)
def test_called_as_shape_dtype(entry, shape_type) -> None:
    init = entry.make()
    shape = shape_type((4, 8))
    with raises(
        TypeError,
        rf"jinit\.{re.escape(init.name)}: the first argument must be a PRNG key; got shape=\(4, 8\)\. Haiku and "
        r"keras call initializers as \(shape, dtype\): wrap it with jinit\.interop\.haiku\(init\) or "
        r"jinit\.interop\.keras\(init\)\.$",
    ):
        init(shape, jnp.float32)


def test_a_non_key_that_is_no_shape_keeps_the_key_message() -> None:
    with raises(
        TypeError, r"jinit\.normal: `key` must be a PRNG key \(jax\.random\.key\(seed\) or a uint32\[2\] key\); got 3\."
    ):
        jinit.normal()(3, (4,))
    with raises(TypeError, r"jinit\.normal: `key` must be a PRNG key"):
        jinit.normal()((4.0, 8.0), (4,))


@pytest.mark.parametrize(
    "shape",
    [np.array([4, 8]), jnp.array([4, 8]), (np.int64(4), np.int32(8)), [np.uint8(4), 8], np.array([4, 8], np.uint16)],
    ids=["numpy", "jax", "numpy-scalars", "list-mixed", "uint16"],
)
def test_shape_as_an_integer_array_is_accepted_as_jax_accepts_it(shape) -> None:
    for init in (jinit.he_normal(), jinit.orthogonal(), jinit.zeros, jinit.torch.kaiming_uniform()):
        out = init(KEY, shape)
        assert out.shape == (4, 8)
        np.testing.assert_array_equal(np.asarray(out), np.asarray(init(KEY, (4, 8))))
        assert init.moments(shape) == init.moments((4, 8))
    # A 0-d integer array is a length, as an int is.
    assert jinit.normal()(KEY, np.array(5)).shape == (5,)
    np.testing.assert_array_equal(
        np.asarray(jax.nn.initializers.he_normal()(KEY, np.array([4, 8]))), np.asarray(jinit.he_normal()(KEY, (4, 8)))
    )


def test_shape_arrays_that_are_not_shapes() -> None:
    with raises(
        TypeError,
        r"jinit\.normal: `shape` must be a tuple of ints \(a static shape\); got shape=array\(\[4\., 8\.\]\)\.",
    ):
        jinit.normal()(KEY, np.array([4.0, 8.0]))
    with raises(
        TypeError,
        r"jinit\.normal: `shape` must be a tuple of ints \(a static shape\); got shape=array\(\[\[4, 8\]\]\)\.",
    ):
        jinit.normal()(KEY, np.array([[4, 8]]))
    with raises(ValueError, r"jinit\.normal: `shape` must not have negative sizes; got shape=\(4, -8\)\."):
        jinit.normal()(KEY, np.array([4, -8]))
    with raises(TypeError, r"jinit\.normal: `shape` must be a tuple of ints \(a static shape\); got shape=\w*Tracer"):
        jax.jit(lambda s: jinit.normal()(KEY, s))(jnp.array([4, 8]))


def test_delta_orthogonal_column_axis_array() -> None:
    with raises(
        TypeError, r"jinit\.delta_orthogonal: `column_axis` must be an int; got column_axis=array\(\[1, 2\]\)\."
    ):
        jinit.delta_orthogonal(column_axis=np.array([1, 2]))
    with raises(TypeError, r"jinit\.delta_orthogonal: `column_axis` must be an int; got column_axis=True\."):
        jinit.delta_orthogonal(column_axis=True)
    # A one-element integer array is that int.
    assert jinit.delta_orthogonal(column_axis=np.array(-2)) == jinit.delta_orthogonal(column_axis=-2)


# ---------------------------------------------------------------------------
# constant with an array value


def test_constant_array_errors() -> None:
    init = jinit.constant([1.0, 2.0, 3.0])
    with raises(
        ValueError, r"jinit\.constant: `value` of shape \(3,\) does not broadcast to the shape; got shape=\(2, 4\)\."
    ):
        init(KEY, (2, 4))
    with raises(
        ValueError, r"jinit\.constant: `value` of shape \(3,\) does not broadcast to the shape; got shape=\(\)\."
    ):
        init.moments(())
    with raises(
        TypeError,
        r"jinit\.constant: `value` must be a real number or an array of them; got value=\[\[1\.0\], \[2\.0, 3\.0\]\]\.",
    ):
        jinit.constant([[1.0], [2.0, 3.0]])
    with raises(
        TypeError,
        r"jinit\.constant: `value` must be a real number or an array of them; got an array of dtype complex128\.",
    ):
        jinit.constant(np.array([1 + 2j, 3]))
    with raises(
        TypeError, r"jinit\.constant: `value` must be a real number or an array of them; got an array of dtype bool\."
    ):
        jinit.constant([True, False])
    with raises(
        TypeError, r"jinit\.constant: `value` must be a real number or an array of them; got an array of dtype <U1\."
    ):
        jinit.constant(["a"])
    with raises(ValueError, r"jinit\.constant: `value` must be finite; got value=\[1\.0, inf\]\."):
        jinit.constant([1.0, math.inf])
    with raises(TypeError, r"jinit\.constant: `value` must be concrete, not a traced value; got \w*Tracer"):
        jax.jit(lambda v: jinit.constant(v)(KEY, (3,)))(jnp.ones(3))
    with raises(ValueError, r"jinit\.constant: draws reach 1e\+05, beyond the largest finite float16"):
        jinit.constant([1.0, -1e5])(KEY, (2,), jnp.float16)


def test_a_call_without_a_shape_names_the_shape():
    with pytest.raises(TypeError, match=r"^jinit\.he_normal: `shape` must be a tuple of ints; got shape=None\."):
        jinit.he_normal()(jax.random.key(0))
