"""muP and its depth and unit-scaled relatives: per-kind init, forward multipliers, learning rates, optax helpers.

Width (Tensor Programs V): ``width_multipliers``, ``learning_rates``,
``init_variances``, ``rescale``, ``initializer``, ``optimizer``.
Width and depth: ``parametrization(name, ...)`` for ``"sp"``, ``"ntk"``,
``"mup"``, ``"depth_mup"``, ``"completep"`` and ``"umup"`` (docs/mup.md).
``import jinit.mup`` needs only jax; the optax helpers import optax when called.
"""

from jinit._src.schemes.mup import MupInit as MupInit
from jinit._src.schemes.mup import Parametrization as Parametrization
from jinit._src.schemes.mup import Rule as Rule
from jinit._src.schemes.mup import WidthMultipliers as WidthMultipliers
from jinit._src.schemes.mup import init_variances as init_variances
from jinit._src.schemes.mup import initializer as initializer
from jinit._src.schemes.mup import learning_rates as learning_rates
from jinit._src.schemes.mup import optimizer as optimizer
from jinit._src.schemes.mup import parametrization as parametrization
from jinit._src.schemes.mup import rescale as rescale
from jinit._src.schemes.mup import scale_updates as scale_updates
from jinit._src.schemes.mup import width_multipliers as width_multipliers

__all__ = [
    "MupInit",
    "Parametrization",
    "Rule",
    "WidthMultipliers",
    "init_variances",
    "initializer",
    "learning_rates",
    "optimizer",
    "parametrization",
    "rescale",
    "scale_updates",
    "width_multipliers",
]
