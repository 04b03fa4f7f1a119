"""The shapes on which the test suite checks every public scheme's law.

Each scheme of the runtime catalog (``jinit._src.diagnostics.catalog``) has
at least three law cases here: a dense kernel, a conv kernel and a stacked
kernel (with ``batch_axis`` where the scheme has one). The generic tests
(protocol, laws, errors, sharding, Flax) iterate over ``entries()``, so a
scheme added to the catalog without cases here fails
``test_every_catalog_entry_has_law_cases``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jinit._src.schemes.basic as basic
import jinit._src.schemes.constant as constant
import jinit._src.schemes.orthogonal as orthogonal
import jinit._src.schemes.stacked as stacked
import jinit._src.schemes.variance_scaling as vs
from jinit._src.core.types import Initializer
from jinit._src.diagnostics import catalog

DENSE = (256, 512)
CONV = (3, 3, 64, 128)
STACK = (4, 128, 256)


@dataclasses.dataclass(frozen=True)
class Case:
    init: Initializer
    shape: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Entry:
    """A catalog entry with its law cases: ``name``, ``family``, ``make``, ``complex``, ``random``,
    ``min_rank`` come from the catalog.

    The protocol tests draw shape
    ``{2: (8, 16), 3: (4, 8, 16), 4: (4, 3, 8, 16), 5: (4, 3, 3, 8, 16)}[max(min_rank, 2)]``
    and check that a rank-``min_rank`` shape is accepted and a shape one rank lower is refused.
    """

    name: str
    family: str
    make: Callable[[], Initializer]
    cases: Callable[[], tuple[Case, ...]]
    complex: bool = False
    random: bool = True
    min_rank: int = 2


def _vs_cases(factory: Callable[..., Initializer]) -> Callable[[], tuple[Case, ...]]:
    return lambda: (
        Case(factory(), DENSE),
        Case(factory(), CONV),
        Case(factory(batch_axis=0), STACK),
    )


def _same_cases(make: Callable[[], Initializer]) -> Callable[[], tuple[Case, ...]]:
    return lambda: (Case(make(), DENSE), Case(make(), CONV), Case(make(), STACK))


def _entries_core() -> list[Entry]:
    out = [
        Entry(name, "variance_scaling", getattr(vs, name), _vs_cases(getattr(vs, name)), complex=True)
        for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal")
    ]
    out.append(
        Entry(
            "variance_scaling",
            "variance_scaling",
            lambda: vs.variance_scaling(0.5, "fan_geo_avg", "normal"),
            lambda: (
                Case(vs.variance_scaling(0.5, "fan_geo_avg", "normal"), DENSE),
                Case(vs.variance_scaling(3.0, "fan_out", "uniform"), CONV),
                Case(vs.variance_scaling(1.5, "fan_avg", "truncated_normal", batch_axis=0), STACK),
            ),
            complex=True,
        )
    )
    out += [
        Entry("uniform", "fixed", lambda: basic.uniform(0.1), _same_cases(lambda: basic.uniform(0.1)), min_rank=0),
        Entry(
            "normal",
            "fixed",
            lambda: basic.normal(0.1),
            _same_cases(lambda: basic.normal(0.1)),
            complex=True,
            min_rank=0,
        ),
        Entry(
            "truncated_normal",
            "fixed",
            lambda: basic.truncated_normal(0.1),
            lambda: (
                Case(basic.truncated_normal(0.1), DENSE),
                Case(basic.truncated_normal(0.5, lower=-1.0, upper=3.0), CONV),
                Case(basic.truncated_normal(2.0), STACK),
            ),
            min_rank=0,
        ),
        Entry(
            "zeros",
            "constant",
            lambda: constant.zeros,
            _same_cases(lambda: constant.zeros),
            complex=True,
            random=False,
            min_rank=0,
        ),
        Entry(
            "ones",
            "constant",
            lambda: constant.ones,
            _same_cases(lambda: constant.ones),
            complex=True,
            random=False,
            min_rank=0,
        ),
        Entry(
            "constant",
            "constant",
            lambda: constant.constant(-0.5),
            _same_cases(lambda: constant.constant(-0.5)),
            complex=True,
            random=False,
            min_rank=0,
        ),
        Entry(
            "orthogonal",
            "orthogonal",
            orthogonal.orthogonal,
            lambda: (
                Case(orthogonal.orthogonal(), DENSE),
                Case(orthogonal.orthogonal(scale=2.0), CONV),
                Case(orthogonal.orthogonal(batch_axis=0), STACK),
            ),
            complex=True,
        ),
        Entry(
            "delta_orthogonal",
            "orthogonal",
            orthogonal.delta_orthogonal,
            lambda: (
                Case(orthogonal.delta_orthogonal(), (3, 128, 256)),
                Case(orthogonal.delta_orthogonal(), CONV),
                Case(orthogonal.delta_orthogonal(scale=0.5), (3, 3, 3, 32, 64)),
            ),
            min_rank=3,
        ),
        Entry("eye", "orthogonal", orthogonal.eye, _same_cases(orthogonal.eye), random=False),
        Entry(
            "stacked",
            "stacked",
            lambda: stacked.stacked(vs.he_normal(), 4),
            lambda: (
                Case(stacked.stacked(vs.he_normal(), 4), (4, 256, 128)),
                Case(stacked.stacked(vs.glorot_uniform(), 4), (4, 3, 3, 32, 64)),
                Case(stacked.stacked(orthogonal.orthogonal(), 4), STACK),
            ),
            complex=True,
            min_rank=3,
        ),
    ]
    return out


def _entries_torch() -> list[Entry]:
    # --- jinit.torch entries (torch helper) ---
    # Cases: a dense kernel, a conv kernel and a 3-D or 5-D one, in flax
    # layout, plus torch layout where the scheme has one; 2-D-only schemes use
    # two 2-D weights and a stack of them. Imported here: jinit.torch is optional.
    import jinit._src.torch.nn_init as tt

    conv3, conv5, torch5 = (3, 64, 128), (3, 3, 3, 32, 64), (64, 32, 3, 3, 3)

    def anywhere(make: Callable[[], Initializer]) -> Callable[[], tuple[Case, ...]]:
        return lambda: (Case(make(), DENSE), Case(make(), CONV), Case(make(), conv5))

    def layered(make: Callable[..., Initializer]) -> Callable[[], tuple[Case, ...]]:
        return lambda: (Case(make(), DENSE), Case(make(), CONV), Case(make(layout="torch"), torch5))

    def conv(make: Callable[..., Initializer]) -> Callable[[], tuple[Case, ...]]:
        return lambda: (Case(make(), conv3), Case(make(), CONV), Case(make(layout="torch"), torch5))

    def two_d(make: Callable[..., Initializer]) -> Callable[[], tuple[Case, ...]]:
        return lambda: (
            Case(make(), DENSE),
            Case(make(layout="torch"), (512, 256)),
            Case(stacked.stacked(make(), 4), STACK),
        )

    return [
        Entry("torch.uniform", "torch", tt.uniform, anywhere(lambda: tt.uniform(-0.5, 1.5)), min_rank=0),
        Entry("torch.normal", "torch", tt.normal, anywhere(lambda: tt.normal(0.3, 2.0)), min_rank=0),
        Entry(
            "torch.trunc_normal",
            "torch",
            tt.trunc_normal,
            lambda: (
                Case(tt.trunc_normal(), DENSE),
                Case(tt.trunc_normal(0.5, 2.0, 1.0, 2.5), CONV),
                Case(tt.trunc_normal(0.0, 0.1, -0.05, 0.3), conv5),
            ),
            min_rank=0,
        ),
        Entry(
            "torch.constant",
            "torch",
            lambda: tt.constant(0.5),
            anywhere(lambda: tt.constant(-0.5)),
            complex=True,
            random=False,
            min_rank=0,
        ),
        Entry("torch.zeros", "torch", tt.zeros, anywhere(tt.zeros), complex=True, random=False, min_rank=0),
        Entry("torch.ones", "torch", tt.ones, anywhere(tt.ones), complex=True, random=False, min_rank=0),
        Entry("torch.eye", "torch", tt.eye, two_d(tt.eye), random=False),
        Entry(
            "torch.dirac",
            "torch",
            tt.dirac,
            lambda: (
                Case(tt.dirac(), conv3),
                Case(tt.dirac(), CONV),
                Case(tt.dirac(groups=2, layout="torch"), torch5),
            ),
            random=False,
            min_rank=3,
        ),
        Entry("torch.xavier_uniform", "torch", tt.xavier_uniform, layered(tt.xavier_uniform)),
        Entry("torch.xavier_normal", "torch", tt.xavier_normal, layered(tt.xavier_normal)),
        Entry("torch.kaiming_uniform", "torch", tt.kaiming_uniform, layered(tt.kaiming_uniform)),
        Entry("torch.kaiming_normal", "torch", tt.kaiming_normal, layered(tt.kaiming_normal)),
        Entry("torch.orthogonal", "torch", tt.orthogonal, layered(tt.orthogonal)),
        Entry("torch.sparse", "torch", lambda: tt.sparse(0.1), two_d(lambda **kw: tt.sparse(0.1, **kw))),
        Entry("torch.linear_weight", "torch", tt.linear_weight, two_d(tt.linear_weight)),
        Entry(
            "torch.linear_bias",
            "torch",
            lambda: tt.linear_bias(64),
            anywhere(lambda: tt.linear_bias(64)),
            min_rank=0,
        ),
        Entry("torch.conv_weight", "torch", tt.conv_weight, conv(tt.conv_weight), min_rank=3),
        Entry(
            "torch.conv_bias",
            "torch",
            lambda: tt.conv_bias(576),
            anywhere(lambda: tt.conv_bias(576)),
            min_rank=0,
        ),
        Entry("torch.embedding", "torch", tt.embedding, anywhere(tt.embedding), complex=True, min_rank=0),
    ]


def _entries_modern() -> list[Entry]:
    # --- modern schemes ---
    # Cases: a dense kernel, a conv kernel and a stacked (or third) kernel. ZerO
    # and IRNN are deterministic (random=False): their law is the distribution
    # of the entries over the array. mimetic (a coupled pair of kernels) and
    # lsuv (data-dependent) are not initializers and are tested in their own files.
    import jinit._src.schemes.depth as depth
    import jinit._src.schemes.mup as mup
    import jinit._src.schemes.recurrent as recurrent
    import jinit._src.schemes.zero as zero
    import jinit._src.theory.mean_field as mean_field

    def mup_readout() -> Initializer:
        return mup.initializer(vs.lecun_normal(), mup.WidthMultipliers("output", fan_in=4.0))

    return [
        Entry(
            "gpt2_residual",
            "depth",
            lambda: depth.gpt2_residual(12),
            lambda: (
                Case(depth.gpt2_residual(12), DENSE),
                Case(depth.gpt2_residual(12), CONV),
                Case(depth.gpt2_residual(48, stddev=0.01), STACK),
            ),
            complex=True,
            min_rank=0,
        ),
        Entry(
            "fixup",
            "depth",
            lambda: depth.fixup(16, 2),
            lambda: (
                Case(depth.fixup(16, 2), DENSE),
                Case(depth.fixup(8, 3, mode="fan_out"), CONV),
                Case(depth.fixup(16, 2, batch_axis=0), STACK),
            ),
            complex=True,
        ),
        Entry(
            "t_fixup",
            "depth",
            lambda: depth.t_fixup("encoder", 6),
            lambda: (
                Case(depth.t_fixup("encoder", 6), DENSE),
                Case(depth.t_fixup("decoder", 6), CONV),
                Case(depth.t_fixup("embedding", 6), (4096, 128)),
            ),
            complex=True,
        ),
        Entry(
            "deepnorm",
            "depth",
            lambda: depth.deepnorm(encoder_layers=18),
            lambda: (
                Case(depth.deepnorm(encoder_layers=18), DENSE),
                Case(depth.deepnorm(encoder_layers=6, decoder_layers=6, part="decoder"), CONV),
                Case(depth.deepnorm(decoder_layers=100, part="decoder", batch_axis=0), STACK),
            ),
            complex=True,
        ),
        Entry(
            "edge_of_chaos",
            "mean_field",
            lambda: mean_field.edge_of_chaos("relu")[0],
            _same_cases(lambda: mean_field.edge_of_chaos("relu")[0]),
            complex=True,
        ),
        Entry(
            "zero_init",
            "zero",
            zero.zero_init,
            lambda: (
                Case(zero.zero_init(), DENSE),
                Case(zero.zero_init(hadamard_scale="paper"), CONV),
                Case(zero.zero_init(), (512, 256)),
            ),
            random=False,
        ),
        Entry("irnn", "recurrent", recurrent.irnn, _same_cases(recurrent.irnn), random=False),
        Entry(
            "recurrent_orthogonal",
            "recurrent",
            recurrent.recurrent_orthogonal,
            lambda: (
                Case(recurrent.recurrent_orthogonal(), DENSE),
                Case(recurrent.recurrent_orthogonal(scale=0.5), CONV),
                Case(recurrent.recurrent_orthogonal(), STACK),
            ),
        ),
        Entry("mup.initializer", "mup", mup_readout, _same_cases(mup_readout), complex=True),
    ]


def _entries_recent() -> list[Entry]:
    # --- schemes of 2023-2025 (spectral, residual, ssm) ---
    # Cases: a dense kernel, a conv kernel and a stacked one; spectral also a
    # narrowing kernel (out < in), id_init a narrowing one, the SSM schemes an
    # atom (floor > dt_min) and a narrow range. The only make() is the catalog's.
    import jinit._src.schemes.residual as residual
    import jinit._src.schemes.spectral as spectral
    import jinit._src.schemes.ssm as ssm

    def make(name: str) -> Callable[[], Initializer]:
        return catalog.get(name).make

    return [
        Entry(
            "spectral",
            "spectral",
            make("spectral"),
            lambda: (
                Case(spectral.spectral(), DENSE),
                Case(spectral.spectral(scale=2.0), CONV),
                Case(spectral.spectral(batch_axis=0), STACK),
                Case(spectral.spectral(scale=0.5), (512, 128)),
            ),
        ),
        Entry("rezero", "residual", make("rezero"), _same_cases(residual.rezero)),
        Entry(
            "small_init",
            "residual",
            make("small_init"),
            lambda: (
                Case(residual.small_init(768), DENSE),
                Case(residual.small_init(64), CONV),
                Case(residual.small_init(4096), STACK),
            ),
        ),
        Entry(
            "wang_init",
            "residual",
            make("wang_init"),
            lambda: (
                Case(residual.wang_init(12, 768), DENSE),
                Case(residual.wang_init(24, 1024), CONV),
                Case(residual.wang_init(48, 4096), STACK),
            ),
        ),
        Entry(
            "id_init",
            "residual",
            make("id_init"),
            lambda: (
                Case(residual.id_init(), DENSE),
                Case(residual.id_init(gain=0.5), CONV),
                Case(residual.id_init(gain=-2.0), (512, 200)),
            ),
        ),
        Entry(
            "unit_norm",
            "residual",
            make("unit_norm"),
            lambda: (
                Case(residual.unit_norm(), DENSE),
                Case(residual.unit_norm(axis=-2), CONV),
                Case(residual.unit_norm(axis=(1, 2)), STACK),
            ),
        ),
        Entry(
            "ssm.mamba_dt_bias",
            "ssm",
            make("ssm.mamba_dt_bias"),
            lambda: (
                Case(ssm.mamba_dt_bias(), DENSE),
                Case(ssm.mamba_dt_bias(dt_min=1e-4, dt_max=1.0, floor=1e-3), CONV),
                Case(ssm.mamba_dt_bias(floor=0.0), STACK),
            ),
        ),
        Entry(
            "ssm.mamba2_a_log",
            "ssm",
            make("ssm.mamba2_a_log"),
            lambda: (
                Case(ssm.mamba2_a_log(), DENSE),
                Case(ssm.mamba2_a_log(128, a_init_range=(0.5, 4.0)), CONV),
                Case(ssm.mamba2_a_log(a_init_range=(1.0, 1.5)), STACK),
            ),
        ),
    ]


def entries() -> list[Entry]:
    """Every catalog scheme with its law cases, in the catalog's order."""
    cases = {e.name: e.cases for e in _entries_core() + _entries_torch() + _entries_modern() + _entries_recent()}
    missing = [e.name for e in catalog.entries() if e.name not in cases]
    assert not missing, f"catalog schemes without law cases in tests/law_cases.py: {missing}"
    return [
        Entry(e.name, e.family, e.make, cases[e.name], complex=e.complex, random=e.random, min_rank=e.min_rank)
        for e in catalog.entries()
    ]


def get(name: str) -> Entry:
    for e in entries():
        if e.name == name:
            return e
    raise ValueError(f"unknown scheme {name!r}")
