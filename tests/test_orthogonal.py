"""Exact identities of the orthogonal family, and the Haar law.

* ``W^T W = scale^2 I`` (tall) or ``W W^T = scale^2 I`` (wide), per slice
  with ``batch_axis``, for any ``column_axis``, in float32, float64 and, within
  the dtype's rounding, bfloat16 and float16.
* delta_orthogonal: the centre tap ((k-1)//2 per spatial axis) has
  orthonormal rows times scale, every other tap is exactly zero.
* Haar: E tr(Q) = 0 and E tr(Q)^2 = 1 over many draws (Diaconis &
  Shahshahani 1994), which the QR factor without the sign fix fails.
* The per-entry variance of ``moments`` equals the mean of the squared
  entries exactly (their sum is scale^2 min(rows, cols)).
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit._src.random.householder import MIN_STEWART

F32_EPS = float(jnp.finfo(jnp.float32).eps)


def gram_tolerance(dtype, n: int, scale: float) -> float:
    """Entrywise bound on |G - scale^2 I| for G the Gram matrix of the (cast) result.

    QR in float32 (Householder) gives orthonormality to O(n eps32); casting
    each entry to ``dtype`` moves it by at most eps/2 relative, which moves a
    Gram entry by at most eps (Cauchy-Schwarz on unit columns), plus eps^2/4.
    The Gram matrix itself is computed in float64.
    """
    eps = float(jnp.finfo(dtype).eps)
    qr_eps = float(jnp.finfo(jnp.float64).eps) if jnp.dtype(dtype) == jnp.float64 else F32_EPS
    return scale**2 * (eps + eps**2 / 4 + 4 * n * qr_eps)


def as_matrices(w: np.ndarray, column_axis: int, batch_axes: tuple[int, ...]) -> np.ndarray:
    """(batch, rows, cols): columns along column_axis, rows = all other non-batch axes."""
    w = np.asarray(w, np.float64) if not np.iscomplexobj(w) else np.asarray(w, np.complex128)
    rank = w.ndim
    col = column_axis % rank
    batch = [a % rank for a in batch_axes]
    rest = [i for i in range(rank) if i != col and i not in batch]
    w = np.transpose(w, [*batch, *rest, col])
    b = math.prod(w.shape[: len(batch)])
    return w.reshape(b, -1, w.shape[-1])


def assert_semi_orthogonal(mats: np.ndarray, scale: float, dtype) -> None:
    rows, cols = mats.shape[-2:]
    if rows >= cols:
        gram = np.conj(np.swapaxes(mats, -1, -2)) @ mats
    else:
        gram = mats @ np.conj(np.swapaxes(mats, -1, -2))
    n = min(rows, cols)
    eye = np.broadcast_to(scale**2 * np.eye(n), gram.shape)
    chex.assert_trees_all_close(gram, eye, atol=gram_tolerance(dtype, max(rows, cols), scale), rtol=0.0)


ORTHO_CASES = [
    # shape, column_axis, batch_axis, scale
    ((16, 16), -1, (), 1.0),
    ((32, 8), -1, (), 2.0),  # tall: W^T W = s^2 I
    ((8, 32), -1, (), 0.5),  # wide: W W^T = s^2 I
    ((3, 3, 8, 16), -1, (), 1.0),  # conv: rows = 3*3*8
    ((3, 3, 16, 4), -1, (), 1.0),
    ((6, 5, 4), 0, (), 1.3),  # columns along axis 0
    ((5, 8, 12), -1, 0, 1.0),  # a stack: each slice orthogonal
    ((12, 4, 8), -1, 0, 1.0),  # wide slices
    ((2, 3, 8, 8), -1, (0, 1), 0.7),  # two batch axes
    ((8, 3, 16), 0, 1, 1.0),  # batch in the middle, columns first
    # Short side >= householder.MIN_STEWART: built by Stewart's method, not QR.
    ((160, MIN_STEWART), -1, (), 1.5),
    ((2, MIN_STEWART, 2 * MIN_STEWART), -1, 0, 1.0),
]


# float32 for every case; half precision (computed in float32, cast) for a subset.
GRAM_CASES = [pytest.param(*c, jnp.float32, id=f"{c}-float32") for c in ORTHO_CASES] + [
    pytest.param(*c, dtype, id=f"{c}-{jnp.dtype(dtype).name}")
    for c in (ORTHO_CASES[1], ORTHO_CASES[2], ORTHO_CASES[3], ORTHO_CASES[6], ORTHO_CASES[10])
    for dtype in (jnp.bfloat16, jnp.float16)
]


@pytest.mark.parametrize(("shape", "column_axis", "batch_axis", "scale", "dtype"), GRAM_CASES)
def test_orthogonal_gram(shape, column_axis, batch_axis, scale, dtype):
    init = jinit.orthogonal(scale=scale, column_axis=column_axis, batch_axis=batch_axis)
    w = init(jax.random.key(3), shape, dtype)
    chex.assert_shape(w, shape)
    chex.assert_type(w, dtype)
    batch_axes = (batch_axis,) if isinstance(batch_axis, int) else batch_axis
    assert_semi_orthogonal(as_matrices(w, column_axis, batch_axes), scale, dtype)


def test_orthogonal_float64_and_complex():
    with jax.enable_x64(True):
        w = jinit.orthogonal(scale=2.0)(jax.random.key(4), (24, 10), jnp.float64)
        chex.assert_type(w, jnp.float64)
        assert_semi_orthogonal(as_matrices(w, -1, ()), 2.0, jnp.float64)
    # complex: unitary columns, W^H W = s^2 I
    w = jinit.orthogonal(scale=1.5)(jax.random.key(5), (12, 6), jnp.complex64)
    chex.assert_type(w, jnp.complex64)
    assert np.abs(np.imag(np.asarray(w))).max() > 0.0
    assert_semi_orthogonal(as_matrices(w, -1, ()), 1.5, jnp.float32)


def test_half_precision_is_the_float32_result_rounded():
    init = jinit.orthogonal(scale=0.9)
    key = jax.random.key(6)
    full = init(key, (16, 8), jnp.float32)
    for dtype in (jnp.bfloat16, jnp.float16):
        chex.assert_trees_all_equal(init(key, (16, 8), dtype), full.astype(dtype))


def test_batch_slices_are_independent_and_match_an_unbatched_draw_law():
    w = jinit.orthogonal(batch_axis=0)(jax.random.key(7), (3, 8, 8))
    a, b = np.asarray(w[0]), np.asarray(w[1])
    assert not np.allclose(a, b)
    # Without batch_axis the stack is one (24, 8) matrix: orthonormal columns
    # overall, but not slice by slice.
    flat = jinit.orthogonal()(jax.random.key(7), (3, 8, 8))
    assert_semi_orthogonal(as_matrices(flat, -1, ()), 1.0, jnp.float32)
    gram0 = np.asarray(flat[0], np.float64).T @ np.asarray(flat[0], np.float64)
    assert np.abs(gram0 - np.eye(8)).max() > 0.1


@pytest.mark.parametrize(
    ("shape", "column_axis", "batch_axis", "scale"),
    [((16, 48), -1, (), 1.0), ((3, 3, 8, 16), -1, (), 2.0), ((4, 12, 6), -1, 0, 0.5), ((6, 5, 4), 0, (), 1.3)],
    ids=str,
)
def test_orthogonal_variance_is_mean_square(shape, column_axis, batch_axis, scale):
    """sum(w^2) = scale^2 min(rows, cols) per slice exactly, so mean(w^2) = moments.variance."""
    init = jinit.orthogonal(scale=scale, column_axis=column_axis, batch_axis=batch_axis)
    w = np.asarray(init(jax.random.key(8), shape), np.float64)
    law = init.moments(shape)
    assert law.mean == 0.0
    assert not law.iid
    rows, cols = init.matrix_shape(shape)
    assert np.mean(w**2) == pytest.approx(law.variance, rel=4 * max(rows, cols) * F32_EPS)
    assert law.variance == pytest.approx(scale**2 / max(rows, cols), rel=1e-15)
    assert np.abs(w).max() <= law.bound * (1 + 2 * F32_EPS)


# ---------------------------------------------------------------------------
# Haar law: E tr Q = 0, E tr(Q)^2 = 1, Var tr(Q)^2 = 2 for Haar O(n), n >= 4


HAAR_N, HAAR_DRAWS = 4, 4000


def _trace_check(q: np.ndarray) -> tuple[float, float]:
    """z-scores of mean tr(Q) (vs 0) and mean tr(Q)^2 (vs 1)."""
    t = np.trace(np.asarray(q, np.float64), axis1=-2, axis2=-1)
    n = t.size
    # Haar on O(n): tr Q has the moments of N(0, 1) up to order n
    # (Diaconis & Shahshahani 1994), so Var tr = 1 and Var tr^2 = 3 - 1 = 2.
    return float(t.mean() / math.sqrt(1.0 / n)), float((np.mean(t**2) - 1.0) / math.sqrt(2.0 / n))


# Small matrices come from QR with the sign fix; from MIN_STEWART columns on,
# from Stewart's product of Householder reflections: both must be Haar, and
# so must each method forced at the other's sizes.
@pytest.mark.parametrize(
    ("n", "draws", "method"),
    [(HAAR_N, HAAR_DRAWS, "auto"), (MIN_STEWART, 300, "auto"), (HAAR_N, HAAR_DRAWS, "householder"), (160, 300, "qr")],
    ids=["qr", "stewart", "householder-small", "qr-large"],
)
def test_orthogonal_is_haar(n, draws, method):
    keys = jax.random.split(jax.random.key(9), draws)
    q = jax.vmap(lambda k: jinit.orthogonal(method=method)(k, (n, n)))(keys)
    z_mean, z_sq = _trace_check(q)
    assert abs(z_mean) < 6.0, z_mean
    assert abs(z_sq) < 6.0, z_sq


def test_haar_check_fails_without_the_sign_fix():
    # The same Gaussian matrices through QR without multiplying by sign(diag R):
    # not Haar, and the trace statistics say so, so the check above can fail.
    keys = jax.random.split(jax.random.key(9), HAAR_DRAWS)
    z = jax.vmap(lambda k: jax.random.normal(k, (HAAR_N, HAAR_N)))(keys)
    q, _ = jnp.linalg.qr(z)
    z_mean, z_sq = _trace_check(q)
    assert max(abs(z_mean), abs(z_sq)) > 6.0, (z_mean, z_sq)


# ---------------------------------------------------------------------------
# delta_orthogonal


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16], ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize(
    ("shape", "scale"),
    [((3, 8, 16), 1.0), ((4, 8, 8), 2.0), ((3, 3, 8, 16), 1.0), ((5, 4, 16, 16), 0.5), ((3, 3, 3, 4, 8), 1.0)],
    ids=str,
)
def test_delta_orthogonal_centre_tap(shape, scale, dtype):
    w = np.asarray(jinit.delta_orthogonal(scale=scale)(jax.random.key(10), shape, dtype), np.float64)
    chex.assert_shape(w, shape)
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    tap = w[centre]
    # in <= out: the rows of the centre tap are orthonormal, times scale.
    assert_semi_orthogonal(tap[None], scale, dtype)
    rest = w.copy()
    rest[centre] = 0.0
    assert not rest.any(), "every tap but the centre must be exactly zero"


def test_delta_orthogonal_column_axis():
    w = np.asarray(jinit.delta_orthogonal(column_axis=-2)(jax.random.key(11), (3, 16, 16)), np.float64)
    assert_semi_orthogonal(w[1][None], 1.0, jnp.float32)


def test_delta_orthogonal_variance_is_mean_square():
    shape = (3, 3, 8, 16)
    init = jinit.delta_orthogonal(scale=1.5)
    w = np.asarray(init(jax.random.key(12), shape), np.float64)
    law = init.moments(shape)
    # Only the centre tap is non-zero; its squared entries sum to scale^2 * in.
    assert np.sum(w**2) == pytest.approx(1.5**2 * 8, rel=64 * F32_EPS)
    assert np.mean(w**2) == pytest.approx(law.variance, rel=64 * F32_EPS)


def test_out_sharding_is_honoured():
    mesh = jax.make_mesh((1,), ("x",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    for init, shape in ((jinit.orthogonal(), (8, 8)), (jinit.delta_orthogonal(), (3, 8, 8))):
        w = init(jax.random.key(13), shape, None, sharding)
        assert w.sharding.is_equivalent_to(sharding, len(shape))
        chex.assert_trees_all_equal(w, init(jax.random.key(13), shape))


# ---------------------------------------------------------------------------
# eye


@pytest.mark.parametrize(("shape", "gain"), [((4, 4), 1.0), ((3, 5), -2.0), ((2, 6, 3), 0.5)], ids=str)
def test_eye(shape, gain):
    w = np.asarray(jinit.eye(gain)(jax.random.key(0), shape))
    expected = np.broadcast_to(gain * np.eye(shape[-2], shape[-1]), shape)
    np.testing.assert_array_equal(w, expected.astype(np.float32))
    assert jinit.identity is jinit.eye
