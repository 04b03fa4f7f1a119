"""jinit: weight initializers for JAX and Flax, each with the law it claims.

Public names only; the code lives in ``jinit._src``. Names are imported on
first use (PEP 562), so ``import jinit`` and the ``jinit`` command's
``--help`` and ``list`` do not import jax.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> (module, attribute). ``zer_o`` and ``mimetic`` are former names, kept as plain aliases:
# ``zer_o`` is ``zero_init``; ``mimetic`` is ``jinit.attention.mimetic`` (it returns a pair of kernels).
_EXPORTS: dict[str, tuple[str, str]] = {
    "Initializer": ("jinit._src.core.types", "Initializer"),
    "Moments": ("jinit._src.core.types", "Moments"),
    "normal": ("jinit._src.schemes.basic", "normal"),
    "truncated_normal": ("jinit._src.schemes.basic", "truncated_normal"),
    "uniform": ("jinit._src.schemes.basic", "uniform"),
    "constant": ("jinit._src.schemes.constant", "constant"),
    "ones": ("jinit._src.schemes.constant", "ones"),
    "zeros": ("jinit._src.schemes.constant", "zeros"),
    "delta_orthogonal": ("jinit._src.schemes.orthogonal", "delta_orthogonal"),
    "eye": ("jinit._src.schemes.orthogonal", "eye"),
    "identity": ("jinit._src.schemes.orthogonal", "identity"),
    "orthogonal": ("jinit._src.schemes.orthogonal", "orthogonal"),
    "stacked": ("jinit._src.schemes.stacked", "stacked"),
    "glorot_normal": ("jinit._src.schemes.variance_scaling", "glorot_normal"),
    "glorot_uniform": ("jinit._src.schemes.variance_scaling", "glorot_uniform"),
    "he_normal": ("jinit._src.schemes.variance_scaling", "he_normal"),
    "he_uniform": ("jinit._src.schemes.variance_scaling", "he_uniform"),
    "kaiming_normal": ("jinit._src.schemes.variance_scaling", "kaiming_normal"),
    "kaiming_uniform": ("jinit._src.schemes.variance_scaling", "kaiming_uniform"),
    "lecun_normal": ("jinit._src.schemes.variance_scaling", "lecun_normal"),
    "lecun_uniform": ("jinit._src.schemes.variance_scaling", "lecun_uniform"),
    "variance_scaling": ("jinit._src.schemes.variance_scaling", "variance_scaling"),
    "xavier_normal": ("jinit._src.schemes.variance_scaling", "xavier_normal"),
    "xavier_uniform": ("jinit._src.schemes.variance_scaling", "xavier_uniform"),
    "gain": ("jinit._src.theory.gain", "gain"),
    "recommend": ("jinit._src.theory.gain", "recommend"),
    "recommend_reason": ("jinit._src.theory.gain", "recommend_reason"),
    "deepnorm": ("jinit._src.schemes.depth", "deepnorm"),
    "deepnorm_constants": ("jinit._src.schemes.depth", "deepnorm_constants"),
    "fixup": ("jinit._src.schemes.depth", "fixup"),
    "fixup_scale": ("jinit._src.schemes.depth", "fixup_scale"),
    "gpt2_residual": ("jinit._src.schemes.depth", "gpt2_residual"),
    "t_fixup": ("jinit._src.schemes.depth", "t_fixup"),
    "t_fixup_scale": ("jinit._src.schemes.depth", "t_fixup_scale"),
    "edge_of_chaos": ("jinit._src.theory.mean_field", "edge_of_chaos"),
    "irnn": ("jinit._src.schemes.recurrent", "irnn"),
    "recurrent_orthogonal": ("jinit._src.schemes.recurrent", "recurrent_orthogonal"),
    "zero_init": ("jinit._src.schemes.zero", "zero_init"),
    "mimetic": ("jinit._src.schemes.mimetic", "mimetic"),
    "zer_o": ("jinit._src.schemes.zero", "zer_o"),
    "spectral": ("jinit._src.schemes.spectral", "spectral"),
    "rezero": ("jinit._src.schemes.residual", "rezero"),
    "small_init": ("jinit._src.schemes.residual", "small_init"),
    "wang_init": ("jinit._src.schemes.residual", "wang_init"),
    "id_init": ("jinit._src.schemes.residual", "id_init"),
    "unit_norm": ("jinit._src.schemes.residual", "unit_norm"),
    "Band": ("jinit._src.diagnostics.propagate", "Band"),
    "Propagation": ("jinit._src.diagnostics.propagate", "Propagation"),
    "propagate": ("jinit._src.diagnostics.propagate", "propagate"),
}

# public submodules, imported on first use
_SUBMODULES = (
    "catalog",
    "testing",
    "torch",
    "mean_field",
    "mup",
    "attention",
    "plot",
    "lora",
    "ssm",
    "recipes",
    "interop",
)

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f"jinit.{name}")
    elif name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
    else:
        raise AttributeError(f"module 'jinit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # the same names for type checkers (tests/test_architecture.py keeps both lists equal)
    from jinit._src.core.types import Initializer as Initializer
    from jinit._src.core.types import Moments as Moments
    from jinit._src.schemes.basic import normal as normal
    from jinit._src.schemes.basic import truncated_normal as truncated_normal
    from jinit._src.schemes.basic import uniform as uniform
    from jinit._src.schemes.constant import constant as constant
    from jinit._src.schemes.constant import ones as ones
    from jinit._src.schemes.constant import zeros as zeros
    from jinit._src.schemes.orthogonal import delta_orthogonal as delta_orthogonal
    from jinit._src.schemes.orthogonal import eye as eye
    from jinit._src.schemes.orthogonal import identity as identity
    from jinit._src.schemes.orthogonal import orthogonal as orthogonal
    from jinit._src.schemes.stacked import stacked as stacked
    from jinit._src.schemes.variance_scaling import glorot_normal as glorot_normal
    from jinit._src.schemes.variance_scaling import glorot_uniform as glorot_uniform
    from jinit._src.schemes.variance_scaling import he_normal as he_normal
    from jinit._src.schemes.variance_scaling import he_uniform as he_uniform
    from jinit._src.schemes.variance_scaling import kaiming_normal as kaiming_normal
    from jinit._src.schemes.variance_scaling import kaiming_uniform as kaiming_uniform
    from jinit._src.schemes.variance_scaling import lecun_normal as lecun_normal
    from jinit._src.schemes.variance_scaling import lecun_uniform as lecun_uniform
    from jinit._src.schemes.variance_scaling import variance_scaling as variance_scaling
    from jinit._src.schemes.variance_scaling import xavier_normal as xavier_normal
    from jinit._src.schemes.variance_scaling import xavier_uniform as xavier_uniform
    from jinit._src.theory.gain import gain as gain
    from jinit._src.theory.gain import recommend as recommend
    from jinit._src.theory.gain import recommend_reason as recommend_reason
    from jinit._src.schemes.depth import deepnorm as deepnorm
    from jinit._src.schemes.depth import deepnorm_constants as deepnorm_constants
    from jinit._src.schemes.depth import fixup as fixup
    from jinit._src.schemes.depth import fixup_scale as fixup_scale
    from jinit._src.schemes.depth import gpt2_residual as gpt2_residual
    from jinit._src.schemes.depth import t_fixup as t_fixup
    from jinit._src.schemes.depth import t_fixup_scale as t_fixup_scale
    from jinit._src.theory.mean_field import edge_of_chaos as edge_of_chaos
    from jinit._src.schemes.recurrent import irnn as irnn
    from jinit._src.schemes.recurrent import recurrent_orthogonal as recurrent_orthogonal
    from jinit._src.schemes.zero import zero_init as zero_init
    from jinit._src.schemes.mimetic import mimetic as mimetic
    from jinit._src.schemes.zero import zer_o as zer_o
    from jinit._src.schemes.spectral import spectral as spectral
    from jinit._src.schemes.residual import rezero as rezero
    from jinit._src.schemes.residual import small_init as small_init
    from jinit._src.schemes.residual import wang_init as wang_init
    from jinit._src.schemes.residual import id_init as id_init
    from jinit._src.schemes.residual import unit_norm as unit_norm
    from jinit._src.diagnostics.propagate import Band as Band
    from jinit._src.diagnostics.propagate import Propagation as Propagation
    from jinit._src.diagnostics.propagate import propagate as propagate
    from jinit import catalog as catalog
    from jinit import testing as testing
    from jinit import torch as torch
    from jinit import mean_field as mean_field
    from jinit import mup as mup
    from jinit import attention as attention
    from jinit import plot as plot
    from jinit import lora as lora
    from jinit import ssm as ssm
    from jinit import recipes as recipes
    from jinit import interop as interop
