"""jinit: weight initializers for JAX and Flax, each with the law it claims.

Public names only; the code lives in ``jinit._src``.
"""

# --- protocol and law (core) ---
from jinit._src.core.types import Initializer as Initializer
from jinit._src.core.types import Moments as Moments

# --- jax-compatible names (core) ---
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

# --- gains and advice (core) ---
from jinit import catalog as catalog
from jinit import testing as testing
from jinit import torch as torch
from jinit._src.theory.gain import gain as gain
from jinit._src.theory.gain import recommend as recommend
from jinit._src.theory.gain import recommend_reason as recommend_reason

# --- modern schemes and theory (issue 5) ---
from jinit import mean_field as mean_field
from jinit import mup as mup
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

# --- former names, kept as plain aliases (the same objects) ---
# ``zer_o`` is ``zero_init``; ``mimetic`` is ``jinit.attention.mimetic`` (it returns a pair of kernels).
from jinit import attention as attention
from jinit._src.schemes.mimetic import mimetic as mimetic
from jinit._src.schemes.zero import zer_o as zer_o

# --- diagnostics (issue 6) ---
from jinit import plot as plot
from jinit._src.diagnostics.propagate import Band as Band
from jinit._src.diagnostics.propagate import Propagation as Propagation
from jinit._src.diagnostics.propagate import propagate as propagate

__version__ = "0.1.0"

__all__ = [
    "Initializer",
    "catalog",
    "Moments",
    "constant",
    "delta_orthogonal",
    "eye",
    "gain",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "recommend",
    "recommend_reason",
    "stacked",
    "testing",
    "torch",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
    # --- __all__ of modern schemes (issue 5) ---
    "deepnorm",
    "deepnorm_constants",
    "edge_of_chaos",
    "fixup",
    "fixup_scale",
    "gpt2_residual",
    "irnn",
    "mean_field",
    "mimetic",
    "mup",
    "recurrent_orthogonal",
    "t_fixup",
    "t_fixup_scale",
    "zero_init",
    "zer_o",
    "attention",
    # --- __all__ of diagnostics (issue 6) ---
    "Band",
    "Propagation",
    "plot",
    "propagate",
]
