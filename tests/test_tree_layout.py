"""Layouts and fans for stored arrays: torch_layout, with_fans, and the torch_defaults rule set.

Each wrapper is checked by exact identities against the initializer drawn
on the canonical kernel (the draw is the same, only the axes move), and its
law against the one the initializer states for that kernel. torch_defaults
is checked leaf by leaf against jinit.torch's layer laws at the leaf's key.
"""

from __future__ import annotations

import math
import pickle
import zlib
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
import jinit.torch as jt
import jinit.tree

KEY = jax.random.key(9)
EPS32 = float(jnp.finfo(jnp.float32).eps)
N_SIGMA = 6.0


def leaf(init: Any, path: str, shape: tuple[int, ...]) -> jax.Array:
    return init(jax.random.fold_in(KEY, zlib.crc32(path.encode())), shape)


# ---------------------------------------------------------------------------
# torch_layout


def test_torch_layout_is_the_jax_layout_draw_transposed() -> None:
    init = jinit.he_normal()
    wrapped = jinit.tree.torch_layout(init)
    chex.assert_trees_all_equal(wrapped(KEY, (32, 16)), init(KEY, (16, 32)).T)  # Linear(16, 32): (out, in)
    conv = wrapped(KEY, (8, 4, 3, 5))  # Conv2d(4, 8, (3, 5)): (out, in, kh, kw)
    chex.assert_trees_all_equal(conv, jnp.transpose(init(KEY, (3, 5, 4, 8)), (3, 2, 0, 1)))
    assert wrapped.moments((8, 4, 3, 5)) == init.moments((3, 5, 4, 8))
    # Rank 0 and 1 (biases) are passed through.
    chex.assert_trees_all_equal(jinit.tree.torch_layout(jinit.normal(0.5))(KEY, (7,)), jinit.normal(0.5)(KEY, (7,)))


def test_torch_layout_keeps_orthogonality_of_the_layer() -> None:
    """A (out, in) weight with in >= out has orthonormal rows, as torch's orthogonal_ gives a Linear."""
    w = jinit.tree.torch_layout(jinit.orthogonal())(KEY, (16, 64))
    chex.assert_trees_all_close(w @ w.T, jnp.eye(16), atol=64 * EPS32, rtol=0.0)


def test_torch_layout_refuses_a_context_rule_and_non_callables() -> None:
    with pytest.raises(TypeError, match=r"jinit\.tree\.torch_layout: `init` must be an initializer; got 3"):
        jinit.tree.torch_layout(3)
    with pytest.raises(TypeError, match=r"jinit\.tree\.with_fans: `init` must be an initializer; got FunctionRule"):
        jinit.tree.with_fans(jinit.tree.context_rule(lambda m, leaf, sib: jinit.zeros))


# ---------------------------------------------------------------------------
# with_fans


def test_default_axes_are_the_initializer_itself() -> None:
    init = jinit.glorot_uniform()
    chex.assert_trees_all_equal(jinit.tree.with_fans(init)(KEY, (24, 40)), init(KEY, (24, 40)))
    chex.assert_trees_all_equal(jinit.tree.with_fans(init)(KEY, (3, 3, 8, 16)), init(KEY, (3, 3, 8, 16)))


def test_dense_general_and_attention_kernels_are_drawn_as_their_matrix() -> None:
    init = jinit.orthogonal()
    qkv = jinit.tree.with_fans(init, in_axis=0, out_axis=(1, 2))
    chex.assert_trees_all_equal(qkv(KEY, (64, 4, 16)), init(KEY, (64, 64)).reshape(64, 4, 16))
    out = jinit.tree.with_fans(init, in_axis=(0, 1), out_axis=2)
    chex.assert_trees_all_equal(out(KEY, (4, 16, 32)), init(KEY, (64, 32)).reshape(4, 16, 32))
    # Axes out of order: (heads, d, head_dim) with d the input.
    einsum = jinit.tree.with_fans(init, in_axis=1, out_axis=(0, 2))
    want = jnp.transpose(init(KEY, (32, 4 * 8)).reshape(32, 4, 8), (1, 0, 2))
    chex.assert_trees_all_equal(einsum(KEY, (4, 32, 8)), want)
    assert jinit.tree.with_fans(jinit.he_normal(), in_axis=1, out_axis=(0, 2)).moments((4, 32, 8)).variance == 2 / 32


