"""Recipes of language models: GPT-2, BERT, Llama (transformers' and torchtitan's), OLMo 2, T5.

Each reproduces the reference code's initialisation on a tree named as the
reference names its parameters (a torch state dict, flat by dots or nested):
the transformers recipes follow ``_init_weights`` of
``transformers/models/<type>/modeling_<type>.py`` (transformers 5.23), which
draws N(0, initializer_range^2) for every Linear and Embedding unless the
model says otherwise, ones and zeros for norms, zeros for biases.
"""

from __future__ import annotations

import math
from typing import Any

from jinit._src.core import validation
from jinit._src.recipes import common
from jinit._src.recipes.parts import DepthStd
from jinit._src.recipes.recipe import Recipe, path, recipe_name, with_naming
from jinit._src.torch import nn_init


def _finish(fn: str, roles: dict[str, Any], naming: dict[str, Any], override: Any, name: str, ties: Any) -> Recipe:
    return Recipe(roles, with_naming(fn, roles, naming, override), name=name, ties=ties)


def _tied_words(
    fn: str,
    names: dict[str, str],
    hyper: tuple[Any, Any, Any],
    naming: Any,
    ties: list[tuple[str, str]] | None = None,
    **laws: Any,
) -> Recipe:
    """``PreTrainedModel._init_weights`` with word embeddings: every Linear and Embedding N(0, std^2), ``laws`` aside.

    ``hyper`` is ``(initializer_range, pad_token_id, tie_word_embeddings)``:
    the word embedding's padding row is zero, and the head is tied to the
    word embedding (after ``ties``) when ``tie_word_embeddings``.
    """
    initializer_range, pad_token_id, tie_word_embeddings = hyper
    std = validation.positive(fn, "initializer_range", initializer_range)
    pad = common.padding(fn, pad_token_id)
    tie = common.flag(fn, "tie_word_embeddings", tie_word_embeddings)
    normal = nn_init.normal(std=std)
    words = common.embedding(std, pad)
    roles = common.init_weights(names, normal, token_embedding=words, head=words if tie else normal, **laws)
    ties_ = [*(ties or []), *([("head", "token_embedding")] if tie else [])]
    name = recipe_name(fn.removeprefix("recipes."), initializer_range=std, pad_token_id=pad, tie_word_embeddings=tie)
    return _finish(fn, roles, names, naming, name, ties_)


# ---------------------------------------------------------------------------
# GPT-2


