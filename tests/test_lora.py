"""LoRA, PiSSA and OLoRA: PEFT's inits translated to the Flax layout, checked by exact identities.

* LoRA: ``scale = alpha / r`` (rsLoRA ``alpha / sqrt(r)``); A has torch's
  ``kaiming_uniform_(a=sqrt(5))`` law on PEFT's ``(r, in)`` weight,
  U(-1/sqrt(in), 1/sqrt(in)), the law of ``jinit.torch.linear_weight`` for
  that torch-layout shape; B is zero.
* PiSSA: ``w_res + scale a @ b = w``; ``a^T a = b b^T = diag(S_r) / scale``
  (singular values split evenly); ``|w_res|_F^2`` is the sum of the other
  squared singular values (Eckart-Young), from numpy's float64 SVD.
* OLoRA: ``w_res + scale a @ b = w``; ``b b^T = I_r``; ``a`` lower
  trapezoidal; ``a @ b = w b^T b`` and the first r rows of ``w`` lie in the
  span of ``b``'s rows (``Q_r`` spans the first r columns of ``W = w^T``).
* ``add_adapters``: the tree shape, the per-leaf keys of ``jinit.flax.reinit``,
  an untouched input.

Rounding bound for ``w_res + s a @ b - w``: each of w_res, a, b is rounded
once to the dtype (eps/2 relative) after a float32 computation, and the
product's rounding adds at most eps per term, so entrywise
``|err| <= 4 eps (|w_res| + s |a| @ |b|) + (float32 SVD/QR error)``; the last
term is O(n eps32) times the largest singular value.
"""

from __future__ import annotations

import math
import zlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
import jinit.flax
import jinit.lora
import jinit.torch

F32_EPS = float(jnp.finfo(jnp.float32).eps)
KEY = jax.random.key(11)


def raises(exc, pattern):
    return pytest.raises(exc, match="^" + pattern)


def kernel(shape, dtype=jnp.float32, seed=0):
    """A fixed Gaussian kernel (numpy's generator: no compilation per shape)."""
    w = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return jnp.asarray(w).astype(dtype)


def f64(x) -> np.ndarray:
    return np.asarray(x, np.float64)


def assert_reconstructs(w, w_res, a, b, scale: float) -> None:
    eps = float(jnp.finfo(w.dtype).eps)
    w, w_res, a, b = f64(w), f64(w_res), f64(a), f64(b)
    err = np.abs(w_res + scale * (a @ b) - w)
    sigma = np.linalg.norm(w, ord=2, axis=(-2, -1), keepdims=True)
    bound = 4 * eps * (np.abs(w_res) + scale * (np.abs(a) @ np.abs(b))) + 4 * max(w.shape[-2:]) * F32_EPS * sigma
    assert np.all(err <= bound), float(np.max(err - bound))


# ---------------------------------------------------------------------------
# LoRA


def test_lora_scale_and_factors():
    cfg = jinit.lora.lora(8, 16)
    assert (cfg.rank, cfg.alpha, cfg.rslora, cfg.scale) == (8, 16.0, False, 2.0)
    assert jinit.lora.lora(16, 32, rslora=True).scale == 32 / math.sqrt(16)
    assert cfg == jinit.lora.lora(8, 16.0) and hash(cfg) == hash(jinit.lora.lora(8, 16.0))
    with pytest.raises(AttributeError):
        cfg.rank = 4  # type: ignore[misc]
    b = cfg.b_init(KEY, (8, 32))
    chex.assert_trees_all_equal(b, jnp.zeros((8, 32)))


@pytest.mark.parametrize("n_in", [64, 1000])
def test_lora_a_is_torchs_kaiming_uniform_sqrt5(n_in):
    """PEFT: kaiming_uniform_(lora_A.weight (r, in), a=sqrt(5)): bound gain sqrt(3 / fan_in), gain^2 = 2 / 6."""
    r = 8
    a_init = jinit.lora.lora(r, 16).a_init
    law = a_init.moments((n_in, r))
    bound = math.sqrt(2 / (1 + 5)) * math.sqrt(3 / n_in)
    assert law.bound == pytest.approx(bound, rel=1e-15)
    assert law.bound == pytest.approx(1 / math.sqrt(n_in), rel=1e-15)
    assert law.variance == pytest.approx(1 / (3 * n_in), rel=1e-15)
    torch_law = jinit.torch.linear_weight(layout="torch").moments((r, n_in))
    assert (law.mean, law.variance, law.excess_kurtosis) == pytest.approx(
        (torch_law.mean, torch_law.variance, torch_law.excess_kurtosis), rel=1e-14
    )
    a = a_init(KEY, (n_in, r))
    assert float(jnp.max(jnp.abs(a))) <= law.bound