def test_experts_along_a_batch_axis_are_independent_matrices() -> None:
    init = jinit.he_normal()
    moe = jinit.tree.with_fans(init, batch_axis=0)
    w = moe(KEY, (4, 32, 64))
    for e in range(4):
        chex.assert_trees_all_equal(w[e], init(jax.random.fold_in(KEY, e), (32, 64)))
    assert moe.moments((4, 32, 64)).variance == 2 / 32  # fan_in of one expert, not 4 * 32
    # A batch axis in the middle (fused QKV stored (d, 3, h)): the slices are q, k, v.
    fused = jinit.tree.with_fans(init, in_axis=0, out_axis=2, batch_axis=1)(KEY, (16, 3, 8))
    for i in range(3):
        chex.assert_trees_all_equal(fused[:, i, :], init(jax.random.fold_in(KEY, i), (16, 8)))


def test_explicit_fans_rescale_the_law_to_that_matrix() -> None:
    """A fused (d, 3h) kernel with fan_out=h: glorot's variance 2 / (d + h) instead of 2 / (d + 3h)."""
    d, h = 256, 64
    init = jinit.glorot_normal()
    fused = jinit.tree.with_fans(init, fan_out=h)
    w = fused(KEY, (d, 3 * h))
    ratio = math.sqrt((d + 3 * h) / (d + h))
    chex.assert_trees_all_close(w, init(KEY, (d, 3 * h)) * ratio, rtol=4 * EPS32, atol=0.0)
    law = fused.moments((d, 3 * h))
    assert law.variance == pytest.approx(2 / (d + h), rel=1e-12)
    assert law.bound == pytest.approx(init.moments((d, 3 * h)).bound * ratio, rel=1e-12)
    # The draws have it: relative standard error of a normal sample variance sqrt(2 / n).
    n = d * 3 * h
    assert abs(float(jnp.var(w)) / law.variance - 1) < N_SIGMA * math.sqrt(2 / n)


def test_explicit_fans_in_half_precision_round_once() -> None:
    init = jinit.he_uniform()
    fused = jinit.tree.with_fans(init, fan_in=64)
    w = fused(KEY, (256, 32), jnp.bfloat16)
    assert w.dtype == jnp.bfloat16
    want = (init(KEY, (256, 32), jnp.float32) * np.float32(math.sqrt(256 / 64))).astype(jnp.bfloat16)
    chex.assert_trees_all_equal(w, want)


@pytest.mark.parametrize(
    ("init", "message"),
    [
        (jinit.orthogonal(), r"explicit fan values rescale a zero-mean i\.i\.d\. law; .* \(i\.i\.d\.: False\)"),
        (jinit.constant(1.0), r"explicit fan values rescale a zero-mean i\.i\.d\. law; .* gives mean 1\.0"),
        (jax.nn.initializers.he_normal(), r"explicit fan values need an initializer with a law"),
    ],
)
def test_explicit_fans_need_a_zero_mean_iid_law(init: Any, message: str) -> None:
    with pytest.raises(ValueError, match=r"jinit\.tree\.with_fans: " + message):
        jinit.tree.with_fans(init, fan_in=4)(KEY, (8, 8))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fan_in": 0}, ValueError, r"`fan_in` must be positive; got fan_in=0"),
        ({"fan_out": 1.5}, TypeError, r"`fan_out` must be an int or None; got fan_out=1\.5"),
        ({"in_axis": "0"}, TypeError, r"`in_axis` must be an int or a sequence of ints"),
    ],
)
def test_with_fans_factory_errors(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=r"jinit\.tree\.with_fans: " + message):
        jinit.tree.with_fans(jinit.he_normal(), **kwargs)


