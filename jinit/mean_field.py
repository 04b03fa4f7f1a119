"""Mean-field signal propagation: length map, q*, chi_1, correlation map, depth scale, edge of chaos."""

from jinit._src.theory.mean_field import chi1 as chi1
from jinit._src.theory.mean_field import correlation_map as correlation_map
from jinit._src.theory.mean_field import critical as critical
from jinit._src.theory.mean_field import depth_scale as depth_scale
from jinit._src.theory.mean_field import edge_of_chaos as edge_of_chaos
from jinit._src.theory.mean_field import fixed_point as fixed_point
from jinit._src.theory.mean_field import length_map as length_map

__all__ = [
    "chi1",
    "correlation_map",
    "critical",
    "depth_scale",
    "edge_of_chaos",
    "fixed_point",
    "length_map",
]
