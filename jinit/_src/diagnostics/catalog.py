"""The catalog of public schemes: name, family, a default instance and a shape to show it on.

``jinit list``, ``jinit check``, ``jinit explain`` and ``jinit.propagate``
(which accepts scheme names) read this table. The factories are imported
only when an entry is built, so listing names needs no scheme module.
The shapes on which the test suite checks each law live in ``tests/``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinit._src.core.types import Initializer

DENSE = (256, 512)
CONV = (3, 3, 64, 128)


@dataclasses.dataclass(frozen=True)
class Entry:
    """A public scheme: its dotted name under ``jinit``, its family and how to build a default instance."""

    name: str
    family: str
    #: builds the default instance (the one ``jinit check`` and ``jinit explain`` show)
    make: Callable[[], Initializer]
    #: the shape ``jinit check`` draws by default
    shape: tuple[int, ...] = DENSE
    #: whether the scheme defines complex dtypes
    complex: bool = False
    #: whether the values depend on the key
    random: bool = True
    #: the smallest rank ``make()`` accepts
    min_rank: int = 2


def _factory(module: str, name: str, *args: Any, **kwargs: Any) -> Callable[[], Initializer]:
    """``make`` for ``module.name(*args, **kwargs)``, imported on first use."""

    def make() -> Initializer:
        obj = getattr(importlib.import_module(f"jinit._src.{module}"), name)
        return obj(*args, **kwargs) if (args or kwargs or not _is_ready(obj)) else obj

    return make


def _is_ready(obj: Any) -> bool:
    """True for a ready initializer object (``zeros``, ``ones``), False for a factory."""
    return hasattr(obj, "moments")


_VS = "schemes.variance_scaling"
_TT = "torch.nn_init"


def _variance_scaling() -> list[Entry]:
    out = [
        Entry(n, "variance_scaling", _factory(_VS, n), complex=True)
        for n in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal")
    ]
    out.append(
        Entry(
            "variance_scaling",
            "variance_scaling",
            _factory(_VS, "variance_scaling", 0.5, "fan_geo_avg", "normal"),
            complex=True,
        )
    )
    return out


def _fixed_and_structured() -> list[Entry]:
    b, c, o = "schemes.basic", "schemes.constant", "schemes.orthogonal"
    return [
        Entry("uniform", "fixed", _factory(b, "uniform", 0.1), min_rank=0),
        Entry("normal", "fixed", _factory(b, "normal", 0.1), complex=True, min_rank=0),
        Entry("truncated_normal", "fixed", _factory(b, "truncated_normal", 0.1), min_rank=0),
        Entry("zeros", "constant", _factory(c, "zeros"), complex=True, random=False, min_rank=0),
        Entry("ones", "constant", _factory(c, "ones"), complex=True, random=False, min_rank=0),
        Entry("constant", "constant", _factory(c, "constant", -0.5), complex=True, random=False, min_rank=0),
        Entry("orthogonal", "orthogonal", _factory(o, "orthogonal"), complex=True),
        Entry("delta_orthogonal", "orthogonal", _factory(o, "delta_orthogonal"), shape=(3, 128, 256), min_rank=3),
        Entry("eye", "orthogonal", _factory(o, "eye"), random=False),
        Entry("stacked", "stacked", _stacked_he_normal, shape=(4, 256, 128), complex=True, min_rank=3),
    ]


def _stacked_he_normal() -> Initializer:
    from jinit._src.schemes.stacked import stacked
    from jinit._src.schemes.variance_scaling import he_normal

    return stacked(he_normal(), 4)


def _torch() -> list[Entry]:
    conv3 = (3, 64, 128)

    def e(name: str, *args: Any, shape: tuple[int, ...] = DENSE, **flags: Any) -> Entry:
        return Entry(f"torch.{name}", "torch", _factory(_TT, name, *args), shape=shape, **flags)

    scalar: dict[str, Any] = {"min_rank": 0}
    fixed: dict[str, Any] = {"complex": True, "random": False, "min_rank": 0}
    return [
        e("uniform", **scalar),
        e("normal", **scalar),
        e("trunc_normal", **scalar),
        e("constant", 0.5, **fixed),
        e("zeros", **fixed),
        e("ones", **fixed),
        e("eye", random=False),
        e("dirac", shape=conv3, random=False, min_rank=3),
        e("xavier_uniform"),
        e("xavier_normal"),
        e("kaiming_uniform"),
        e("kaiming_normal"),
        e("orthogonal"),
        e("sparse", 0.1),
        e("linear_weight"),
        e("linear_bias", 64, **scalar),
        e("conv_weight", shape=conv3, min_rank=3),
        e("conv_bias", 576, **scalar),
        e("embedding", complex=True, min_rank=0),
    ]


def _mup_readout() -> Initializer:
    from jinit._src.schemes import mup
    from jinit._src.schemes.variance_scaling import lecun_normal

    return mup.initializer(lecun_normal(), mup.WidthMultipliers("output", fan_in=4.0))


def _edge_of_chaos_relu() -> Initializer:
    from jinit._src.theory.mean_field import edge_of_chaos

    return edge_of_chaos("relu")[0]


def _modern() -> list[Entry]:
    d, r = "schemes.depth", "schemes.recurrent"
    return [
        Entry("gpt2_residual", "depth", _factory(d, "gpt2_residual", 12), complex=True, min_rank=0),
        Entry("fixup", "depth", _factory(d, "fixup", 16, 2), complex=True),
        Entry("t_fixup", "depth", _factory(d, "t_fixup", "encoder", 6), complex=True),
        Entry("deepnorm", "depth", _factory(d, "deepnorm", encoder_layers=18), complex=True),
        Entry("edge_of_chaos", "mean_field", _edge_of_chaos_relu, complex=True),
        Entry("zero_init", "zero", _factory("schemes.zero", "zero_init"), random=False),
        Entry("irnn", "recurrent", _factory(r, "irnn"), random=False),
        Entry("recurrent_orthogonal", "recurrent", _factory(r, "recurrent_orthogonal")),
        Entry("mup.initializer", "mup", _mup_readout, complex=True),
    ]


def _recent() -> list[Entry]:
    # --- schemes of 2023-2025: spectral condition, residual/normalisation, state-space models ---
    res, ssm = "schemes.residual", "schemes.ssm"
    return [
        Entry("spectral", "spectral", _factory("schemes.spectral", "spectral"), complex=True),
        Entry("rezero", "residual", _factory(res, "rezero"), complex=True, random=False, min_rank=0),
        Entry("small_init", "residual", _factory(res, "small_init", 768), complex=True, min_rank=0),
        Entry("wang_init", "residual", _factory(res, "wang_init", 12, 768), complex=True, min_rank=0),
        Entry("id_init", "residual", _factory(res, "id_init"), random=False),
        Entry("unit_norm", "residual", _factory(res, "unit_norm"), min_rank=1),
        Entry("ssm.mamba_dt_bias", "ssm", _factory(ssm, "mamba_dt_bias"), shape=(4096,), min_rank=0),
        Entry("ssm.mamba2_a_log", "ssm", _factory(ssm, "mamba2_a_log"), shape=(4096,), min_rank=0),
    ]


def entries() -> list[Entry]:
    """Every public scheme, in display order."""
    return _variance_scaling() + _fixed_and_structured() + _torch() + _modern() + _recent()


def get(name: str) -> Entry:
    """The entry named ``name`` (ValueError listing the known names otherwise)."""
    if not isinstance(name, str):
        raise TypeError(f"jinit.catalog.get: `name` must be a scheme name (a str); got {name!r:.60}.")
    for e in entries():
        if e.name == name:
            return e
    known = ", ".join(e.name for e in entries())
    raise ValueError(f"jinit.catalog.get: unknown scheme {name!r}; known: {known}.")
