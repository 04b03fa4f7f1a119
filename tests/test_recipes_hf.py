"""``jinit.recipes.huggingface`` against transformers' own initialisation, tensor by tensor.

For every supported model type, small torch models (the base model and its
head classes) are built from a config (no download), and their
``state_dict()`` is materialised with ``huggingface(model.config.to_dict())``
through ``init_state_dict``. Every tensor is compared:

* where transformers is deterministic (ones, zeros, constants, buffers,
  Mamba's ``A_log`` and ``D``, an embedding's padding row): equal values
  (``A_log`` to 1 ulp: torch's float32 ``log`` is not correctly rounded,
  jinit rounds the float64 log once), and the same dtype;
* where it is random: the same law, per role, pooled over layers and head
  classes after standardising each tensor by the recipe's law: a two-sample
  Kolmogorov-Smirnov test at level ``ALPHA``; transformers' sample's mean and
  variance within ``N_SIGMA`` standard errors of 0 and 1 (the variance's
  relative SE is sqrt((kurtosis - 1) / n) with the law's kurtosis); its
  values inside the law's support where the law is bounded;
* tied keys (the same tensor in torch) are the same array in jinit's output,
  and only those.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

import jinit.recipes  # noqa: E402
import jinit.torch  # noqa: E402
from jinit._src.recipes.parts import MambaALog, PaddingRow  # noqa: E402

#: Level of each two-sample KS test; about 60 role tests in all, so a false alarm has odds near 1 in 170.
ALPHA = 1e-4
#: Standard errors allowed for the pooled mean and variance.
N_SIGMA = 6.0
DOCS = Path(__file__).resolve().parent.parent / "docs" / "recipes.md"


def _cases() -> dict[str, tuple[str, Any, tuple[str, ...]]]:
    """name -> (model_type, small config, class names). Widths of 64 keep the per-role samples in the thousands."""
    T = transformers
    tokens = {"vocab_size": 256, "bos_token_id": 1, "eos_token_id": 2}
    return {
        "gpt2": (
            "gpt2",
            T.GPT2Config(n_layer=2, n_embd=64, n_head=2, n_positions=32, **tokens),
            (
                "GPT2Model",
                "GPT2LMHeadModel",
                "GPT2DoubleHeadsModel",
                "GPT2ForSequenceClassification",
                "GPT2ForTokenClassification",
                "GPT2ForQuestionAnswering",
            ),
        ),
        "bert": (
            "bert",
            T.BertConfig(
                num_hidden_layers=2,
                hidden_size=64,
                num_attention_heads=2,
                intermediate_size=128,
                max_position_embeddings=32,
                vocab_size=256,
                initializer_range=0.05,
            ),
            (
                "BertModel",
                "BertForPreTraining",
                "BertForMaskedLM",
                "BertForNextSentencePrediction",
                "BertForSequenceClassification",
                "BertForMultipleChoice",
                "BertForTokenClassification",
                "BertForQuestionAnswering",
            ),
        ),
        "llama": (
            "llama",
            T.LlamaConfig(
                num_hidden_layers=2,
                hidden_size=64,
                num_attention_heads=4,
                num_key_value_heads=2,
                intermediate_size=128,
                pad_token_id=3,
                attention_bias=True,
                mlp_bias=True,
                **tokens,
            ),
            (
                "LlamaModel",
                "LlamaForCausalLM",
                "LlamaForSequenceClassification",
                "LlamaForQuestionAnswering",
                "LlamaForTokenClassification",
            ),
        ),
        "t5": (
            "t5",
            T.T5Config(num_layers=2, num_decoder_layers=1, d_model=64, d_kv=16, num_heads=2, d_ff=96, **tokens),
            (
                "T5Model",
                "T5ForConditionalGeneration",
                "T5EncoderModel",
                "T5ForSequenceClassification",
                "T5ForTokenClassification",
                "T5ForQuestionAnswering",
            ),
        ),
        "t5 (gated)": (
            "t5",
            T.T5Config(
                num_layers=1,
                num_decoder_layers=1,
                d_model=64,
                d_kv=16,
                num_heads=2,
                d_ff=96,
                feed_forward_proj="gated-gelu",
                initializer_factor=0.5,
                **tokens,
            ),
            ("T5ForConditionalGeneration",),
        ),
        "vit": (
            "vit",
            T.ViTConfig(
                num_hidden_layers=2,
                hidden_size=64,
                num_attention_heads=2,
                intermediate_size=128,
                image_size=32,
                patch_size=8,
                encoder_stride=8,
            ),
            ("ViTModel", "ViTForImageClassification", "ViTForMaskedImageModeling"),
        ),
        "olmo2": (
            "olmo2",
            T.Olmo2Config(num_hidden_layers=2, hidden_size=64, num_attention_heads=2, intermediate_size=128, **tokens),
            ("Olmo2Model", "Olmo2ForCausalLM", "Olmo2ForSequenceClassification"),
        ),
        "mamba": (
            "mamba",
            T.MambaConfig(
                num_hidden_layers=2,
                hidden_size=64,
                state_size=16,
                use_bias=True,
                rescale_prenorm_residual=True,
                **tokens,
            ),
            ("MambaModel", "MambaForCausalLM"),
        ),
        "resnet": (
            "resnet",
            T.ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 2], layer_type="bottleneck"),
            ("ResNetModel", "ResNetForImageClassification", "ResNetBackbone"),
        ),
        "resnet (basic)": (
            "resnet",
            T.ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="basic"),
            ("ResNetForImageClassification",),
        ),
    }


CASE_NAMES = (
    "gpt2",
    "bert",
    "llama",
    "t5",
    "t5 (gated)",
    "vit",
    "olmo2",
    "mamba",
    "resnet",
    "resnet (basic)",
)


@dataclasses.dataclass
class Tally:
    """What one case compared: tensors in all, deterministic ones equal, random ones of the same law, tied ones."""

    tensors: int = 0
    deterministic: int = 0
    law: int = 0
    tied: int = 0
    roles: set[str] = dataclasses.field(default_factory=set)
    failures: list[str] = dataclasses.field(default_factory=list)


def _abstract(state: dict[str, Any]) -> dict[str, jax.ShapeDtypeStruct]:
    return {
        k: jax.ShapeDtypeStruct(tuple(v.shape), np.dtype(str(v.dtype).removeprefix("torch."))) for k, v in state.items()
    }


def _torch_ties(state: dict[str, Any]) -> dict[str, str]:
    """follower key -> the first key holding the same tensor (transformers' tied weights)."""
    first: dict[int, str] = {}
    out = {}
    for k, v in state.items():
        ptr = v.untyped_storage().data_ptr()
        if ptr in first:
            out[k] = first[ptr]
        else:
            first[ptr] = k
    return out


def _law_of(init: Any, shape: tuple[int, ...]) -> Any:
    return init.moments(shape, None)


def _zero_rows(x: np.ndarray) -> list[int]:
    """Rows (axis 0) that are entirely zero: none in a continuous draw, the padding row of an embedding."""
    return [int(i) for i in np.flatnonzero(np.all(x.reshape(x.shape[0], -1) == 0, axis=1))]


def _check_pool(role: str, ours: list[np.ndarray], theirs: list[np.ndarray], laws: list[Any]) -> list[str]:
    """The pooled law checks of one role; a list of failures (empty when it passes)."""
    out = []
    z_ours = np.concatenate([(x.ravel() - law.mean) / law.std for x, law in zip(ours, laws, strict=True)])
    z_theirs = np.concatenate([(x.ravel() - law.mean) / law.std for x, law in zip(theirs, laws, strict=True)])
    n = z_theirs.size
    p = stats.ks_2samp(z_ours, z_theirs).pvalue
    if not p > ALPHA:
        out.append(f"{role}: two-sample KS p={p:.2e} <= {ALPHA} (n={n})")
    kurtosis = 3.0 + (laws[0].excess_kurtosis if laws[0].excess_kurtosis is not None else 0.0)
    mean, var = float(np.mean(z_theirs)), float(np.var(z_theirs))
    if abs(mean) > N_SIGMA / math.sqrt(n):
        out.append(f"{role}: transformers' standardised mean {mean:.4f}, tolerance {N_SIGMA / math.sqrt(n):.4f}")
    tol = N_SIGMA * math.sqrt((kurtosis - 1.0) / n)
    if abs(var - 1.0) > tol:
        out.append(f"{role}: transformers' standardised variance {var:.4f}, tolerance {tol:.4f} (n={n})")
    for x, law in zip(theirs, laws, strict=True):
        if law.bound is not None:
            lo, hi = law.interval if law.interval is not None else (law.mean - law.bound, law.mean + law.bound)
            slack = 1e-6 * max(abs(lo), abs(hi))
            if x.min() < lo - slack or x.max() > hi + slack:
                seen = f"[{x.min():.4g}, {x.max():.4g}]"
                out.append(f"{role}: transformers' values {seen} leave the support [{lo:.4g}, {hi:.4g}]")
    return out


@functools.cache
def compare(case: str, fault: tuple[tuple[str, Any], ...] = ()) -> Tally:
    """Every tensor of the case's models against jinit's; ``fault`` replaces roles' initializers (planted faults)."""
    _, config, classes = _cases()[case]
    tally = Tally()
    pools: dict[str, tuple[list[np.ndarray], list[np.ndarray], list[Any]]] = {}
    for i, cls_name in enumerate(classes):
        torch.manual_seed(100 + i)
        model = getattr(transformers, cls_name)(config)
        state = {k: v.detach() for k, v in model.state_dict().items()}
        abstract = _abstract(state)
        recipe = jinit.recipes.huggingface(model.config.to_dict())
        assert recipe == jinit.recipes.huggingface(config.to_dict())
        if fault:
            recipe = recipe.replace(roles=dict(fault))
        ours = jinit.recipes.init_state_dict(recipe, abstract, jax.random.fold_in(jax.random.key(7), i))
        plan = recipe.assign(abstract)
        assert set(plan) == set(state), f"{cls_name}: keys no role claims: {sorted(set(state) - set(plan))}"
        ties = _torch_ties(state)
        ids = {}
        for k in state:
            ids.setdefault(id(ours[k]), []).append(k)
        ours_ties = {k: group[0] for group in ids.values() for k in group[1:]}
        if ours_ties != ties:
            tally.failures.append(f"{cls_name}: tied keys {ours_ties} differ from transformers' {ties}")
        for k, tensor in state.items():
            tally.tensors += 1
            role, init = plan[k]
            tally.roles.add(role)
            theirs = tensor.numpy()
            mine = np.asarray(ours[k])
            where = f"{cls_name}: {k} ({role})"
            if mine.shape != theirs.shape or mine.dtype != jax.dtypes.canonicalize_dtype(theirs.dtype):
                tally.failures.append(
                    f"{where}: shape/dtype {mine.shape} {mine.dtype} vs {theirs.shape} {theirs.dtype}"
                )
                continue
            if k in ties:
                tally.tied += 1
                continue
            if not init.random:
                if isinstance(init, MambaALog):
                    equal = np.all(np.abs(mine.view(np.int32) - theirs.view(np.int32)) <= 1)
                else:
                    equal = np.array_equal(mine, theirs)
                if equal:
                    tally.deterministic += 1
                else:
                    tally.failures.append(f"{where}: deterministic values differ")
                continue
            if theirs.ndim >= 2 and _zero_rows(mine) != _zero_rows(theirs):  # e.g. an embedding's padding row
                tally.failures.append(f"{where}: all-zero rows {_zero_rows(mine)} vs {_zero_rows(theirs)}")
            law_init = init
            if isinstance(init, PaddingRow):  # the padding row is zero in both; the other rows carry the law
                row = init.padding_idx % theirs.shape[0]
                if not (np.all(mine[row] == 0) and np.all(theirs[row] == 0)):
                    tally.failures.append(f"{where}: padding row {row} is not zero in both")
                mine, theirs = np.delete(mine, row, axis=0), np.delete(theirs, row, axis=0)
                law_init = init.init
            law = _law_of(law_init, tuple(tensor.shape))
            pool = pools.setdefault(role, ([], [], []))
            pool[0].append(mine.astype(np.float64))
            pool[1].append(theirs.astype(np.float64))
            pool[2].append(law)
            tally.law += 1
    for role, (mine_list, theirs_list, laws) in pools.items():
        tally.failures.extend(_check_pool(f"{case}/{role}", mine_list, theirs_list, laws))
    return tally


@pytest.mark.parametrize("case", CASE_NAMES)
def test_recipe_reproduces_transformers_init(case: str) -> None:
    tally = compare(case)
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.deterministic + tally.law + tally.tied == tally.tensors


def _faults() -> dict[str, tuple[tuple[str, Any], ...]]:
    jt = jinit.torch
    return {
        "gpt2": (("o", jt.normal(std=0.02)),),  # the residual 1 / sqrt(2 n_layer) dropped
        "resnet": (("conv", jt.kaiming_normal(mode="fan_in", nonlinearity="relu", layout="torch")),),
        "t5": (("q", jt.normal(std=64**-0.5)),),  # the d_model std without d_kv
        "mamba": (("ssm_out", jt.linear_weight(layout="torch")),),  # out_proj not rescaled
        "vit": (("position_embedding", jt.normal(std=0.03)),),
        "bert": (("mlp_out", jt.normal(std=0.055)),),  # 10 % too wide (initializer_range 0.05)
        "llama": (("token_embedding", jt.normal(std=0.02)),),  # the padding row left random
    }


@pytest.mark.parametrize("case", list(_faults()))
def test_a_planted_fault_fails_the_comparison(case: str) -> None:
    assert compare(case, _faults()[case]).failures


def test_docs_table_matches_the_comparison() -> None:
    """docs/recipes.md's table states what the comparison above finds."""
    rows = {}
    for line in DOCS.read_text().splitlines():
        m = re.match(r"\| `([^`]+)` \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", line)
        if m:
            rows[m.group(1)] = tuple(int(g) for g in m.groups()[1:])
    assert set(rows) == set(CASE_NAMES)
    for case in CASE_NAMES:
        t = compare(case)
        assert rows[case] == (t.tensors, t.deterministic, t.law, t.tied), case


@pytest.mark.parametrize("model_type", jinit.recipes.MODEL_TYPES)
def test_defaults_are_transformers_config_defaults(model_type: str) -> None:
    """A config dict with only ``model_type`` gives the recipe of transformers' default config."""
    config_class = transformers.AutoConfig.for_model(model_type).__class__
    assert jinit.recipes.huggingface({"model_type": model_type}) == jinit.recipes.huggingface(config_class().to_dict())


def test_named_recipes_equal_huggingface_with_the_config_values() -> None:
    cases = _cases()
    gpt2 = cases["gpt2"][1].to_dict()
    assert jinit.recipes.huggingface(gpt2) == jinit.recipes.gpt2(n_layer=2)
    t5 = cases["t5"][1].to_dict()
    assert jinit.recipes.huggingface(t5) == jinit.recipes.t5(d_model=64, d_kv=16, d_ff=96, num_heads=2)
    llama = cases["llama"][1].to_dict()
    assert jinit.recipes.huggingface(llama) == jinit.recipes.llama(pad_token_id=3)
    mamba = cases["mamba"][1].to_dict()
    assert jinit.recipes.huggingface(mamba) == jinit.recipes.mamba(
        time_step_rank=4, num_hidden_layers=2, rescale_prenorm_residual=True
    )
    resnet = cases["resnet (basic)"][1].to_dict()
    assert jinit.recipes.huggingface(resnet) == jinit.recipes.resnet(layer_type="basic")
