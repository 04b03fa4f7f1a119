"""The far tails of the normal and truncated-normal samplers: no atom.

jax's erf-inverse sampler draws ``u`` uniform on [erf(lower/sqrt2),
erf(upper/sqrt2)). For a bound beyond erf's float32 resolution (about 5.6
sigma) that interval starts at exactly -1, and the draw ``u = -1`` (one in
2**23) becomes erf_inv(-1) = -inf, clipped to the bound: an atom at -100
sigma for ``truncated_normal(lower=-100, upper=100)``, at -8 sigma (the clamp)
for torch's default ``trunc_normal``. jinit keeps ``u`` inside (-1, 1).

2**26 float32 draws per law: the count beyond 6 sigma is held to a Poisson
bound computed from the law, and no draw may come near a bound or clamp
beyond 6 sigma. Half precision at small scales: finite, with the law's
variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit._src.schemes.basic import _INFINITE_BOUND
from jinit._src.torch.nn_init import TRUNC_CLAMP

N_FLOAT32 = 2**26
SHAPE_FLOAT32 = (2**13, 2**13)
# A fixed key for which jax's sampler does put draws on the bound (a key
# gives none with probability e^-8 at 2**26 draws, 8 expected).
KEY = jax.random.key(1)
# The largest probability a correct sampler may have of failing a tail check.
FALSE_ALARM = 1e-6


def _normal_tail(x: float) -> float:
    """P(|Z| > x) for a standard normal Z."""
    return math.erfc(x / math.sqrt(2.0))


def _poisson_limit(mean: float, alarm: float = FALSE_ALARM) -> int:
    """The smallest k with P(Poisson(mean) >= k) < alarm."""
    k, pmf, below = 0, math.exp(-mean), 0.0
    while 1.0 - below >= alarm:
        below += pmf
        k += 1
        pmf *= mean / k
    return k


@jax.jit
def _tail_counts(x: jax.Array, six_sigma: jax.Array, near: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(#|x| > 6 sigma, #|x| >= near): reduced in one pass, without a copy of x."""
    ax = jnp.abs(x)
    return jnp.sum(ax > six_sigma), jnp.sum(ax >= near)


