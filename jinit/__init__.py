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
from jinit._src.gain import gain as gain
from jinit._src.gain import recommend as recommend
from jinit._src.gain import recommend_reason as recommend_reason

# --- modern schemes and theory (issue 5) ---

# --- diagnostics (issue 6) ---

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
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
    # --- __all__ of modern schemes (issue 5) ---
    # --- __all__ of diagnostics (issue 6) ---
]