def test_with_fans_axes_checked_against_the_shape() -> None:
    with pytest.raises(ValueError, match=r"jinit\.tree\.with_fans: `in_axis` and `batch_axis` share an axis"):
        jinit.tree.with_fans(jinit.he_normal(), in_axis=0, out_axis=2, batch_axis=0)(KEY, (4, 4, 4))
    with pytest.raises(ValueError, match=r"jinit\.tree\.with_fans: `out_axis`=3 is out of range for a shape of rank 3"):
        jinit.tree.with_fans(jinit.he_normal(), in_axis=0, out_axis=3)(KEY, (4, 4, 4))


def test_wrappers_are_hashable_and_picklable() -> None:
    a = jinit.tree.with_fans(jinit.he_normal(), batch_axis=0, fan_out=8)
    assert a == jinit.tree.with_fans(jinit.he_normal(), batch_axis=0, fan_out=8) and hash(a) == hash(
        pickle.loads(pickle.dumps(a))
    )
    b = jinit.tree.torch_layout(jinit.orthogonal())
    assert pickle.loads(pickle.dumps(b)) == b


# ---------------------------------------------------------------------------
# torch_defaults


def flax_params() -> dict[str, Any]:
    return {
        "Embed_0": {"embedding": jnp.zeros((100, 16))},
        "Conv_0": {"kernel": jnp.zeros((3, 3, 4, 8)), "bias": jnp.zeros((8,))},
        "Dense_0": {"kernel": jnp.zeros((72, 32)), "bias": jnp.zeros((32,))},
        "LayerNorm_0": {"scale": jnp.zeros((32,)), "bias": jnp.ones((32,))},
    }


def torch_params() -> dict[str, Any]:
    """The same layers as a torch state dict (dots turned into nesting): weights (out, in, *k)."""
    return {
        "embed": {"weight": jnp.zeros((100, 16))},
        "conv": {"weight": jnp.zeros((8, 4, 3, 3)), "bias": jnp.zeros((8,))},
        "fc": {"weight": jnp.zeros((32, 72)), "bias": jnp.zeros((32,))},
        "norm": {"weight": jnp.zeros((32,)), "bias": jnp.ones((32,))},
    }


def test_torch_defaults_give_each_flax_layer_torchs_law() -> None:
    new = jinit.tree.reinit(flax_params(), jinit.tree.torch_defaults(), KEY)
    chex.assert_trees_all_equal(new["Embed_0"]["embedding"], leaf(jt.embedding(), "Embed_0/embedding", (100, 16)))
    chex.assert_trees_all_equal(new["Conv_0"]["kernel"], leaf(jt.conv_weight(), "Conv_0/kernel", (3, 3, 4, 8)))
    chex.assert_trees_all_equal(new["Conv_0"]["bias"], leaf(jt.conv_bias(36), "Conv_0/bias", (8,)))
    chex.assert_trees_all_equal(new["Dense_0"]["kernel"], leaf(jt.linear_weight(), "Dense_0/kernel", (72, 32)))
    chex.assert_trees_all_equal(new["Dense_0"]["bias"], leaf(jt.linear_bias(72), "Dense_0/bias", (32,)))
    chex.assert_trees_all_equal(new["LayerNorm_0"]["scale"], jnp.ones((32,)))
    chex.assert_trees_all_equal(new["LayerNorm_0"]["bias"], jnp.zeros((32,)))


