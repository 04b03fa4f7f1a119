"""The Mamba recipe: S4D-real ``A_log``, unit ``D``, a log-uniform time step, torch's laws elsewhere."""

from __future__ import annotations

import math
from typing import Any

from jinit._src.core import validation
from jinit._src.recipes import common
from jinit._src.recipes.parts import DtProj, MambaALog, Scaled
from jinit._src.recipes.recipe import Recipe, path, recipe_name, with_naming
from jinit._src.schemes import ssm
from jinit._src.torch import nn_init


def mamba(
    *,
    time_step_rank: int | None = None,
    num_hidden_layers: int | None = None,
    initializer_range: float = 0.1,
    time_step_scale: float = 1.0,
    time_step_min: float = 0.001,
    time_step_max: float = 0.1,
    time_step_floor: float = 1e-4,
    time_step_init_scheme: str = "random",
    rescale_prenorm_residual: bool = False,
    tie_word_embeddings: bool = True,
    layout: str = "torch",
    naming: Any = None,
) -> Recipe:
    """Mamba as transformers initialises it (after Mamba's reference code).

    Roles (default naming: ``MambaModel``/``MambaForCausalLM``, any prefix):
    ``ssm_a_log`` (``mixer.A_log``): ``log(1 .. state_size)`` in every row
    (:func:`jinit.ssm.mamba_a_log`); ``ssm_d`` (``mixer.D``) 1;
    ``ssm_dt_proj`` (``dt_proj.weight``): U(+-r^-0.5 time_step_scale), r =
    time_step_rank (or that constant, ``time_step_init_scheme="constant"``);
    ``ssm_dt_bias`` (``dt_proj.bias``): the inverse softplus of a
    log-uniform dt on [time_step_min, time_step_max] clamped at
    time_step_floor (:func:`jinit.ssm.mamba_dt_bias`); ``ssm_conv``
    (``conv1d.weight``): torch's Conv default ``kaiming_uniform(a=sqrt(5))``,
    ``ssm_conv_bias`` 0; ``ssm_out`` (``out_proj.weight``): torch's Linear
    default, divided by sqrt(num_hidden_layers) with
    ``rescale_prenorm_residual``; ``ssm_in`` (``in_proj``), ``ssm_x``
    (``x_proj``), ``token_embedding`` (``embeddings``) and ``head``
    (``lm_head``, tied to the embedding): N(0, initializer_range^2);
    ``norm_scale`` 1; every other ``bias`` 0.

    Args:
      time_step_rank: the input size of ``dt_proj``; None reads it off the
        weight (its input axis in ``layout``).
      num_hidden_layers: the number of blocks (needed with ``rescale_prenorm_residual``).
      initializer_range: the std of the normal draws.
      time_step_scale: the factor of dt_proj's bound.
      time_step_min: the smallest initial time step.
      time_step_max: the largest initial time step.
      time_step_floor: the clamp below of the time step.
      time_step_init_scheme: ``"random"`` or ``"constant"``.
      rescale_prenorm_residual: divide ``out_proj`` by sqrt(num_hidden_layers).
      tie_word_embeddings: whether ``lm_head`` shares the embedding's array.
      layout: ``"torch"`` or ``"flax"``, the layout of conv1d, out_proj and dt_proj.
      naming: role -> regex(es) replacing the default naming of those roles.

    Returns:
      A :class:`jinit.recipes.Recipe`.

    Examples:
      >>> import jax, jinit.recipes
      >>> sd = {"backbone.layers.0.mixer.A_log": jax.ShapeDtypeStruct((4, 3), "float32")}
      >>> out = jinit.recipes.init_state_dict(jinit.recipes.mamba(), sd, jax.random.key(0))
      >>> out["backbone.layers.0.mixer.A_log"][0].round(4)
      Array([0.    , 0.6931, 1.0986], dtype=float32)

    References:
      transformers 5.23, ``models/mamba/modeling_mamba.py``, ``MambaPreTrainedModel._init_weights``
      and ``MambaMixer.init_mamba_weights``; Gu & Dao (2023), Mamba, arXiv:2312.00752; reference code
      ``mamba_ssm/modules/mamba_simple.py``.
    """
    fn = "recipes.mamba"
    std = validation.positive(fn, "initializer_range", initializer_range)
    rank = None if time_step_rank is None else common.count(fn, "time_step_rank", time_step_rank)
    layers = None if num_hidden_layers is None else common.count(fn, "num_hidden_layers", num_hidden_layers)
    scale = validation.positive(fn, "time_step_scale", time_step_scale)
    scheme = validation.choice(fn, "time_step_init_scheme", time_step_init_scheme, ssm.DT_INITS)
    rescale = common.flag(fn, "rescale_prenorm_residual", rescale_prenorm_residual)
    tie = common.flag(fn, "tie_word_embeddings", tie_word_embeddings)
    lay = validation.choice(fn, "layout", layout, common.LAYOUTS)
    if rescale and layers is None:
        raise ValueError(
            validation.error(
                fn, "`rescale_prenorm_residual=True` divides by sqrt(num_hidden_layers): give it; got None."
            )
        )
    lo = validation.positive(fn, "time_step_min", time_step_min)
    hi = validation.positive(fn, "time_step_max", time_step_max)
    if not hi > lo:
        raise ValueError(
            validation.error(
                fn, f"`time_step_max` must exceed `time_step_min`; got time_step_min={lo!r}, time_step_max={hi!r}."
            )
        )
    floor = validation.non_negative(fn, "time_step_floor", time_step_floor)
    dt_bias = ssm.mamba_dt_bias(lo, hi, floor)
    dt_proj = (
        DtProj(dt_scale=scale, init=scheme, layout=lay)
        if rank is None
        else ssm.mamba_dt_proj(rank, dt_scale=scale, init=scheme)
    )
    out = nn_init.linear_weight(layout=lay)
    normal = nn_init.normal(std=std)
    roles = {
        "token_embedding": normal,
        "ssm_a_log": MambaALog(),
        "ssm_d": nn_init.ones(),
        "ssm_conv": nn_init.conv_weight(layout=lay),
        "ssm_conv_bias": nn_init.zeros(),
        "ssm_in": normal,
        "ssm_x": normal,
        "ssm_dt_proj": dt_proj,
        "ssm_dt_bias": dt_bias,
        "ssm_out": Scaled(out, 1.0 / math.sqrt(layers)) if rescale and layers is not None else out,
        "norm_scale": nn_init.ones(),
        "head": normal,
        "bias": nn_init.zeros(),
    }
    names = {
        "token_embedding": path("embeddings", "weight"),
        "ssm_a_log": path("mixer", "A_log"),
        "ssm_d": path("mixer", "D"),
        "ssm_conv": path("mixer", "conv1d", "weight"),
        "ssm_conv_bias": path("mixer", "conv1d", "bias"),
        "ssm_in": path("mixer", "in_proj", "weight"),
        "ssm_x": path("mixer", "x_proj", "weight"),
        "ssm_dt_proj": path("mixer", "dt_proj", "weight"),
        "ssm_dt_bias": path("mixer", "dt_proj", "bias"),
        "ssm_out": path("mixer", "out_proj", "weight"),
        "norm_scale": path("(?:norm|norm_f)", "weight"),
        "head": path("lm_head", "weight"),
        "bias": path("bias"),
    }
    ties = [("head", "token_embedding")] if tie else []
    name = recipe_name(
        "mamba",
        time_step_rank=rank,
        num_hidden_layers=layers,
        initializer_range=std,
        time_step_scale=scale,
        time_step_min=lo,
        time_step_max=hi,
        time_step_floor=floor,
        time_step_init_scheme=scheme,
        rescale_prenorm_residual=rescale,
        tie_word_embeddings=tie,
        layout=lay,
    )
    return Recipe(roles, with_naming(fn, roles, names, naming), name=name, ties=ties)
