"""jinit.mean_field: quadrature against closed forms, Monte Carlo, scipy, and a wide deep network."""

from __future__ import annotations

import functools
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, special

import jinit
from jinit import mean_field
from jinit._src.theory import quadrature

# ---------------------------------------------------------------------------
# Closed forms: relu (arc-cosine kernel, Cho & Saul 2009) and erf (Williams 1997)

QS = (1e-2, 1.0, 1e2)
CS = (-1.0, -0.9, -0.3, 0.0, 0.5, 0.99, 1.0 - 1e-6, 1.0)


def erf(x: jax.Array) -> jax.Array:
    return jax.scipy.special.erf(x)


@pytest.mark.parametrize("q", QS)
def test_relu_closed_forms(q: float) -> None:
    sw2, sb2 = 1.3, 0.2
    np.testing.assert_allclose(mean_field.length_map("relu", sw2, sb2, q), sw2 * q / 2 + sb2, rtol=1e-13)
    np.testing.assert_allclose(mean_field.chi1("relu", sw2, sb2, q_star=q), sw2 / 2, rtol=1e-13)
    for c in CS:
        # E[relu(u1) relu(u2)] = q / (2 pi) (sqrt(1 - c^2) + (pi - arccos c) c)
        k = q / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)
        got = mean_field.correlation_map("relu", sw2, sb2, c, q_star=q)
        np.testing.assert_allclose(got, (sw2 * k + sb2) / q, rtol=1e-13, err_msg=f"c={c}")


@pytest.mark.parametrize("q", QS)
def test_erf_closed_forms(q: float) -> None:
    # A JAX callable, smooth: E[erf(u1) erf(u2)] = 2/pi arcsin(2 q c / (1 + 2 q)),
    # E[erf'(u)^2] = 4 / (pi sqrt(1 + 4 q)).
    sw2, sb2 = 2.0, 0.1
    e2 = 2 / math.pi * math.asin(2 * q / (1 + 2 * q))
    np.testing.assert_allclose(mean_field.length_map(erf, sw2, sb2, q), sw2 * e2 + sb2, rtol=1e-13)
    np.testing.assert_allclose(
        mean_field.chi1(erf, sw2, sb2, q_star=q), sw2 * 4 / (math.pi * math.sqrt(1 + 4 * q)), rtol=1e-13
    )
    for c in CS:
        k = 2 / math.pi * math.asin(2 * q * c / (1 + 2 * q))
        got = mean_field.correlation_map(erf, sw2, sb2, c, q_star=q)
        np.testing.assert_allclose(got, (sw2 * k + sb2) / q, rtol=1e-13, atol=1e-15, err_msg=f"c={c}")


# ---------------------------------------------------------------------------
# Monte Carlo: 2^20 draws, tolerance 6 standard errors of the sample mean


N_MC = 1 << 20


def _mc(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std() / math.sqrt(values.size))


def test_maps_match_monte_carlo() -> None:
    sw2, sb2 = 1.5, 0.05
    z = np.random.default_rng(11).standard_normal((2, N_MC))
    q = mean_field.fixed_point("tanh", sw2, sb2)
    u1 = math.sqrt(q) * z[0]
    mean, se = _mc(sw2 * np.tanh(math.sqrt(0.7) * z[0]) ** 2 + sb2)
    assert abs(mean_field.length_map("tanh", sw2, sb2, 0.7) - mean) <= 6 * se
    mean, se = _mc(sw2 / np.cosh(u1) ** 4)
    assert abs(mean_field.chi1("tanh", sw2, sb2) - mean) <= 6 * se
    c = 0.4
    u2 = math.sqrt(q) * (c * z[0] + math.sqrt(1 - c * c) * z[1])
    mean, se = _mc((sw2 * np.tanh(u1) * np.tanh(u2) + sb2) / q)
    assert abs(mean_field.correlation_map("tanh", sw2, sb2, c) - mean) <= 6 * se


# ---------------------------------------------------------------------------
# An independent implementation: scipy.integrate.quad and scipy.optimize.brentq


def _quad(f, q: float) -> float:
    g = lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return (
        integrate.quad(g, -np.inf, 0, epsabs=0, epsrel=1e-13)[0]
        + integrate.quad(g, 0, np.inf, epsabs=0, epsrel=1e-13)[0]
    )


