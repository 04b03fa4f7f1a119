"""State-space models: S4D's diagonal state matrices and Mamba's parameter inits."""

from jinit._src.schemes.ssm import mamba2_a_log as mamba2_a_log
from jinit._src.schemes.ssm import mamba_a_log as mamba_a_log
from jinit._src.schemes.ssm import mamba_dt_bias as mamba_dt_bias
from jinit._src.schemes.ssm import mamba_dt_proj as mamba_dt_proj
from jinit._src.schemes.ssm import s4d_inv as s4d_inv
from jinit._src.schemes.ssm import s4d_lin as s4d_lin
from jinit._src.schemes.ssm import s4d_real as s4d_real

__all__ = [
    "mamba2_a_log",
    "mamba_a_log",
    "mamba_dt_bias",
    "mamba_dt_proj",
    "s4d_inv",
    "s4d_lin",
    "s4d_real",
]
