"""jinit.propagate: exact against a plain re-implementation, statistical against theory.

Theory used (zero biases unless said): for relu with He init, E[q^L / q^1] = 1
exactly (He et al. 2015, eq. 10; by the sign symmetry of the weights each
relu keeps half of the second moment in expectation), and Glorot on square
layers halves it per layer. For wide tanh networks the length follows the
mean-field map q^l = sigma_w^2 E[tanh(sqrt(q^{l-1}) z)^2] + sigma_b^2 and the
backward second moment shrinks by chi(q^l) = sigma_w^2 E[tanh'(sqrt(q^l) z)^2]
per layer (Poole et al. 2016; Schoenholz et al. 2017). Tolerances are six
standard errors across seeds; the finite-width bias of the mean-field
prediction is O(1/width), far below them at the widths used.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit._src.diagnostics import propagate as prop
from jinit._src.random import sampling
from jinit._src.theory import quadrature

N_SIGMA = 6.0
# One small configuration for the relu tests that need no statistics: the network compiles once.
SMALL = {"depth": 30, "width": 64, "batch": 8, "seeds": 2}


def _t_bound(samples: np.ndarray) -> float:
    """N_SIGMA standard errors of the mean of ``samples`` (seed to seed)."""
    return N_SIGMA * float(np.std(samples, ddof=1)) / math.sqrt(samples.size)


# ---------------------------------------------------------------------------
# Exact: against a plain re-implementation of the documented computation


def _reference(init, bias_init, widths, x, root, seed):
    """Per-layer statistics of one seed's tanh network, computed directly and per input (jax.grad)."""
    phi = jnp.tanh
    ks = jax.random.fold_in(root, seed)
    depth = len(widths) - 1
    kernels = [
        init(jax.random.fold_in(jax.random.fold_in(ks, prop._KERNEL), i), (widths[i], widths[i + 1]), jnp.float32)
        for i in range(depth)
    ]
    biases = [
        bias_init(jax.random.fold_in(jax.random.fold_in(ks, prop._BIAS), i), (widths[i + 1],), jnp.float32)
        for i in range(depth)
    ]
    r = sampling.normal(jax.random.fold_in(ks, prop._READOUT), (widths[-1],), np.dtype(np.float32))
    r = r / np.float32(math.sqrt(widths[-1]))

    def forward(eps, xb):
        h, zs, hs_in = xb, [], []
        for w, b, e in zip(kernels, biases, eps, strict=True):
            hs_in.append(h)
            z = h @ w + b + e
            zs.append(z)
            h = phi(z)
        return jnp.dot(h, r), (zs, hs_in)

    def per_input(xb):
        eps = [jnp.zeros((n,), jnp.float32) for n in widths[1:]]
        (_, (zs, hs_in)), g = jax.value_and_grad(forward, has_aux=True)(eps, xb)
        return zs, hs_in, g

    zs, hs_in, deltas = jax.jit(jax.vmap(per_input))(x)
    out = {k: [] for k in prop.QUANTITIES}
    for z, h_in, d in zip(zs, hs_in, deltas, strict=True):
        z, h_in, d = (np.asarray(a, np.float64) for a in (z, h_in, d))
        h, dphi = np.tanh(z), 1.0 - np.tanh(z) ** 2  # phi = tanh
        q = np.mean(z * z)
        out["second_moment"].append(q)
        out["mean"].append(np.mean(h))
        out["dead_fraction"].append(np.mean(np.all(np.abs(dphi) < prop.DEAD_DERIVATIVE, axis=0)))
        out["unit_spread"].append(np.mean(np.var(z, axis=1)) / q)
        pairs = [(2 * i, 2 * i + 1) for i in range(z.shape[0] // 2)]
        out["correlation"].append(np.mean([z[a] @ z[b] / math.sqrt((z[a] @ z[a]) * (z[b] @ z[b])) for a, b in pairs]))
        # |d L_b / d W| for the outer product h_in_b delta_b, from the matrix itself.
        norms = [np.linalg.norm(np.outer(h_in[b], d[b])) for b in range(z.shape[0])]
        out["grad_norm"].append(math.sqrt(np.mean(np.square(norms))))
        out["backward_second_moment"].append(np.mean(d * d))
    return {k: np.asarray(v) for k, v in out.items()}


def test_matches_a_direct_computation():
    """Runs of equal shapes (a scan) and changes of width (single layers) against jax.grad per input."""
    widths = (10, 16, 16, 16, 8, 12)  # runs: (10, 16), (16, 16) x 2 (a scan), (16, 8), (8, 12)
    root = jax.random.key(7)
    x = np.asarray(jax.random.normal(jax.random.key(3), (6, widths[0])))
    bias = jinit.normal(0.3)
    got = jinit.propagate(
        jinit.he_uniform(),
        "tanh",
        depth=len(widths) - 1,
        width=list(widths[1:]),
        inputs=x,
        bias_init=bias,
        seeds=2,
        key=root,
    )
    assert got.widths == widths
    # Two float32 computations in different orders: a few eps per layer. Means, shares and
    # correlations of O(1) values cancel, so their error is absolute.
    tol = 8 * (len(widths) - 1) * float(np.finfo(np.float32).eps)
    for seed in range(2):
        want = _reference(jinit.he_uniform(), bias, widths, jnp.asarray(x), root, seed)
        for q in prop.QUANTITIES:
            atol = tol if q in ("mean", "dead_fraction", "unit_spread", "correlation") else 0.0
            np.testing.assert_allclose(
                got.band(q).samples[0, seed], want[q], rtol=tol, atol=atol, err_msg=f"{q}, seed {seed}"
            )


DEPTH, SEEDS = 8, 16


@pytest.fixture(scope="module")
def relu_run() -> jinit.Propagation:
    """He and Glorot through a wide relu network, shared by the tests below."""
    return jinit.propagate(
        ["he_normal", "glorot_normal"], "relu", depth=DEPTH, width=256, batch=32, seeds=SEEDS, quantiles=(0.2, 0.8)
    )


def test_bands_summarise_the_samples(relu_run):
    p = relu_run
    for q in prop.QUANTITIES:
        band = p.band(q)
        assert band.samples.shape == (2, SEEDS, DEPTH)
        np.testing.assert_allclose(band.mean, band.samples.mean(axis=1))
        np.testing.assert_allclose(band.median, np.median(band.samples, axis=1))
        np.testing.assert_allclose(band.lower, np.quantile(band.samples, 0.2, axis=1))
        np.testing.assert_allclose(band.upper, np.quantile(band.samples, 0.8, axis=1))
    assert p.schemes == ("he_normal", "glorot_normal")
    assert p.activation == "relu" and p.depth == DEPTH and p.seeds == SEEDS and p.batch == 32
    assert p.widths == (256,) * (DEPTH + 1)
    np.testing.assert_array_equal(p.layers, np.arange(1, DEPTH + 1))


def test_relu_is_homogeneous_so_glorot_is_he_scaled(relu_run):
    """Same keys, same family: glorot_normal = he_normal / sqrt(2) on square layers, so with relu
    z^l scales by 2^(-l/2) and every per-input kernel gradient by 2^(-(L-1)/2): an exact identity
    up to float32 rounding (a few eps per layer)."""
    p = relu_run
    rtol = 8 * DEPTH * float(np.finfo(np.float32).eps)
    layers = np.arange(1, DEPTH + 1)
    np.testing.assert_allclose(p.second_moment.samples[1], p.second_moment.samples[0] * 2.0**-layers, rtol=rtol)
    scale = 2.0 ** (-(DEPTH - 1) / 2)
    np.testing.assert_allclose(p.grad_norm.samples[1], p.grad_norm.samples[0] * scale, rtol=rtol)
    # Shares and correlations lie in [-1, 1]: their rounding error is absolute (relative to 1, not to the value).
    for q in ("dead_fraction", "correlation", "unit_spread"):
        np.testing.assert_allclose(p.band(q).samples[1], p.band(q).samples[0], rtol=rtol, atol=rtol, err_msg=q)


# ---------------------------------------------------------------------------
# Statistical: against theory


def test_he_keeps_the_relu_second_moment_constant(relu_run):
    p, depth = relu_run, DEPTH
    q = p.second_moment.samples
    ratio_he = q[0, :, -1] / q[0, :, 0]
    assert abs(ratio_he.mean() - 1.0) <= _t_bound(ratio_he), (ratio_he.mean(), _t_bound(ratio_he))
    # The first layer doubles E[x^2] of the N(0, I) inputs: E[q^1] = 2 E[(x^0)^2].
    first = q[0, :, 0] / p.input_second_moment
    assert abs(first.mean() - 2.0) <= _t_bound(first)
    # Glorot halves it at each layer; the same test on the unscaled ratio fails by far.
    ratio_glorot = q[1, :, -1] / q[1, :, 0]
    scaled = ratio_glorot * 2.0 ** (depth - 1)
    assert abs(scaled.mean() - 1.0) <= _t_bound(scaled)
    assert abs(ratio_glorot.mean() - 1.0) > 100 * _t_bound(ratio_glorot)


def _tanh_length(q: float, sw2: float, sb2: float) -> float:
    return sw2 * quadrature.expectation(lambda x: np.tanh(x) ** 2, 0.0, math.sqrt(q)) + sb2


def _tanh_chi(q: float, sw2: float) -> float:
    return sw2 * quadrature.expectation(lambda x: np.cosh(x) ** -4, 0.0, math.sqrt(q))


def test_tanh_follows_the_mean_field_maps():
    sw2, sb2, depth, seeds = 1.5, 0.05, 6, 8
    p = jinit.propagate(
        {"critical-ish": (jinit.variance_scaling(sw2, "fan_in", "normal"), jinit.normal(math.sqrt(sb2)))},
        "tanh",
        depth=depth,
        width=512,
        batch=32,
        seeds=seeds,
    )
    q_meas = p.second_moment.samples[0]  # (seeds, depth)
    # Theory from each seed's own input length (its second moment is a sample, not exactly 1).
    q_theory = np.empty_like(q_meas)
    for s in range(seeds):
        q = sw2 * p.input_second_moment[s] + sb2
        for layer in range(depth):
            q_theory[s, layer] = q
            q = _tanh_length(q, sw2, sb2)
    rel = q_meas / q_theory
    for layer in range(depth):
        assert abs(rel[:, layer].mean() - 1.0) <= _t_bound(rel[:, layer]), (layer, rel[:, layer])
    # Backward: E[delta_l^2] / E[delta_{l+1}^2] = chi(q^l).
    d = p.backward_second_moment.samples[0]
    for layer in range(depth - 1):
        want = np.array([_tanh_chi(q_theory[s, layer], sw2) for s in range(seeds)])
        ratio = d[:, layer] / d[:, layer + 1] / want
        assert abs(ratio.mean() - 1.0) <= _t_bound(ratio), (layer, ratio)


def test_zeros_constants_tiny_and_large():
    p = jinit.propagate(
        {
            "zeros": jinit.zeros,
            "constant": jinit.constant(0.05),
            "he": jinit.he_normal(),
            "tiny": jinit.normal(0.01),
            "large": jinit.normal(1.0),
        },
        "relu",
        **SMALL,
    )
    zeros, const, he = (p.index(n) for n in ("zeros", "constant", "he"))
    assert np.all(p.second_moment.samples[zeros] == 0.0)
    assert np.all(p.grad_norm.samples[zeros] == 0.0)
    assert np.all(p.dead_fraction.samples[zeros] == 1.0)  # relu'(0) = 0: nothing flows back
    # A constant kernel: every unit of a layer computes the same value.
    np.testing.assert_allclose(p.unit_spread.samples[const], 0.0, atol=1e-6)
    assert np.all(p.unit_spread.samples[he] > 0.5)
    # Per layer E[q] is multiplied by width * stddev^2 / 2: 0.0032 (tiny) and 32 (large, overflows).
    q = p.second_moment.median
    assert q[p.index("tiny"), -1] < 1e-30
    assert not np.isfinite(q[p.index("large"), -1]) or q[p.index("large"), -1] > 1e20


def test_inputs_are_shared_by_every_seed():
    x = np.linspace(-1.0, 1.0, 4 * 8, dtype=np.float32).reshape(4, 8)
    p = jinit.propagate("lecun_normal", "selu", depth=3, width=8, inputs=x, seeds=3)
    np.testing.assert_allclose(p.input_second_moment, np.full(3, np.mean(x.astype(np.float64) ** 2)), rtol=1e-6)
    assert p.batch == 4 and p.widths == (8, 8, 8, 8)
    # A callable activation works too, and gives the same numbers as its name.
    q = jinit.propagate("lecun_normal", jax.nn.selu, depth=3, width=8, inputs=x, seeds=3)
    np.testing.assert_allclose(q.second_moment.samples, p.second_moment.samples)


def test_labels():
    p = jinit.propagate([jinit.normal(0.1), jinit.normal(0.2)], "relu", **SMALL)
    assert p.schemes == (repr(jinit.normal(0.1)), repr(jinit.normal(0.2)))
    p = jinit.propagate(jinit.normal(0.1), "relu", **SMALL)
    assert p.schemes == ("normal",)
    assert "normal" in p.table()
    assert p.table().count("\n") == 3
    assert "layer" in p.layer_table("grad_norm", every=1)
    with pytest.raises(KeyError, match="no scheme 'nope'"):
        p.index("nope")
    with pytest.raises(ValueError, match=r"jinit.Propagation.band: `quantity` must be one of"):
        p.band("variance")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"depth": 0}, ValueError, r"jinit.propagate: `depth` must be at least 1; got depth=0"),
        ({"depth": True}, TypeError, r"jinit.propagate: `depth` must be an int; got depth=True"),
        ({"seeds": 0}, ValueError, r"`seeds` must be at least 1"),
        ({"batch": 2.0}, TypeError, r"`batch` must be an int"),
        ({"width": [4, 4]}, ValueError, r"`width` as a sequence must give one width per layer \(3\); got 2"),
        ({"width": 0}, ValueError, r"`width` must be at least 1"),
        ({"quantiles": (0.9, 0.1)}, ValueError, r"`quantiles` must satisfy 0 <= lower < upper <= 1"),
        ({"inputs": np.zeros(4)}, ValueError, r"`inputs` must be a \(batch, features\) array; got shape \(4,\)"),
        ({"inputs": np.full((2, 4), np.inf)}, ValueError, r"`inputs` must be finite"),
        ({"inputs": np.zeros((2, 4)), "input_dim": 3}, ValueError, r"`input_dim` must match inputs.shape\[-1\]"),
        ({"bias_init": 3.0}, TypeError, r"`bias_init` must be an initializer; got 3.0"),
        ({"activation": "nope"}, ValueError, r"jinit.propagate: unknown activation 'nope'"),
    ],
)
def test_errors(kwargs, error, match):
    args = {"depth": 3, "width": 4, "seeds": 1, "batch": 2}
    activation = kwargs.pop("activation", "relu")
    args.update(kwargs)
    with pytest.raises(error, match=match):
        jinit.propagate("he_normal", activation, **args)


@pytest.mark.parametrize(
    ("schemes", "error", "match"),
    [
        ("nope", ValueError, r"jinit.propagate: unknown scheme 'nope' in `schemes`"),
        ([], ValueError, r"jinit.propagate: `schemes` must not be empty"),
        ({"a": jinit.zeros, "b": 3}, TypeError, r"`schemes` must hold scheme names, initializers or"),
        (3, TypeError, r"`schemes` must be a name, an initializer, a sequence or a mapping; got 3"),
        ([(jinit.zeros, jinit.zeros)], TypeError, r"a \(kernel_init, bias_init\) pair needs a label"),
        (["he_normal", jinit.he_normal()], ValueError, r"scheme labels must be distinct"),
    ],
)
def test_scheme_errors(schemes, error, match):
    with pytest.raises(error, match=match):
        jinit.propagate(schemes, "relu", depth=2, width=4, seeds=1, batch=2)
