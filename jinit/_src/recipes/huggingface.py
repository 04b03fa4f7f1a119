"""``huggingface(config)``: the recipe that reproduces transformers' ``_init_weights`` for a model's config.

Reads ``config.to_dict()`` (jinit never imports transformers): the keys each
named recipe takes, and transformers 5.23's config defaults for the keys
absent.
"""

from __future__ import annotations

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


def _std(value: Any) -> Any:
    """``PreTrainedModel._init_weights``: ``std = config.initializer_range or 0.02``."""
    return value or 0.02


def _mamba(c: Mapping[str, Any]) -> Recipe:
    rank = c["time_step_rank"]
    if rank == "auto":  # MambaConfig: math.ceil(hidden_size / 16)
        rank = math.ceil(c["hidden_size"] / 16)
    return mamba.mamba(
        time_step_rank=rank,
        num_hidden_layers=c["num_hidden_layers"],
        initializer_range=_std(c["initializer_range"]),
        time_step_scale=c["time_step_scale"],
        time_step_min=c["time_step_min"],
        time_step_max=c["time_step_max"],
        time_step_floor=c["time_step_floor"],
        time_step_init_scheme=c["time_step_init_scheme"],
        rescale_prenorm_residual=c["rescale_prenorm_residual"],
        tie_word_embeddings=c["tie_word_embeddings"],
    )


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Recipe]] = {
    "bert": lambda c: language.bert(
        initializer_range=_std(c["initializer_range"]),
        pad_token_id=c["pad_token_id"],
        tie_word_embeddings=c["tie_word_embeddings"],
    ),
    "gpt2": lambda c: language.gpt2(
        n_layer=c["n_layer"],
        initializer_range=_std(c["initializer_range"]),
        tie_word_embeddings=c["tie_word_embeddings"],
    ),
    "llama": lambda c: language.llama(
        initializer_range=_std(c["initializer_range"]),
        pad_token_id=c["pad_token_id"],
        tie_word_embeddings=c["tie_word_embeddings"],
    ),
    "mamba": _mamba,
    "olmo2": lambda c: language.olmo2(
        initializer_range=_std(c["initializer_range"]),
        pad_token_id=c["pad_token_id"],
        tie_word_embeddings=c["tie_word_embeddings"],
    ),
    "resnet": lambda c: vision.resnet(layer_type=c["layer_type"]),
    "t5": lambda c: language.t5(
        d_model=c["d_model"],
        d_kv=c["d_kv"],
        d_ff=c["d_ff"],
        num_heads=c["num_heads"],
        initializer_factor=c["initializer_factor"],
        tie_word_embeddings=c["tie_word_embeddings"],
    ),
    "vit": lambda c: vision.vit(initializer_range=_std(c["initializer_range"]), variant="huggingface"),
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
    return _BUILDERS[model_type](merged)
