"""ZerO (Zhao et al. 2021): structure against an independent Hadamard, determinism, orthogonality."""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import hadamard

import jinit
from jinit._src.schemes import zero

EPS32 = float(jnp.finfo(jnp.float32).eps)


def reference(n_in: int, n_out: int, scale: str) -> np.ndarray:
    """Algorithm 1 in torch layout W (out, in), transposed to the Flax kernel (in, out)."""
    if n_out <= n_in:
        w = np.eye(n_out, n_in)  # identity or partial identity I*
    else:
        m = math.ceil(math.log2(n_out))
        c = 2.0 ** (-(m - 1) / 2) if scale == "paper" else 2.0 ** (-m / 2)
        w = c * np.eye(n_out, 2**m) @ hadamard(2**m) @ np.eye(2**m, n_in)
    return w.T


@pytest.mark.parametrize("shape", [(16, 16), (7, 3), (5, 12), (3, 64), (64, 100), (1, 1)])
@pytest.mark.parametrize("scale", ["orthonormal", "paper"])
def test_matches_algorithm_1(shape: tuple[int, int], scale: str, key: jax.Array) -> None:
    w = jinit.zero_init(scale)(key, shape)
    chex.assert_trees_all_equal(w, jnp.asarray(reference(*shape, scale), jnp.float32))


def test_deterministic_and_independent_of_the_key(key: jax.Array, other_key: jax.Array) -> None:
    init = jinit.zero_init()
    for shape in ((64, 100), (3, 3, 32, 16)):
        chex.assert_trees_all_equal(init(key, shape), init(other_key, shape))
        chex.assert_trees_all_equal(init(key, shape), init(jax.random.key(12345), shape))
    a = jax.vmap(lambda k: init(k, (8, 16)))(jax.random.split(key, 3))
    chex.assert_trees_all_equal(a[0], a[1], a[2])


def test_orthogonal_up_to_scale_where_it_holds(key: jax.Array) -> None:
    eye = lambda n: np.eye(n, dtype=np.float32)
    # Identity and partial identity (out <= in): orthonormal columns.
    for shape in ((32, 32), (64, 16)):
        w = np.asarray(jinit.zero_init()(key, shape))
        np.testing.assert_array_equal(w.T @ w, eye(shape[1]))
    # Expanding to a power of two: orthonormal rows, K K^T = c^2 2^m I.
    w = np.asarray(jinit.zero_init()(key, (48, 64)))
    np.testing.assert_allclose(w @ w.T, eye(48), atol=1e-6)
    w = np.asarray(jinit.zero_init("paper")(key, (48, 64)))
    np.testing.assert_allclose(w @ w.T, 2 * eye(48), atol=1e-6)
    # Not a power of two: the truncated Hadamard rows are not orthogonal in general.
    w = np.asarray(jinit.zero_init()(key, (5, 12)))
    assert not np.allclose(w @ w.T, np.diag(np.diag(w @ w.T)), atol=1e-3)


def test_conv_kernel_centre_tap(key: jax.Array) -> None:
    w = np.asarray(jinit.zero_init()(key, (3, 3, 8, 32)))
    np.testing.assert_array_equal(w[1, 1], reference(8, 32, "orthonormal").astype(np.float32))
    mask = np.ones((3, 3), bool)
    mask[1, 1] = False
    assert not w[mask].any()
    # A 1-D kernel of even width: centre (k - 1) // 2, as delta_orthogonal.
    w = np.asarray(jinit.zero_init()(key, (4, 16, 8)))
    np.testing.assert_array_equal(w[1], np.eye(16, 8, dtype=np.float32))
    assert not w[[0, 2, 3]].any()


def test_exact_in_half_precision(key: jax.Array) -> None:
    # +-2^(-m/2) with m even, and 0/1, are exact in bfloat16 and float16.
    for dtype in (jnp.bfloat16, jnp.float16):
        w = jinit.zero_init()(key, (4, 16), dtype)
        chex.assert_type(w, dtype)
        np.testing.assert_array_equal(np.asarray(w, np.float32), reference(4, 16, "orthonormal").astype(np.float32))


def test_block_sum_against_brute_force() -> None:
    # The law's mean uses a recursion for the sum of a top-left block of H; check
    # it against scipy's Hadamard matrix for every block of H_6.
    h = hadamard(64)
    for a in range(65):
        for b in range(0, 65, 3):
            assert zero._hadamard_block_sum(a, b) == int(h[:a, :b].sum()), (a, b)


@pytest.mark.parametrize("shape", [(256, 512), (3, 3, 64, 128), (512, 256), (5, 12)])
def test_law_is_the_distribution_of_the_entries(shape: tuple[int, ...], key: jax.Array) -> None:
    for scale in ("orthonormal", "paper"):
        init = jinit.zero_init(scale)
        w = np.asarray(init(key, shape), np.float64)
        law = init.moments(shape)
        # The array holds c rounded to float32 (the paper's c has a factor sqrt(2)).
        np.testing.assert_allclose(law.mean, w.mean(), rtol=EPS32, atol=1e-15)
        np.testing.assert_allclose(law.variance, w.var(), rtol=2 * EPS32)
        assert np.abs(w - law.mean).max() <= law.bound * (1 + EPS32)
        jinit.testing.assert_moments(init, shape, key=key)


def test_a_zero_mlp_does_not_depend_on_the_seed() -> None:
    nnx = pytest.importorskip("flax.nnx")

    def mlp(seed: int):
        rngs = nnx.Rngs(seed)
        return nnx.Sequential(
            nnx.Linear(10, 32, kernel_init=jinit.zero_init(), rngs=rngs),
            jax.nn.relu,
            nnx.Linear(32, 4, kernel_init=jinit.zero_init(), rngs=rngs),
        )

    x = jax.random.normal(jax.random.key(3), (5, 10))
    chex.assert_trees_all_equal(mlp(0)(x), mlp(1)(x))


def test_errors(key: jax.Array) -> None:
    with pytest.raises(ValueError, match=r"jinit\.zero_init: `hadamard_scale` must be one of 'orthonormal', 'paper'"):
        jinit.zero_init("notebook")
    with pytest.raises(ValueError, match=r"jinit\.zero_init: shape needs at least 2 dimensions \(\*kernel, in, out\)"):
        jinit.zero_init()(key, (8,))
    with pytest.raises(
        ValueError, match=r"jinit\.zero_init: `dtype` must be a floating-point dtype; got dtype=complex64"
    ):
        jinit.zero_init()(key, (8, 8), jnp.complex64)
