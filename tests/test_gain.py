"""Gains and recommendations.

``jinit.gain(phi) = 1 / sqrt(E[phi(Z)^2])``, Z ~ N(0, 1). The reference here
is scipy.integrate.quad of an independent numpy implementation of each
activation (not jax's), split at its breakpoints; jinit's quadrature must
agree to 1e-12 relative.
"""

from __future__ import annotations

import itertools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special

import jinit
from jinit._src.theory import quadrature
from jinit._src.theory.activations import JAX_FUNCTIONS, NAMES, PARAMETRIC

# SELU constants (Klambauer et al. 2017, eq. 14).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _elu(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return scipy.special.expit(x)


#: name -> (numpy phi(x, param), breakpoints, default param)
REFERENCE = {
    "linear": (lambda x, p: x, (), None),
    "identity": (lambda x, p: x, (), None),
    "relu": (lambda x, p: np.maximum(x, 0.0), (0.0,), None),
    "relu6": (lambda x, p: np.clip(x, 0.0, 6.0), (0.0, 6.0), None),
    "leaky_relu": (lambda x, p: np.where(x >= 0, x, p * x), (0.0,), 0.01),
    "elu": (lambda x, p: _elu(x, p), (0.0,), 1.0),
    "selu": (lambda x, p: SELU_SCALE * _elu(x, SELU_ALPHA), (0.0,), None),
    "celu": (lambda x, p: np.maximum(x, 0.0) + np.minimum(0.0, p * np.expm1(np.minimum(x, 0.0) / p)), (0.0,), 1.0),
    "tanh": (lambda x, p: np.tanh(x), (), None),
    "hard_tanh": (lambda x, p: np.clip(x, -1.0, 1.0), (-1.0, 1.0), None),
    "sigmoid": (lambda x, p: _sigmoid(x), (), None),
    "softsign": (lambda x, p: x / (1.0 + np.abs(x)), (0.0,), None),
    "gelu": (lambda x, p: x * scipy.special.ndtr(x), (), None),
    "gelu_tanh": (
        lambda x, p: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
        (),
        None,
    ),
    "silu": (lambda x, p: x * _sigmoid(x), (), None),
    "swish": (lambda x, p: x * _sigmoid(x), (), None),
    "softplus": (lambda x, p: _softplus(x), (), None),
    "mish": (lambda x, p: x * np.tanh(_softplus(x)), (), None),
    "sin": (lambda x, p: np.sin(x), (), None),
}


def reference_second_moment(name: str, param: float | None = None) -> float:
    """E[phi(Z)^2] by scipy.integrate.quad, split at the breakpoints."""
    phi, breakpoints, default = REFERENCE[name]
    p = default if param is None else param
    edges = [-np.inf, *breakpoints, np.inf] if breakpoints else [-np.inf, 0.0, np.inf]
    total = 0.0
    for a, b in itertools.pairwise(edges):

        def integrand(x):
            return float(phi(np.float64(x), p)) ** 2 * math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

        with warnings.catch_warnings():
            # quad's own error estimate is checked below instead.
            warnings.simplefilter("ignore", scipy.integrate.IntegrationWarning)
            value, err = scipy.integrate.quad(integrand, a, b, epsabs=1e-15, epsrel=1e-13, limit=500)
        assert err <= 1e-12 * max(abs(value), 1e-3), (name, a, b, value, err)
        total += value
    return total


def test_reference_table_covers_every_name():
    assert set(REFERENCE) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_gain_matches_quad(name):
    expected = 1.0 / math.sqrt(reference_second_moment(name))
    assert jinit.gain(name) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("name", "param"), [("leaky_relu", 0.2), ("leaky_relu", 0.0), ("elu", 0.5), ("celu", 2.0)])
def test_parametric_gain_matches_quad(name, param):
    assert name in PARAMETRIC
    expected = 1.0 / math.sqrt(reference_second_moment(name, param))
    assert jinit.gain(name, param) == pytest.approx(expected, rel=1e-12)


