"""``huggingface(config)``: the recipe that reproduces transformers' ``_init_weights`` for a model's config.

Reads ``config.to_dict()`` (jinit never imports transformers): the keys each
named recipe takes, and transformers 5.23's config defaults for the keys
absent.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

from jinit._src.core import validation
from jinit._src.recipes import language, mamba, vision
from jinit._src.recipes.recipe import Recipe

#: The ``model_type`` values :func:`huggingface` knows.
MODEL_TYPES = ("bert", "gpt2", "llama", "mamba", "olmo2", "resnet", "t5", "vit")

#: transformers 5.23's config defaults for the keys the recipes read (``<Type>Config().to_dict()``).
DEFAULTS: dict[str, dict[str, Any]] = {
    "bert": {"initializer_range": 0.02, "pad_token_id": 0, "tie_word_embeddings": True},
    "gpt2": {"n_layer": 12, "initializer_range": 0.02, "tie_word_embeddings": True},
    "llama": {"initializer_range": 0.02, "pad_token_id": None, "tie_word_embeddings": False},
    "mamba": {
        "hidden_size": 768,
        "num_hidden_layers": 32,
        "initializer_range": 0.1,
        "time_step_rank": "auto",
        "time_step_scale": 1.0,
        "time_step_min": 0.001,
        "time_step_max": 0.1,
        "time_step_floor": 1e-4,
        "time_step_init_scheme": "random",
        "rescale_prenorm_residual": False,
        "tie_word_embeddings": True,
    },
    "olmo2": {"initializer_range": 0.02, "pad_token_id": 1, "tie_word_embeddings": False},
    "resnet": {"layer_type": "bottleneck"},
    "t5": {
        "d_model": 512,
        "d_kv": 64,
        "d_ff": 2048,
        "num_heads": 8,
        "initializer_factor": 1.0,
        "tie_word_embeddings": True,
    },
    "vit": {"initializer_range": 0.02},
}


def _mamba(hidden_size: Any, time_step_rank: Any, **kwargs: Any) -> Recipe:
    if time_step_rank == "auto":  # MambaConfig: math.ceil(hidden_size / 16)
        time_step_rank = math.ceil(hidden_size / 16)
    return mamba.mamba(time_step_rank=time_step_rank, **kwargs)


#: The named recipe of each ``model_type``, called with the config's values of the keys in ``DEFAULTS``.
_BUILDERS: dict[str, Callable[..., Recipe]] = {
    "bert": language.bert,
    "gpt2": language.gpt2,
    "llama": language.llama,
    "mamba": _mamba,
    "olmo2": language.olmo2,
    "resnet": vision.resnet,
    "t5": language.t5,
    "vit": functools.partial(vision.vit, variant="huggingface"),
}


def huggingface(config: Mapping[str, Any]) -> Recipe:
    """The recipe that initialises a model as transformers' ``_init_weights`` does, from its config as a dict.

    Pass ``model.config.to_dict()``: ``config["model_type"]`` picks the
    named recipe (:func:`gpt2`, :func:`bert`, :func:`llama`, :func:`t5`,
    :func:`vit` with ``variant="huggingface"``, :func:`olmo2`,
    :func:`mamba`, :func:`resnet`), called with the config's values of its
    hyperparameters (transformers 5.23's defaults for keys absent; other
    keys are ignored). The recipe's default naming is the model's
    ``state_dict()`` keys, with or without the base model's prefix
    (``h.0.attn.c_attn.weight`` and ``transformer.h.0.attn.c_attn.weight``),
    as a flat dict of dotted names or nested by the dots, for the base model
    and its head classes, buffers included (BatchNorm running statistics,
    ``num_batches_tracked``, ``position_ids``). Tied keys (an LM head and
    the token embedding, T5's ``shared``) get one array from
    :func:`jinit.recipes.init_state_dict`; ``materialize`` draws them apart
    from the same law.

    Args:
      config: a mapping with ``"model_type"`` (``PretrainedConfig.to_dict()``).

    Returns:
      A :class:`jinit.recipes.Recipe`, equal to the named recipe with the config's values.

    Raises:
      ValueError: no ``model_type``, or one not supported (the message lists them).
      TypeError: ``config`` is not a mapping.

    Examples:
      >>> import jinit.recipes
      >>> recipe = jinit.recipes.huggingface({"model_type": "gpt2", "n_layer": 2})
      >>> recipe == jinit.recipes.gpt2(n_layer=2)
      True

    References:
      transformers 5.23, ``modeling_utils.PreTrainedModel._init_weights`` and each
      ``models/<type>/modeling_<type>.py``'s ``_init_weights``.
    """
    fn = "recipes.huggingface"
    if not isinstance(config, Mapping):
        raise TypeError(
            validation.error(
                fn, f"`config` must be a mapping (e.g. model.config.to_dict()); got {type(config).__name__}."
            )
        )
    model_type = config.get("model_type")
    if model_type is None:
        raise ValueError(validation.error(fn, f"`config` needs a 'model_type' key; got keys {sorted(config)[:12]}."))
    if model_type not in _BUILDERS:
        raise ValueError(
            validation.error(fn, f"model_type {model_type!r} is not supported; supported: {', '.join(MODEL_TYPES)}.")
        )
    merged = {**DEFAULTS[model_type], **{k: config[k] for k in DEFAULTS[model_type] if k in config}}
    if "initializer_range" in merged:  # PreTrainedModel._init_weights: config.initializer_range or 0.02
        merged["initializer_range"] = merged["initializer_range"] or 0.02
    return _BUILDERS[model_type](**merged)
