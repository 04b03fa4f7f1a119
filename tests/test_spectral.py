"""The spectral condition (Yang, Simon & Bernstein 2023): exact identities.

* Every singular value of each ``(fan_in, outputs)`` slice equals
  ``scale * sqrt(fan_out / fan_in)``: the Gram matrix of the short side is
  that squared times I, within the rounding of a float32 QR and of the dtype.
* The same key gives ``sqrt(fan_out / fan_in)`` times ``jinit.orthogonal``'s
  matrix (the same Haar draw), and ``scale`` multiplies the singular values
  (not the variance).
* The law: widening layers get LeCun's variance ``scale^2 / fan_in``,
  narrowing ones ``scale^2 fan_out / fan_in^2``.
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
KEY = jax.random.key(7)


def raises(exc, pattern):
    return pytest.raises(exc, match="^" + pattern)


def as_matrices(w, batch_axes, in_axes, out_axes) -> np.ndarray:
    """(batch, fan_in, outputs), the receptive-field axes before the input axes, as the law defines them."""
    w = np.asarray(w, np.complex128 if np.iscomplexobj(w) else np.float64)
    rank = w.ndim
    batch, ins, outs = ([a % rank for a in np.atleast_1d(axes)] for axes in (batch_axes, in_axes, out_axes))
    rest = [i for i in range(rank) if i not in batch + ins + outs]
    w = np.transpose(w, [*batch, *rest, *ins, *outs])
    n_out = math.prod(w.shape[rank - len(outs) :])
    n_batch = math.prod(w.shape[: len(batch)])
    return w.reshape(n_batch, -1, n_out)


def assert_singular_values(mats: np.ndarray, sigma: float, dtype) -> None:
    """Gram of the short side = sigma^2 I, to the rounding of a float32 QR (O(n eps32)) and of ``dtype``.

    The same bound as tests/test_orthogonal.py: casting moves a Gram entry by
    at most eps sigma^2 (Cauchy-Schwarz), the QR by 4 n eps32 sigma^2.
    """
    rows, cols = mats.shape[-2:]
    t = np.conj(np.swapaxes(mats, -1, -2))
    gram = t @ mats if rows >= cols else mats @ t
    eps = float(jnp.finfo(dtype).eps)
    tol = sigma**2 * (eps + eps**2 / 4 + 4 * max(rows, cols) * F32_EPS)
    eye = np.broadcast_to(np.eye(min(rows, cols)), gram.shape)
    chex.assert_trees_all_close(gram, sigma**2 * eye, atol=tol, rtol=0.0)


CASES = [
    # (shape, kwargs, fan_in, fan_out)
    ((64, 256), {}, 64, 256),
    ((256, 64), {}, 256, 64),
    ((3, 3, 16, 32), {}, 9 * 16, 9 * 32),
    ((4, 32, 16), {"batch_axis": 0}, 32, 16),
    ((64, 4, 32), {"in_axis": 0, "out_axis": (1, 2)}, 64, 128),
]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16], ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize(("shape", "kwargs", "fan_in", "fan_out"), CASES, ids=[str(c[0]) for c in CASES])
def test_every_singular_value_is_scale_sqrt_fan_out_over_fan_in(shape, kwargs, fan_in, fan_out, dtype):
    scale = 1.5
    w = jinit.spectral(scale, **kwargs)(KEY, shape, dtype)
    chex.assert_shape(w, shape)
    chex.assert_type(w, dtype)
    mats = as_matrices(w, kwargs.get("batch_axis", ()), [kwargs.get("in_axis", -2)], kwargs.get("out_axis", -1))
    assert mats.shape[-2] == fan_in
    assert_singular_values(mats, scale * math.sqrt(fan_out / fan_in), dtype)


def test_complex_is_unitary_times_the_factor():
    w = jinit.spectral()(KEY, (32, 64), jnp.complex64)
    assert_singular_values(as_matrices(w, (), [-2], [-1]), math.sqrt(64 / 32), jnp.complex64)


@pytest.mark.parametrize(
    ("shape", "batch_axis"), [((64, 256), ()), ((256, 64), ()), ((3, 3, 16, 32), ()), ((4, 32, 16), (0,))]
)
def test_same_key_is_orthogonal_times_the_factor(shape, batch_axis):
    """With the default axes the matrix is jinit.orthogonal's (rows = all axes but the last): the same Haar draw."""
    w = jinit.spectral(batch_axis=batch_axis)(KEY, shape)
    q = jinit.orthogonal(batch_axis=batch_axis)(KEY, shape)
    rf = math.prod(shape[len(batch_axis) : -2])
    factor = math.sqrt((rf * shape[-1]) / (rf * shape[-2]))
    chex.assert_trees_all_close(w, factor * np.asarray(q), rtol=4 * F32_EPS, atol=4 * F32_EPS * factor)