# ---------------------------------------------------------------------------
# PiSSA


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize(("shape", "rank", "scale"), [((48, 32), 4, 1.0), ((32, 48), 32, 2.0), ((3, 24, 16), 5, 0.5)])
def test_pissa_identities(shape, rank, scale, dtype):
    w = kernel(shape, dtype)
    w_res, a, b = jinit.lora.pissa(w, rank, scale=scale)
    chex.assert_shape([w_res, a, b], [shape, (*shape[:-1], rank), (*shape[:-2], rank, shape[-1])])
    chex.assert_type([w_res, a, b], dtype)
    assert_reconstructs(w, w_res, a, b, scale)
    if dtype != jnp.float32:
        return
    # Against numpy's float64 SVD of the same kernel: the factors' Gram matrices are diag(S_r) / scale,
    # and the residual holds exactly the other singular values.
    s = np.linalg.svd(f64(w), compute_uv=False)
    tol = 8 * max(shape[-2:]) * F32_EPS * s[..., :1]
    gram_a = np.swapaxes(f64(a), -1, -2) @ f64(a)
    gram_b = f64(b) @ np.swapaxes(f64(b), -1, -2)
    diag = np.eye(rank) * (s[..., :rank, None] / scale)
    chex.assert_trees_all_close(gram_a, diag, atol=float(np.max(tol)) / scale, rtol=0.0)
    chex.assert_trees_all_close(gram_b, diag, atol=float(np.max(tol)) / scale, rtol=0.0)
    rest = np.sum(s[..., rank:] ** 2, axis=-1)
    residual = np.sum(f64(w_res) ** 2, axis=(-2, -1))
    chex.assert_trees_all_close(residual, rest, atol=float(np.max(tol * s[..., :1])) * min(shape[-2:]), rtol=0.0)


def test_pissa_batch_axes_are_independent_slices():
    w = kernel((3, 24, 16))
    w_res, a, b = jinit.lora.pissa(w, 4)
    for i in range(3):
        r_i, a_i, b_i = jinit.lora.pissa(w[i], 4)
        # Singular vectors are defined up to sign, a @ b is not; two float32 SVDs agree to O(n eps sigma_1).
        tol = 8 * 24 * F32_EPS * float(np.linalg.norm(f64(w[i]), 2))
        chex.assert_trees_all_close(a[i] @ b[i], a_i @ b_i, atol=tol, rtol=0.0)
        chex.assert_trees_all_close(w_res[i], r_i, atol=tol, rtol=0.0)


# ---------------------------------------------------------------------------
# OLoRA


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize(("shape", "rank", "scale"), [((48, 32), 4, 1.0), ((32, 48), 32, 2.0), ((3, 24, 16), 5, 0.5)])
def test_olora_identities(shape, rank, scale, dtype):
    w = kernel(shape, dtype)
    w_res, a, b = jinit.lora.olora(w, rank, scale=scale)
    chex.assert_shape([w_res, a, b], [shape, (*shape[:-1], rank), (*shape[:-2], rank, shape[-1])])
    chex.assert_type([w_res, a, b], dtype)
    assert_reconstructs(w, w_res, a, b, scale)
    # a = R_r^T: lower trapezoidal, exactly (R's zeros are exact).
    upper = np.triu(np.ones((shape[-2], rank), bool), k=1)
    assert not np.any(f64(a)[..., upper])
    if dtype != jnp.float32:
        return
    eps_n = 8 * max(shape[-2:]) * F32_EPS
    bb = f64(b) @ np.swapaxes(f64(b), -1, -2)
    chex.assert_trees_all_close(bb, np.broadcast_to(np.eye(rank), bb.shape), atol=eps_n, rtol=0.0)
    # PEFT: lora_B lora_A = Q_r R_r = Q_r Q_r^T W, i.e. a @ b = w b^T b; Q_r spans W's first r columns.
    scale_w = float(np.max(np.linalg.norm(f64(w), ord=2, axis=(-2, -1))))
    proj = f64(w) @ np.swapaxes(f64(b), -1, -2) @ f64(b)
    chex.assert_trees_all_close(f64(a) @ f64(b), proj, atol=eps_n * scale_w, rtol=0.0)
    first = f64(w)[..., :rank, :]
    chex.assert_trees_all_close(first @ np.swapaxes(f64(b), -1, -2) @ f64(b), first, atol=eps_n * scale_w, rtol=0.0)


