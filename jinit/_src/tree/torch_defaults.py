"""``torch_defaults``: the laws PyTorch's layers give their parameters, as one rule set for any tree.

* a weight or kernel of rank 2: ``nn.Linear``'s U(-1/sqrt(fan_in), 1/sqrt(fan_in));
  of rank 3 to 5: ``nn.Conv{1,2,3}d``'s, the same law with the conv fan_in;
* a bias beside a weight or kernel of rank >= 2: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  with that weight's fan_in (a context rule reads it from the sibling);
  any other bias (a norm's): 0;
* a norm's scale or 1-D weight: 1;
* an embedding table: N(0, 1).

References:
  torch.nn.Linear.reset_parameters, torch.nn.modules.conv._ConvNd.reset_parameters,
  torch.nn.Embedding.reset_parameters, torch.nn.LayerNorm.reset_parameters (torch 2.13).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import jax

from jinit._src.core import fans, validation
from jinit._src.torch import nn_init
from jinit._src.tree.rules import ContextRule, Rule, Rules

#: Names of the weight a bias belongs to, in the order they are looked for among its siblings.
WEIGHT_NAMES = ("kernel", "weight")

EMBEDDING = r"(?:.*/)?(?:embedding|[^/]*(?i:emb)[^/]*/weight)"
WEIGHT = r"(?:.*/)?(?:kernel|weight)"
SCALE = r"(?:.*/)?scale"
BIAS = r"(?:.*/)?bias"


@dataclasses.dataclass(frozen=True)
class TorchWeight(ContextRule):
    """Linear's law for a 2-D weight, Conv's for 3-D to 5-D, 1 for a 1-D (norm) weight."""

    layout: str

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        rank = len(leaf.shape)
        if rank <= 1:
            return nn_init.ones()
        if rank == 2:
            return nn_init.linear_weight(layout=self.layout)
        if rank <= 5:
            return nn_init.conv_weight(layout=self.layout)
        raise ValueError(
            f"torch has no default law for a weight of rank {rank}; put a rule for it before torch_defaults."
        )


@dataclasses.dataclass(frozen=True)
class TorchBias(ContextRule):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the fan_in of the sibling weight; 0 without one."""

    layout: str

    def __call__(self, match: re.Match[str], leaf: jax.ShapeDtypeStruct, siblings: Mapping[str, Any]) -> Any:
        for name in WEIGHT_NAMES:
            weight = siblings.get(name)
            if weight is not None and len(weight.shape) >= 2:
                fan_in, _ = fans.torch_fans("tree.torch_defaults", weight.shape, self.layout)
                if len(weight.shape) == 2:
                    return nn_init.linear_bias(fan_in)
                return nn_init.conv_bias(fan_in)
        return nn_init.zeros()


def torch_defaults(layout: str = "flax") -> Rules:
    """PyTorch's default laws for every layer of a tree, as one rule set.

    Every weight or kernel gets torch's default ``Linear`` (2-D) or ``Conv``
    (3-D to 5-D) law, U(-1/sqrt(fan_in), 1/sqrt(fan_in)); every bias the law
    torch gives it, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the fan_in of the
    weight beside it (no rule per fan_in: a context rule reads the sibling),
    or 0 when it has none (a norm's bias); norm scales and 1-D weights 1;
    embedding tables (``.../embedding``, or ``.../weight`` under a name
    containing "emb") N(0, 1).

    Every entry is optional: a model without embeddings or norms is no
    error, but a leaf none of them matches still is for ``materialize``.
    Kernels whose fans are not those of their rank (attention and
    ``DenseGeneral`` kernels, fused QKV, experts) need a rule of their own
    first: ``Rules([...]) + torch_defaults()``, e.g. with :func:`with_fans`.

    Args:
      layout: ``"flax"`` for kernels stored ``(*k, in, out)`` (Flax, haiku),
        ``"torch"`` for weights stored ``(out, in, *k)`` (torch state dicts,
        equinox).

    Returns:
      A :class:`Rules`.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit.tree
      >>> params = {"fc": {"kernel": jnp.zeros((64, 10)), "bias": jnp.zeros((10,))}}
      >>> new = jinit.tree.reinit(params, jinit.tree.torch_defaults(), jax.random.key(0))
      >>> bool(jnp.all(jnp.abs(new["fc"]["bias"]) <= 1 / 8))  # the kernel's fan_in is 64
      True

    References:
      torch.nn.Linear.reset_parameters; torch.nn.modules.conv._ConvNd.reset_parameters.
    """
    layout = validation.choice("tree.torch_defaults", "layout", layout, nn_init.LAYOUTS)
    return Rules(
        [
            Rule(EMBEDDING, nn_init.embedding(), optional=True),
            Rule(WEIGHT, TorchWeight(layout), optional=True),
            Rule(SCALE, nn_init.ones(), optional=True),
            Rule(BIAS, TorchBias(layout), optional=True),
        ],
        name=f"torch_defaults(layout={layout!r})",
    )
