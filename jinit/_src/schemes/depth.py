"""Depth-aware schemes: GPT-2 residual projections, Fixup, T-Fixup, DeepNorm.

Each shrinks the initial residual branches with the depth, so that the sum of
L branches keeps a bounded variance (or a bounded update size) as L grows.
They are named specialisations of ``normal`` and ``variance_scaling`` (built
by the same builder, so they validate and compare as those do), and their
laws (``moments``) are those of the underlying scheme.
"""

from __future__ import annotations

import math

from jinit._src.core import validation
from jinit._src.core.types import DTypeLike
from jinit._src.schemes import variance_scaling
from jinit._src.schemes.basic import Normal
from jinit._src.schemes.variance_scaling import VarianceScaling

T_FIXUP_PARTS = ("encoder", "decoder", "embedding")
# T-Fixup's encoder factor (Huang et al. 2020, Algorithm 1, step 3).
T_FIXUP_ENCODER = 0.67
# DeepNet's encoder-decoder constants (Wang et al. 2022, Figure 2 / Table 1).
DEEPNORM_ENC_DEC_ALPHA = 0.81
DEEPNORM_ENC_DEC_BETA = 0.87


def gpt2_residual(n_layer: int, stddev: float = 0.02, dtype: DTypeLike | None = None) -> Normal:
    """GPT-2's init of residual output projections: N(0, (stddev / sqrt(2 n_layer))^2).

    Each of the ``n_layer`` blocks adds two branches (attention and MLP) to the
    residual stream; scaling their output projections by ``1 / sqrt(2
    n_layer)`` keeps the variance the branches add bounded as depth grows.
    Use it for ``c_proj`` (attention output and MLP down projection) and
    ``normal(stddev)`` for the other weights, as in GPT-2 and nanoGPT.

    Args:
      n_layer: the number of transformer blocks, at least 1.
      stddev: the base standard deviation (GPT-2: 0.02), positive.
      dtype: the default dtype.

    Returns:
      ``jinit.normal(stddev / sqrt(2 n_layer))``.

    Examples:
      >>> import jinit
      >>> round(jinit.gpt2_residual(12).moments((768, 768)).std, 6)  # 0.02 / sqrt(24)
      0.004082

    References:
      Radford et al. (2019), Language models are unsupervised multitask
      learners (GPT-2), section 2.3: "scale the weights of residual layers at
      initialization by a factor of 1/sqrt(N) where N is the number of
      residual layers".
    """
    name = "gpt2_residual"
    n = validation.integer(name, "n_layer", n_layer, minimum=1)
    std = validation.positive(name, "stddev", stddev)
    return Normal(stddev=std / math.sqrt(2 * n), dtype=dtype, name=name)


def fixup_scale(num_branches: int, layers_per_branch: int) -> float:
    """Fixup's multiplier of a residual branch's weights: ``L^(-1 / (2 m - 2))``.

    With L residual branches of m layers each (m >= 2), scaling the standard
    init of every weight layer inside a branch by this factor keeps the
    update of the network's output bounded at the first SGD step whatever L
    (Zhang et al. 2019, section 3).

    Args:
      num_branches: L, the number of residual branches, at least 1.
      layers_per_branch: m, the weight layers in each branch, at least 2.

    Returns:
      The factor on a standard deviation.

    Examples:
      >>> import jinit
      >>> jinit.fixup_scale(16, 2)  # ResNet basic blocks: L^(-1/2)
      0.25
      >>> round(jinit.fixup_scale(16, 3), 6)  # bottleneck blocks: L^(-1/4)
      0.5

    References:
      Zhang, Dauphin & Ma (2019), Fixup initialization: residual learning
      without normalization, arXiv:1901.09321.
    """
    return _fixup_scale("fixup_scale", num_branches, layers_per_branch)


def _fixup_scale(name: str, num_branches: int, layers_per_branch: int) -> float:
    big_l = validation.integer(name, "num_branches", num_branches, minimum=1)
    m = validation.integer(name, "layers_per_branch", layers_per_branch, minimum=2)
    return float(big_l ** (-1.0 / (2 * m - 2)))


