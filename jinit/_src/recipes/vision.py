"""Recipes of vision models: ViT (transformers', timm's, big_vision's) and ResNet (transformers', torchvision's)."""

from __future__ import annotations

from typing import Any

from jinit._src.core import validation
from jinit._src.recipes import common
from jinit._src.recipes.parts import Fill, FlaxKernel, SiblingBias, WidthNormal
from jinit._src.recipes.recipe import Recipe, path, recipe_name, with_naming
from jinit._src.schemes import basic
from jinit._src.torch import nn_init

VIT_VARIANTS = ("huggingface", "timm", "big_vision")
RESNET_VARIANTS = ("huggingface", "torchvision")
LAYER_TYPES = ("bottleneck", "basic")


def _vit_huggingface(std: float) -> tuple[dict[str, Any], dict[str, Any]]:
    trunc = nn_init.trunc_normal(std=std, a=-2.0, b=2.0)
    norms = "(?:layernorm_before|layernorm_after|layernorm)"
    names = {
        "cls_token": path("embeddings", "cls_token"),
        "mask_token": path("embeddings", "mask_token"),
        "position_embedding": path("embeddings", "position_embeddings"),
        "patch_embedding": path("patch_embeddings", "projection", "weight"),
        "q": path("attention", "q_proj", "weight"),
        "k": path("attention", "k_proj", "weight"),
        "v": path("attention", "v_proj", "weight"),
        "o": path("attention", "o_proj", "weight"),
        "mlp_in": path("mlp", "fc1", "weight"),
        "mlp_out": path("mlp", "fc2", "weight"),
        "norm_scale": path(norms, "weight"),
        "norm_bias": path(norms, "bias"),
        "pooler": path("pooler", "dense", "weight"),
        "classifier": path("classifier", "weight"),
        "decoder": path("decoder", r"\d+", "weight"),
        **common.BUFFER_NAMING,
        "bias": path("bias"),
    }
    roles = common.init_weights(
        names, nn_init.normal(std=std), cls_token=trunc, mask_token=nn_init.zeros(), position_embedding=trunc
    )
    return roles, names


def _vit_timm(std: float, zero_head: bool, layout: str) -> tuple[dict[str, Any], dict[str, Any]]:
    trunc = nn_init.trunc_normal(std=std, a=-2.0, b=2.0)
    tiny = nn_init.normal(std=1e-6)
    norms = "(?:norm1|norm2|norm|fc_norm|q_norm|k_norm)"
    roles = {
        "cls_token": tiny,
        "reg_token": tiny,
        "position_embedding": trunc,
        "patch_embedding": nn_init.conv_weight(layout=layout),
        "patch_bias": SiblingBias(layout),
        "qkv": trunc,
        "o": trunc,
        "mlp_in": trunc,
        "mlp_out": trunc,
        "norm_scale": nn_init.ones(),
        "norm_bias": nn_init.zeros(),
        "head": nn_init.zeros() if zero_head else trunc,
        "bias": nn_init.zeros(),
    }
    names = {
        "cls_token": path("cls_token"),
        "reg_token": path("reg_token"),
        "position_embedding": path("pos_embed"),
        "patch_embedding": path("patch_embed", "proj", "weight"),
        "patch_bias": path("patch_embed", "proj", "bias"),
        "qkv": path("attn", "qkv", "weight"),
        "o": path("attn", "proj", "weight"),
        "mlp_in": path("mlp", "fc1", "weight"),
        "mlp_out": path("mlp", "fc2", "weight"),
        "norm_scale": path(norms, "weight"),
        "norm_bias": path(norms, "bias"),
        "head": path("head", "weight"),
        "bias": path("bias"),
    }
    return roles, names