def gpt2(
    *, n_layer: int, initializer_range: float = 0.02, tie_word_embeddings: bool = True, naming: Any = None
) -> Recipe:
    """GPT-2 as transformers initialises it: N(0, 0.02^2), residual projections scaled by 1/sqrt(2 n_layer).

    Roles (default naming: ``GPT2Model``/``GPT2LMHeadModel`` state dicts,
    with or without the ``transformer.`` prefix): ``token_embedding``
    (``wte``), ``position_embedding`` (``wpe``), ``qkv`` (``c_attn``, the
    fused projection stored ``(in, 3 d)`` by ``Conv1D``), ``q``
    (``q_attn`` of cross-attention), ``mlp_in`` (``c_fc``): all N(0, std^2),
    std = initializer_range; ``o`` (attention ``c_proj``) and ``mlp_out``
    (MLP ``c_proj``): N(0, (std / sqrt(2 n_layer))^2); ``norm_scale`` 1,
    ``norm_bias`` 0 (``ln_1``, ``ln_2``, ``ln_f``); ``head`` (``lm_head``,
    tied to ``wte``), ``classifier`` (``score``, ``classifier``,
    ``qa_outputs``, ``multiple_choice_head.summary``) N(0, std^2); every
    ``bias`` 0.

    Args:
      n_layer: the number of blocks.
      initializer_range: the std of the normal draws.
      tie_word_embeddings: whether ``lm_head`` shares ``wte``'s array (see
        :func:`jinit.recipes.init_state_dict`).
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jinit.recipes
      >>> recipe = jinit.recipes.gpt2(n_layer=12)
      >>> recipe.role_of("transformer.h.3.mlp.c_proj.weight"), recipe.role_of("h/3/attn/c_attn/weight")
      ('mlp_out', 'qkv')
      >>> round(recipe.table["mlp_out"].moments((3072, 768)).std, 6)  # 0.02 / sqrt(24)
      0.004082

    References:
      transformers 5.23, ``models/gpt2/modeling_gpt2.py``, ``GPT2PreTrainedModel._init_weights``;
      Radford et al. (2019), Language models are unsupervised multitask learners, section 2.3.
    """
    fn = "recipes.gpt2"
    n = common.count(fn, "n_layer", n_layer)
    std = validation.positive(fn, "initializer_range", initializer_range)
    tie = common.flag(fn, "tie_word_embeddings", tie_word_embeddings)
    residual = nn_init.normal(std=std / math.sqrt(2 * n))
    ln = "ln_(?:1|2|f|cross_attn)"
    names = {
        "token_embedding": path("wte", "weight"),
        "position_embedding": path("wpe", "weight"),
        "qkv": path("(?:attn|crossattention)", "c_attn", "weight"),
        "q": path("crossattention", "q_attn", "weight"),
        "o": path("(?:attn|crossattention)", "c_proj", "weight"),
        "mlp_in": path("mlp", "c_fc", "weight"),
        "mlp_out": path("mlp", "c_proj", "weight"),
        "norm_scale": path(ln, "weight"),
        "norm_bias": path(ln, "bias"),
        "head": path("lm_head", "weight"),
        "classifier": path("(?:score|classifier|qa_outputs|multiple_choice_head[./]summary)", "weight"),
        **common.BUFFER_NAMING,
        "bias": path("bias"),
    }
    roles = common.init_weights(names, nn_init.normal(std=std), o=residual, mlp_out=residual)
    ties = [("head", "token_embedding")] if tie else []
    name = recipe_name("gpt2", n_layer=n, initializer_range=std, tie_word_embeddings=tie)
    return _finish(fn, roles, names, naming, name, ties)


# ---------------------------------------------------------------------------
# BERT


def bert(
    *,
    initializer_range: float = 0.02,
    pad_token_id: int | None = 0,
    tie_word_embeddings: bool = True,
    naming: Any = None,
) -> Recipe:
    """BERT as transformers initialises it: every Linear and Embedding N(0, 0.02^2), the padding row 0.

    Roles (default naming: ``BertModel`` and its heads' state dicts, with or
    without the ``bert.`` prefix): ``token_embedding``
    (``word_embeddings``, row ``pad_token_id`` zero), ``position_embedding``,
    ``token_type_embedding``, ``q``, ``k``, ``v`` (``attention.self.query``
    ...), ``o`` (``attention.output.dense``), ``mlp_in``
    (``intermediate.dense``), ``mlp_out`` (``output.dense``), ``pooler``,
    ``head_transform`` (``cls.predictions.transform.dense``),
    ``classifier`` (``classifier``, ``qa_outputs``, ``seq_relationship``):
    N(0, std^2); ``norm_scale`` 1, ``norm_bias`` 0 (``LayerNorm``);
    ``head`` (``cls.predictions.decoder``, tied to the word embeddings);
    ``head_bias`` and ``head_decoder_bias`` 0 (tied to each other);
    the buffers ``position_ids`` (0 .. n-1) and ``token_type_ids`` (0);
    every other ``bias`` 0.

    Args:
      initializer_range: the std of the normal draws.
      pad_token_id: the word embedding's padding row (zero), or None.
      tie_word_embeddings: whether the MLM decoder shares the word embeddings' array.
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jinit.recipes
      >>> jinit.recipes.bert().ties  # (follower, source): each follower holds its source's array
      (('head_decoder_bias', 'head_bias'), ('head', 'token_embedding'))

    References:
      transformers 5.23, ``models/bert/modeling_bert.py``, ``BertPreTrainedModel._init_weights``
      and ``PreTrainedModel._init_weights`` (``modeling_utils.py``).
    """
    names = {
        "token_embedding": path("embeddings", "word_embeddings", "weight"),
        "position_embedding": path("embeddings", "position_embeddings", "weight"),
        "token_type_embedding": path("embeddings", "token_type_embeddings", "weight"),
        "q": path("attention", "self", "query", "weight"),
        "k": path("attention", "self", "key", "weight"),
        "v": path("attention", "self", "value", "weight"),
        "o": path("attention", "output", "dense", "weight"),
        "mlp_in": path("intermediate", "dense", "weight"),
        "mlp_out": path("output", "dense", "weight"),
        "pooler": path("pooler", "dense", "weight"),
        "head_transform": path("predictions", "transform", "dense", "weight"),
        "norm_scale": path("LayerNorm", "weight"),
        "norm_bias": path("LayerNorm", "bias"),
        "head": path("predictions", "decoder", "weight"),
        "head_bias": path("predictions", "bias"),
        "head_decoder_bias": path("predictions", "decoder", "bias"),
        "classifier": path("(?:classifier|qa_outputs|seq_relationship)", "weight"),
        **common.BUFFER_NAMING,
        "bias": path("bias"),
    }
    zeros = nn_init.zeros()
    return _tied_words(
        "recipes.bert",
        names,
        (initializer_range, pad_token_id, tie_word_embeddings),
        naming,
        ties=[("head_decoder_bias", "head_bias")],
        head_bias=zeros,
        head_decoder_bias=zeros,
    )


