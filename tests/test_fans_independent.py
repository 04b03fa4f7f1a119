"""Every scheme's variance against fan arithmetic written out here, by hand.

A scheme's law (``moments``) and its sampler read their fans from the same
method, so a wrong fan (a 1.1 on ``fan_avg``, fan_in and fan_out swapped, a
batch axis counted into the receptive field) moves both together and every
law-against-draws test still passes. This file breaks the tie: for every case
of ``tests/law_cases.py`` the expected variance of one entry is computed below
from the shape's numbers written out by hand (``(3, 3, 64, 128)`` with the
default axes: receptive field 9, fan_in = 9 * 64, fan_out = 9 * 128) and the
scheme's formula from its paper or from torch.nn.init, with no jinit code in
between. Both ``init.moments(shape).variance`` (exactly, rtol 1e-12) and the
second moment of one draw about the law's mean (within 6 sampling standard
errors, as for every statistical test here) must equal it.

The last tests plant wrong fan arithmetic in ``jinit._src.core.fans`` with
``monkeypatch`` and check that exactly the affected cases now fail here,
while ``jinit.testing.assert_moments`` (law against draws) still passes.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable
from typing import Any

import jax
import law_cases
import numpy as np
import pytest
import scipy.integrate

import jinit.testing
from jinit._src.core import fans

ENTRIES = {e.name: e for e in law_cases.entries()}
EPS32 = float(np.finfo(np.float32).eps)
N_SIGMA = 6.0


@dataclasses.dataclass(frozen=True)
class Expect:
    """The variance of one entry for ``shape``, and how a draw's second moment may deviate from it.

    ``order`` is None for i.i.d. entries (statistical tolerance, from the law's kurtosis); else
    the draw's second moment is an identity up to rounding (orthogonal matrices: the squared
    entries sum to scale^2 min(rows, cols); deterministic arrays: exact), with relative
    tolerance ``order`` float32 epsilons (for Householder/QR, ``order`` = the matrix's long
    side: the loss of orthogonality grows like n u, Higham, Accuracy and Stability, Thm 19.4).
    """

    shape: tuple[int, ...]
    variance: float
    order: int | None = None


def iid(shape: tuple[int, ...], variance: float) -> Expect:
    return Expect(shape, variance)


def exact(shape: tuple[int, ...], variance: float, order: int = 4) -> Expect:
    return Expect(shape, variance, order)


def tn_var(a: float, b: float) -> float:
    """Variance of N(0, 1) truncated to [a, b] (Johnson, Kotz & Balakrishnan, eq. 13.134):
    1 + (a phi(a) - b phi(b)) / Z - ((phi(a) - phi(b)) / Z)^2, Z = Phi(b) - Phi(a)."""
    phi_a, phi_b = (math.exp(-x * x / 2) / math.sqrt(2 * math.pi) for x in (a, b))
    z = (math.erf(b / math.sqrt(2)) - math.erf(a / math.sqrt(2))) / 2
    return 1 + (a * phi_a - b * phi_b) / z - ((phi_a - phi_b) / z) ** 2


def two_valued(p: float, value: float = 1.0) -> float:
    """Variance over an array whose share p of entries equal ``value`` and the rest 0."""
    return value * value * p * (1 - p)


# Shapes of tests/law_cases.py: DENSE (256, 512), CONV (3, 3, 64, 128), STACK (4, 128, 256).
# Default axes: in = shape[-2], out = shape[-1], receptive field = the other axes (batch_axis excluded).
#   DENSE: fan_in 256, fan_out 512.  CONV: rf 9, fan_in 9 * 64, fan_out 9 * 128.
#   STACK with batch_axis=0: fan_in 128, fan_out 256; without: rf 4, fan_in 4 * 128, fan_out 4 * 256.
GLOROT = (  # scale 1 / fan_avg
    iid((256, 512), 1 / ((256 + 512) / 2)),
    iid((3, 3, 64, 128), 1 / ((9 * 64 + 9 * 128) / 2)),
    iid((4, 128, 256), 1 / ((128 + 256) / 2)),
)
HE = (  # 2 / fan_in
    iid((256, 512), 2 / 256),
    iid((3, 3, 64, 128), 2 / (9 * 64)),
    iid((4, 128, 256), 2 / 128),
)
LECUN = (  # 1 / fan_in
    iid((256, 512), 1 / 256),
    iid((3, 3, 64, 128), 1 / (9 * 64)),
    iid((4, 128, 256), 1 / 128),
)


def constant_cases(shapes: tuple[tuple[int, ...], ...]) -> tuple[Expect, ...]:
    return tuple(exact(s, 0.0) for s in shapes)


def mamba_dt_bias_var(dt_min: float, dt_max: float, floor: float) -> float:
    """Var of log(expm1(max(dt, floor))), dt = e^T, T ~ U[log dt_min, log dt_max] (Mamba's dt init), by quad."""
    lo, hi = math.log(dt_min), math.log(dt_max)
    start = max(lo, math.log(floor)) if floor > 0 else lo
    p, y_floor = (start - lo) / (hi - lo), (math.log(math.expm1(floor)) if floor > 0 else 0.0)

    def moment(h: Callable[[float], float]) -> float:
        value, _ = scipy.integrate.quad(lambda t: h(math.log(math.expm1(math.exp(t)))), start, hi, epsrel=1e-13)
        return value / (hi - lo) + p * h(y_floor)

    mean = moment(lambda y: y)
    return moment(lambda y: (y - mean) ** 2)


def log_uniform_var(low: float, high: float) -> float:
    """Var of log A, A ~ U[low, high]: int log x = x (log x - 1), int log^2 x = x (log^2 x - 2 log x + 2)."""
    m1 = (high * (math.log(high) - 1) - low * (math.log(low) - 1)) / (high - low)
    f2 = lambda x: x * (math.log(x) ** 2 - 2 * math.log(x) + 2)
    return (f2(high) - f2(low)) / (high - low) - m1 * m1


DENSE_CONV_STACK = ((256, 512), (3, 3, 64, 128), (4, 128, 256))
DENSE_CONV_CONV5 = ((256, 512), (3, 3, 64, 128), (3, 3, 3, 32, 64))

EXPECTED: dict[str, tuple[Expect, ...]] = {
    "glorot_uniform": GLOROT,
    "glorot_normal": GLOROT,  # jax's normal is truncated and rescaled to the same variance
    "he_uniform": HE,
    "he_normal": HE,
    "lecun_uniform": LECUN,
    "lecun_normal": LECUN,
    "variance_scaling": (
        iid((256, 512), 0.5 / math.sqrt(256 * 512)),  # fan_geo_avg
        iid((3, 3, 64, 128), 3.0 / (9 * 128)),  # fan_out
        iid((4, 128, 256), 1.5 / ((128 + 256) / 2)),  # fan_avg, batch_axis=0
    ),
    # jax's fixed laws: U[0, scale) has variance scale^2 / 12; truncated_normal's stddev is before truncation.
    "uniform": tuple(iid(s, 0.1**2 / 12) for s in DENSE_CONV_STACK),
    "normal": tuple(iid(s, 0.1**2) for s in DENSE_CONV_STACK),
    "truncated_normal": (
        iid((256, 512), 0.1**2 * tn_var(-2, 2)),
        iid((3, 3, 64, 128), 0.5**2 * tn_var(-1, 3)),
        iid((4, 128, 256), 2.0**2 * tn_var(-2, 2)),
    ),
    "zeros": constant_cases(DENSE_CONV_STACK),
    "ones": constant_cases(DENSE_CONV_STACK),
    "constant": constant_cases(DENSE_CONV_STACK),
    # Saxe et al.: scale * Q, rows = all axes but column_axis (and batch_axis), cols = column_axis.
    # The squared entries sum to scale^2 min(rows, cols) over rows * cols entries: scale^2 / max(rows, cols).
    "orthogonal": (
        exact((256, 512), 1.0 / max(256, 512), order=512),
        exact((3, 3, 64, 128), 2.0**2 / max(9 * 64, 128), order=9 * 64),
        exact((4, 128, 256), 1.0 / max(128, 256), order=256),  # batch_axis=0: one (128, 256) per slice
    ),
    # Xiao et al.: zero except the centre tap, an (in, out) matrix with orthonormal rows (in <= out):
    # squared entries sum to scale^2 * in over taps * in * out entries.
    "delta_orthogonal": (
        exact((3, 128, 256), 128 / (3 * 128 * 256), order=256),
        exact((3, 3, 64, 128), 64 / (9 * 64 * 128), order=128),
        exact((3, 3, 3, 32, 64), 0.5**2 * 32 / (27 * 32 * 64), order=64),
    ),
    # gain * I on the last two axes: min(rows, cols) ones in each rows * cols slice.
    "eye": (
        exact((256, 512), two_valued(256 / (256 * 512))),
        exact((3, 3, 64, 128), two_valued(64 / (64 * 128))),
        exact((4, 128, 256), two_valued(128 / (128 * 256))),
    ),
    # Slice i is init(fold_in(key, i), shape[1:]): the inner scheme's law for the slice's shape.
    "stacked": (
        iid((4, 256, 128), 2 / 256),  # he_normal on (256, 128)
        iid((4, 3, 3, 32, 64), 1 / ((9 * 32 + 9 * 64) / 2)),  # glorot_uniform on (3, 3, 32, 64)
        exact((4, 128, 256), 1.0 / max(128, 256), order=256),  # orthogonal on (128, 256)
    ),
    # torch.nn.init. torch's fans: flax layout (*k, in, out), torch layout (out, in, *k);
    # fan_in = in * prod(k), fan_out = out * prod(k).
    "torch.uniform": tuple(iid(s, (1.5 - -0.5) ** 2 / 12) for s in DENSE_CONV_CONV5),
    "torch.normal": tuple(iid(s, 2.0**2) for s in DENSE_CONV_CONV5),
    "torch.trunc_normal": (  # absolute bounds a, b: in std units (a - mean) / std, (b - mean) / std
        iid((256, 512), 1.0**2 * tn_var(-2, 2)),
        iid((3, 3, 64, 128), 2.0**2 * tn_var((1.0 - 0.5) / 2.0, (2.5 - 0.5) / 2.0)),
        iid((3, 3, 3, 32, 64), 0.1**2 * tn_var(-0.05 / 0.1, 0.3 / 0.1)),
    ),
    "torch.constant": constant_cases(DENSE_CONV_CONV5),
    "torch.zeros": constant_cases(DENSE_CONV_CONV5),
    "torch.ones": constant_cases(DENSE_CONV_CONV5),
    "torch.eye": (
        exact((256, 512), two_valued(256 / (256 * 512))),
        exact((512, 256), two_valued(256 / (512 * 256))),  # torch layout (out, in)
        exact((4, 128, 256), two_valued(128 / (128 * 256))),  # stacked: each (128, 256) slice
    ),
    # dirac_: out channel d of group g copies in channel d at the centre tap: groups * min(out / groups, in) ones.
    "torch.dirac": (
        exact((3, 64, 128), two_valued(min(128, 64) / (3 * 64 * 128))),
        exact((3, 3, 64, 128), two_valued(min(128, 64) / (9 * 64 * 128))),
        exact((64, 32, 3, 3, 3), two_valued(2 * min(64 // 2, 32) / (64 * 32 * 27))),  # torch layout, groups=2
    ),
    # xavier_*(gain=1): std = gain * sqrt(2 / (fan_in + fan_out)).
    "torch.xavier_uniform": (
        iid((256, 512), 2 / (256 + 512)),
        iid((3, 3, 64, 128), 2 / (9 * 64 + 9 * 128)),
        iid((64, 32, 3, 3, 3), 2 / (32 * 27 + 64 * 27)),  # torch layout: in 32, out 64, k 3 * 3 * 3
    ),
    "torch.xavier_normal": (
        iid((256, 512), 2 / (256 + 512)),
        iid((3, 3, 64, 128), 2 / (9 * 64 + 9 * 128)),
        iid((64, 32, 3, 3, 3), 2 / (32 * 27 + 64 * 27)),
    ),
    # kaiming_*(a=0, mode="fan_in", nonlinearity="leaky_relu"): gain^2 = 2 / (1 + a^2) = 2, std = gain / sqrt(fan_in).
    "torch.kaiming_uniform": (
        iid((256, 512), 2 / (1 + 0**2) / 256),
        iid((3, 3, 64, 128), 2 / (1 + 0**2) / (9 * 64)),
        iid((64, 32, 3, 3, 3), 2 / (1 + 0**2) / (32 * 27)),
    ),
    "torch.kaiming_normal": (
        iid((256, 512), 2 / (1 + 0**2) / 256),
        iid((3, 3, 64, 128), 2 / (1 + 0**2) / (9 * 64)),
        iid((64, 32, 3, 3, 3), 2 / (1 + 0**2) / (32 * 27)),
    ),
    # orthogonal_: torch layout rows = size(0), cols = the rest; flax layout rows = prod(k) * in, cols = out.
    "torch.orthogonal": (
        exact((256, 512), 1.0 / max(256, 512), order=512),
        exact((3, 3, 64, 128), 1.0 / max(9 * 64, 128), order=9 * 64),
        exact((64, 32, 3, 3, 3), 1.0 / max(64, 32 * 27), order=32 * 27),
    ),
    # sparse_(0.1, std=0.01): ceil(0.1 * out) zeros per input unit, the rest N(0, std^2).
    "torch.sparse": (
        iid((256, 512), 0.01**2 * (1 - 52 / 512)),  # flax (in, out): ceil(51.2) = 52 zeros in each row of 512
        iid((512, 256), 0.01**2 * (1 - 52 / 512)),  # torch (out, in): 52 zeros in each column of 512
        iid((4, 128, 256), 0.01**2 * (1 - 26 / 256)),  # stacked flax (128, 256): ceil(25.6) = 26 of 256
    ),
    # nn.Linear / nn.Conv*d weights: kaiming_uniform_(a=sqrt(5)): gain^2 = 2 / (1 + 5), variance gain^2 / fan_in.
    "torch.linear_weight": (
        iid((256, 512), 2 / (1 + 5) / 256),
        iid((512, 256), 2 / (1 + 5) / 256),  # torch layout (out, in): fan_in = 256
        iid((4, 128, 256), 2 / (1 + 5) / 128),  # stacked flax (128, 256)
    ),
    # Layer biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in: (2 / sqrt(fan_in))^2 / 12.
    "torch.linear_bias": tuple(iid(s, (2 / math.sqrt(64)) ** 2 / 12) for s in DENSE_CONV_CONV5),
    "torch.conv_weight": (
        iid((3, 64, 128), 2 / (1 + 5) / (3 * 64)),
        iid((3, 3, 64, 128), 2 / (1 + 5) / (9 * 64)),
        iid((64, 32, 3, 3, 3), 2 / (1 + 5) / (32 * 27)),  # torch layout
    ),
    "torch.conv_bias": tuple(iid(s, (2 / math.sqrt(576)) ** 2 / 12) for s in DENSE_CONV_CONV5),
    "torch.embedding": tuple(iid(s, 1.0) for s in DENSE_CONV_CONV5),  # nn.Embedding: N(0, 1)
    # GPT-2 (Radford et al. 2019): N(0, (stddev / sqrt(2 n_layer))^2).
    "gpt2_residual": (
        iid((256, 512), 0.02**2 / (2 * 12)),
        iid((3, 3, 64, 128), 0.02**2 / (2 * 12)),
        iid((4, 128, 256), 0.01**2 / (2 * 48)),
    ),
    # Fixup (Zhang et al. 2019): He normal's 2 / fan times L^(-1/(m-1)) (the square of L^(-1/(2m-2))).
    "fixup": (
        iid((256, 512), 2 / 256 * 16 ** (-1 / (2 - 1))),  # L=16, m=2
        iid((3, 3, 64, 128), 2 / (9 * 128) * 8 ** (-1 / (3 - 1))),  # L=8, m=3, fan_out
        iid((4, 128, 256), 2 / 128 * 16 ** (-1 / (2 - 1))),  # batch_axis=0
    ),
    # T-Fixup (Huang et al. 2020, Algorithm 1): Xavier uniform 2 / (fan_in + fan_out) times g^2, with
    # g = 0.67 N^(-1/4) (encoder) or (9 N)^(-1/4) (decoder); embeddings N(0, 1/d) times (9 N)^(-1/2).
    "t_fixup": (
        iid((256, 512), (0.67 * 6**-0.25) ** 2 * 2 / (256 + 512)),
        iid((3, 3, 64, 128), (9 * 6) ** -0.5 * 2 / (9 * 64 + 9 * 128)),
        iid((4096, 128), (9 * 6) ** -0.5 / 128),  # (vocab, d): d = 128
    ),
    # DeepNet (Wang et al. 2022, Figure 2): Xavier normal with gain beta, variance beta^2 * 2 / (fan_in + fan_out);
    # encoder-only beta = (8 N)^(-1/4), enc-dec decoder (12 M)^(-1/4), decoder-only (8 M)^(-1/4).
    "deepnorm": (
        iid((256, 512), ((8 * 18) ** -0.25) ** 2 * 2 / (256 + 512)),
        iid((3, 3, 64, 128), ((12 * 6) ** -0.25) ** 2 * 2 / (9 * 64 + 9 * 128)),
        iid((4, 128, 256), ((8 * 100) ** -0.25) ** 2 * 2 / (128 + 256)),  # batch_axis=0
    ),
    # Edge of chaos for relu (Schoenholz et al. 2017): sigma_w^2 = 2, N(0, 2 / fan_in).
    "edge_of_chaos": (
        iid((256, 512), 2 / 256),
        iid((3, 3, 64, 128), 2 / (9 * 64)),
        iid((4, 128, 256), 2 / (4 * 128)),  # no batch_axis: the 4 is receptive field
    ),
    # ZerO (Zhao et al. 2021). out <= in: partial identity, out ones. out > in: c * H[:in, :out], H Sylvester-Hadamard
    # of size 2^m, m = ceil(log2 out); the top `in` rows of H_{2m} = [[H, H], [H, -H]] are [H_m, H_m] and sum to
    # 2 * (size of H_m) when in = size of H_m (every row of H but the first sums to 0).
    "zero_init": (
        # (256, 512), c^2 = 2^-9 (code's scale): all 256 * 512 entries +-c, sum c * 512: mean c / 256.
        exact((256, 512), 2.0**-9 * (1 - (1 / 256) ** 2)),
        # (3, 3, 64, 128), paper's c^2 = 2^-(7-1): centre tap 64 * 128 entries +-c of 9 * 64 * 128, sum c * 128.
        exact((3, 3, 64, 128), 2.0**-6 * (1 / 9 - (128 / (9 * 64 * 128)) ** 2)),
        # (512, 256): out <= in, 256 ones among 512 * 256.
        exact((512, 256), two_valued(256 / (512 * 256))),
    ),
    # IRNN (Le et al. 2015): gain * I in each (h, h) gate block of (..., h, g h): h ones per h * h block.
    "irnn": (
        exact((256, 512), two_valued(256 / (256 * 256))),
        exact((3, 3, 64, 128), two_valued(64 / (64 * 64))),
        exact((4, 128, 256), two_valued(128 / (128 * 128))),
    ),
    # One Haar (h, h) block per gate: scale^2 / h.
    "recurrent_orthogonal": (
        exact((256, 512), 1.0 / 256, order=256),
        exact((3, 3, 64, 128), 0.5**2 / 64, order=64),
        exact((4, 128, 256), 1.0 / 128, order=128),
    ),
    # muP readout (Yang et al. 2021, Table 3): the SP variance (lecun_normal, 1 / fan_in) times 1 / m_in, m_in = 4.
    "mup.initializer": (
        iid((256, 512), 1 / 256 / 4),
        iid((3, 3, 64, 128), 1 / (9 * 64) / 4),
        iid((4, 128, 256), 1 / (4 * 128) / 4),  # no batch_axis: the 4 is receptive field
    ),
    # Spectral condition (Yang, Simon & Bernstein 2023): c * Q, c^2 = scale^2 fan_out / fan_in, Q (fan_in, out)
    # semi-orthogonal: squared entries sum to c^2 min(rows, cols), so c^2 / max(rows, cols) per entry.
    "spectral": (
        exact((256, 512), 512 / 256 / max(256, 512), order=512),
        exact((3, 3, 64, 128), 2.0**2 * (9 * 128) / (9 * 64) / max(9 * 64, 128), order=9 * 64),
        exact((4, 128, 256), 256 / 128 / max(128, 256), order=256),  # batch_axis=0
        exact((512, 128), 0.5**2 * 128 / 512 / max(512, 128), order=512),
    ),
    "rezero": constant_cases(DENSE_CONV_STACK),
    # SmallInit (Nguyen & Salazar 2019): N(0, 2 / (5 d)); Wang (GPT-NeoX): N(0, (2 / (L sqrt(d)))^2).
    "small_init": (
        iid((256, 512), 2 / (5 * 768)),
        iid((3, 3, 64, 128), 2 / (5 * 64)),
        iid((4, 128, 256), 2 / (5 * 4096)),
    ),
    "wang_init": (
        iid((256, 512), (2 / (12 * math.sqrt(768))) ** 2),
        iid((3, 3, 64, 128), (2 / (24 * math.sqrt(1024))) ** 2),
        iid((4, 128, 256), (2 / (48 * math.sqrt(4096))) ** 2),
    ),
    # IDInit (Pan et al. 2025): gain where i = j mod min(in, out), on the centre tap: max(in, out) such entries.
    "id_init": (
        exact((256, 512), two_valued(512 / (256 * 512))),
        exact((3, 3, 64, 128), two_valued(128 / (9 * 64 * 128), 0.5)),
        exact((512, 200), two_valued(512 / (512 * 200), -2.0)),
    ),
    # nGPT (Loshchilov et al. 2024): unit vectors of length d along `axis`, squared entries sum to 1: 1 / d each.
    "unit_norm": (
        exact((256, 512), 1 / 512, order=512),
        exact((3, 3, 64, 128), 1 / 64, order=64),  # axis=-2
        exact((4, 128, 256), 1 / (128 * 256), order=128 * 256),  # axis=(1, 2)
    ),
    # Mamba (Gu & Dao 2023): inverse softplus of a log-uniform dt, clamped at floor; Mamba-2: log of U[low, high].
    "ssm.mamba_dt_bias": (
        iid((256, 512), mamba_dt_bias_var(1e-3, 0.1, 1e-4)),
        iid((3, 3, 64, 128), mamba_dt_bias_var(1e-4, 1.0, 1e-3)),
        iid((4, 128, 256), mamba_dt_bias_var(1e-3, 0.1, 0.0)),
    ),
    "ssm.mamba2_a_log": (
        iid((256, 512), log_uniform_var(1.0, 16.0)),
        iid((3, 3, 64, 128), log_uniform_var(0.5, 4.0)),
        iid((4, 128, 256), log_uniform_var(1.0, 1.5)),
    ),
}


def case_key(*parts: Any) -> jax.Array:
    """A fixed key per case (independent of collection order)."""
    return jax.random.key(zlib.crc32("/".join(map(str, parts)).encode()))


def exact_mismatch(init: Any, expect: Expect) -> str | None:
    """None if ``moments`` gives the expected variance to rtol 1e-12, else what differs."""
    law = init.moments(expect.shape)
    if math.isclose(law.variance, expect.variance, rel_tol=1e-12, abs_tol=0.0):
        return None
    return f"moments{expect.shape}.variance = {law.variance!r}, independent arithmetic gives {expect.variance!r}"


def draw_mismatch(init: Any, expect: Expect, key: jax.Array) -> str | None:
    """None if one draw's second moment about the law's mean matches the expected variance, else what differs.

    Centring on the law's mean keeps the check sound: a wrong mean m adds (mu - m)^2 and fails it too.
    i.i.d.: relative standard error sqrt((k - 1) / n), k the law's kurtosis; N_SIGMA of them plus 2 eps.
    """
    law = init.moments(expect.shape)
    w = np.asarray(init(key, expect.shape), np.float64)
    second = float(np.mean((w - law.mean) ** 2))
    if expect.order is None:
        assert law.excess_kurtosis is not None, f"{expect.shape}: an i.i.d. case needs the law's kurtosis"
        rtol = N_SIGMA * math.sqrt((law.excess_kurtosis + 2) / w.size) + 2 * EPS32
    else:
        rtol = expect.order * EPS32
    if abs(second - expect.variance) <= rtol * expect.variance:
        return None
    return f"a draw's second moment is {second!r}, independent arithmetic gives {expect.variance!r} (rtol {rtol:.2g})"


def expectations(name: str) -> tuple[Expect, ...]:
    if name not in EXPECTED:
        pytest.fail(f"{name}: no independent expectation in tests/test_fans_independent.py; write one per case")
    expected = EXPECTED[name]
    shapes = tuple(c.shape for c in ENTRIES[name].cases())
    assert tuple(e.shape for e in expected) == shapes, (
        f"{name}: tests/law_cases.py has shapes {shapes}; the expectations here are for "
        f"{tuple(e.shape for e in expected)}"
    )
    return expected


def test_every_catalog_entry_has_an_independent_expectation() -> None:
    missing = sorted(set(ENTRIES) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(ENTRIES))
    assert not missing, f"catalog schemes without an independent expectation here: {missing}"
    assert not stale, f"expectations for schemes no longer in the catalog: {stale}"


@pytest.mark.parametrize("name", list(ENTRIES))
def test_moments_match_independent_fans(name: str) -> None:
    cases = ENTRIES[name].cases()
    failures = [
        f"case {i} {c.init!r}: {m}"
        for i, (c, e) in enumerate(zip(cases, expectations(name), strict=True))
        if (m := exact_mismatch(c.init, e)) is not None
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", list(ENTRIES))
def test_draws_match_independent_fans(name: str) -> None:
    cases = ENTRIES[name].cases()
    failures = [
        f"case {i} {c.init!r}: {m}"
        for i, (c, e) in enumerate(zip(cases, expectations(name), strict=True))
        if (m := draw_mismatch(c.init, e, case_key(name, i))) is not None
    ]
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------
# Planted faults: wrong fan arithmetic must fail the checks above for exactly the cases it touches.


def _avg_times_1_1(monkeypatch: pytest.MonkeyPatch) -> None:
    original = fans.fan_denominator

    def patched(mode: str, fan_in: int, fan_out: int) -> float:
        return original(mode, fan_in, fan_out) * (1.1 if mode == "fan_avg" else 1.0)

    monkeypatch.setattr(fans, "fan_denominator", patched)


def _swap_in_out(monkeypatch: pytest.MonkeyPatch) -> None:
    original = fans.compute_fans

    def patched(*args: Any, **kwargs: Any) -> tuple[int, int]:
        fan_in, fan_out = original(*args, **kwargs)
        return fan_out, fan_in

    monkeypatch.setattr(fans, "compute_fans", patched)


def _batch_into_receptive_field(monkeypatch: pytest.MonkeyPatch) -> None:
    original = fans.compute_fans

    def patched(name: str, shape: Any, in_axis: Any = -2, out_axis: Any = -1, batch_axis: Any = ()) -> tuple[int, int]:
        return original(name, shape, in_axis, out_axis, ())

    monkeypatch.setattr(fans, "compute_fans", patched)


def _torch_swap_in_out(monkeypatch: pytest.MonkeyPatch) -> None:
    original = fans.torch_fans

    def patched(name: str, shape: Any, layout: str) -> tuple[int, int]:
        fan_in, fan_out = original(name, shape, layout)
        return fan_out, fan_in

    monkeypatch.setattr(fans, "torch_fans", patched)


# Which cases each fault touches, read off the formulas above: fan_avg is symmetric in the fans, so a swap
# leaves it alone; fan_in = fan_out never occurs in these shapes; batch_axis only where a case passes it.
FAULTS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], set[tuple[str, int]], tuple[str, int]]] = {
    "fan_avg times 1.1": (
        _avg_times_1_1,
        {(n, i) for n in ("glorot_uniform", "glorot_normal", "deepnorm") for i in range(3)}
        | {("variance_scaling", 2), ("stacked", 1), ("t_fixup", 0), ("t_fixup", 1)},
        ("glorot_uniform", 0),
    ),
    "fan_in and fan_out swapped": (
        _swap_in_out,
        {
            (n, i)
            for n in ("he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "fixup", "edge_of_chaos")
            for i in range(3)
        }
        | {(n, i) for n in ("mup.initializer",) for i in range(3)}
        | {("spectral", i) for i in range(4)}
        | {("variance_scaling", 1), ("stacked", 0), ("t_fixup", 2)},
        ("he_normal", 1),
    ),
    "batch_axis counted into the receptive field": (
        _batch_into_receptive_field,
        {(n, 2) for n in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform")}
        | {(n, 2) for n in ("lecun_normal", "variance_scaling", "fixup", "deepnorm")},
        ("he_normal", 2),
    ),
    "torch's fan_in and fan_out swapped": (
        _torch_swap_in_out,
        {
            (n, i)
            for n in ("torch.kaiming_uniform", "torch.kaiming_normal", "torch.linear_weight", "torch.conv_weight")
            for i in range(3)
        },
        ("torch.kaiming_normal", 2),
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_wrong_fans_fail_the_independent_check(fault: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plant, affected, (probe, probe_case) = FAULTS[fault]
    cases = {name: entry.cases() for name, entry in ENTRIES.items()}
    assert all(exact_mismatch(cases[n][i].init, EXPECTED[n][i]) is None for n, i in affected)
    plant(monkeypatch)
    failing = {
        (name, i)
        for name, expected in EXPECTED.items()
        for i, (c, e) in enumerate(zip(cases[name], expected, strict=True))
        if exact_mismatch(c.init, e) is not None
    }
    assert failing == affected, f"not caught: {sorted(affected - failing)}; unexpected: {sorted(failing - affected)}"

    # The draws follow the wrong law too, so law against draws cannot see the fault; the independent check does.
    init, expect = cases[probe][probe_case].init, EXPECTED[probe][probe_case]
    key = case_key(probe, probe_case)
    jinit.testing.assert_moments(init, expect.shape, key=key)
    assert draw_mismatch(init, expect, key) is not None