def test_torch_defaults_in_torch_layout() -> None:
    new = jinit.tree.reinit(torch_params(), jinit.tree.torch_defaults(layout="torch"), KEY)
    chex.assert_trees_all_equal(new["embed"]["weight"], leaf(jt.embedding(), "embed/weight", (100, 16)))
    conv = jt.conv_weight(layout="torch")
    chex.assert_trees_all_equal(new["conv"]["weight"], leaf(conv, "conv/weight", (8, 4, 3, 3)))
    chex.assert_trees_all_equal(new["conv"]["bias"], leaf(jt.conv_bias(36), "conv/bias", (8,)))
    fc = jt.linear_weight(layout="torch")
    chex.assert_trees_all_equal(new["fc"]["weight"], leaf(fc, "fc/weight", (32, 72)))
    chex.assert_trees_all_equal(new["fc"]["bias"], leaf(jt.linear_bias(72), "fc/bias", (32,)))
    chex.assert_trees_all_equal(new["norm"]["weight"], jnp.ones((32,)))
    chex.assert_trees_all_equal(new["norm"]["bias"], jnp.zeros((32,)))
    # Every bias reaches at most 1/sqrt(fan_in) of its own layer's weight.
    assert float(jnp.max(jnp.abs(new["fc"]["bias"]))) <= 1 / math.sqrt(72)


def test_torch_defaults_are_optional_roles_but_materialize_still_needs_every_leaf() -> None:
    dense_only = {"fc": {"kernel": jnp.zeros((8, 4)), "bias": jnp.zeros((4,))}}
    jinit.tree.reinit(dense_only, jinit.tree.torch_defaults(), KEY)  # no embedding, no norm: no error
    abstract = {
        "fc": {"kernel": jax.ShapeDtypeStruct((8, 4), jnp.float32)},
        "step": jax.ShapeDtypeStruct((), jnp.int32),
    }
    with pytest.raises(ValueError, match=r"jinit\.tree\.materialize: every leaf needs a rule .*\['step'\]"):
        jinit.tree.materialize(abstract, jinit.tree.torch_defaults(), KEY)


def test_rules_before_torch_defaults_take_precedence() -> None:
    params = {"attn": {"query": {"kernel": jnp.zeros((64, 4, 16)), "bias": jnp.zeros((4, 16))}}}
    own = jinit.tree.with_fans(jt.linear_weight(), in_axis=0, out_axis=(1, 2))
    rules = [(r".*query/kernel", own)] + jinit.tree.torch_defaults()  # noqa: RUF005 (Rules.__radd__)
    new = jinit.tree.reinit(params, rules, KEY)
    chex.assert_trees_all_equal(new["attn"]["query"]["kernel"], leaf(own, "attn/query/kernel", (64, 4, 16)))
    # The bias still reads its sibling, a rank-3 kernel: torch's conv law has fan_in 4 * 64 there.
    chex.assert_trees_all_equal(new["attn"]["query"]["bias"], leaf(jt.conv_bias(256), "attn/query/bias", (4, 16)))


def test_torch_defaults_refuse_a_weight_of_rank_six_and_a_bad_layout() -> None:
    params = {"w": {"kernel": jnp.zeros((2,) * 6)}}
    with pytest.raises(
        ValueError,
        match=r"jinit\.tree\.reinit: the context rule of rule .* on 'w/kernel' .* failed: torch has no default law "
        r"for a weight of rank 6",
    ):
        jinit.tree.reinit(params, jinit.tree.torch_defaults(), KEY)
    with pytest.raises(ValueError, match=r"jinit\.tree\.torch_defaults: `layout` must be one of 'flax', 'torch'"):
        jinit.tree.torch_defaults(layout="jax")


def test_torch_defaults_are_a_hashable_picklable_recipe() -> None:
    rules = jinit.tree.torch_defaults(layout="torch")
    assert rules == jinit.tree.torch_defaults(layout="torch") != jinit.tree.torch_defaults()
    assert pickle.loads(pickle.dumps(rules)) == rules and hash(rules) == hash(jinit.tree.torch_defaults("torch"))
    assert repr(rules) == "Rules(<torch_defaults(layout='torch')>)"
    assert all(rule.optional for rule in rules)