# ---------------------------------------------------------------------------
# Llama and OLMo 2 (transformers)

_LLAMA_NORMS = ("input_layernorm", "post_attention_layernorm", "norm")
_OLMO2_NORMS = ("post_attention_layernorm", "post_feedforward_layernorm", "q_norm", "k_norm", "norm")


def _decoder_naming(norms: tuple[str, ...]) -> dict[str, str]:
    return {
        "token_embedding": path("embed_tokens", "weight"),
        "q": path("self_attn", "q_proj", "weight"),
        "k": path("self_attn", "k_proj", "weight"),
        "v": path("self_attn", "v_proj", "weight"),
        "o": path("self_attn", "o_proj", "weight"),
        "mlp_gate": path("mlp", "gate_proj", "weight"),
        "mlp_in": path("mlp", "up_proj", "weight"),
        "mlp_out": path("mlp", "down_proj", "weight"),
        "norm_scale": path("(?:" + "|".join(norms) + ")", "weight"),
        "head": path("lm_head", "weight"),
        "classifier": path("(?:score|classifier|qa_outputs)", "weight"),
        **common.BUFFER_NAMING,
        "bias": path("bias"),
    }


def llama(
    *,
    initializer_range: float = 0.02,
    pad_token_id: int | None = None,
    tie_word_embeddings: bool = False,
    naming: Any = None,
) -> Recipe:
    """Llama as transformers initialises it: every Linear and Embedding N(0, 0.02^2), RMSNorm scales 1.

    Roles (default naming: ``LlamaModel``/``LlamaForCausalLM`` and the
    classification heads, any prefix): ``token_embedding``
    (``embed_tokens``, row ``pad_token_id`` zero when set), ``q``, ``k``,
    ``v``, ``o`` (``self_attn.*_proj``), ``mlp_gate`` (``gate_proj``),
    ``mlp_in`` (``up_proj``), ``mlp_out`` (``down_proj``), ``head``
    (``lm_head``), ``classifier`` (``score``, ``qa_outputs``): N(0,
    std^2); ``norm_scale`` 1; ``bias`` 0. The rotary ``inv_freq`` is a
    non-persistent buffer: no state dict holds it. For torchtitan's
    depth-scaled init see :func:`llama_torchtitan`.

    Args:
      initializer_range: the std of the normal draws.
      pad_token_id: the embedding's padding row (zero), or None.
      tie_word_embeddings: whether ``lm_head`` shares the embedding's array.
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jinit.recipes
      >>> jinit.recipes.llama().role_of("model.layers.7.mlp.gate_proj.weight")
      'mlp_gate'

    References:
      transformers 5.23, ``models/llama/modeling_llama.py`` (``LlamaPreTrainedModel``, which
      keeps ``PreTrainedModel._init_weights`` of ``modeling_utils.py``).
    """
    hyper = (initializer_range, pad_token_id, tie_word_embeddings)
    return _tied_words("recipes.llama", _decoder_naming(_LLAMA_NORMS), hyper, naming)


