"""torch.nn.init semantics for JAX arrays, in Flax (default) or torch layout.

Same names as ``torch.nn.init`` without the trailing underscore; every
fan-dependent or structured scheme takes ``layout="flax"`` (kernel
``(*k, in, out)``) or ``layout="torch"`` (``(out, in, *k)``) and gives
torch's law for the layer the array belongs to. Pure JAX: torch is not
imported. The code lives in ``jinit._src.torch.nn_init``.
"""

from jinit._src.torch.nn_init import calculate_gain as calculate_gain
from jinit._src.torch.nn_init import constant as constant
from jinit._src.torch.nn_init import conv_bias as conv_bias
from jinit._src.torch.nn_init import conv_weight as conv_weight
from jinit._src.torch.nn_init import dirac as dirac
from jinit._src.torch.nn_init import embedding as embedding
from jinit._src.torch.nn_init import eye as eye
from jinit._src.torch.nn_init import kaiming_normal as kaiming_normal
from jinit._src.torch.nn_init import kaiming_uniform as kaiming_uniform
from jinit._src.torch.nn_init import linear_bias as linear_bias
from jinit._src.torch.nn_init import linear_weight as linear_weight
from jinit._src.torch.nn_init import normal as normal
from jinit._src.torch.nn_init import ones as ones
from jinit._src.torch.nn_init import orthogonal as orthogonal
from jinit._src.torch.nn_init import sparse as sparse
from jinit._src.torch.nn_init import trunc_normal as trunc_normal
from jinit._src.torch.nn_init import uniform as uniform
from jinit._src.torch.nn_init import xavier_normal as xavier_normal
from jinit._src.torch.nn_init import xavier_uniform as xavier_uniform
from jinit._src.torch.nn_init import zeros as zeros

__all__ = [
    "calculate_gain",
    "constant",
    "conv_bias",
    "conv_weight",
    "dirac",
    "embedding",
    "eye",
    "kaiming_normal",
    "kaiming_uniform",
    "linear_bias",
    "linear_weight",
    "normal",
    "ones",
    "orthogonal",
    "sparse",
    "trunc_normal",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]
