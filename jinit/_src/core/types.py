"""The two public types every scheme shares: the protocol and the law."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import jax

Shape = Sequence[int]
DTypeLike = Any
Sharding = Any  # jax.sharding.NamedSharding | jax.sharding.PartitionSpec | None


@runtime_checkable
class Initializer(Protocol):
    """The JAX initializer protocol: ``(key, shape, dtype=None, out_sharding=None)``.

    ``dtype`` stays positional because Flax calls ``init(key, shape, dtype)``.
    """

    def __call__(
        self,
        key: jax.Array,
        shape: Shape,
        dtype: DTypeLike | None = None,
        out_sharding: Sharding = None,
    ) -> jax.Array: ...


@dataclasses.dataclass(frozen=True)
class Moments:
    """The law of ONE entry of an initialized array, written from the formula.

    Attributes:
      mean: E[w].
      variance: Var(w) (for complex dtypes, E|w - E w|^2).
      bound: every draw satisfies ``|w - mean| <= bound``; None if unbounded.
      excess_kurtosis: E[(w - mean)^4] / Var(w)^2 - 3 when the entries are
        i.i.d. and real; None otherwise.
      interval: the exact support (lower, upper) when it is not symmetric
        about the mean (e.g. torch's trunc_normal with asymmetric bounds);
        None means [mean - bound, mean + bound].
      iid: whether the entries are independent and identically distributed.
    """

    mean: float
    variance: float
    bound: float | None = None
    excess_kurtosis: float | None = None
    interval: tuple[float, float] | None = None
    iid: bool = True

    @property
    def std(self) -> float:
        return float(self.variance) ** 0.5