def test_full_rank_adapters_leave_no_residual():
    w = kernel((24, 16))
    for method in (jinit.lora.pissa, jinit.lora.olora):
        w_res, _, _ = method(w, 16)
        assert float(jnp.max(jnp.abs(w_res))) <= 8 * 24 * F32_EPS * float(np.linalg.norm(f64(w), 2))


# ---------------------------------------------------------------------------
# add_adapters


def params():
    return {
        "layers_0": {"attn": {"kernel": kernel((16, 24), seed=1), "bias": jnp.zeros(24)}},
        "layers_1": {"mlp": {"kernel": kernel((24, 16), seed=2)}},
        "stack": {"w": kernel((4, 16, 12), seed=3)},
        "embed": {"embedding": kernel((50, 16), seed=4)},
    }


def test_add_lora_adapters():
    tree = params()
    before = jax.tree_util.tree_map(np.asarray, tree)
    new = jinit.lora.add_adapters(tree, [r"layers_\d+/.*/kernel", r"stack/w"], KEY, rank=3)
    # Input untouched; untouched subtrees and leaves shared.
    chex.assert_trees_all_equal(jax.tree_util.tree_map(np.asarray, tree), before)
    assert new["embed"] is tree["embed"]
    assert new["layers_0"]["attn"]["kernel"] is tree["layers_0"]["attn"]["kernel"]
    assert sorted(new["layers_0"]["attn"]) == ["bias", "kernel", "lora_a", "lora_b"]
    assert sorted(new["stack"]) == ["w", "w_lora_a", "w_lora_b"]
    chex.assert_shape(
        [new["layers_1"]["mlp"]["lora_a"], new["layers_1"]["mlp"]["lora_b"], new["stack"]["w_lora_a"]],
        [(24, 3), (3, 16), (4, 16, 3)],
    )
    chex.assert_trees_all_equal(new["stack"]["w_lora_b"], jnp.zeros((4, 3, 12)))
    # a is lora(...).a_init at reinit's per-leaf key fold_in(key, crc32(path)).
    a_init = jinit.lora.lora(3, 1.0).a_init
    path = "layers_0/attn/kernel"
    assert jinit.flax.leaf_key(KEY, path).dtype == KEY.dtype
    expected = a_init(jax.random.fold_in(KEY, zlib.crc32(path.encode())), (16, 3))
    chex.assert_trees_all_equal(new["layers_0"]["attn"]["lora_a"], expected)
    chex.assert_trees_all_equal(expected, a_init(jinit.flax.leaf_key(KEY, path), (16, 3)))
    # Stacked kernels: each slice U(+-1/sqrt(in)), the leading 4 not counted into the fan
    # (counted, the bound would be 1/sqrt(4 * 16) and no draw would pass it).
    stack_a = np.abs(np.asarray(new["stack"]["w_lora_a"]))
    assert stack_a.max() <= 1 / math.sqrt(16)
    assert stack_a.max() > 1 / math.sqrt(4 * 16)


@pytest.mark.parametrize("method", ["pissa", "olora"])
def test_add_pissa_and_olora_adapters(method):
    tree = params()
    new = jinit.lora.add_adapters(tree, r".*kernel", KEY, rank=4, method=method, scale=2.0)
    for path in (("layers_0", "attn"), ("layers_1", "mlp")):
        old, node = tree[path[0]][path[1]], new[path[0]][path[1]]
        assert node["kernel"] is not old["kernel"]
        assert_reconstructs(old["kernel"], node["kernel"], node["lora_a"], node["lora_b"], 2.0)