def test_exact_gains():
    assert jinit.gain("relu") == pytest.approx(math.sqrt(2.0), rel=1e-12)
    assert jinit.gain("selu") == pytest.approx(1.0, rel=1e-12)
    assert jinit.gain("linear") == pytest.approx(1.0, rel=1e-12)
    assert jinit.gain("leaky_relu", 0.0) == pytest.approx(math.sqrt(2.0), rel=1e-12)
    # leaky relu with slope a keeps (1 + a^2) / 2 of the second moment (He et al. 2015, eq. 15).
    assert jinit.gain("leaky_relu", 0.3) == pytest.approx(math.sqrt(2.0 / (1.0 + 0.09)), rel=1e-12)
    # sin: E[sin(Z)^2] = (1 - e^-2) / 2.
    assert jinit.gain("sin") == pytest.approx(math.sqrt(2.0 / (1.0 - math.exp(-2.0))), rel=1e-12)


def test_callable_equals_name():
    assert jinit.gain(lambda x: jnp.tanh(x)) == pytest.approx(jinit.gain("tanh"), rel=1e-14)
    assert jinit.gain(jnp.sin) == pytest.approx(jinit.gain("sin"), rel=1e-14)
    # A numpy callable works too (evaluated in float64).
    assert jinit.gain(np.tanh) == pytest.approx(jinit.gain("tanh"), rel=1e-14)


def test_callable_is_evaluated_in_float64():
    # x -> x + 1e-9 * x^3: in float32 the cubic term is lost (E = 1 exactly);
    # in float64 E[phi^2] = 1 + 2e-9 E[z^4] + O(1e-18) = 1 + 6e-9.
    g = jinit.gain(lambda x: x + 1e-9 * x**3)
    assert 1.0 / g**2 == pytest.approx(1.0 + 6e-9, rel=1e-12)


def test_names_are_case_insensitive():
    assert jinit.gain("ReLU") == jinit.gain("relu")


# ---------------------------------------------------------------------------
# quadrature


@pytest.mark.parametrize("method", ["split", "hermite"])
def test_quadrature_normal_moments(method):
    # E[Z^2k] = (2k - 1)!!: Gauss rules integrate polynomials exactly.
    for k, expected in ((1, 1.0), (2, 3.0), (3, 15.0), (4, 105.0)):
        value = quadrature.expectation(lambda x, k=k: x ** (2 * k), method=method)
        assert value == pytest.approx(expected, rel=1e-12)
    # E[(mu + s Z)^2] = mu^2 + s^2.
    assert quadrature.expectation(lambda x: x * x, 0.5, 2.0, method=method) == pytest.approx(4.25, rel=1e-12)


def test_split_beats_hermite_at_a_kink():
    # relu has a kink at 0: Gauss-Hermite converges slowly there, the split rule
    # is exact. E[relu(Z)] = 1 / sqrt(2 pi).
    expected = 1.0 / math.sqrt(2.0 * math.pi)
    split = quadrature.expectation(lambda x: np.maximum(x, 0.0))
    hermite = quadrature.expectation(lambda x: np.maximum(x, 0.0), method="hermite", n=32)
    assert split == pytest.approx(expected, rel=1e-13)
    assert abs(hermite - expected) > 1e-6


def test_quadrature_degenerate_std():
    assert quadrature.expectation(lambda x: x * x, 3.0, 0.0) == 9.0


# ---------------------------------------------------------------------------
# recommend


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "softsign", "hard_tanh", "linear"])
def test_recommend_glorot_for_saturating(name):
    assert jinit.recommend(name) == jinit.glorot_uniform()


@pytest.mark.parametrize("name", ["relu", "swish", "silu", "gelu", "elu", "mish", "softplus", "relu6"])
def test_recommend_he_for_rectifiers(name):
    assert jinit.recommend(name) == jinit.he_normal()


