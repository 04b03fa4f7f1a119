"""Mean-field signal propagation in wide deep networks, for any activation.

For ``h^l = W^l phi(h^{l-1}) + b^l`` with ``W_ij ~ N(0, sigma_w^2 / N)`` and
``b_i ~ N(0, sigma_b^2)``, as the width N grows (Poole et al. 2016,
Schoenholz et al. 2017): the length map
``q^l = sigma_w^2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2`` and its fixed point
``q*``; ``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]``; the correlation map and
its slope ``chi_c``; the depth scale ``xi_c = -1 / ln(chi_c)``; the edge of
chaos ``chi_1 = 1``. Expectations by ``jinit._src.theory.quadrature``, roots
by Brent's method. See docs/theory.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jinit._src.core import validation
from jinit._src.core.types import Initializer
from jinit._src.schemes.basic import Normal
from jinit._src.schemes.constant import zeros
from jinit._src.schemes.variance_scaling import VarianceScaling
from jinit._src.theory import quadrature
from jinit._src.theory.activations import Activation, get_activation, table_name

ActivationLike = str | Callable[[Any], Any]

Q_TINY = 1e-200  # chi_1 at q* = 0 is its limit q -> 0+, taken here (one-sided slopes at a kink)
Q_VANISHED = 1e-60  # a length below Q_VANISHED q0 with no fixed point met tends to 0
Q_DIVERGED = 1e12  # a length above Q_DIVERGED max(1, q0) diverges
FIXED_TOL = 1e-13  # |L(q) - q| <= FIXED_TOL max(q, L(q)): the quadrature's 1e-14, with a margin
CRITICAL_TOL = 1e-12  # |chi_1 - 1| below this is the edge of chaos
Q_HUGE = 1e6  # critical(): a q* above Q_HUGE (1 + sigma_b^2) counts as divergent
NODES = 20  # Gauss-Legendre nodes per piece
Z_CUTS = (-9.0, -5.0, -2.5, -1.0, 1.0, 2.5, 5.0, 9.0)  # in standard deviations: no piece wider than 7
SCALE_CUTS = (-16.0, -4.0, -1.0, -0.25, 0.25, 1.0, 4.0, 16.0)  # in x: saturating units at any length
CRITICAL_GRID = tuple(2.0**k for k in range(-6, 13))  # sigma_w^2 scanned by critical()


class _Phi:
    """An activation jitted for float64 points: phi and phi' (by ``jax.grad``), and where to cut."""

    def __init__(self, act: Activation):
        self.name = act.name
        self.kinks = act.breakpoints
        self.breakpoints = tuple(sorted({*act.breakpoints, *SCALE_CUTS}))
        self.value = jax.jit(jax.vmap(act.fn))
        self.slope = jax.jit(jax.vmap(jax.grad(act.fn)))


class _BadActivation(Exception):
    pass


@functools.lru_cache(maxsize=128)
def _cached_phi(key: ActivationLike) -> _Phi:
    """One compiled _Phi per name or callable, probed once (errors are not cached)."""
    phi = _Phi(get_activation(key, caller="mean_field"))
    probe = np.array([-1.5, -0.5, 0.5, 1.5])
    try:
        quadrature.evaluate(phi.value, probe)
        quadrature.evaluate(phi.slope, probe)
    except Exception as e:  # anything JAX cannot trace, vectorise or differentiate, or not elementwise
        raise _BadActivation(f"{phi.name} failed with {type(e).__name__}: {e}") from None
    return phi


def _key(activation: ActivationLike) -> ActivationLike:
    """The cache key: the table's name for names and jax's own functions, else the callable."""
    return table_name(activation) or activation


def _resolve(activation: ActivationLike, caller: str) -> _Phi:
    get_activation(activation, caller=caller)  # names and types, with the caller's name
    try:
        return _cached_phi(_key(activation))
    except TypeError:  # unhashable callable: compile it for this call only
        return _Phi(get_activation(activation, caller=caller))
    except _BadActivation as e:
        raise TypeError(
            validation.error(caller, f"`activation` must be a JAX-traceable elementwise function of one array; {e}")
        ) from None