def fixup(
    num_branches: int,
    layers_per_branch: int,
    mode: str = "fan_in",
    in_axis: int | tuple[int, ...] = -2,
    out_axis: int | tuple[int, ...] = -1,
    batch_axis: int | tuple[int, ...] = (),
    dtype: DTypeLike | None = None,
) -> VarianceScaling:
    """Fixup's init of the weight layers inside residual branches: He normal times ``L^(-1/(2m-2))``.

    ``N(0, 2 / fan * L^(-1/(m-1)))``: He et al.'s variance scaled by the square
    of ``jinit.fixup_scale(L, m)``. The rest of Fixup: the last layer of each
    branch and the classifier start at zero (``jinit.zeros``), biases at zero,
    scalar multipliers at one.

    Which fan: the paper says "a standard method (e.g., He et al. 2015)",
    whose forward version is fan_in (the default here, as ``he_normal``); the
    official code (hongyi-zh/fixup) divides by ``out_channels * k * k``, the
    fan_out: pass ``mode="fan_out"`` to reproduce it. The two agree inside a
    branch whose convolutions keep the channel count.

    Args:
      num_branches: L, the number of residual branches, at least 1.
      layers_per_branch: m, the weight layers in each branch, at least 2.
      mode: ``"fan_in"`` (paper), ``"fan_out"`` (official code), ``"fan_avg"``
        or ``"fan_geo_avg"``.
      in_axis: input axis or axes of the kernel.
      out_axis: output axis or axes.
      batch_axis: axes of independent stacked kernels.
      dtype: the default dtype.

    Returns:
      A ``variance_scaling(2 L^(-1/(m-1)), mode, "normal")`` initializer.

    Examples:
      >>> import jinit
      >>> init = jinit.fixup(16, 2)
      >>> round(init.moments((3, 3, 64, 64)).variance, 8)  # 2 / 576 / 16
      0.00021701

    References:
      Zhang, Dauphin & Ma (2019), Fixup initialization: residual learning
      without normalization, arXiv:1901.09321.
    """
    name = "fixup"
    scale = 2.0 * _fixup_scale(name, num_branches, layers_per_branch) ** 2
    return variance_scaling._build(name, scale, mode, "normal", in_axis, out_axis, batch_axis, dtype)


def t_fixup_scale(part: str, num_layers: int) -> float:
    """T-Fixup's multiplier: ``0.67 N^(-1/4)`` (encoder) or ``(9 N)^(-1/4)`` (decoder, embeddings).

    Huang et al. (2020), Algorithm 1: Xavier init everywhere except the input
    embeddings, N(0, 1/d); then scale the decoder's value and output
    projections (self and cross attention), the decoder MLP weights and the
    input embeddings by ``(9 N)^(-1/4)``, and the encoder's value and output
    projections and MLP weights by ``0.67 N^(-1/4)``; query and key
    projections keep plain Xavier. N is the number of layers of that stack
    (the official code uses the encoder's count for the encoder embedding
    and the decoder's for the decoder's).

    Args:
      part: ``"encoder"``, ``"decoder"`` or ``"embedding"``.
      num_layers: N, at least 1.

    Returns:
      The factor on a standard deviation.

    Examples:
      >>> import jinit
      >>> round(jinit.t_fixup_scale("decoder", 6), 6)  # 54^(-1/4)
      0.368894
      >>> round(jinit.t_fixup_scale("encoder", 6), 6)  # 0.67 * 6^(-1/4)
      0.428092

    References:
      Huang, Perez, Ba & Volkovs (2020), Improving transformer optimization
      through better initialization, ICML; code: layer6ai-labs/T-Fixup.
    """
    return _t_fixup_scale("t_fixup_scale", part, num_layers)[1]


def _t_fixup_scale(name: str, part: str, num_layers: int) -> tuple[str, float]:
    """(the part, checked; its factor)."""
    which = validation.choice(name, "part", part, T_FIXUP_PARTS)
    n = validation.integer(name, "num_layers", num_layers, minimum=1)
    if which == "encoder":
        return which, T_FIXUP_ENCODER * n**-0.25
    return which, float((9 * n) ** -0.25)


