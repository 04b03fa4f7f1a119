"""jinit: weight initializers for JAX and Flax, each with the law it claims.

Public names only; the code lives in ``jinit._src``.
"""

# --- protocol and law (core) ---
from jinit._src.types import Initializer as Initializer
from jinit._src.types import Moments as Moments

# --- jax-compatible names (core) ---
from jinit._src.basic import normal as normal
from jinit._src.basic import truncated_normal as truncated_normal
from jinit._src.basic import uniform as uniform
from jinit._src.constant import constant as constant
from jinit._src.constant import ones as ones
from jinit._src.constant import zeros as zeros
from jinit._src.orthogonal import delta_orthogonal as delta_orthogonal
from jinit._src.orthogonal import eye as eye
from jinit._src.orthogonal import identity as identity
from jinit._src.orthogonal import orthogonal as orthogonal
from jinit._src.stacked import stacked as stacked
from jinit._src.variance_scaling import glorot_normal as glorot_normal
from jinit._src.variance_scaling import glorot_uniform as glorot_uniform
from jinit._src.variance_scaling import he_normal as he_normal
from jinit._src.variance_scaling import he_uniform as he_uniform
from jinit._src.variance_scaling import kaiming_normal as kaiming_normal
from jinit._src.variance_scaling import kaiming_uniform as kaiming_uniform
from jinit._src.variance_scaling import lecun_normal as lecun_normal
from jinit._src.variance_scaling import lecun_uniform as lecun_uniform
from jinit._src.variance_scaling import variance_scaling as variance_scaling
from jinit._src.variance_scaling import xavier_normal as xavier_normal
from jinit._src.variance_scaling import xavier_uniform as xavier_uniform

# --- gains and advice (core) ---
from jinit import testing as testing
from jinit import torch as torch
from jinit._src.gain import gain as gain
from jinit._src.gain import recommend as recommend
from jinit._src.gain import recommend_reason as recommend_reason

# --- modern schemes and theory (issue 5) ---
from jinit import mean_field as mean_field
from jinit import mup as mup
from jinit._src.depth import deepnorm as deepnorm
from jinit._src.depth import deepnorm_constants as deepnorm_constants
from jinit._src.depth import fixup as fixup
from jinit._src.depth import fixup_scale as fixup_scale
from jinit._src.depth import gpt2_residual as gpt2_residual
from jinit._src.depth import t_fixup as t_fixup
from jinit._src.depth import t_fixup_scale as t_fixup_scale
from jinit._src.mean_field import edge_of_chaos as edge_of_chaos
from jinit._src.mimetic import mimetic as mimetic
from jinit._src.recurrent import irnn as irnn
from jinit._src.recurrent import recurrent_orthogonal as recurrent_orthogonal
from jinit._src.zero import zer_o as zer_o

# --- diagnostics (issue 6) ---
from jinit import plot as plot
from jinit._src.propagate import Band as Band
from jinit._src.propagate import Propagation as Propagation
from jinit._src.propagate import propagate as propagate

__version__ = "0.1.0"

__all__ = [
    "Initializer",
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
    "zer_o",
    # --- __all__ of diagnostics (issue 6) ---
    "Band",
    "Propagation",
    "plot",
    "propagate",
]
