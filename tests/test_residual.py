"""ReZero/SkipInit, SmallInit, Wang's init, IDInit and nGPT's unit norm: exact values and identities.

* ``rezero()`` is zeros; ``small_init`` and ``wang_init`` are unit normals
  from the same key times the papers' standard deviations (GPT-NeoX-20B
  writes SmallInit's as ``sqrt(2 / (d + 4 d))``).
* IDInit's padded identity, entry by entry: ``x K`` copies the inputs into
  every output (no zero column), the rank is ``min(in, out)``.
* ``unit_norm``: the same key's normal draw divided by its norm; every
  vector along ``axis`` has norm 1 up to rounding.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

F32_EPS = float(jnp.finfo(jnp.float32).eps)
KEY = jax.random.key(3)


def raises(exc, pattern):
    return pytest.raises(exc, match="^" + pattern)


def test_rezero_is_a_zero_gain():
    assert jinit.rezero() == jinit.zeros
    chex.assert_trees_all_equal(jinit.rezero()(KEY, ()), jnp.zeros(()))
    assert jinit.rezero().moments(()).variance == 0.0


@pytest.mark.parametrize("d", [64, 768, 6144])
def test_small_init(d):
    init = jinit.small_init(d)
    std = math.sqrt(2 / (d + 4 * d))  # GPT-NeoX-20B's form of Nguyen & Salazar's sqrt(2 / (5 d))
    assert init.moments((8, d)).std == pytest.approx(std, rel=1e-15)
    w = init(KEY, (8, d))
    chex.assert_trees_all_close(w, std * np.asarray(jinit.normal(1.0)(KEY, (8, d))), rtol=2 * F32_EPS)


@pytest.mark.parametrize(("n_layers", "d"), [(12, 768), (44, 6144)])
def test_wang_init(n_layers, d):
    init = jinit.wang_init(n_layers, d)
    std = 2 / n_layers / math.sqrt(d)
    assert init.moments((d, d)).std == pytest.approx(std, rel=1e-15)
    w = init(KEY, (16, d))
    chex.assert_trees_all_close(w, std * np.asarray(jinit.normal(1.0)(KEY, (16, d))), rtol=2 * F32_EPS)


# ---------------------------------------------------------------------------
# IDInit


def test_id_init_values():
    e = np.eye
    wide = np.asarray(jinit.id_init()(KEY, (3, 7)))
    np.testing.assert_array_equal(wide, np.concatenate([e(3), e(3), e(3)[:, :1]], axis=1))
    tall = np.asarray(jinit.id_init(gain=-2.0)(KEY, (5, 2)))
    np.testing.assert_array_equal(tall, -2.0 * np.concatenate([e(2), e(2), e(2)[:1]], axis=0))
    np.testing.assert_array_equal(np.asarray(jinit.id_init()(KEY, (4, 4))), e(4))


@pytest.mark.parametrize("shape", [(4, 12), (12, 4), (5, 8), (8, 5)])
def test_id_init_copies_inputs_to_every_output(shape):
    n_in, n_out = shape
    k = np.asarray(jinit.id_init()(KEY, shape))
    x = np.arange(1.0, n_in + 1)
    # Output j reads input j mod min(in, out) (summed over the inputs that share it when narrowing).
    expected = np.array([sum(x[i] for i in range(n_in) if i % min(shape) == j % min(shape)) for j in range(n_out)])
    np.testing.assert_array_equal(x @ k, expected)
    assert np.all(np.abs(k).sum(axis=0) > 0) and np.all(np.abs(k).sum(axis=1) > 0)  # no dead unit
    assert np.linalg.matrix_rank(k) == min(shape)


def test_id_init_conv_and_law():
    w = np.array(jinit.id_init(gain=0.5)(KEY, (3, 3, 2, 4)))
    np.testing.assert_array_equal(w[1, 1], 0.5 * np.concatenate([np.eye(2), np.eye(2)], axis=1))
    w[1, 1] = 0.0
    assert not w.any()
    law = jinit.id_init(gain=0.5).moments((3, 3, 2, 4))
    p = 4 / (9 * 2 * 4)  # max(in, out) entries of 0.5 among 9 * 2 * 4
    assert law.mean == pytest.approx(0.5 * p, rel=1e-15)
    assert law.variance == pytest.approx(0.25 * p * (1 - p), rel=1e-14)


# ---------------------------------------------------------------------------
# nGPT's unit norm


@pytest.mark.parametrize(
    ("shape", "axis"), [((16, 64), -1), ((64, 16), 0), ((3, 3, 8, 16), -2), ((4, 8, 16), (1, 2)), ((32, 1), -1)]
)
def test_unit_norm(shape, axis):
    w = jinit.unit_norm(axis=axis)(KEY, shape)
    chex.assert_shape(w, shape)
    z = np.asarray(jinit.normal(1.0)(KEY, shape), np.float64)
    expected = z / np.sqrt(np.sum(z * z, axis=axis, keepdims=True))
    # The norm's sum of d squares rounds by at most d eps (relative), the division by one eps.
    d = math.prod(np.atleast_1d(np.asarray(shape)[np.atleast_1d(axis)]))
    chex.assert_trees_all_close(w, expected, rtol=(d + 2) * F32_EPS, atol=0.0)
    norms = np.sqrt(np.sum(np.asarray(w, np.float64) ** 2, axis=axis))
    chex.assert_trees_all_close(norms, np.ones_like(norms), atol=(d + 2) * F32_EPS, rtol=0.0)
    assert jinit.unit_norm(axis=axis).moments(shape).variance == pytest.approx(1 / d, rel=1e-15)


def test_unit_norm_half_precision_is_cast_once():
    init = jinit.unit_norm()
    chex.assert_trees_all_equal(init(KEY, (4, 64), jnp.bfloat16), init(KEY, (4, 64)).astype(jnp.bfloat16))


# ---------------------------------------------------------------------------
# Errors


def test_errors():
    with raises(ValueError, r"jinit\.small_init: `d_model` must be at least 1; got d_model=0\."):
        jinit.small_init(0)
    with raises(TypeError, r"jinit\.small_init: `d_model` must be an int; got d_model=768\.0\."):
        jinit.small_init(768.0)
    with raises(ValueError, r"jinit\.wang_init: `n_layers` must be at least 1; got n_layers=0\."):
        jinit.wang_init(0, 768)
    with raises(TypeError, r"jinit\.wang_init: `d_model` must be an int; got d_model=True\."):
        jinit.wang_init(12, True)
    with raises(ValueError, r"jinit\.id_init: `gain` must be non-zero \(use jinit\.zeros\); got gain=0\.0\."):
        jinit.id_init(0.0)
    with raises(ValueError, r"jinit\.id_init: shape needs at least 2 dimensions \(\*kernel, in, out\); got shape"):
        jinit.id_init()(KEY, (8,))
    with raises(ValueError, r"jinit\.unit_norm: `axis`=2 is out of range for a shape of rank 2\."):
        jinit.unit_norm(axis=2)(KEY, (4, 8))
    with raises(TypeError, r"jinit\.unit_norm: `axis` must be an int or a sequence of ints; got '0'\."):
        jinit.unit_norm(axis="0")