def t_fixup(
    part: str,
    num_layers: int,
    in_axis: int | tuple[int, ...] | None = None,
    out_axis: int | tuple[int, ...] | None = None,
    batch_axis: int | tuple[int, ...] = (),
    dtype: DTypeLike | None = None,
) -> VarianceScaling:
    """T-Fixup's initializer for one kind of weight (see ``t_fixup_scale``).

    * ``"encoder"``: Xavier uniform times ``0.67 N^(-1/4)``, i.e.
      ``U(+-g sqrt(6 / (fan_in + fan_out)))`` with ``g = 0.67 N^(-1/4)``, for
      the encoder's value and output projections and MLP weights;
    * ``"decoder"``: Xavier uniform times ``(9 N)^(-1/4)``, for the decoder's
      value and output projections (self and cross attention) and MLP weights;
    * ``"embedding"``: ``N(0, 1/d) * (9 N)^(-1/4)`` for input embeddings of
      shape ``(vocab, d)`` (Flax ``Embed`` layout: d is the last axis, so the
      defaults here are ``in_axis=-1``, ``out_axis=-2``).

    Axes passed explicitly are used as given, whatever the part.

    The official code's Xavier is fairseq's ``xavier_uniform_``; its value
    projection is initialised with gain 1/sqrt(2) and then multiplied by
    sqrt(2), which is plain Xavier as here.

    Args:
      part: ``"encoder"``, ``"decoder"`` or ``"embedding"``.
      num_layers: N, the layers of that stack, at least 1.
      in_axis: input axis or axes (None: -2, or -1, the feature axis, for
        ``"embedding"``).
      out_axis: output axis or axes (None: -1, or -2 for ``"embedding"``).
      batch_axis: axes of independent stacked kernels.
      dtype: the default dtype.

    Returns:
      A ``variance_scaling`` initializer.

    Examples:
      >>> import jinit
      >>> init = jinit.t_fixup("embedding", 6)
      >>> round(init.moments((32000, 512)).variance * 512, 6)  # (9 N)^(-1/2)
      0.136083

    References:
      Huang, Perez, Ba & Volkovs (2020), Improving transformer optimization
      through better initialization, ICML.
    """
    name = "t_fixup"
    which, gain = _t_fixup_scale(name, part, num_layers)
    if which == "embedding":
        mode, distribution, default_in, default_out = "fan_in", "normal", -1, -2
    else:
        mode, distribution, default_in, default_out = "fan_avg", "uniform", -2, -1
    in_axis = default_in if in_axis is None else in_axis
    out_axis = default_out if out_axis is None else out_axis
    return variance_scaling._build(name, gain * gain, mode, distribution, in_axis, out_axis, batch_axis, dtype)


def deepnorm_constants(encoder_layers: int = 0, decoder_layers: int = 0) -> dict[str, float | None]:
    """DeepNorm's alpha (residual multiplier) and beta (init gain), the paper's values.

    DeepNorm computes ``LayerNorm(alpha x + G(x))`` in each sub-layer and
    initialises the feed-forward weights and the value and output projections
    with Xavier normal of gain beta (query and key projections: gain 1). With
    N encoder and M decoder layers (Wang et al. 2022, Figure 2 / Table 1):

    ===============  ===========================  ============================
    architecture     alpha                        beta
    ===============  ===========================  ============================
    encoder only     (2N)^(1/4)                   (8N)^(-1/4)
    decoder only     (2M)^(1/4)                   (8M)^(-1/4)
    enc-dec encoder  0.81 (N^4 M)^(1/16)          0.87 (N^4 M)^(-1/16)
    enc-dec decoder  (3M)^(1/4)                   (12M)^(-1/4)
    ===============  ===========================  ============================

    microsoft/torchscale follows the table except for the encoder beta of an
    encoder-decoder: it divides the weights by ``(N^4 M)^(1/16) / 1.15``,
    i.e. beta = ``1.15 (N^4 M)^(-1/16)``, about 1.32 times the paper's 0.87.

    Args:
      encoder_layers: N (0: no encoder).
      decoder_layers: M (0: no decoder).

    Returns:
      A dict with ``encoder_alpha``, ``encoder_beta``, ``decoder_alpha``,
      ``decoder_beta``; the entries of an absent part are None.

    Examples:
      >>> import jinit
      >>> c = jinit.deepnorm_constants(encoder_layers=18, decoder_layers=18)
      >>> round(c["encoder_alpha"], 4), round(c["encoder_beta"], 4)
      (1.9987, 0.3526)
      >>> round(c["decoder_alpha"], 4), round(c["decoder_beta"], 4)
      (2.7108, 0.2608)

    References:
      Wang, Ma, Dong, Huang, Zhang & Wei (2022), DeepNet: scaling
      transformers to 1,000 layers, arXiv:2203.00555.
    """
    name = "deepnorm_constants"
    n, m = _layers(name, encoder_layers, decoder_layers)
    if n == 0 and m == 0:
        raise ValueError(validation.error(name, "needs `encoder_layers` or `decoder_layers` positive; got both 0."))
    return _deepnorm_constants(n, m)