def _vit_big_vision(zero_head: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    attention = "MultiHeadDotProductAttention_0"
    dense_in = FlaxKernel("glorot_uniform", in_axis=-3, out_axis=(-2, -1), rank=3)
    roles = {
        "cls_token": nn_init.zeros(),
        "position_embedding": WidthNormal(),
        "patch_embedding": FlaxKernel("lecun_normal", rank=4),
        "probe": FlaxKernel("glorot_uniform", rank=3),
        "q": dense_in,
        "k": dense_in,
        "v": dense_in,
        "o": FlaxKernel("glorot_uniform", in_axis=(-3, -2), out_axis=-1, rank=3),
        "mlp_in": FlaxKernel("glorot_uniform"),
        "mlp_out": FlaxKernel("glorot_uniform"),
        "mlp_bias": basic.normal(stddev=1e-6),
        "norm_scale": nn_init.ones(),
        "pre_logits": FlaxKernel("lecun_normal"),
        "head": nn_init.zeros() if zero_head else FlaxKernel("lecun_normal"),
        "bias": nn_init.zeros(),
    }
    names = {
        "cls_token": path("cls"),
        "position_embedding": path("pos_embedding"),
        "patch_embedding": path("embedding", "kernel"),
        "probe": path("probe"),
        "q": path(attention, "query", "kernel"),
        "k": path(attention, "key", "kernel"),
        "v": path(attention, "value", "kernel"),
        "o": path(attention, "out", "kernel"),
        "mlp_in": path("MlpBlock_0", "Dense_0", "kernel"),
        "mlp_out": path("MlpBlock_0", "Dense_1", "kernel"),
        "mlp_bias": path("MlpBlock_0", "Dense_[01]", "bias"),
        "norm_scale": path(r"(?:LayerNorm_\d+|encoder_norm)", "scale"),
        "pre_logits": path("pre_logits", "kernel"),
        "head": path("head", "kernel"),
        "bias": path("bias"),
    }
    return roles, names


def vit(
    *,
    initializer_range: float = 0.02,
    variant: str = "huggingface",
    zero_head: bool | None = None,
    layout: str | None = None,
    naming: Any = None,
) -> Recipe:
    """A Vision Transformer initialised as transformers, timm or big_vision do it.

    ``variant="huggingface"`` (naming: transformers' ``ViTModel`` and heads):
    every Linear and the patch Conv2d N(0, std^2), std = initializer_range;
    ``position_embedding`` and ``cls_token`` trunc_normal(std) on torch's
    absolute [-2, 2]; ``mask_token`` 0; LayerNorms 1 and 0; biases 0.

    ``variant="timm"`` (naming: timm's ``VisionTransformer``, default
    ``weight_init=''``): every Linear trunc_normal(std) (``qkv``, ``o``
    = ``attn.proj``, ``mlp_in``, ``mlp_out``, ``head``), biases 0;
    ``position_embedding`` trunc_normal(std); ``cls_token`` and
    ``reg_token`` N(0, 1e-12); the patch Conv2d keeps torch's default law
    (``kaiming_uniform(a=sqrt(5))``, bias U(+-1/sqrt(fan_in))); LayerNorms 1
    and 0. timm's default head is trunc_normal like every Linear;
    ``zero_head=True`` zeroes it as timm's ``weight_init='jax'`` does.

    ``variant="big_vision"`` (naming: big_vision's Flax ``vit.py`` params,
    ``layout`` flax): ``patch_embedding`` lecun_normal (Flax's Conv default),
    ``position_embedding`` N(0, 1/width), ``cls_token`` 0, attention
    kernels (``query``/``key``/``value`` ``(d, heads, head_dim)``, ``out``
    ``(heads, head_dim, d)``) and MLP kernels xavier_uniform with the fans
    of the flattened kernel (Flax's ``DenseGeneral``; a leading ``nn.scan``
    axis is independent), MLP biases N(0, 1e-12), ``probe`` (MAP head)
    xavier_uniform, ``pre_logits`` lecun_normal, ``head`` 0 (big_vision's
    ``head_zeroinit=True``; ``zero_head=False``: lecun_normal), other
    biases 0, LayerNorm scales 1.

    Args:
      initializer_range: the std of transformers' and timm's normal draws.
      variant: ``"huggingface"``, ``"timm"`` or ``"big_vision"``.
      zero_head: zero classification head; None: the variant's default
        (False for transformers and timm, True for big_vision).
      layout: ``"torch"`` or ``"flax"``, the layout of fan-dependent
        weights; None: the variant's own (torch for transformers and timm,
        flax for big_vision).
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jinit.recipes
      >>> jinit.recipes.vit(variant="timm").role_of("blocks.0.attn.qkv.weight")
      'qkv'
      >>> jinit.recipes.vit(variant="big_vision").role_of("Transformer/encoderblock_0/MlpBlock_0/Dense_1/bias")
      'mlp_bias'

    References:
      transformers 5.23, ``models/vit/modeling_vit.py``, ``ViTPreTrainedModel._init_weights``;
      timm, ``timm/models/vision_transformer.py`` (``VisionTransformer.init_weights``,
      ``init_weights_vit_timm``, ``init_weights_vit_jax``); big_vision, ``big_vision/models/vit.py``;
      Dosovitskiy et al. (2021), An image is worth 16x16 words, ICLR.
    """
    fn = "recipes.vit"
    std = validation.positive(fn, "initializer_range", initializer_range)
    kind = validation.choice(fn, "variant", variant, VIT_VARIANTS)
    zero = (kind == "big_vision") if zero_head is None else common.flag(fn, "zero_head", zero_head)
    default_layout = "flax" if kind == "big_vision" else "torch"
    lay = default_layout if layout is None else validation.choice(fn, "layout", layout, common.LAYOUTS)
    if kind == "huggingface":
        roles, names = _vit_huggingface(std)
    elif kind == "timm":
        roles, names = _vit_timm(std, zero, lay)
    else:
        if lay != "flax":
            raise ValueError(
                validation.error(fn, f"big_vision's kernels are Flax's: `layout` must be 'flax'; got {lay!r}.")
            )
        roles, names = _vit_big_vision(zero)
    if kind == "huggingface" and zero:
        roles["classifier"] = nn_init.zeros()
    name = recipe_name("vit", initializer_range=std, variant=kind, zero_head=zero, layout=lay)
    return Recipe(roles, with_naming(fn, roles, names, naming), name=name)


def resnet(
    *,
    zero_init_residual: bool = False,
    layer_type: str = "bottleneck",
    variant: str = "huggingface",
    layout: str = "torch",
    naming: Any = None,
) -> Recipe:
    """A ResNet initialised as transformers and torchvision do it: He-normal (fan_out) convs, BatchNorm 1 and 0.

    Roles: ``conv`` (every convolution): kaiming_normal(mode="fan_out",
    nonlinearity="relu"), N(0, 2 / (out k_h k_w)); ``norm_scale`` 1,
    ``norm_bias`` 0 and the buffers ``norm_mean`` 0, ``norm_var`` 1,
    ``norm_count`` 0 (``num_batches_tracked``, an integer); with
    ``zero_init_residual`` the last BatchNorm scale of every residual block
    (``residual_norm_scale``: the third of a bottleneck, the second of a
    basic block) is 0, so each block starts as the identity; ``classifier``
    (the final Linear) torch's default ``kaiming_uniform(a=sqrt(5))`` with
    ``classifier_bias`` U(+-1/sqrt(fan_in)).

    Naming: ``variant="huggingface"`` transformers' ``ResNetModel`` /
    ``ResNetForImageClassification`` (``...convolution.weight``,
    ``...normalization.running_var``, ``classifier.1``);
    ``"torchvision"`` torchvision's ``resnet*`` (``conv1``, ``bn1``,
    ``layer1.0.downsample.0``, ``fc``).

    Args:
      zero_init_residual: zero the last BatchNorm scale of each residual block.
      layer_type: ``"bottleneck"`` or ``"basic"`` (which BatchNorm is last in a block).
      variant: ``"huggingface"`` or ``"torchvision"`` (the naming).
      layout: ``"torch"`` (``(out, in, kh, kw)``) or ``"flax"`` (``(kh, kw, in, out)``).
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jinit.recipes
      >>> recipe = jinit.recipes.resnet(zero_init_residual=True)
      >>> recipe.role_of("resnet.encoder.stages.0.layers.1.layer.2.normalization.weight")
      'residual_norm_scale'
      >>> round(recipe.table["conv"].moments((64, 3, 7, 7)).variance * 64 * 49, 6)  # 2 / fan_out
      2.0

    References:
      transformers 5.23, ``models/resnet/modeling_resnet.py``, ``ResNetPreTrainedModel._init_weights``;
      torchvision, ``torchvision/models/resnet.py`` (``ResNet.__init__``); He et al. (2015), Delving
      deep into rectifiers, ICCV; Goyal et al. (2017), Accurate, large minibatch SGD (zero gamma).
    """
    fn = "recipes.resnet"
    zero = common.flag(fn, "zero_init_residual", zero_init_residual)
    kind = validation.choice(fn, "layer_type", layer_type, LAYER_TYPES)
    naming_kind = validation.choice(fn, "variant", variant, RESNET_VARIANTS)
    lay = validation.choice(fn, "layout", layout, common.LAYOUTS)
    roles = {
        "conv": nn_init.kaiming_normal(mode="fan_out", nonlinearity="relu", layout=lay),
        "residual_norm_scale": nn_init.zeros() if zero else nn_init.ones(),
        "norm_scale": nn_init.ones(),
        "norm_bias": nn_init.zeros(),
        "norm_mean": Fill(0.0),
        "norm_var": Fill(1.0),
        "norm_count": Fill(0.0),
        "classifier": nn_init.linear_weight(layout=lay),
        "classifier_bias": SiblingBias(lay),
    }
    if naming_kind == "huggingface":
        last = "2" if kind == "bottleneck" else "1"
        norm = "normalization"
        names = {
            "conv": path("convolution", "weight"),
            "residual_norm_scale": path("layers", r"\d+", "layer", last, norm, "weight"),
            "classifier": path(r"classifier(?:[./]\d+)?", "weight"),
            "classifier_bias": path(r"classifier(?:[./]\d+)?", "bias"),
        }
    else:
        last = "bn3" if kind == "bottleneck" else "bn2"
        norm = r"(?:bn\d+|downsample[./]1)"
        names = {
            "conv": path(r"(?:conv\d+|downsample[./]0)", "weight"),
            "residual_norm_scale": path(r"layer\d+", r"\d+", last, "weight"),
            "classifier": path("fc", "weight"),
            "classifier_bias": path("fc", "bias"),
        }
    names.update(
        {
            "norm_scale": path(norm, "weight"),
            "norm_bias": path(norm, "bias"),
            "norm_mean": path(norm, "running_mean"),
            "norm_var": path(norm, "running_var"),
            "norm_count": path(norm, "num_batches_tracked"),
        }
    )
    order = ["conv", "residual_norm_scale", "norm_scale", "norm_bias", "norm_mean", "norm_var", "norm_count"]
    names = {role: names[role] for role in [*order, "classifier", "classifier_bias"]}
    name = recipe_name("resnet", zero_init_residual=zero, layer_type=kind, variant=naming_kind, layout=lay)
    return Recipe(roles, with_naming(fn, roles, names, naming), name=name)