def test_add_adapters_keeps_the_mapping_type():
    frozen = pytest.importorskip("flax.core").FrozenDict
    new = jinit.lora.add_adapters(frozen(params()), r".*kernel", KEY, rank=2)
    assert isinstance(new, frozen)
    assert isinstance(new["layers_0"]["attn"], frozen)


# ---------------------------------------------------------------------------
# Errors


def test_errors():
    w = kernel((8, 6))
    with raises(ValueError, r"jinit\.lora\.lora: `rank` must be at least 1; got rank=0\."):
        jinit.lora.lora(0, 16)
    with raises(TypeError, r"jinit\.lora\.lora: `rank` must be an int; got rank=2\.0\."):
        jinit.lora.lora(2.0, 16)
    with raises(ValueError, r"jinit\.lora\.lora: `alpha` must be positive; got alpha=-1\."):
        jinit.lora.lora(2, -1)
    with raises(TypeError, r"jinit\.lora\.lora: `rslora` must be a bool; got rslora=1\."):
        jinit.lora.lora(2, 1, rslora=1)
    with raises(ValueError, r"jinit\.lora\.pissa: `rank` must be at most min\(in, out\) = 6; got rank=7 "):
        jinit.lora.pissa(w, 7)
    with raises(ValueError, r"jinit\.lora\.olora: `rank` must be at least 1; got rank=-1\."):
        jinit.lora.olora(w, -1)
    with raises(ValueError, r"jinit\.lora\.pissa: `w` must be a kernel \(\.\.\., in, out\) with at least 2 "):
        jinit.lora.pissa(jnp.ones(8), 1)
    with raises(ValueError, r"jinit\.lora\.olora: `w` must have a real floating-point dtype; got dtype=int32\."):
        jinit.lora.olora(jnp.ones((8, 6), jnp.int32), 1)
    with raises(TypeError, r"jinit\.lora\.pissa: `w` must be a jax or numpy array; got list\."):
        jinit.lora.pissa([[1.0, 2.0]], 1)
    with raises(ValueError, r"jinit\.lora\.pissa: `scale` must be positive; got scale=0\.0\."):
        jinit.lora.pissa(w, 1, scale=0.0)
    tree = params()
    add = jinit.lora.add_adapters
    with raises(ValueError, r"jinit\.lora\.add_adapters: the rule 'nothing' matches no leaf; the paths are "):
        add(tree, [r".*kernel", "nothing"], KEY, rank=2)
    with raises(ValueError, r"jinit\.lora\.add_adapters: `rules` holds an invalid regex '\('"):
        add(tree, "(", KEY, rank=2)
    with raises(TypeError, r"jinit\.lora\.add_adapters: `rules` must be a regex or a non-empty sequence"):
        add(tree, [], KEY, rank=2)
    with raises(TypeError, r"jinit\.lora\.add_adapters: `params` must be a nested mapping; got list\."):
        add([1], ".*", KEY, rank=2)
    with raises(ValueError, r"jinit\.lora\.add_adapters: 'layers_0/attn/bias' is not a kernel"):
        add(tree, ".*attn/.*", KEY, rank=2)
    with raises(ValueError, r"jinit\.lora\.add_adapters: `rank` must be at most min\(in, out\) = 16; got rank=20 "):
        add(tree, ".*kernel", KEY, rank=20)
    with raises(ValueError, r"jinit\.lora\.add_adapters: `method` must be one of 'lora', 'pissa', 'olora'; "):
        add(tree, ".*kernel", KEY, rank=2, method="dora")
    with raises(TypeError, r"jinit\.lora\.add_adapters: `key` must be a PRNG key"):
        add(tree, ".*kernel", 0, rank=2)
    once = add(tree, ".*kernel", KEY, rank=2)
    with raises(ValueError, r"jinit\.lora\.add_adapters: 'layers_0/attn/kernel' already has a sibling 'lora_a'"):
        add(once, ".*/kernel", KEY, rank=2)
