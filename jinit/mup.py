"""muP (Tensor Programs V): width multipliers, per-kind init variance and learning rates, optax helpers.

``import jinit.mup`` needs only jax; ``scale_updates`` and ``optimizer``
import optax when called.
"""

from jinit._src.schemes.mup import MupInit as MupInit
from jinit._src.schemes.mup import WidthMultipliers as WidthMultipliers
from jinit._src.schemes.mup import init_variances as init_variances
from jinit._src.schemes.mup import initializer as initializer
from jinit._src.schemes.mup import learning_rates as learning_rates
from jinit._src.schemes.mup import optimizer as optimizer
from jinit._src.schemes.mup import rescale as rescale
from jinit._src.schemes.mup import scale_updates as scale_updates
from jinit._src.schemes.mup import width_multipliers as width_multipliers

__all__ = [
    "MupInit",
    "WidthMultipliers",
    "init_variances",
    "initializer",
    "learning_rates",
    "optimizer",
    "rescale",
    "scale_updates",
    "width_multipliers",
]