# (make, sigma, support in sigma units, bound or clamp nearest zero beyond 6 sigma, in sigma units)
CASES: dict[str, tuple[Callable[[], jinit.Initializer], float, float, float | None]] = {
    "normal": (lambda: jinit.normal(0.02), 0.02, math.inf, None),
    "truncated_normal(-100, 100)": (
        lambda: jinit.truncated_normal(0.02, lower=-100.0, upper=100.0),
        0.02,
        100.0,
        100.0,
    ),
    "truncated_normal(-9, 9)": (lambda: jinit.truncated_normal(1.0, lower=-9.0, upper=9.0), 1.0, 9.0, 9.0),
    # Infinite bounds are drawn as +-_INFINITE_BOUND sigma.
    "truncated_normal(-inf, inf)": (
        lambda: jinit.truncated_normal(0.02, lower=-math.inf, upper=math.inf),
        0.02,
        math.inf,
        _INFINITE_BOUND,
    ),
    # Absolute bounds +-2 are +-100 sigma, drawn as +-TRUNC_CLAMP sigma.
    "torch.trunc_normal(std=0.02)": (lambda: jinit.torch.trunc_normal(std=0.02), 0.02, 100.0, TRUNC_CLAMP),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_atom_in_the_far_tails(case: str) -> None:
    make, sigma, support, edge = CASES[case]
    init = make()
    x = init(KEY, SHAPE_FLOAT32, jnp.float32)
    # P(|Z| > 6 | |Z| < support), from the law alone.
    p = (_normal_tail(6.0) - _normal_tail(support)) / (1.0 - _normal_tail(support))
    limit = _poisson_limit(N_FLOAT32 * p)
    # 99% of a bound or clamp: the law's mass out there is below 1e-14 per draw.
    near = math.inf if edge is None else 0.99 * edge * sigma
    beyond, at_edge = (int(c) for c in _tail_counts(x, jnp.float32(6.0 * sigma), jnp.float32(near)))
    assert beyond < limit, (
        f"{case}: {beyond} draws beyond 6 sigma; a Poisson({N_FLOAT32 * p:.3g}) count stays < {limit}"
    )
    assert at_edge == 0, f"{case}: {at_edge} draws at |x| >= 0.99 * {edge} sigma (a bound or clamp)"


@jax.jit
def _compare(ours: jax.Array, theirs: jax.Array, bound: jax.Array) -> tuple[jax.Array, ...]:
    """(#theirs at the bound, #changed, #changed at the bound, ours' min and max there), in one pass."""
    at_bound, changed = theirs <= bound, ours != theirs
    moved = (jnp.where(at_bound, ours, jnp.inf).min(), jnp.where(at_bound, ours, -jnp.inf).max())
    return (at_bound.sum(), changed.sum(), (at_bound & changed).sum(), *moved)


def test_jax_puts_those_draws_on_the_bound() -> None:
    # Both sides, so that a jax release that fixes it makes this fail (docs/differences.md).
    sigma = 0.02
    ours = jinit.truncated_normal(sigma, lower=-100.0, upper=100.0)(KEY, SHAPE_FLOAT32, jnp.float32)
    theirs = jax.nn.initializers.truncated_normal(sigma, lower=-100.0, upper=100.0)(KEY, SHAPE_FLOAT32, jnp.float32)
    n_at_bound, n_changed, n_both, lo, hi = _compare(ours, theirs, jnp.float32(-99.0 * sigma))
    # jax: draws at -100 sigma, more than the law allows beyond 6 sigma.
    assert int(n_at_bound) >= _poisson_limit(N_FLOAT32 * _normal_tail(6.0)), int(n_at_bound)
    # jinit: exactly those draws differ, moved inside 6 sigma; every other draw is jax's.
    assert int(n_changed) == int(n_both) == int(n_at_bound)
    assert -6.0 * sigma < float(lo) <= float(hi) < 0.0, (float(lo), float(hi))


# ---------------------------------------------------------------------------
# Half precision at small scales


SHAPE_HALF = (1024, 1024)

HALF_CASES: dict[str, Callable[[float], jinit.Initializer]] = {
    "normal": lambda s: jinit.normal(s),
    "truncated_normal": lambda s: jinit.truncated_normal(s),
    "truncated_normal(-100, 100)": lambda s: jinit.truncated_normal(s, lower=-100.0, upper=100.0),
    "truncated_normal(-9, 9)": lambda s: jinit.truncated_normal(s, lower=-9.0, upper=9.0),
    "truncated_normal(-inf, inf)": lambda s: jinit.truncated_normal(s, lower=-math.inf, upper=math.inf),
    "torch.normal": lambda s: jinit.torch.normal(std=s),
    "torch.trunc_normal": lambda s: jinit.torch.trunc_normal(std=s),
}


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
@pytest.mark.parametrize("stddev", [0.02, 1e-3])
@pytest.mark.parametrize("case", list(HALF_CASES))
def test_half_precision_small_scales(case: str, stddev: float, dtype: np.dtype) -> None:
    init = HALF_CASES[case](stddev)
    x = init(KEY, SHAPE_HALF, dtype)
    assert x.dtype == dtype
    assert bool(jnp.all(jnp.isfinite(x))), case
    law = init.moments(SHAPE_HALF, dtype)
    assert law is not None and law.mean == 0.0
    n = math.prod(SHAPE_HALF)
    kurtosis = 3.0 + (law.excess_kurtosis or 0.0)
    # 6 relative standard errors of the second moment, plus two eps
    # of the dtype, in which sigma itself is rounded.
    tol = 6.0 * math.sqrt((kurtosis - 1.0) / n) + 2.0 * float(jnp.finfo(dtype).eps)
    second = float(jnp.mean(jnp.square(x.astype(jnp.float32))))
    assert abs(second / law.variance - 1.0) < tol, (case, second, law.variance, tol)
