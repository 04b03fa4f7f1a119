"""IRNN identity and per-gate orthogonal recurrent kernels, alone and inside flax.nnx cells."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

nnx = pytest.importorskip("flax.nnx")

H = 16
ATOL = 8 * float(jnp.finfo(jnp.float32).eps) * H  # Q^T Q: sums of H products of O(1/sqrt(H)) entries


def gate_blocks(kernel: jax.Array) -> list[np.ndarray]:
    w = np.asarray(kernel)
    h = w.shape[-2]
    return [w[..., :, k * h : (k + 1) * h] for k in range(w.shape[-1] // h)]


def assert_orthogonal(block: np.ndarray, scale: float = 1.0) -> None:
    np.testing.assert_allclose(block.T @ block, scale**2 * np.eye(block.shape[-1]), atol=ATOL * scale**2)


def test_irnn_structure(key: jax.Array, other_key: jax.Array) -> None:
    w = jinit.irnn(0.5)(key, (H, 3 * H))
    for block in gate_blocks(w):
        np.testing.assert_array_equal(block, 0.5 * np.eye(H, dtype=np.float32))
    chex.assert_trees_all_equal(w, jinit.irnn(0.5)(other_key, (H, 3 * H)))
    stacked = jinit.irnn()(key, (2, 3, H, H))
    chex.assert_trees_all_equal(stacked, jnp.broadcast_to(jnp.eye(H), (2, 3, H, H)))


def test_recurrent_orthogonal_structure(key: jax.Array, other_key: jax.Array) -> None:
    w = jinit.recurrent_orthogonal(scale=0.9)(key, (H, 4 * H))
    blocks = gate_blocks(w)
    for block in blocks:
        assert_orthogonal(block, 0.9)
    # Independent blocks, and a new key gives new blocks.
    assert not np.allclose(blocks[0], blocks[1])
    assert not np.allclose(np.asarray(w), np.asarray(jinit.recurrent_orthogonal(scale=0.9)(other_key, (H, 4 * H))))
    # Leading axes are independent slices, each block orthogonal.
    stacked = np.asarray(jinit.recurrent_orthogonal()(key, (3, H, 2 * H)))
    for layer in stacked:
        for block in gate_blocks(layer):
            assert_orthogonal(block)
    assert not np.allclose(stacked[0], stacked[1])
    # Half precision is computed in float32, then rounded.
    w16 = jinit.recurrent_orthogonal()(key, (H, 2 * H), jnp.bfloat16)
    chex.assert_type(w16, jnp.bfloat16)
    chex.assert_trees_all_close(w16.astype(jnp.float32), jinit.recurrent_orthogonal()(key, (H, 2 * H)), atol=2**-8)


def test_flax_default_does_not_make_gates_orthogonal(key: jax.Array) -> None:
    # The claim in the module docstring: orthogonal() on (h, 4h) has orthonormal
    # rows, but each (h, h) gate block has singular values far from 1.
    w = jax.nn.initializers.orthogonal()(key, (H, 4 * H))
    np.testing.assert_allclose(np.asarray(w @ w.T), np.eye(H), atol=ATOL)
    s = np.linalg.svd(gate_blocks(w)[0], compute_uv=False)
    assert np.max(np.abs(s - 1)) > 0.25


@pytest.mark.parametrize(("cell", "gates"), [("OptimizedLSTMCell", 4), ("GRUCell", 3), ("SimpleCell", 1)])
def test_orthogonal_inside_fused_cells(cell: str, gates: int) -> None:
    model = getattr(nnx, cell)(8, H, recurrent_kernel_init=jinit.recurrent_orthogonal(), rngs=nnx.Rngs(0))
    kernel = model.dense_h.kernel.get_value()
    chex.assert_shape(kernel, (H, gates * H))
    for block in gate_blocks(kernel):
        assert_orthogonal(block)
    carry = model.initialize_carry((2, 8), nnx.Rngs(1))
    carry, y = model(carry, jnp.ones((2, 8)))
    chex.assert_tree_all_finite((carry, y))


def test_orthogonal_inside_lstm_cell() -> None:
    model = nnx.LSTMCell(8, H, recurrent_kernel_init=jinit.recurrent_orthogonal(), rngs=nnx.Rngs(0))
    kernels = [getattr(model, g).kernel.get_value() for g in ("hi", "hf", "hg", "ho")]
    for kernel in kernels:
        assert_orthogonal(np.asarray(kernel))
    assert not np.allclose(np.asarray(kernels[0]), np.asarray(kernels[1]))


def test_orthogonal_linear_rnn_preserves_the_norm() -> None:
    # h_t = W h_{t-1} with W orthogonal: |h_t| = |h_0| for every t.
    model = nnx.SimpleCell(
        4, H, activation_fn=lambda x: x, recurrent_kernel_init=jinit.recurrent_orthogonal(), rngs=nnx.Rngs(0)
    )
    h0 = jax.random.normal(jax.random.key(5), (3, H))
    h = h0
    zeros = jnp.zeros((3, 4))
    for _ in range(20):
        h, _ = model(h, zeros)
    np.testing.assert_allclose(np.linalg.norm(h, axis=1), np.linalg.norm(h0, axis=1), rtol=1e-5)


def test_irnn_copies_the_state_forward() -> None:
    # Le et al. (2015): relu, identity recurrent matrix, zero bias: with zero
    # input the state h >= 0 is copied unchanged through every step.
    model = nnx.SimpleCell(4, H, activation_fn=jax.nn.relu, recurrent_kernel_init=jinit.irnn(), rngs=nnx.Rngs(0))
    h0 = jnp.abs(jax.random.normal(jax.random.key(5), (3, H)))
    h = h0
    for _ in range(50):
        h, _ = model(h, jnp.zeros((3, 4)))
    chex.assert_trees_all_equal(h, h0)
    # Inside the LSTM, each recurrent gate kernel is the identity.
    lstm = nnx.OptimizedLSTMCell(4, H, recurrent_kernel_init=jinit.irnn(), rngs=nnx.Rngs(0))
    for block in gate_blocks(lstm.dense_h.kernel.get_value()):
        np.testing.assert_array_equal(block, np.eye(H, dtype=np.float32))


def test_errors(key: jax.Array) -> None:
    with pytest.raises(ValueError, match=r"jinit\.irnn: `gain` must be non-zero \(use jinit\.zeros\); got gain=0"):
        jinit.irnn(0.0)
    with pytest.raises(ValueError, match=r"jinit\.recurrent_orthogonal: `scale` must be positive"):
        jinit.recurrent_orthogonal(0.0)
    with pytest.raises(ValueError, match=r"jinit\.irnn: shape needs at least 2 dimensions \(hidden, gates \* hidden\)"):
        jinit.irnn()(key, (16,))
    with pytest.raises(
        ValueError,
        match=r"jinit\.recurrent_orthogonal: the last axis must hold whole \(h, h\) gate blocks, a multiple of "
        r"shape\[-2\]=16; got shape=\(16, 40\)",
    ):
        jinit.recurrent_orthogonal()(key, (16, 40))
