"""Draws that cannot fit the dtype raise at the call and in ``moments``; infinite truncation bounds stay finite."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
import jinit.torch
from jinit._src.core import laws


@pytest.mark.parametrize(
    ("init", "dtype"),
    [
        (jinit.constant(1e5), jnp.float16),
        (jinit.normal(1e4), jnp.float16),
        (jinit.uniform(7e4), jnp.float16),
        (jinit.truncated_normal(4e4), jnp.float16),
        (jinit.torch.constant(1e5), jnp.float16),
        (jinit.torch.normal(std=1e4), jnp.float16),
    ],
)
def test_overflowing_law_raises_at_call_and_in_moments(init, dtype):
    pattern = rf"^jinit\.{init.name}: draws reach .* beyond the largest finite float16"
    with pytest.raises(ValueError, match=pattern):
        init(jax.random.key(0), (4,), dtype)
    # The law is refused too: moments() and the call agree.
    with pytest.raises(ValueError, match=pattern):
        init.moments((4,), dtype)
    # The same law fits float32.
    chex.assert_tree_all_finite(init(jax.random.key(0), (4,), jnp.float32))
    assert init.moments((4,), jnp.float32) is not None


@pytest.mark.parametrize(
    ("init", "what"),
    [
        (jinit.variance_scaling(1e6, "fan_in", "normal"), "the variance scale / fan = 5e\\+05"),
        (jinit.variance_scaling(1e-8, "fan_in", "normal"), "the variance scale / fan = 5e-09"),
        (jinit.truncated_normal(1e6, None, -1e-3, 1e-3), "`stddev` = 1e\\+06"),
    ],
)
def test_constant_rounded_to_the_dtype_raises_at_call_and_in_moments(init, what):
    # The law's draws fit float16, but a constant the sampler rounds to it does not.
    pattern = rf"^jinit\.{init.name}: {what} must lie within float16's range"
    with pytest.raises(ValueError, match=pattern):
        init(jax.random.key(0), (2, 2), jnp.float16)
    with pytest.raises(ValueError, match=pattern):
        init.moments((2, 2), jnp.float16)
    assert init.moments((2, 2), jnp.float32) is not None


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
@pytest.mark.parametrize(("lower", "upper"), [(-math.inf, 0.0), (0.0, math.inf), (-math.inf, math.inf)])
def test_infinite_truncation_bounds_give_finite_draws_of_the_law(dtype, lower, upper):
    init = jinit.truncated_normal(1.0, lower=lower, upper=upper)
    x = init(jax.random.key(3), (200_000,), dtype)
    chex.assert_tree_all_finite(x)
    w = np.asarray(x, np.float64)
    # Half-normal / normal: every draw within 9 sigma and on the right side.
    assert np.all(np.abs(w) <= 9.0 + 1e-6)
    assert np.all(w >= lower) and np.all(w <= upper)
    jinit.testing.assert_moments(init, (200_000,), key=jax.random.key(3), dtype=dtype)


def test_half_normal_law_formula():
    # N(0, 1) cut to [0, inf): mean sqrt(2/pi), variance 1 - 2/pi.
    m = laws.truncated_normal_moments(0.0, 1.0, 0.0, math.inf)
    assert math.isclose(m.mean, math.sqrt(2 / math.pi), rel_tol=1e-12)
    assert math.isclose(m.variance, 1 - 2 / math.pi, rel_tol=1e-12)