def _scipy_fixed_point(sw2: float, sb2: float) -> float:
    return optimize.brentq(lambda q: sw2 * _quad(lambda x: math.tanh(x) ** 2, q) + sb2 - q, 1e-9, 1e3, xtol=1e-15)


def _scipy_chi1(sw2: float, q: float) -> float:
    return sw2 * _quad(lambda x: (1 - math.tanh(x) ** 2) ** 2, q)


@pytest.mark.parametrize(("sw2", "sb2"), [(1.5, 0.05), (0.8, 0.3), (4.0, 0.01)])
def test_fixed_point_and_chi1_match_scipy(sw2: float, sb2: float) -> None:
    q = _scipy_fixed_point(sw2, sb2)
    np.testing.assert_allclose(mean_field.fixed_point("tanh", sw2, sb2), q, rtol=1e-10)
    np.testing.assert_allclose(mean_field.fixed_point("tanh", sw2, sb2, q0=30.0), q, rtol=1e-10)
    np.testing.assert_allclose(mean_field.chi1("tanh", sw2, sb2), _scipy_chi1(sw2, q), rtol=1e-10)


def test_critical_tanh_matches_scipy() -> None:
    sb2 = 0.05
    sw2 = optimize.brentq(lambda s: _scipy_chi1(s, _scipy_fixed_point(s, sb2)) - 1, 1.0, 3.0, xtol=1e-14)
    got_sw2, got_q = mean_field.critical("tanh", sb2)
    np.testing.assert_allclose(got_sw2, sw2, rtol=1e-9)
    np.testing.assert_allclose(got_q, _scipy_fixed_point(sw2, sb2), rtol=1e-8)
    np.testing.assert_allclose(mean_field.chi1("tanh", got_sw2, sb2), 1.0, rtol=1e-12)
    assert mean_field.depth_scale("tanh", got_sw2, sb2) == math.inf


def test_critical_known_points() -> None:
    # relu: (2, 0); leaky relu with slope a: 2 / (1 + a^2); tanh and elu without
    # bias: phi'(0) = 1, so sigma_w^2 = 1 at q* = 0 (to the quadrature's 1e-14).
    sw2, q = mean_field.critical("relu")
    assert sw2 == 2.0 and q == 1.0  # the length map is the identity: q* = q0
    np.testing.assert_allclose(mean_field.critical("leaky_relu")[0], 2 / (1 + 0.01**2), rtol=1e-12)
    for name in ("tanh", "elu"):
        sw2, q = mean_field.critical(name)
        np.testing.assert_allclose(sw2, 1.0, rtol=1e-12)
        assert 0.0 <= q < 1e-12


def test_depth_scale() -> None:
    # Ordered relu: chi_1 = sw2 / 2, c* = 1.
    np.testing.assert_allclose(mean_field.depth_scale("relu", 1.0, 0.0), -1 / math.log(0.5), rtol=1e-12)
    # Ordered tanh: xi = -1 / ln chi_1.
    chi = mean_field.chi1("tanh", 1.2, 0.05)
    assert chi < 1
    np.testing.assert_allclose(mean_field.depth_scale("tanh", 1.2, 0.05), -1 / math.log(chi), rtol=1e-12)
    # Chaotic tanh: c* < 1 is a fixed point of the correlation map and chi_c its
    # slope there, checked by a central difference of the map (Price's theorem
    # gives chi_c without differencing).
    sw2, sb2 = 3.0, 0.05
    assert mean_field.chi1("tanh", sw2, sb2) > 1
    xi = mean_field.depth_scale("tanh", sw2, sb2)
    chi_c = math.exp(-1 / xi)
    cmap = lambda c: mean_field.correlation_map("tanh", sw2, sb2, c)
    c_star = optimize.brentq(lambda c: cmap(c) - c, 0.0, 0.999, xtol=1e-14)
    h = 1e-5
    slope = (cmap(c_star + h) - cmap(c_star - h)) / (2 * h)
    np.testing.assert_allclose(chi_c, slope, rtol=1e-7)  # central difference error ~ h^2