def test_recommend_leaky_relu():
    assert jinit.recommend("leaky_relu") == jinit.variance_scaling(2.0 / (1.0 + 0.01**2), "fan_in", "truncated_normal")
    assert jinit.recommend("leaky_relu", 0.2) == jinit.variance_scaling(2.0 / 1.04, "fan_in", "truncated_normal")
    assert jinit.recommend("leaky_relu", 0.0) == jinit.he_normal()


def test_recommend_selu():
    assert jinit.recommend("selu") == jinit.lecun_normal()


def test_recommend_callable_keeps_the_second_moment():
    def phi(x):
        return jnp.tanh(x) + 0.1 * x

    init = jinit.recommend(phi)
    g = jinit.gain(phi)
    assert init == jinit.variance_scaling(g**2, "fan_in", "truncated_normal")
    # Var(w) * fan_in * E[phi(z)^2] = 1: the next pre-activation keeps unit variance.
    shape = (64, 32)
    e_phi2 = quadrature.expectation(lambda x: (np.tanh(x) + 0.1 * x) ** 2)
    assert init.moments(shape).variance * 64 * e_phi2 == pytest.approx(1.0, rel=1e-12)


def test_recommend_sin():
    assert jinit.recommend("sin") == jinit.variance_scaling(jinit.gain("sin") ** 2, "fan_in", "truncated_normal")


@pytest.mark.parametrize("name", [*NAMES, "softmax"])
def test_every_name_has_a_recommendation_and_a_reason(name):
    assert isinstance(jinit.recommend(name), jinit.Initializer)
    reason = jinit.recommend_reason(name)
    assert isinstance(reason, str) and reason.strip().endswith(".") and len(reason.split()) >= 2


def test_reasons_cite_the_papers():
    assert "Glorot" in jinit.recommend_reason("tanh")
    assert "He" in jinit.recommend_reason("relu")
    assert "Klambauer" in jinit.recommend_reason("selu")
    doc = jinit.recommend.__doc__
    for word in ("Glorot", "He et al.", "Klambauer", "selu", "relu", "tanh", "sigmoid", "softmax"):
        assert word in doc, word


# ---------------------------------------------------------------------------
# jax's own functions count as their names


JAX_IDS = [name for _, name in JAX_FUNCTIONS]


@pytest.mark.parametrize(("fn", "name"), JAX_FUNCTIONS, ids=JAX_IDS)
def test_jax_function_is_its_table_entry(fn, name):
    # jax's function with its default parameters has the values of the entry it maps to,
    # checked against the independent numpy reference (gelu's two forms differ by up to 5e-4).
    # atol: 0.5 x (1 + tanh(.)) cancels near x = -7, losing |x| eps in absolute terms.
    x = np.linspace(-7.0, 7.0, 141)
    phi, _, default = REFERENCE[name]
    with jax.enable_x64(True):
        got = np.asarray(fn(jnp.asarray(x, jnp.float64)))
    np.testing.assert_allclose(got, phi(x, default), rtol=1e-12, atol=4 * 7.0 * np.finfo(np.float64).eps)


@pytest.mark.parametrize(("fn", "name"), JAX_FUNCTIONS, ids=JAX_IDS)
def test_jax_function_gives_the_names_advice(fn, name):
    assert jinit.recommend(fn) == jinit.recommend(name)
    assert jinit.gain(fn) == jinit.gain(name)
    assert jinit.recommend_reason(fn) == jinit.recommend_reason(name)


def test_recommend_jax_functions_exactly():
    assert jinit.recommend(jax.nn.relu) == jinit.he_normal()
    assert jinit.recommend(jax.nn.gelu) == jinit.recommend("gelu_tanh") == jinit.he_normal()
    assert jinit.recommend(jax.nn.silu) == jinit.recommend(jax.nn.swish) == jinit.recommend("silu")
    assert jinit.recommend(jax.nn.tanh) == jinit.glorot_uniform()
    assert jinit.recommend(jax.nn.selu) == jinit.lecun_normal()
    assert jinit.recommend(jax.nn.softmax) == jinit.recommend("softmax") == jinit.glorot_uniform()
    assert jinit.recommend_reason(jax.nn.softmax) == jinit.recommend_reason("softmax")
    assert jinit.gain(jax.nn.gelu) == jinit.gain("gelu_tanh") != jinit.gain("gelu")