def _layers(name: str, encoder_layers: int, decoder_layers: int) -> tuple[int, int]:
    n = validation.integer(name, "encoder_layers", encoder_layers, minimum=0)
    m = validation.integer(name, "decoder_layers", decoder_layers, minimum=0)
    return n, m


def _deepnorm_constants(n: int, m: int) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        "encoder_alpha": None,
        "encoder_beta": None,
        "decoder_alpha": None,
        "decoder_beta": None,
    }
    if n and m:
        out["encoder_alpha"] = DEEPNORM_ENC_DEC_ALPHA * (n**4 * m) ** (1 / 16)
        out["encoder_beta"] = DEEPNORM_ENC_DEC_BETA * (n**4 * m) ** (-1 / 16)
        out["decoder_alpha"] = (3 * m) ** 0.25
        out["decoder_beta"] = (12 * m) ** -0.25
    elif n:
        out["encoder_alpha"] = (2 * n) ** 0.25
        out["encoder_beta"] = (8 * n) ** -0.25
    else:
        out["decoder_alpha"] = (2 * m) ** 0.25
        out["decoder_beta"] = (8 * m) ** -0.25
    return out


def deepnorm(
    encoder_layers: int = 0,
    decoder_layers: int = 0,
    part: str = "encoder",
    in_axis: int | tuple[int, ...] = -2,
    out_axis: int | tuple[int, ...] = -1,
    batch_axis: int | tuple[int, ...] = (),
    dtype: DTypeLike | None = None,
) -> VarianceScaling:
    """DeepNorm's init of feed-forward, value and output projections: Xavier normal with gain beta.

    ``N(0, beta^2 * 2 / (fan_in + fan_out))`` with beta from
    ``jinit.deepnorm_constants(encoder_layers, decoder_layers)[part + "_beta"]``
    (the paper's pseudo-code: ``xavier_normal_(w, gain=beta)``, an
    untruncated normal). Query and key projections keep gain 1: use
    ``jinit.variance_scaling(1.0, "fan_avg", "normal")``.

    Args:
      encoder_layers: N (0: no encoder).
      decoder_layers: M (0: no decoder).
      part: ``"encoder"`` or ``"decoder"``: whose beta.
      in_axis: input axis or axes of the kernel.
      out_axis: output axis or axes.
      batch_axis: axes of independent stacked kernels.
      dtype: the default dtype.

    Returns:
      A ``variance_scaling(beta^2, "fan_avg", "normal")`` initializer.

    Examples:
      >>> import jinit
      >>> init = jinit.deepnorm(decoder_layers=100, part="decoder")
      >>> round(init.moments((512, 512)).variance * 512, 6)  # (8 * 100)^(-1/2)
      0.035355

    References:
      Wang et al. (2022), DeepNet: scaling transformers to 1,000 layers,
      arXiv:2203.00555, Figure 2.
    """
    name = "deepnorm"
    which = validation.choice(name, "part", part, ("encoder", "decoder"))
    n, m = _layers(name, encoder_layers, decoder_layers)
    if (which == "encoder" and n == 0) or (which == "decoder" and m == 0):
        raise ValueError(
            validation.error(
                name,
                f"part={which!r} needs `{which}_layers` positive; got encoder_layers={n!r}, decoder_layers={m!r}.",
            )
        )
    beta = _deepnorm_constants(n, m)[f"{which}_beta"]
    assert beta is not None
    return variance_scaling._build(name, beta * beta, "fan_avg", "normal", in_axis, out_axis, batch_axis, dtype)