def test_edge_of_chaos_initializers(key: jax.Array) -> None:
    sw2, _ = mean_field.critical("tanh", 0.05)
    kernel_init, bias_init = jinit.edge_of_chaos("tanh", 0.05)
    assert kernel_init == jinit.variance_scaling(sw2, "fan_in", "normal")
    assert bias_init == jinit.normal(math.sqrt(0.05))
    for shape in ((256, 512), (3, 3, 64, 128), (4, 128, 256)):
        jinit.testing.assert_moments(kernel_init, shape, key=key)
    jinit.testing.assert_moments(bias_init, (4096,), key=key)
    kernel_init, bias_init = jinit.edge_of_chaos("relu")
    assert kernel_init == jinit.variance_scaling(2.0, "fan_in", "normal")
    assert bias_init is jinit.zeros


# ---------------------------------------------------------------------------
# A wide deep network: width 1024, depth 30, jit-compiled once per activation

WIDTH, DEPTH, BATCH, NETWORKS, BURN_IN = 1024, 30, 4, 3, 10


@functools.partial(jax.jit, static_argnums=0)
def _propagate(act, words: jax.Array, noise: jax.Array, sw2: float, sb2: float) -> tuple[jax.Array, jax.Array]:
    """Per-layer length |h^l|^2 / N and Jacobian gain |J_l u|^2 / |u|^2 for random u.

    ``words`` (DEPTH, N, N / 32) uint32 hold the weights' signs, 32 to a word:
    weights are random signs times sqrt(sw2 / N). Mean-field theory only needs
    i.i.d. weights of that variance: given the previous layer, the next
    pre-activations are sums of N independent terms with exactly the variance
    the theory uses. ``noise`` (DEPTH + 1, BATCH + 1, N) standard normals: the
    inputs (row 0 unused), then per layer the bias (row 0) and the tangents
    u (rows 1..BATCH).
    """
    shifts = jnp.arange(32, dtype=jnp.uint32).reshape(1, 1, 32)
    h0 = noise[0, 1:]  # inputs, scaled to length q0 by the caller
    slope = jax.vmap(jax.vmap(jax.grad(act)))

    def layer(h: jax.Array, inputs: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        word, z = inputs
        signs = ((word[..., None] >> shifts) & 1).reshape(WIDTH, WIDTH).astype(jnp.float32) * 2 - 1
        w = signs * jnp.sqrt(sw2 / WIDTH)
        b, u = z[:1] * jnp.sqrt(sb2), z[1:]
        y = act(h) @ w + b
        ju = (slope(h) * u) @ w
        gain = jnp.sum(ju * ju, axis=1) / jnp.sum(u * u, axis=1)
        return y, (jnp.mean(y * y, axis=1), gain)

    _, (q, gain) = jax.lax.scan(layer, h0, (words, noise[1:]))
    return q, gain


def _simulate(act, seed: int, sw2: float, sb2: float, q0: float) -> tuple[np.ndarray, np.ndarray]:
    """One network; the random numbers come from numpy (fixed seed), so that the
    jitted function holds no random-number generator to compile."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**32, size=(DEPTH, WIDTH, WIDTH // 32), dtype=np.uint32)
    noise = rng.standard_normal((DEPTH + 1, BATCH + 1, WIDTH), dtype=np.float32)
    noise[0, 1:] *= np.sqrt(q0 / np.mean(noise[0, 1:] ** 2, axis=1, keepdims=True))
    q, gain = _propagate(act, jnp.asarray(words), jnp.asarray(noise), sw2, sb2)
    return np.asarray(q, np.float64), np.asarray(gain, np.float64)


def _law(f, q: float) -> tuple[float, float]:
    """E[f(sqrt(q) z)] and Var[f(sqrt(q) z)] by quadrature."""
    m1 = quadrature.expectation(f, 0.0, math.sqrt(q))
    m2 = quadrature.expectation(lambda x: f(x) ** 2, 0.0, math.sqrt(q))
    return m1, m2 - m1 * m1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("activation", "fn", "bias_variance"),
    [("tanh", jnp.tanh, 0.05), (erf, erf, 0.1)],
    ids=["tanh-critical", "erf-callable-critical"],
)
def test_wide_deep_network_matches_theory(activation, fn, bias_variance: float) -> None:
    sb2 = bias_variance
    sw2, _ = mean_field.critical(activation, sb2)
    q_star = mean_field.fixed_point(activation, sw2, sb2)
    chi = mean_field.chi1(activation, sw2, sb2)
    np.testing.assert_allclose(chi, 1.0, rtol=1e-12)
    q0 = 3.0 * q_star
    runs = [_simulate(fn, 100 + r, sw2, sb2, q0) for r in range(NETWORKS)]
    q = np.stack([a for a, _ in runs])  # (networks, depth, batch)
    gain = np.stack([b for _, b in runs])

    # Sampling theory, linearised about q*. Given layer l - 1, q^l is the mean of N
    # squared normals whose variance is sw2 mean_j phi(h_j)^2 + sb2: relative noise
    # variance v / N per layer, v = 2 (chi-square) + sw2^2 Var(phi^2) / q*^2, fed
    # back with the slope s = dL/dq at q*: an AR(1) process with stationary variance
    # sigma_q^2 = q*^2 v / (N (1 - s^2)).
    _, var_phi2 = _law(lambda x: fn(x) ** 2, q_star)
    v = 2.0 + sw2**2 * var_phi2 / q_star**2
    h = 1e-4 * q_star
    length = functools.partial(mean_field.length_map, activation, sw2, sb2)
    s = (length(q_star + h) - length(q_star - h)) / (2 * h)
    assert 0 < s < 1
    sigma_q = q_star * math.sqrt(v / (WIDTH * (1 - s * s)))

    # 1. The first layers follow the iterated length map from q0 (each layer's
    # deviation has variance at most sigma_q^2; averaged over independent networks).
    expected = q0
    for layer in range(5):
        expected = mean_field.length_map(activation, sw2, sb2, expected)
        got = q[:, layer].mean()
        assert abs(got - expected) <= 6 * sigma_q / math.sqrt(NETWORKS), (layer, got, expected)
    # 2. After the burn-in, q^l fluctuates about q*: the mean of M layers of an
    # AR(1) process has variance sigma_q^2 (1 + s) / ((1 - s) M); inputs of one
    # network share weights, so the batch is not counted as independent.
    late = q[:, BURN_IN:]
    m = late.shape[1]
    se_q = sigma_q * math.sqrt((1 + s) / ((1 - s) * m * NETWORKS))
    assert abs(late.mean() - q_star) <= 6 * se_q, (late.mean(), q_star, se_q)
    # The transient is over: (q0 - q*) s^BURN_IN is below one standard error.
    assert abs(q0 - q_star) * s**BURN_IN < se_q

    # 3. Per-layer chi_1: |J u|^2 / |u|^2 = sw2 (sum_j a_j u_j^2 / sum_j u_j^2) chi2_N / N
    # with a = phi'(h)^2: relative variance (2 + 3 Var(a) / E[a]^2) / N, independent
    # across layers and (fresh u) across inputs; plus the shift of chi_1 with the
    # measured length, d chi_1 / dq times the error of the mean length.
    e_a, var_a = _law(lambda x: jax.vmap(jax.grad(fn))(x.reshape(-1)).reshape(x.shape) ** 2, q_star)
    rel = math.sqrt((2.0 + 3.0 * var_a / e_a**2) / WIDTH)
    chi_at = lambda q: mean_field.chi1(activation, sw2, sb2, q_star=q)
    dchi = (chi_at(q_star + h) - chi_at(q_star - h)) / (2 * h)
    late_gain = gain[:, BURN_IN:]
    se_chi = math.sqrt((chi * rel) ** 2 / late_gain.size + (dchi * se_q) ** 2)
    assert abs(late_gain.mean() - chi) <= 6 * se_chi, (late_gain.mean(), chi, se_chi)
    # Every single layer, too (6 sigma of one measurement plus the length shift).
    per_layer = math.sqrt((chi * rel) ** 2 + (dchi * sigma_q) ** 2)
    chex.assert_trees_all_close(late_gain, np.full_like(late_gain, chi), atol=6 * per_layer)


# ---------------------------------------------------------------------------
# Errors: each message names the public callable and the bad value


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"jinit\.mean_field\.fixed_point: unknown activation 'tanhh'"):
        mean_field.fixed_point("tanhh", 1.0, 0.0)
    with pytest.raises(TypeError, match=r"jinit\.mean_field\.chi1: `activation` must be a name or a callable"):
        mean_field.chi1(3, 1.0, 0.0)
    with pytest.raises(TypeError, match=r"jinit\.mean_field\.chi1: `activation` must be a JAX-traceable"):
        mean_field.chi1(lambda x: float(x) ** 2, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"jinit\.mean_field\.length_map: `weight_variance` must be positive"):
        mean_field.length_map("tanh", 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"`bias_variance` must be non-negative; got bias_variance=-0\.1"):
        mean_field.length_map("tanh", 1.0, -0.1, 1.0)
    with pytest.raises(ValueError, match=r"`q` must be non-negative; got q=-1\.0"):
        mean_field.length_map("tanh", 1.0, 0.0, -1.0)
    with pytest.raises(ValueError, match=r"jinit\.mean_field\.fixed_point: `q0` must be positive"):
        mean_field.fixed_point("tanh", 1.0, 0.0, q0=0.0)
    with pytest.raises(ValueError, match=r"`c` must be a correlation in \[-1, 1\]; got c=1\.5"):
        mean_field.correlation_map("tanh", 1.0, 0.1, 1.5)
    with pytest.raises(ValueError, match=r"`q_star` must be non-negative; got q_star=-2\.0"):
        mean_field.chi1("tanh", 1.0, 0.1, q_star=-2.0)
    with pytest.raises(ValueError, match=r"the length map of relu has no finite fixed point for weight_variance=3\.0"):
        mean_field.fixed_point("relu", 3.0, 0.0)
    with pytest.raises(ValueError, match=r"correlation map is undefined at q\*=0"):
        mean_field.correlation_map("tanh", 0.5, 0.0, 0.3)


def test_critical_errors() -> None:
    with pytest.raises(
        ValueError,
        match=r"jinit\.mean_field\.critical: relu has no critical point with bias_variance=0\.1: "
        r"above weight_variance=.* the lengths grow without bound",
    ):
        mean_field.critical("relu", 0.1)
    with pytest.raises(ValueError, match=r"jinit\.edge_of_chaos: relu has no critical point with bias_variance=0\.1"):
        jinit.edge_of_chaos("relu", 0.1)
    with pytest.raises(ValueError, match=r"has no critical point .*: chi_1 >= 1 already at weight_variance=0\.015625"):
        mean_field.critical(lambda x: 20 * jnp.tanh(x))
    with pytest.raises(ValueError, match=r"chi_1 < 1 for every weight_variance up to 4096\.0"):
        mean_field.critical(lambda x: 1e-3 * jnp.tanh(x))
    # tanh(x^3) is flat at 0: below some sigma_w^2 the lengths die (chi_1 = 0), above it
    # they jump to a large fixed point with chi_1 > 1.
    with pytest.raises(ValueError, match=r"chi_1 jumps across 1 at weight_variance="):
        mean_field.critical(lambda x: jnp.tanh(x**3))
    with pytest.raises(ValueError, match=r"jinit\.mean_field\.critical: `bias_variance` must be non-negative"):
        mean_field.critical("tanh", -1.0)


def test_jax_functions_count_as_their_names() -> None:
    # Matched by identity: the same breakpoints (relu6's kink at 6) and the same cached answers.
    assert mean_field.critical(jax.nn.relu) == mean_field.critical("relu")
    assert mean_field.chi1(jax.nn.tanh, 1.5, 0.05) == mean_field.chi1("tanh", 1.5, 0.05)
    assert mean_field.length_map(jax.nn.relu6, 1.0, 0.0, 30.0) == mean_field.length_map("relu6", 1.0, 0.0, 30.0)
    assert mean_field.correlation_map(jax.nn.gelu, 2.0, 0.1, 0.5) == mean_field.correlation_map(
        "gelu_tanh", 2.0, 0.1, 0.5
    )


def test_public_module() -> None:
    assert set(mean_field.__all__) == {
        "chi1",
        "correlation_map",
        "critical",
        "depth_scale",
        "edge_of_chaos",
        "fixed_point",
        "length_map",
    }
    assert jinit.edge_of_chaos is mean_field.edge_of_chaos
    # scipy's erf agrees with the JAX callable used above (guards the closed-form tests).
    np.testing.assert_allclose(np.asarray(erf(jnp.array([0.3, -1.2]))), special.erf([0.3, -1.2]), rtol=1e-6)