def olmo2(
    *,
    initializer_range: float = 0.02,
    pad_token_id: int | None = 1,
    tie_word_embeddings: bool = False,
    naming: Any = None,
) -> Recipe:
    """OLMo 2 as transformers initialises it: :func:`llama`'s roles with OLMo 2's norms (q/k norms, post-norms).

    Roles as :func:`llama`; ``norm_scale`` covers ``post_attention_layernorm``,
    ``post_feedforward_layernorm``, ``self_attn.q_norm``, ``self_attn.k_norm``
    and the final ``norm``.

    Args:
      initializer_range: the std of the normal draws.
      pad_token_id: the embedding's padding row (zero), or None; OLMo 2's config pads with token 1.
      tie_word_embeddings: whether ``lm_head`` shares ``embed_tokens``' array.
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jinit.recipes
      >>> recipe = jinit.recipes.olmo2()
      >>> recipe.role_of("model.layers.0.self_attn.q_norm.weight"), recipe.table["token_embedding"].padding_idx
      ('norm_scale', 1)

    References:
      transformers 5.23, ``models/olmo2/modeling_olmo2.py`` (``PreTrainedModel._init_weights``);
      OLMo Team (2024), 2 OLMo 2 Furious, arXiv:2501.00656.
    """
    hyper = (initializer_range, pad_token_id, tie_word_embeddings)
    return _tied_words("recipes.olmo2", _decoder_naming(_OLMO2_NORMS), hyper, naming)


