"""Mimetic attention init (Trockman & Kolter 2023): the products W_q W_k^T and W_v W_o."""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

D = 128


def svd_tol(a: np.ndarray) -> float:
    """Reconstruction error of a float32 SVD: a few eps times the largest singular value times sqrt(d)."""
    return 16 * float(jnp.finfo(jnp.float32).eps) * float(np.linalg.norm(a, 2)) * math.sqrt(a.shape[-1])


def test_qk_full_rank_product_is_the_target(key: jax.Array) -> None:
    init = jinit.mimetic("qk", num_heads=1)  # head_dim = d: exact
    wq, wk = init(key, D)
    chex.assert_shape((wq, wk), (D, 1, D))
    target = np.asarray(init.target(key, D))[0]
    # The target is alpha Z + beta I with Z = normal(key) / sqrt(d), as documented.
    z = np.asarray(jax.random.normal(key, (1, D, D)))[0] / math.sqrt(D)
    np.testing.assert_allclose(target, 0.7 * z + 0.7 * np.eye(D), rtol=1e-6, atol=1e-6)
    product = np.asarray(wq[:, 0], np.float64) @ np.asarray(wk[:, 0], np.float64).T
    np.testing.assert_allclose(product, target, atol=svd_tol(target))


def test_vo_full_rank_product_is_minus_identity_plus_noise(key: jax.Array) -> None:
    heads = 4
    init = jinit.mimetic("vo", num_heads=heads)
    wv, wo = init(key, D)
    chex.assert_shape(wv, (D, heads, D // heads))
    chex.assert_shape(wo, (heads, D // heads, D))
    product = np.asarray(wv, np.float64).reshape(D, D) @ np.asarray(wo, np.float64).reshape(D, D)
    target = np.asarray(init.target(key, D))
    z = np.asarray(jax.random.normal(key, (D, D))) / math.sqrt(D)
    np.testing.assert_allclose(target, 0.4 * z - 0.4 * np.eye(D), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(product, target, atol=svd_tol(target))


def test_qk_per_head_is_the_best_rank_k_approximation(key: jax.Array) -> None:
    heads, k = 4, 16
    init = jinit.mimetic("qk", num_heads=heads, head_dim=k, alpha=0.5, beta=1.0)
    wq, wk = init(key, D)
    targets = np.asarray(init.target(key, D), np.float64)
    products = []
    for h in range(heads):
        p = np.asarray(wq[:, h], np.float64) @ np.asarray(wk[:, h], np.float64).T
        s_p = np.linalg.svd(p, compute_uv=False)
        s_t = np.linalg.svd(targets[h], compute_uv=False)
        # Eckart-Young: rank k, with the target's k largest singular values.
        np.testing.assert_allclose(s_p[:k], s_t[:k], rtol=1e-5)
        assert s_p[k] <= 1e-5 * s_p[0]
        products.append(p)
    # Independent targets per head.
    assert not np.allclose(products[0], products[1], atol=0.1)


def test_full_rank_products_have_the_stated_law(key: jax.Array) -> None:
    # Diagonal N(sign beta, alpha^2 / d), off-diagonal N(0, alpha^2 / d): 6 standard
    # errors of the sample mean (sd / sqrt(n)) and of the sample variance
    # (var sqrt(2 / n), a normal's kurtosis 3).
    d = 256
    for circuit, heads in (("qk", 1), ("vo", 8)):
        init = jinit.mimetic(circuit, num_heads=heads)
        a, b = init(key, d)
        left = np.asarray(a, np.float64).reshape(d, -1)
        # W_q W_k^T (both (d, heads, head_dim)), or W_v W_o (W_o is (heads, head_dim, d)).
        right = np.asarray(b, np.float64).reshape(d, -1).T if circuit == "qk" else np.asarray(b).reshape(-1, d)
        p = left @ right
        diag_law, off_law = init.product_moments(d)
        diag = np.diag(p)
        off = p[~np.eye(d, dtype=bool)]
        for sample, law in ((diag, diag_law), (off, off_law)):
            n = sample.size
            assert abs(sample.mean() - law.mean) <= 6 * math.sqrt(law.variance / n), (circuit, sample.mean(), law)
            assert abs(sample.var() - law.variance) <= 6 * law.variance * math.sqrt(2 / n), (circuit, sample.var())
        assert diag_law.mean == (0.7 if circuit == "qk" else -0.4)


def test_fits_flax_multi_head_attention(key: jax.Array) -> None:
    nnx = pytest.importorskip("flax.nnx")
    heads, d = 4, 64
    attn = nnx.MultiHeadAttention(heads, d, decode=False, rngs=nnx.Rngs(0))
    wq, wk = jinit.mimetic("qk", num_heads=heads)(key, d)
    wv, wo = jinit.mimetic("vo", num_heads=heads)(jax.random.fold_in(key, 1), d)
    for layer, w in ((attn.query, wq), (attn.key, wk), (attn.value, wv), (attn.out, wo)):
        chex.assert_equal_shape((layer.kernel.get_value(), w))
        layer.kernel.set_value(w)
    x = jax.random.normal(jax.random.key(2), (2, 5, d))
    # The attention logits of head h are x W_q^h W_k^h^T x^T.
    q, k = attn.query(x), attn.key(x)
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k)
    expected = jnp.einsum("bqi,ij,bkj->bqk", x, wq[:, 0] @ wk[:, 0].T, x)
    chex.assert_trees_all_close(logits[:, 0], expected, rtol=1e-4, atol=1e-4)


def test_determinism_and_dtype(key: jax.Array, other_key: jax.Array) -> None:
    init = jinit.mimetic("vo", num_heads=2)
    chex.assert_trees_all_equal(init(key, 32), init(key, 32))
    assert not np.allclose(np.asarray(init(key, 32)[0]), np.asarray(init(other_key, 32)[0]))
    wv, wo = init(key, 32, jnp.bfloat16)
    chex.assert_type((wv, wo), jnp.bfloat16)
    assert hash(init) == hash(jinit.mimetic("vo", num_heads=2))


def test_errors(key: jax.Array) -> None:
    with pytest.raises(ValueError, match=r"jinit\.mimetic: `circuit` must be one of 'qk', 'vo'; got circuit='kq'"):
        jinit.mimetic("kq")
    with pytest.raises(ValueError, match=r"jinit\.mimetic: `alpha` must be non-negative; got alpha=-1"):
        jinit.mimetic(alpha=-1.0)
    with pytest.raises(TypeError, match=r"jinit\.mimetic: `beta` must be a real number"):
        jinit.mimetic(beta="0.7")
    with pytest.raises(TypeError, match=r"jinit\.mimetic: `num_heads` must be an int; got num_heads=2\.0"):
        jinit.mimetic(num_heads=2.0)
    with pytest.raises(ValueError, match=r"jinit\.mimetic: `head_dim` must be at least 1; got head_dim=0"):
        jinit.mimetic(head_dim=0)
    with pytest.raises(ValueError, match=r"jinit\.mimetic: `dtype` must be a floating-point dtype; got dtype=int32"):
        jinit.mimetic(dtype=jnp.int32)
    with pytest.raises(ValueError, match=r"jinit\.mimetic: `d_model` must be at least 1; got d_model=0"):
        jinit.mimetic()(key, 0)
    with pytest.raises(
        ValueError,
        match=r"jinit\.mimetic: needs 1 <= head_dim and num_heads \* head_dim <= d_model for a vo target .*"
        r"got d_model=32, num_heads=4, head_dim=16",
    ):
        jinit.mimetic("vo", num_heads=4, head_dim=16)(key, 32)
    with pytest.raises(ValueError, match=r"needs 1 <= head_dim .* got d_model=8, num_heads=16, head_dim=0"):
        jinit.mimetic("qk", num_heads=16)(key, 8)


@pytest.mark.parametrize(
    ("alpha", "dtype", "what"),
    [(1e39, jnp.float32, "the target"), (1e10, jnp.float16, "the kernels"), (1e38, jnp.bfloat16, "the target")],
)
def test_kernels_beyond_the_dtype_are_refused(alpha, dtype, what):
    """Before this check, alpha=1e39 gave all-NaN kernels and alpha=1e10 in float16 gave inf."""
    with pytest.raises(ValueError, match=rf"jinit\.mimetic: {what} .* beyond the largest finite"):
        jinit.attention.mimetic(alpha=alpha)(jax.random.key(0), 8, dtype)


def test_large_alpha_within_range_is_finite():
    q, k = jinit.attention.mimetic(alpha=1e6)(jax.random.key(0), 8, jnp.float16)
    assert bool(jnp.isfinite(q).all()) and bool(jnp.isfinite(k).all())
