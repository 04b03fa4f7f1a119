"""Hyperparameter checks and role helpers the named recipes share."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from jinit._src.core import validation
from jinit._src.recipes.parts import Arange, Fill, PaddingRow
from jinit._src.recipes.recipe import path
from jinit._src.torch import nn_init

LAYOUTS = nn_init.LAYOUTS

#: Buffers transformers fills in ``_init_weights`` (when a state dict holds them).
BUFFER_NAMING = {
    "position_ids": path("position_ids"),
    "token_type_ids": path("token_type_ids"),
}
BUFFER_ROLES = {"position_ids": Arange(), "token_type_ids": Fill(0.0)}

#: What ``PreTrainedModel._init_weights`` gives the roles that are no Linear or Embedding weight.
_NOT_WEIGHTS = {"norm_scale": nn_init.ones(), "norm_bias": nn_init.zeros(), **BUFFER_ROLES, "bias": nn_init.zeros()}


def count(fn: str, param: str, value: Any) -> int:
    return validation.integer(fn, param, value, minimum=1)


def flag(fn: str, param: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(validation.error(fn, f"`{param}` must be a bool; got {param}={value!r}."))
    return value


def padding(fn: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(validation.error(fn, f"`pad_token_id` must be an int or None; got pad_token_id={value!r}."))
    return int(value)


def embedding(std: float, pad_token_id: int | None) -> Any:
    """``nn.Embedding(padding_idx=pad_token_id)`` as transformers initialises it: N(0, std^2), the padding row 0."""
    normal = nn_init.normal(std=std)
    return normal if pad_token_id is None else PaddingRow(normal, pad_token_id)


def init_weights(naming: Mapping[str, Any], normal: Any, **laws: Any) -> dict[str, Any]:
    """transformers' ``_init_weights`` for the roles of ``naming``, in its order.

    ``normal`` for every Linear and Embedding weight, ones for ``norm_scale``,
    zeros for ``norm_bias`` and ``bias``, the buffers' fills; ``laws`` for the
    roles the model initialises otherwise.
    """
    return {role: laws.get(role, _NOT_WEIGHTS.get(role, normal)) for role in naming}