def llama_torchtitan(
    *,
    dim: int,
    n_layers: int | None = None,
    depth_init: bool = True,
    enable_weight_tying: bool = False,
    naming: Any = None,
) -> Recipe:
    """Llama 3 as torchtitan initialises it: depth-scaled output projections, a 3-sigma truncated head.

    Roles (default naming: torchtitan's state dict, ``layers.{i}.attention.
    qkv_linear.wq`` or the older ``layers.{i}.attention.wq``):
    ``token_embedding`` (``tok_embeddings``): N(0, 1); ``q``, ``k``, ``v``,
    ``qkv`` (fused ``wqkv``) and ``mlp_gate`` (``feed_forward.w1``):
    trunc_normal(std=0.02) on [-2, 2] (torch's absolute bounds); ``o``
    (``attention.wo``), ``mlp_in`` (``w3``), ``mlp_out`` (``w2``):
    trunc_normal(std = 0.02 / sqrt(2 (i + 1))) for layer i, read from the
    path (``depth_init=False``: 0.02 / sqrt(2 n_layers) for all); ``head``
    (``lm_head``, older ``output``): trunc_normal(std = dim^-0.5) cut at 3
    std; ``norm_scale`` 1 (``attention_norm``, ``ffn_norm``, ``norm``);
    ``bias`` 0. With ``enable_weight_tying`` torchtitan skips the
    embedding's init and shares the head's array: the embedding gets the
    head's law and :func:`jinit.recipes.init_state_dict` gives it the head's array.

    The depth roles are context rules: their regexes capture the layer in a
    named group ``layer``; a ``naming`` for them must too.

    Args:
      dim: the model width (the head's std is dim^-0.5).
      n_layers: the number of blocks (needed with ``depth_init=False``).
      depth_init: std by layer index (True) or by depth (False).
      enable_weight_tying: whether the embedding shares the head's array.
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jax, jinit.recipes
      >>> recipe = jinit.recipes.llama_torchtitan(dim=256)
      >>> stds = {}
      >>> for i in (0, 3):
      ...     p = f"layers.{i}.attention.wo.weight"
      ...     tree = {p: jax.ShapeDtypeStruct((256, 256), "float32")}
      ...     stds[i] = round(recipe.assign(tree)[p][1].std, 5)
      >>> stds  # 0.02 / sqrt(2), 0.02 / sqrt(8)
      {0: 0.01414, 3: 0.00707}

    References:
      torchtitan, ``torchtitan/models/llama3/__init__.py`` (``_LINEAR_INIT``, ``_depth_init``,
      ``_output_linear_init``) and ``torchtitan/models/common/param_init.py`` (``depth_scaled_std``);
      earlier ``torchtitan/models/llama3/model/model.py`` (``init_weights``, ``depth_init``).
    """
    fn = "recipes.llama_torchtitan"
    width = common.count(fn, "dim", dim)
    depth = common.flag(fn, "depth_init", depth_init)
    tying = common.flag(fn, "enable_weight_tying", enable_weight_tying)
    layers = None if n_layers is None else common.count(fn, "n_layers", n_layers)
    if not depth and layers is None:
        raise ValueError(validation.error(fn, "`depth_init=False` scales by depth: it needs `n_layers`; got None."))
    base = nn_init.trunc_normal(std=0.02, a=-2.0, b=2.0)
    scaled = DepthStd(base_std=0.02, n_layers=None if depth else layers)
    s = width**-0.5
    head = nn_init.trunc_normal(std=s, a=-3 * s, b=3 * s)
    roles = {
        "token_embedding": head if tying else nn_init.normal(std=1.0),
        "q": base,
        "k": base,
        "v": base,
        "qkv": base,
        "o": scaled,
        "mlp_gate": base,
        "mlp_in": scaled,
        "mlp_out": scaled,
        "norm_scale": nn_init.ones(),
        "head": head,
        "bias": nn_init.zeros(),
    }
    layer = r"(?P<layer>\d+)"
    names = {
        "token_embedding": path("tok_embeddings", "weight"),
        "q": path("attention", "(?:qkv_linear[./])?wq", "weight"),
        "k": path("attention", "(?:qkv_linear[./])?wk", "weight"),
        "v": path("attention", "(?:qkv_linear[./])?wv", "weight"),
        "qkv": path("attention", "(?:qkv_linear[./])?wqkv", "weight"),
        "o": path("layers", layer, "attention", "wo", "weight"),
        "mlp_gate": path("feed_forward", "w1", "weight"),
        "mlp_in": path("layers", layer, "feed_forward", "w3", "weight"),
        "mlp_out": path("layers", layer, "feed_forward", "w2", "weight"),
        "norm_scale": path("(?:attention_norm|ffn_norm|norm)", "weight"),
        "head": path("(?:lm_head|output)", "weight"),
        "bias": path("bias"),
    }
    ties = [("token_embedding", "head")] if tying else []
    name = recipe_name("llama_torchtitan", dim=width, n_layers=layers, depth_init=depth, enable_weight_tying=tying)
    return _finish(fn, roles, names, naming, name, ties)


# ---------------------------------------------------------------------------
# T5


