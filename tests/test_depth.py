"""Depth-aware schemes: GPT-2 residual, Fixup, T-Fixup, DeepNorm.

Their laws are checked on a dense, a conv and a stacked kernel through the
registry (tests/test_laws.py); here: exact identities with the schemes they
specialise, the papers' constants, and every error.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

EPS32 = float(jnp.finfo(jnp.float32).eps)


def test_gpt2_residual_is_a_scaled_normal(key: jax.Array) -> None:
    for n_layer, stddev in ((12, 0.02), (48, 0.01)):
        init = jinit.gpt2_residual(n_layer, stddev)
        assert init == jinit.normal(stddev / math.sqrt(2 * n_layer))
        chex.assert_trees_all_equal(init(key, (64, 32)), jinit.normal(stddev / math.sqrt(2 * n_layer))(key, (64, 32)))
        # The standard normal underneath, scaled by 0.02 / sqrt(2 n_layer).
        z = jax.random.normal(key, (64, 32))
        chex.assert_trees_all_close(init(key, (64, 32)), z * (stddev / math.sqrt(2 * n_layer)), rtol=2 * EPS32)
    np.testing.assert_allclose(jinit.gpt2_residual(12).moments((768, 768)).variance, 0.02**2 / 24, rtol=1e-15)


@pytest.mark.parametrize(("branches", "layers", "expected"), [(16, 2, 0.25), (81, 3, 1 / 3), (1, 5, 1.0), (64, 4, 0.5)])
def test_fixup_scale(branches: int, layers: int, expected: float) -> None:
    # L^(-1 / (2m - 2)): 16^(-1/2), 81^(-1/4), 1, 64^(-1/6).
    np.testing.assert_allclose(jinit.fixup_scale(branches, layers), expected, rtol=1e-15)


def test_fixup_matches_paper_and_official_code(key: jax.Array) -> None:
    shape = (3, 3, 64, 128)
    big_l = 16
    # Paper: He (fan_in) times L^(-1/2) for m = 2.
    law = jinit.fixup(big_l, 2).moments(shape)
    np.testing.assert_allclose(law.variance, 2 / (9 * 64) / big_l, rtol=1e-15)
    # Official code: std = sqrt(2 / (out_channels * k * k)) * L^(-0.5).
    law = jinit.fixup(big_l, 2, mode="fan_out").moments(shape)
    np.testing.assert_allclose(law.std, math.sqrt(2 / (128 * 3 * 3)) * big_l**-0.5, rtol=1e-15)
    assert law.excess_kurtosis == 0.0  # an untruncated normal, as the official normal_
    # Same draws as He normal (untruncated) up to the factor.
    he = jinit.variance_scaling(2.0, "fan_in", "normal")
    chex.assert_trees_all_close(jinit.fixup(big_l, 2)(key, shape), he(key, shape) * 0.25, rtol=4 * EPS32)
    # Bottleneck blocks (m = 3): L^(-1/4) on the std.
    np.testing.assert_allclose(jinit.fixup(big_l, 3).moments(shape).variance, 2 / (9 * 64) * big_l**-0.5, rtol=1e-15)


def test_t_fixup(key: jax.Array) -> None:
    n = 6
    np.testing.assert_allclose(jinit.t_fixup_scale("encoder", n), 0.67 * n**-0.25, rtol=1e-15)
    np.testing.assert_allclose(jinit.t_fixup_scale("decoder", n), (9 * n) ** -0.25, rtol=1e-15)
    np.testing.assert_allclose(jinit.t_fixup_scale("embedding", n), (9 * n) ** -0.25, rtol=1e-15)
    # Encoder/decoder weights: Xavier uniform times the gain, same draws.
    shape = (512, 2048)
    for part in ("encoder", "decoder"):
        gain = jinit.t_fixup_scale(part, n)
        chex.assert_trees_all_close(
            jinit.t_fixup(part, n)(key, shape), jinit.glorot_uniform()(key, shape) * gain, rtol=4 * EPS32
        )
        law = jinit.t_fixup(part, n).moments(shape)
        np.testing.assert_allclose(law.bound, gain * math.sqrt(6 / (512 + 2048)), rtol=1e-15)
    # Embeddings (vocab, d): the official code's normal_(std=d^-0.5) times (9N)^(-1/4).
    law = jinit.t_fixup("embedding", n).moments((32000, 512))
    np.testing.assert_allclose(law.std, 512**-0.5 * (9 * n) ** -0.25, rtol=1e-15)
    assert law.mean == 0.0 and law.excess_kurtosis == 0.0


def test_t_fixup_axes_passed_are_used_as_given(key: jax.Array) -> None:
    # Embeddings default to the Flax Embed layout (vocab, d): fan_in = d.
    emb = jinit.t_fixup("embedding", 6)
    assert (emb.in_axis, emb.out_axis) == (-1, -2)
    np.testing.assert_allclose(emb.moments((1000, 64)).variance * 64, (9 * 6) ** -0.5, rtol=1e-15)
    # Axes passed explicitly are kept, even when they equal the dense defaults:
    # a (d, vocab) table with in_axis=-2 has fan_in = d.
    given = jinit.t_fixup("embedding", 6, in_axis=-2, out_axis=-1)
    assert (given.in_axis, given.out_axis) == (-2, -1)
    np.testing.assert_allclose(given.moments((64, 1000)).variance * 64, (9 * 6) ** -0.5, rtol=1e-15)
    gain = jinit.t_fixup_scale("embedding", 6)
    want = jinit.variance_scaling(gain * gain, "fan_in", "normal", in_axis=-2, out_axis=-1)
    chex.assert_trees_all_equal(given(key, (64, 1000)), want(key, (64, 1000)))
    # One axis given, the other defaulted for the part.
    assert jinit.t_fixup("embedding", 6, in_axis=0).out_axis == -2
    assert jinit.t_fixup("encoder", 6, out_axis=(-1,)).in_axis == -2
    assert jinit.t_fixup("decoder", 6) == jinit.t_fixup("decoder", 6, in_axis=-2, out_axis=-1)


def test_built_as_variance_scaling() -> None:
    # The same builder as variance_scaling: equal (the name is not part of the
    # value), and its checks, e.g. of the axes.
    assert jinit.fixup(16, 2, mode="fan_out") == jinit.variance_scaling(2.0 / 16, "fan_out", "normal")
    assert jinit.deepnorm(encoder_layers=18) == jinit.variance_scaling(
        jinit.deepnorm_constants(encoder_layers=18)["encoder_beta"] ** 2, "fan_avg", "normal"
    )
    gain = jinit.t_fixup_scale("encoder", 6)
    assert jinit.t_fixup("encoder", 6) == jinit.variance_scaling(gain * gain, "fan_avg", "uniform")
    for make in (
        lambda: jinit.fixup(16, 2, batch_axis=(0, 0)),
        lambda: jinit.t_fixup("embedding", 6, in_axis=(1, 1)),
        lambda: jinit.deepnorm(encoder_layers=6, out_axis=(0, 0)),
    ):
        with pytest.raises(ValueError, match=r"^jinit\.(fixup|t_fixup|deepnorm): `\w+_axis` must not repeat an axis"):
            make()
    with pytest.raises(TypeError, match=r"^jinit\.t_fixup: `in_axis` must be an int or a sequence of ints; got 1\.0"):
        jinit.t_fixup("embedding", 6, in_axis=1.0)


def test_deepnorm_constants_paper_values() -> None:
    n, m = 18, 12
    enc = jinit.deepnorm_constants(encoder_layers=n)
    assert enc == {
        "encoder_alpha": pytest.approx((2 * n) ** 0.25, rel=1e-15),
        "encoder_beta": pytest.approx((8 * n) ** -0.25, rel=1e-15),
        "decoder_alpha": None,
        "decoder_beta": None,
    }
    dec = jinit.deepnorm_constants(decoder_layers=m)
    assert dec["decoder_alpha"] == pytest.approx((2 * m) ** 0.25, rel=1e-15)
    assert dec["decoder_beta"] == pytest.approx((8 * m) ** -0.25, rel=1e-15)
    assert dec["encoder_alpha"] is None and dec["encoder_beta"] is None
    both = jinit.deepnorm_constants(n, m)
    assert both["encoder_alpha"] == pytest.approx(0.81 * (n**4 * m) ** (1 / 16), rel=1e-15)
    assert both["encoder_beta"] == pytest.approx(0.87 * (n**4 * m) ** (-1 / 16), rel=1e-15)
    assert both["decoder_alpha"] == pytest.approx((3 * m) ** 0.25, rel=1e-15)
    assert both["decoder_beta"] == pytest.approx((12 * m) ** -0.25, rel=1e-15)
    # microsoft/torchscale divides the encoder weights by (N^4 M)^(1/16) / 1.15:
    # its beta is 1.15 / 0.87 times the paper's.
    torchscale_beta = 1 / (math.pow(math.pow(n, 4) * m, 0.0625) / 1.15)
    assert torchscale_beta / both["encoder_beta"] == pytest.approx(1.15 / 0.87, rel=1e-12)


def test_deepnorm_initializer(key: jax.Array) -> None:
    beta = jinit.deepnorm_constants(decoder_layers=100)["decoder_beta"]
    init = jinit.deepnorm(decoder_layers=100, part="decoder")
    assert (init.mode, init.distribution) == ("fan_avg", "normal")
    assert init.scale == pytest.approx(beta**2, rel=1e-15)
    law = init.moments((512, 2048))
    np.testing.assert_allclose(law.variance, beta**2 * 2 / (512 + 2048), rtol=1e-15)
    # Xavier normal with gain beta: the same draws as gain 1, times beta.
    xavier = jinit.variance_scaling(1.0, "fan_avg", "normal")
    chex.assert_trees_all_close(init(key, (512, 2048)), xavier(key, (512, 2048)) * beta, rtol=4 * EPS32)
    enc = jinit.deepnorm(encoder_layers=6, decoder_layers=6)
    assert enc.scale == pytest.approx(jinit.deepnorm_constants(6, 6)["encoder_beta"] ** 2, rel=1e-15)


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda v: jinit.gpt2_residual(v), "n_layer"),
        (lambda v: jinit.fixup(v, 2), "num_branches"),
        (lambda v: jinit.fixup(16, v), "layers_per_branch"),
        (lambda v: jinit.fixup_scale(v, 2), "num_branches"),
        (lambda v: jinit.t_fixup("decoder", v), "num_layers"),
        (lambda v: jinit.t_fixup_scale("encoder", v), "num_layers"),
        (lambda v: jinit.deepnorm_constants(v, v), "encoder_layers"),
        (lambda v: jinit.deepnorm(decoder_layers=v, part="decoder"), "decoder_layers"),
    ],
)
def test_counts_past_int64_are_refused_by_name(make, param: str) -> None:
    # Python ints have no bound, but the formulas go through floats: 10**400
    # would raise a bare OverflowError from float() or ** inside the factory.
    for huge in (10**100, 10**400):
        with pytest.raises(ValueError, match=rf"^jinit\.\w+: `{param}` must be at most 9223372036854775807; got"):
            make(huge)
    # int64's maximum itself is accepted and gives finite constants.
    assert make(2**63 - 1) is not None
    for bad in (True, 2.0, 2.5, np.array([2, 3]), "2"):
        with pytest.raises(TypeError, match=rf"`{param}` must be an int; got {param}="):
            make(bad)
    # A numpy or jax integer of one element is an int.
    assert make(np.int64(4)) == make(4) == make(np.array([4])) == make(jnp.array(4))


def test_errors() -> None:
    with pytest.raises(TypeError, match=r"jinit\.gpt2_residual: `n_layer` must be an int; got n_layer=True"):
        jinit.gpt2_residual(True)
    with pytest.raises(TypeError, match=r"`n_layer` must be an int; got n_layer=12\.0"):
        jinit.gpt2_residual(12.0)
    with pytest.raises(ValueError, match=r"jinit\.gpt2_residual: `n_layer` must be at least 1; got n_layer=0"):
        jinit.gpt2_residual(0)
    with pytest.raises(ValueError, match=r"jinit\.gpt2_residual: `stddev` must be positive"):
        jinit.gpt2_residual(12, -0.02)
    with pytest.raises(ValueError, match=r"jinit\.fixup_scale: `layers_per_branch` must be at least 2; got"):
        jinit.fixup_scale(16, 1)
    with pytest.raises(ValueError, match=r"jinit\.fixup_scale: `num_branches` must be at least 1; got"):
        jinit.fixup_scale(0, 2)
    with pytest.raises(ValueError, match=r"jinit\.fixup: `layers_per_branch` must be at least 2"):
        jinit.fixup(16, 1)
    with pytest.raises(ValueError, match=r"jinit\.fixup: `mode` must be one of 'fan_in', 'fan_out'"):
        jinit.fixup(16, 2, mode="fan")
    with pytest.raises(ValueError, match=r"jinit\.t_fixup_scale: `part` must be one of 'encoder', 'decoder'"):
        jinit.t_fixup_scale("attention", 6)
    with pytest.raises(ValueError, match=r"jinit\.t_fixup: `num_layers` must be at least 1"):
        jinit.t_fixup("encoder", 0)
    with pytest.raises(ValueError, match=r"jinit\.deepnorm_constants: needs `encoder_layers` or `decoder_layers`"):
        jinit.deepnorm_constants()
    with pytest.raises(ValueError, match=r"jinit\.deepnorm_constants: `decoder_layers` must be non-negative"):
        jinit.deepnorm_constants(6, -1)
    with pytest.raises(ValueError, match=r"jinit\.deepnorm: part='decoder' needs `decoder_layers` positive"):
        jinit.deepnorm(encoder_layers=6, part="decoder")
    with pytest.raises(ValueError, match=r"jinit\.deepnorm: `part` must be one of 'encoder', 'decoder'"):
        jinit.deepnorm(encoder_layers=6, part="both")
