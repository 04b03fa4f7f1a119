"""Pictures of initializers and of signal propagation (needs the ``plot`` extra: matplotlib).

``density`` and ``goodness_of_fit`` are numpy only; the figures import
matplotlib on first use, with the Agg backend when no display is available.
Figures use the colour-blind-safe Okabe-Ito palette and mathtext labels,
share one legend per figure, and ``save`` writes PNG, SVG or PDF by suffix.

Examples:
  >>> import jinit
  >>> ax = jinit.plot.histogram(jinit.glorot_uniform(), (128, 128))
  >>> p = jinit.propagate(["he_normal", "glorot_normal"], "relu", depth=8, width=64, seeds=2)
  >>> fig = jinit.plot.propagation(p)
  >>> len(fig.axes)
  4
"""

from jinit._src.diagnostics.plot import AXIS_LABELS as AXIS_LABELS
from jinit._src.diagnostics.plot import OKABE_ITO as OKABE_ITO
from jinit._src.diagnostics.plot import STYLE as STYLE
from jinit._src.diagnostics.plot import Density as Density
from jinit._src.diagnostics.plot import Fit as Fit
from jinit._src.diagnostics.plot import chi1_map as chi1_map
from jinit._src.diagnostics.plot import density as density
from jinit._src.diagnostics.plot import depth_profile as depth_profile
from jinit._src.diagnostics.plot import goodness_of_fit as goodness_of_fit
from jinit._src.diagnostics.plot import gradient_vs_depth as gradient_vs_depth
from jinit._src.diagnostics.plot import histogram as histogram
from jinit._src.diagnostics.plot import length_map as length_map
from jinit._src.diagnostics.plot import propagation as propagation
from jinit._src.diagnostics.plot import pyplot as pyplot
from jinit._src.diagnostics.plot import save as save
from jinit._src.diagnostics.plot import shared_legend as shared_legend
from jinit._src.diagnostics.plot import variance_vs_depth as variance_vs_depth

__all__ = [
    "AXIS_LABELS",
    "OKABE_ITO",
    "STYLE",
    "Density",
    "Fit",
    "chi1_map",
    "density",
    "depth_profile",
    "goodness_of_fit",
    "gradient_vs_depth",
    "histogram",
    "length_map",
    "propagation",
    "pyplot",
    "save",
    "shared_legend",
    "variance_vs_depth",
]