def t5(
    *,
    d_model: int,
    d_kv: int,
    d_ff: int,
    num_heads: int,
    initializer_factor: float = 1.0,
    tie_word_embeddings: bool = True,
    naming: Any = None,
) -> Recipe:
    """T5 as transformers initialises it (Mesh TensorFlow's scheme): each projection N(0, f^2 / its fan-in).

    With f = initializer_factor. Roles (default naming: ``T5Model``,
    ``T5ForConditionalGeneration``, ``T5EncoderModel`` and the heads, any
    prefix): ``token_embedding`` (``shared``) N(0, f^2), with
    ``stack_embedding`` (``encoder.embed_tokens``, ``decoder.embed_tokens``)
    tied to it; ``q``: N(0, f^2 / (d_model d_kv)); ``k``, ``v``,
    ``relative_attention_bias``, ``mlp_gate`` (``wi_0``), ``mlp_in``
    (``wi``, ``wi_1``), ``qa_head`` (``qa_outputs``), ``classification_head``
    (``dense``, ``out_proj``): N(0, f^2 / d_model); ``o``: N(0, f^2 /
    (num_heads d_kv)); ``mlp_out`` (``wo``): N(0, f^2 / d_ff); ``head``
    (``lm_head``) and ``classifier``: N(0, f^2); ``norm_scale``
    (``layer_norm``, ``final_layer_norm``): f; ``bias`` 0.

    Args:
      d_model: the model width.
      d_kv: the width of one head.
      d_ff: the MLP's hidden width.
      num_heads: the number of heads.
      initializer_factor: f, the factor of every std (1 in practice).
      tie_word_embeddings: whether ``lm_head`` shares ``shared``'s array.
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jinit.recipes
      >>> recipe = jinit.recipes.t5(d_model=512, d_kv=64, d_ff=2048, num_heads=8)
      >>> round(recipe.table["q"].moments((512, 512)).std * (512 * 64) ** 0.5, 6)
      1.0

    References:
      transformers 5.23, ``models/t5/modeling_t5.py``, ``T5PreTrainedModel._init_weights``;
      Raffel et al. (2020), Exploring the limits of transfer learning with a unified text-to-text
      transformer, JMLR 21.
    """
    fn = "recipes.t5"
    dm = common.count(fn, "d_model", d_model)
    dk = common.count(fn, "d_kv", d_kv)
    dff = common.count(fn, "d_ff", d_ff)
    heads = common.count(fn, "num_heads", num_heads)
    f = validation.positive(fn, "initializer_factor", initializer_factor)
    tie = common.flag(fn, "tie_word_embeddings", tie_word_embeddings)
    unit = nn_init.normal(std=f * 1.0)
    by_model = nn_init.normal(std=f * dm**-0.5)
    roles = {
        "token_embedding": unit,
        "stack_embedding": unit,
        "q": nn_init.normal(std=f * (dm * dk) ** -0.5),
        "k": by_model,
        "v": by_model,
        "o": nn_init.normal(std=f * (heads * dk) ** -0.5),
        "relative_attention_bias": by_model,
        "mlp_gate": by_model,
        "mlp_in": by_model,
        "mlp_out": nn_init.normal(std=f * dff**-0.5),
        "norm_scale": nn_init.constant(f),
        "head": unit,
        "qa_head": by_model,
        "classification_head": by_model,
        "classifier": unit,
        **common.BUFFER_ROLES,
        "bias": nn_init.zeros(),
    }
    attention = "(?:SelfAttention|EncDecAttention)"
    names = {
        "token_embedding": path("shared", "weight"),
        "stack_embedding": path("(?:encoder|decoder)", "embed_tokens", "weight"),
        "q": path(attention, "q", "weight"),
        "k": path(attention, "k", "weight"),
        "v": path(attention, "v", "weight"),
        "o": path(attention, "o", "weight"),
        "relative_attention_bias": path("relative_attention_bias", "weight"),
        "mlp_gate": path("DenseReluDense", "wi_0", "weight"),
        "mlp_in": path("DenseReluDense", "wi(?:_1)?", "weight"),
        "mlp_out": path("DenseReluDense", "wo", "weight"),
        "norm_scale": path("(?:layer_norm|final_layer_norm)", "weight"),
        "head": path("lm_head", "weight"),
        "qa_head": path("qa_outputs", "weight"),
        "classification_head": path("classification_head", "(?:dense|out_proj)", "weight"),
        "classifier": path("classifier", "weight"),
        **common.BUFFER_NAMING,
        "bias": path("bias"),
    }
    ties = [("stack_embedding", "token_embedding")]
    if tie:
        ties.append(("head", "token_embedding"))
    name = recipe_name(
        "t5", d_model=dm, d_kv=dk, d_ff=dff, num_heads=heads, initializer_factor=f, tie_word_embeddings=tie
    )
    return _finish(fn, roles, names, naming, name, ties)