def test_scale_multiplies_the_singular_values_not_the_variance():
    one = jinit.spectral(1.0)(KEY, (64, 128))
    three = jinit.spectral(3.0)(KEY, (64, 128))
    chex.assert_trees_all_close(three, 3.0 * np.asarray(one), rtol=2 * F32_EPS)
    assert jinit.spectral(3.0).moments((64, 128)).variance == pytest.approx(
        9.0 * jinit.spectral().moments((64, 128)).variance, rel=1e-15
    )


@pytest.mark.parametrize(
    ("shape", "variance"),
    [
        ((64, 256), 0.7**2 / 64),  # widening: scale^2 / fan_in (LeCun)
        ((256, 64), 0.7**2 * 64 / 256**2),  # narrowing: scale^2 fan_out / fan_in^2
        # conv: a (9 * 16, 32) matrix, c^2 = scale^2 (9 * 32) / (9 * 16), over max(144, 32)
        ((3, 3, 16, 32), 0.7**2 * (9 * 32) / (9 * 16) / 144),
    ],
)
def test_law(shape, variance):
    law = jinit.spectral(0.7).moments(shape)
    assert law.mean == 0.0
    assert law.variance == pytest.approx(variance, rel=1e-14)
    fan_in, fan_out = math.prod(shape[:-1]), math.prod(shape[:-2]) * shape[-1]
    assert law.bound == pytest.approx(0.7 * math.sqrt(fan_out / fan_in), rel=1e-15)
    assert not law.iid


def test_muon_scale_matches_for_widening_layers_only():
    """Muon's sqrt(max(1, out / in)) equals the spectral norm here when out >= in; below, spectral is smaller."""
    for n_in, n_out in ((64, 256), (256, 64)):
        top = float(np.linalg.svd(np.asarray(jinit.spectral()(KEY, (n_in, n_out)), np.float64), compute_uv=False)[0])
        muon = math.sqrt(max(1.0, n_out / n_in))
        spectral = math.sqrt(n_out / n_in)
        assert top == pytest.approx(spectral, rel=64 * F32_EPS)
        assert (top == pytest.approx(muon, rel=64 * F32_EPS)) == (n_out >= n_in)


def test_errors():
    with raises(ValueError, r"jinit\.spectral: `scale` must be positive; got scale=0\.0\."):
        jinit.spectral(0.0)
    with raises(TypeError, r"jinit\.spectral: `scale` must be a real number; got '1'\."):
        jinit.spectral("1")
    with raises(ValueError, r"jinit\.spectral: shape needs at least 2 dimensions"):
        jinit.spectral()(KEY, (16,))
    with raises(ValueError, r"jinit\.spectral: `in_axis` and `batch_axis` share an axis"):
        jinit.spectral(batch_axis=-2)(KEY, (4, 8, 16))
    with raises(ValueError, r"jinit\.spectral: `out_axis`=3 is out of range for a shape of rank 2\."):
        jinit.spectral(out_axis=3)(KEY, (8, 16))