def test_a_callable_is_matched_by_identity_not_by_name():
    def relu(x):  # named like the table's entry, but twice as large
        return 2.0 * jnp.maximum(x, 0.0)

    assert jinit.gain(relu) == pytest.approx(jinit.gain("relu") / 2.0, rel=1e-14)
    assert jinit.recommend(relu) == jinit.variance_scaling(jinit.gain(relu) ** 2, "fan_in", "truncated_normal")
    assert jinit.recommend(relu) != jinit.he_normal()
    assert "any other callable" in jinit.recommend_reason(relu)
    # A wrapper of a jax function is another callable, evaluated by quadrature.
    assert jinit.gain(lambda x: jax.nn.relu(x)) == pytest.approx(math.sqrt(2.0), rel=1e-12)


def test_softmax_has_no_gain():
    with pytest.raises(
        TypeError, match=r"jinit\.gain: `activation` must be elementwise; softmax normalises over an axis\."
    ):
        jinit.gain(jax.nn.softmax)
    with pytest.raises(TypeError, match=r"jinit\.gain: `activation` must be elementwise; log_softmax normalises"):
        jinit.gain(jax.nn.log_softmax)


# ---------------------------------------------------------------------------
# the quadrature's pieces


def test_rows_of_nodes_are_the_one_dimensional_rule():
    # One row per mean gives the sums of the scalar rule (zero-width pieces carry zero weight).
    means = np.array([-20.0, -3.0, 0.0, 0.4, 17.0])
    f = np.tanh
    x, w = quadrature.nodes(means, 0.7, (-1.0, 0.0, 1.0), n=24, z_cuts=(-2.0, 2.0))
    assert x.shape == w.shape and x.shape[0] == means.size
    rows = np.sum(w * quadrature.evaluate(f, x), axis=1)
    for m, row in zip(means, rows, strict=True):
        one = quadrature.expectation(f, m, 0.7, (-1.0, 0.0, 1.0), n=24, z_cuts=(-2.0, 2.0))
        assert row == pytest.approx(one, rel=4 * np.finfo(np.float64).eps)
    x, w = quadrature.nodes(means, 0.0)
    np.testing.assert_array_equal(x, means[:, None])
    np.testing.assert_array_equal(w, np.ones((5, 1)))


@pytest.mark.parametrize(("n", "z_cuts"), [(96, ()), (20, (-9.0, -5.0, -2.5, -1.0, 1.0, 2.5, 5.0, 9.0))])
def test_bivariate_expectation_matches_the_arc_cosine_kernel(n, z_cuts):
    # E[relu(u1) relu(u2)] = s^2 / (2 pi) (sqrt(1 - c^2) + (pi - arccos c) c) (Cho & Saul 2009),
    # down to |c| = 1 - 1e-12, where the outer rule is cut around the kink.
    relu = lambda x: np.maximum(x, 0.0)
    for c in (-1.0, -0.5, 0.0, 0.7, 1.0 - 1e-6, 1.0 - 1e-12, 1.0):
        expected = 2.25 / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)
        got = quadrature.expectation2(relu, relu, 1.5, c, n=n, z_cuts=z_cuts)
        assert got == pytest.approx(expected, rel=1e-13, abs=1e-15), c


def test_evaluate_keeps_the_shape_and_refuses_other_shapes():
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    y = quadrature.evaluate(lambda t: t * t, x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, x * x)
    with pytest.raises(ValueError):
        quadrature.evaluate(lambda t: np.stack([t, t], axis=1), x)