def _expect(f: Callable, q: float, breakpoints: tuple[float, ...]) -> float:
    """E[f(sqrt(q) z)], z ~ N(0, 1)."""
    return quadrature.expectation(f, 0.0, math.sqrt(q), breakpoints, NODES, z_cuts=Z_CUTS)


def _expect2(f: Callable, g: Callable, phi: _Phi, q: float, c: float) -> float:
    """E[f(u_1) g(u_2)] for centred normals of variance q and correlation c."""
    return quadrature.expectation2(f, g, math.sqrt(q), c, phi.breakpoints, NODES, Z_CUTS, kinks=phi.kinks)


# ---------------------------------------------------------------------------
# Root finding


def _brent(
    f: Callable[[float], float],
    a: float,
    b: float,
    fa: float,
    fb: float,
    done: Callable[[float, float], bool] = lambda x, fx: False,
    maxiter: int = 200,
) -> float:
    """A root of f in [a, b] with f(a) f(b) <= 0 (Brent 1973, "zeroin").

    Stops when the bracket is 4 ulp wide or ``done(x, f(x))`` (f within its
    own rounding of zero).
    """
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    d = e = b - a
    for _ in range(maxiter):
        if fb * fc > 0:
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2.0 * np.finfo(np.float64).eps * abs(b) + 1e-300
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0 or done(b, fb):
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant
                p, qq = 2.0 * m * s, 1.0 - s
            else:  # inverse quadratic interpolation
                qa, r = fa / fc, fb / fc
                p = s * (2.0 * m * qa * (qa - r) - (b - a) * (r - 1.0))
                qq = (qa - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                qq = -qq
            else:
                p = -p
            if 2.0 * p < min(3.0 * m * qq - abs(tol * qq), abs(e * qq)):
                e, d = d, p / qq
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else math.copysign(tol, m)
        fb = f(b)
    return b


# ---------------------------------------------------------------------------
# The maps, on a resolved activation


def _length(phi: _Phi, sw2: float, sb2: float, q: float) -> float:
    if q == 0.0:
        return sw2 * float(quadrature.evaluate(phi.value, np.zeros(1))[0]) ** 2 + sb2
    return sw2 * _expect(lambda x: phi.value(x) ** 2, q, phi.breakpoints) + sb2


def _fixed_point(phi: _Phi, sw2: float, sb2: float, q0: float, caller: str, limit: float = Q_DIVERGED) -> float:
    """The limit of q^l from q^0 = q0: the first root of L(q) - q in the direction L moves q0."""

    def F(q: float) -> float:
        return _length(phi, sw2, sb2, q) - q

    def settled(q: float, f: float) -> bool:
        return abs(f) <= FIXED_TOL * max(q, q + f)

    f0 = F(q0)
    if settled(q0, f0):
        return q0
    if f0 > 0:  # lengths grow: search upwards for F <= 0
        a, fa = q0, f0
        b = q0
        limit = limit * max(1.0, q0)
        while True:
            b = max(4.0 * b, b + 2.0 * fa, 1e-300)
            fb = F(b)
            if settled(b, fb):
                return b
            if fb <= 0.0:
                break
            if b > limit or not math.isfinite(fb):
                raise ValueError(
                    validation.error(
                        caller,
                        f"the length map of {phi.name} has no finite fixed point for weight_variance={sw2!r}, "
                        f"bias_variance={sb2!r}: q grows without bound from q0={q0!r}.",
                    )
                )
            a, fa = b, fb
        return _brent(F, a, b, fa, fb, settled)
    # lengths shrink: search downwards for F >= 0; none above Q_TINY means q -> 0
    b, fb = q0, f0
    a = q0
    while True:
        a = a / 1e4
        if a < Q_VANISHED * q0:
            return 0.0
        fa = F(a)
        if settled(a, fa):
            return a
        if fa >= 0.0:
            break
        b, fb = a, fa
    return _brent(F, a, b, fa, fb, settled)


def _chi1(phi: _Phi, sw2: float, q: float) -> float:
    return sw2 * _expect(lambda x: phi.slope(x) ** 2, max(q, Q_TINY), phi.breakpoints)


def _correlation(phi: _Phi, sw2: float, sb2: float, q: float, c: float) -> float:
    return (sw2 * _expect2(phi.value, phi.value, phi, q, c) + sb2) / q


def _chi_c(phi: _Phi, sw2: float, q: float, c: float) -> float:
    return sw2 * _expect2(phi.slope, phi.slope, phi, q, c)


# ---------------------------------------------------------------------------
# Validation


def _variances(caller: str, weight_variance: Any, bias_variance: Any) -> tuple[float, float]:
    return (
        validation.positive(caller, "weight_variance", weight_variance),
        validation.non_negative(caller, "bias_variance", bias_variance),
    )


def _q_star(phi: _Phi, sw2: float, sb2: float, q_star: Any, caller: str) -> float:
    if q_star is None:
        return _fixed_point(phi, sw2, sb2, 1.0, caller)
    return validation.non_negative(caller, "q_star", q_star)


# ---------------------------------------------------------------------------
# Public functions


def length_map(activation: ActivationLike, weight_variance: float, bias_variance: float, q: float) -> float:
    """One step of the length map: ``sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``.

    The squared length per unit of the next layer's pre-activations, given
    the previous layer's length ``q`` (Poole et al. 2016, eq. 3).

    Args:
      activation: a name (``"tanh"``, ``"relu"``, ``"gelu"``, ... as
        ``jinit.gain``) or a JAX-traceable elementwise callable.
      weight_variance: ``sigma_w^2`` (weights are N(0, sigma_w^2 / fan_in)), positive.
      bias_variance: ``sigma_b^2``, non-negative.
      q: the previous layer's length, non-negative.

    Returns:
      The next length, a float.

    Examples:
      >>> from jinit import mean_field
      >>> round(mean_field.length_map("relu", 2.0, 0.0, 3.0), 10)
      3.0
      >>> round(mean_field.length_map("tanh", 1.0, 0.05, 1.0), 6)
      0.444294

    References:
      Poole et al. (2016), Exponential expressivity in deep neural networks
      through transient chaos, arXiv:1606.05340.
    """
    caller = "mean_field.length_map"
    phi = _resolve(activation, caller)
    sw2, sb2 = _variances(caller, weight_variance, bias_variance)
    return _length(phi, sw2, sb2, validation.non_negative(caller, "q", q))


def fixed_point(activation: ActivationLike, weight_variance: float, bias_variance: float, *, q0: float = 1.0) -> float:
    """The fixed point ``q*`` of the length map reached from the input length ``q0``.

    ``q* = sigma_w^2 E[phi(sqrt(q*) z)^2] + sigma_b^2``, the limit of ``q^l``
    from ``q^0 = q0`` (bracketed in the direction the map moves ``q0``, then
    Brent's method). At relu's critical point ``(2, 0)`` every q is a fixed
    point and ``q0`` is returned.

    Args:
      activation: a name or a JAX-traceable elementwise callable.
      weight_variance: ``sigma_w^2``, positive.
      bias_variance: ``sigma_b^2``, non-negative.
      q0: the starting length, positive.

    Returns:
      ``q*`` (0.0 when lengths shrink to zero, as for tanh with
      ``sigma_w^2 <= 1`` and no bias).

    Raises:
      ValueError: the lengths grow without bound (e.g. relu with
      ``sigma_w^2 > 2``).

    Examples:
      >>> from jinit import mean_field
      >>> round(mean_field.fixed_point("relu", 1.0, 0.5), 10)  # sb2 / (1 - sw2 / 2)
      1.0
      >>> round(mean_field.fixed_point("tanh", 1.5, 0.05), 6)
      0.418037

    References:
      Poole et al. (2016), arXiv:1606.05340, section 2.
    """
    caller = "mean_field.fixed_point"
    phi = _resolve(activation, caller)
    sw2, sb2 = _variances(caller, weight_variance, bias_variance)
    return _fixed_point(phi, sw2, sb2, validation.positive(caller, "q0", q0), caller)


def chi1(
    activation: ActivationLike, weight_variance: float, bias_variance: float, *, q_star: float | None = None
) -> float:
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]``: the Jacobian's mean squared singular value.

    ``chi_1 < 1`` is the ordered phase, ``chi_1 > 1`` chaos, ``chi_1 = 1``
    the edge of chaos. At ``q* = 0`` it is the limit ``q -> 0+``.

    Args:
      activation: a name or a JAX-traceable elementwise callable
        (differentiated by ``jax.grad``).
      weight_variance: ``sigma_w^2``, positive.
      bias_variance: ``sigma_b^2``, non-negative.
      q_star: the length to evaluate at; default the fixed point from q0 = 1.

    Returns:
      ``chi_1``, a float.

    Examples:
      >>> from jinit import mean_field
      >>> round(mean_field.chi1("relu", 2.0, 0.0), 10)
      1.0
      >>> round(mean_field.chi1("tanh", 1.5, 0.05), 6)
      0.938636

    References:
      Schoenholz et al. (2017), Deep information propagation, arXiv:1611.01232.
    """
    caller = "mean_field.chi1"
    phi = _resolve(activation, caller)
    sw2, sb2 = _variances(caller, weight_variance, bias_variance)
    return _chi1(phi, sw2, _q_star(phi, sw2, sb2, q_star, caller))


def correlation_map(
    activation: ActivationLike,
    weight_variance: float,
    bias_variance: float,
    c: float,
    *,
    q_star: float | None = None,
) -> float:
    """One step of the correlation map between two inputs of length ``q*``.

    ``C(c) = (sigma_w^2 E[phi(u_1) phi(u_2)] + sigma_b^2) / q*`` with
    ``u_1 = sqrt(q*) z_1``, ``u_2 = sqrt(q*) (c z_1 + sqrt(1 - c^2) z_2)``
    (Poole et al. 2016, eq. 5).

    Args:
      activation: a name or a JAX-traceable elementwise callable.
      weight_variance: ``sigma_w^2``, positive.
      bias_variance: ``sigma_b^2``, non-negative.
      c: the input correlation, in [-1, 1].
      q_star: the length of both inputs; default the fixed point from q0 = 1.

    Returns:
      The next layer's correlation.

    Raises:
      ValueError: ``q* = 0``, where correlations are undefined.

    Examples:
      >>> from jinit import mean_field
      >>> import math
      >>> c = mean_field.correlation_map("relu", 2.0, 0.0, 0.0)
      >>> round(c, 10) == round(1 / math.pi, 10)  # arc-cosine kernel at c = 0
      True

    References:
      Poole et al. (2016), arXiv:1606.05340; Cho & Saul (2009) for relu.
    """
    caller = "mean_field.correlation_map"
    phi = _resolve(activation, caller)
    sw2, sb2 = _variances(caller, weight_variance, bias_variance)
    c_ = validation.real_scalar(caller, "c", c)
    if not -1.0 <= c_ <= 1.0:
        raise ValueError(validation.error(caller, f"`c` must be a correlation in [-1, 1]; got c={c!r}."))
    q = _q_star(phi, sw2, sb2, q_star, caller)
    if q == 0.0:
        raise ValueError(
            validation.error(
                caller,
                f"the correlation map is undefined at q*=0 (lengths vanish for {phi.name} with "
                f"weight_variance={sw2!r}, bias_variance={sb2!r}).",
            )
        )
    return _correlation(phi, sw2, sb2, q, c_)


def depth_scale(activation: ActivationLike, weight_variance: float, bias_variance: float) -> float:
    """The depth scale ``xi_c = -1 / ln(chi_c)`` over which correlations converge.

    ``chi_c = sigma_w^2 E[phi'(u_1) phi'(u_2)]`` is the slope of the
    correlation map at its stable fixed point ``c*`` (``c* = 1`` and
    ``chi_c = chi_1`` in the ordered phase), Schoenholz et al. 2017, eqs. 9-10.

    Args:
      activation: a name or a JAX-traceable elementwise callable.
      weight_variance: ``sigma_w^2``, positive.
      bias_variance: ``sigma_b^2``, non-negative.

    Returns:
      ``xi_c`` in layers (``math.inf`` exactly at the edge of chaos).

    Examples:
      >>> from jinit import mean_field
      >>> import math
      >>> round(mean_field.depth_scale("relu", 1.0, 0.0), 6) == round(1 / math.log(2), 6)  # chi_1 = 1/2
      True

    References:
      Schoenholz et al. (2017), Deep information propagation, arXiv:1611.01232.
    """
    caller = "mean_field.depth_scale"
    phi = _resolve(activation, caller)
    sw2, sb2 = _variances(caller, weight_variance, bias_variance)
    q = _fixed_point(phi, sw2, sb2, 1.0, caller)
    chi = _chi1(phi, sw2, q)
    if abs(chi - 1.0) <= CRITICAL_TOL or (chi > 1.0 and q == 0.0):
        return math.inf
    if chi < 1.0:
        return -1.0 / math.log(chi)
    c_star = _stable_correlation(phi, sw2, sb2, q)
    if c_star is None:  # c* closer to 1 than the rule resolves: chi_c = 1 to that precision
        return math.inf
    return -1.0 / math.log(_chi_c(phi, sw2, q, c_star))


def _stable_correlation(phi: _Phi, sw2: float, sb2: float, q: float) -> float | None:
    """The stable fixed point c* < 1 of the correlation map in the chaotic phase."""

    def G(c: float) -> float:
        return _correlation(phi, sw2, sb2, q, c) - c

    # G(0) = (sw2 E[phi]^2 + sb2) / q >= 0; G < 0 just below 1 when chi_1 > 1.
    grid = [0.0, *np.linspace(0.1, 0.9, 9).tolist(), *(1.0 - 10.0**-k for k in range(2, 11))]
    a, fa = grid[0], G(grid[0])
    if fa <= 0.0:
        return 0.0
    for b in grid[1:]:
        fb = G(b)
        if fb < 0.0:
            return _brent(G, a, b, fa, fb)
        a, fa = b, fb
    return None


def critical(activation: ActivationLike, bias_variance: float = 0.0) -> tuple[float, float]:
    """The edge of chaos: ``sigma_w^2`` with ``chi_1 = 1`` at ``q*``, for a given ``sigma_b^2``.

    Solves ``sigma_w^2 E[phi'(sqrt(q*) z)^2] = 1`` with ``q*`` the fixed point
    reached from ``q0 = 1`` for that ``sigma_w^2`` (``sigma_w^2`` from 2^-6
    to 2^12); a root where ``q*`` diverges is no root.

    Args:
      activation: a name or a JAX-traceable elementwise callable.
      bias_variance: ``sigma_b^2``, non-negative.

    Returns:
      ``(weight_variance, q_star)`` on the critical line.

    Raises:
      ValueError: no critical point exists, e.g. relu with
      ``bias_variance > 0`` (its only critical point is (2, 0)).

    Examples:
      >>> from jinit import mean_field
      >>> sw2, q = mean_field.critical("relu")
      >>> round(sw2, 10)
      2.0
      >>> sw2, q = mean_field.critical("tanh", 0.05)
      >>> round(sw2, 4), round(q, 4)
      (1.761, 0.57)

    References:
      Poole et al. (2016), arXiv:1606.05340, Fig. 2; Schoenholz et al.
      (2017), arXiv:1611.01232, section 3.
    """
    return _solve_critical("mean_field.critical", activation, bias_variance)


def _solve_critical(caller: str, activation: ActivationLike, bias_variance: Any) -> tuple[float, float]:
    """critical() with its answer (or its reason for none) cached per activation and sigma_b^2."""
    phi = _resolve(activation, caller)
    sb2 = validation.non_negative(caller, "bias_variance", bias_variance)
    try:
        out = _critical_cached(_key(activation), sb2)
    except TypeError:  # unhashable callable
        out = _critical_or_reason(phi, sb2)
    if isinstance(out, str):
        raise ValueError(validation.error(caller, out))
    return out


@functools.lru_cache(maxsize=256)
def _critical_cached(key: ActivationLike, sb2: float) -> tuple[float, float] | str:
    return _critical_or_reason(_cached_phi(key), sb2)


class _NoCriticalPoint(Exception):
    pass


def _critical_or_reason(phi: _Phi, sb2: float) -> tuple[float, float] | str:
    try:
        return _critical(phi, sb2)
    except _NoCriticalPoint as e:
        return str(e)


def _critical(phi: _Phi, sb2: float) -> tuple[float, float]:
    def excess(sw2: float) -> tuple[float, float]:
        """(chi_1 - 1, q*), with chi_1 - 1 = +inf where the lengths diverge."""
        try:
            q = _fixed_point(phi, sw2, sb2, 1.0, "mean_field.critical", limit=10 * Q_HUGE * (1.0 + sb2))
        except ValueError:
            return math.inf, math.inf
        if q > Q_HUGE * (1.0 + sb2):
            return math.inf, q
        return _chi1(phi, sw2, q) - 1.0, q

    def no_point(detail: str) -> _NoCriticalPoint:
        return _NoCriticalPoint(f"{phi.name} has no critical point with bias_variance={sb2!r}: {detail}")

    lo = g_lo = q_lo = math.nan
    for sw2 in CRITICAL_GRID:
        g, q = excess(sw2)
        if abs(g) <= CRITICAL_TOL:
            return sw2, q
        if g < 0:
            lo, g_lo, q_lo = sw2, g, q
            continue
        if math.isnan(lo):
            raise no_point(f"chi_1 >= 1 already at weight_variance={sw2!r}.")
        hi, g_hi = sw2, g
        break
    else:
        raise no_point(f"chi_1 < 1 for every weight_variance up to {CRITICAL_GRID[-1]!r}.")

    # Refine: bisection while the upper end diverges, then Brent on finite values.
    def bisect(rel: float) -> None:
        nonlocal lo, hi, g_lo, q_lo, g_hi
        while math.isinf(g_hi) and hi - lo > rel * hi:
            mid = 0.5 * (lo + hi)
            g, q = excess(mid)
            if g < 0:
                lo, g_lo, q_lo = mid, g, q
            else:
                hi, g_hi = mid, g

    boundary = (
        "above weight_variance={:.17g} the lengths grow without bound, and below it chi_1 < 1 "
        "(chi_1 - 1 = {:.3g} at q* = {:.3g})."
    )
    bisect(1e-6)
    # A root on the boundary has chi_1 -> 1 at a moderate q*; a q* already in the
    # thousands runs away (relu with a bias: q* = sb2 / (1 - sw2 / 2)).
    runaway = math.isinf(g_hi) and (abs(g_lo) > 1e-4 or q_lo > Q_HUGE**0.5 * (1.0 + sb2))
    if not runaway:
        bisect(4 * np.finfo(np.float64).eps)
    if math.isinf(g_hi):
        # On the boundary where the lengths diverge: a root only if chi_1 -> 1 there.
        if not runaway and abs(g_lo) <= 1e-9:
            return lo, q_lo
        raise no_point(boundary.format(lo, g_lo, q_lo))
    root = _brent(lambda s: excess(s)[0], lo, hi, g_lo, g_hi)
    g, q = excess(root)
    if not abs(g) <= 1e-9:
        raise no_point(
            f"chi_1 jumps across 1 at weight_variance={root:.17g}, where the fixed point reached from "
            f"q0=1 changes branch (chi_1 - 1 = {g:.3g} at q* = {q:.3g})."
        )
    return root, q


def edge_of_chaos(activation: ActivationLike, bias_variance: float = 0.0) -> tuple[Initializer, Initializer]:
    """Kernel and bias initializers on the critical line of ``activation``.

    The kernel is ``N(0, sigma_w^2 / fan_in)`` and the bias ``N(0, sigma_b^2)``
    (zeros when ``sigma_b^2 = 0``), with ``sigma_w^2`` from
    ``jinit.mean_field.critical(activation, bias_variance)``.

    Args:
      activation: a name or a JAX-traceable elementwise callable.
      bias_variance: ``sigma_b^2``, non-negative.

    Returns:
      ``(kernel_init, bias_init)``.

    Raises:
      ValueError: no critical point exists for this bias variance.

    Examples:
      >>> import jinit
      >>> kernel_init, bias_init = jinit.edge_of_chaos("relu")
      >>> round(kernel_init.moments((100, 10)).variance, 10)  # 2 / fan_in
      0.02
      >>> kernel_init, bias_init = jinit.edge_of_chaos("tanh", 0.05)
      >>> round(bias_init.moments((10,)).variance, 10)
      0.05

    References:
      Schoenholz et al. (2017), Deep information propagation, arXiv:1611.01232.
    """
    sw2, _ = _solve_critical("edge_of_chaos", activation, bias_variance)
    sb2 = float(bias_variance)
    kernel = VarianceScaling(scale=sw2, mode="fan_in", distribution="normal", name="edge_of_chaos")
    bias: Initializer = zeros if sb2 == 0.0 else Normal(stddev=math.sqrt(sb2), name="edge_of_chaos")
    return kernel, bias
