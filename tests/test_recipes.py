"""jinit.recipes without transformers: the Recipe object, init_state_dict's ties, named recipes on plain and Flax trees.

The comparison with transformers' own initialisation is tests/test_recipes_hf.py.
"""

from __future__ import annotations

import math
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
import jinit.recipes as R
import jinit.torch as jt
import jinit.tree
from jinit._src.recipes import parts

F32 = jnp.float32


def sds(*shape: int, dtype: object = F32) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(shape, dtype)


NAMED = {
    "gpt2": lambda: R.gpt2(n_layer=4),
    "bert": lambda: R.bert(),
    "llama": lambda: R.llama(),
    "llama_torchtitan": lambda: R.llama_torchtitan(dim=64),
    "t5": lambda: R.t5(d_model=64, d_kv=16, d_ff=128, num_heads=4),
    "vit": lambda: R.vit(),
    "vit_timm": lambda: R.vit(variant="timm"),
    "vit_big_vision": lambda: R.vit(variant="big_vision"),
    "olmo2": lambda: R.olmo2(),
    "mamba": lambda: R.mamba(time_step_rank=4),
    "resnet": lambda: R.resnet(),
    "resnet_torchvision": lambda: R.resnet(variant="torchvision", layer_type="basic", zero_init_residual=True),
}


# ---------------------------------------------------------------------------
# The Recipe object


@pytest.mark.parametrize("name", NAMED)
def test_recipes_are_frozen_hashable_picklable_and_equal_by_value(name: str) -> None:
    recipe = NAMED[name]()
    again = NAMED[name]()
    assert recipe == again and hash(recipe) == hash(again)
    assert pickle.loads(pickle.dumps(recipe)) == recipe
    assert isinstance(recipe, jinit.tree.Rules)
    assert repr(recipe).startswith("Recipe(<")
    with pytest.raises(AttributeError):
        recipe.name = "other"  # type: ignore[misc]
    assert {role for role, _ in recipe.roles} == {role for role, _ in recipe.naming}


def test_different_hyperparameters_give_different_recipes() -> None:
    assert R.gpt2(n_layer=2) != R.gpt2(n_layer=3)
    assert R.gpt2(n_layer=2) != R.gpt2(n_layer=2, tie_word_embeddings=False)
    assert R.vit(variant="timm") != R.vit(variant="timm", zero_head=True)


def test_a_leaf_no_role_claims_raises_and_absent_roles_do_not() -> None:
    recipe = R.gpt2(n_layer=2)
    only_wte = {"wte.weight": sds(16, 8)}
    out = jinit.tree.materialize(only_wte, recipe, jax.random.key(0))  # every other role absent: fine
    assert out["wte.weight"].shape == (16, 8)
    with pytest.raises(ValueError, match=r"jinit.tree.materialize: every leaf needs a rule.*'h.0.attn.rotary'"):
        jinit.tree.materialize({**only_wte, "h.0.attn.rotary": sds(4)}, recipe, jax.random.key(0))


def test_flat_dotted_and_nested_trees_get_the_same_roles_and_laws() -> None:
    recipe = R.gpt2(n_layer=6)
    flat = {"transformer.h.3.mlp.c_proj.weight": sds(256, 64), "transformer.h.3.mlp.c_proj.bias": sds(64)}
    nested = {"h": {"3": {"mlp": {"c_proj": {"weight": sds(256, 64), "bias": sds(64)}}}}}
    a = recipe.assign(flat)
    b = recipe.assign(nested)
    assert (
        a["transformer.h.3.mlp.c_proj.weight"]
        == b["h/3/mlp/c_proj/weight"]
        == ("mlp_out", jt.normal(std=0.02 / 12**0.5))
    )
    assert a["transformer.h.3.mlp.c_proj.bias"][0] == b["h/3/mlp/c_proj/bias"][0] == "bias"


def test_rules_before_a_recipe_take_precedence() -> None:
    recipe = R.llama()
    tree = {"lm_head.weight": sds(32, 8), "norm.weight": sds(8)}
    out = jinit.tree.materialize(tree, [(r"lm_head\.weight", jinit.zeros), *recipe], jax.random.key(0))
    assert not np.any(np.asarray(out["lm_head.weight"]))
    combined = jinit.tree.Rules([(r"lm_head\.weight", jinit.zeros)]) + recipe
    assert not np.any(np.asarray(jinit.tree.materialize(tree, combined, jax.random.key(0))["lm_head.weight"]))


def test_replace_changes_roles_and_adds_new_ones_first() -> None:
    recipe = R.llama()
    new = recipe.replace(roles={"head": jinit.zeros, "router": jinit.ones}, naming={"router": r".*router\.weight"})
    assert new.table["head"] == jinit.zeros and recipe.table["head"] == jt.normal(std=0.02)
    assert new.naming[0] == ("router", (r".*router\.weight",))
    assert new.role_of("model.layers.0.mlp.router.weight") == "router"
    with pytest.raises(ValueError, match=r"jinit.recipes.Recipe.replace: role 'x' is new to .*both"):
        recipe.replace(roles={"x": jinit.ones})


def test_naming_override_of_a_named_recipe() -> None:
    recipe = R.llama(naming={"q": r".*/wq/kernel"})
    assert recipe.role_of("layers/0/wq/kernel") == "q"
    assert recipe.role_of("model.layers.0.self_attn.q_proj.weight") is None
    with pytest.raises(ValueError, match=r"jinit.recipes.llama: `naming` names roles \['query'\] the recipe lacks"):
        R.llama(naming={"query": r".*"})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"roles": [1], "naming": {}}, TypeError, r"`roles` must be a mapping"),
        ({"roles": {1: jinit.ones}, "naming": {}}, TypeError, r"roles are named by str; got 1"),
        ({"roles": {"a": 3}, "naming": {"a": "a"}}, TypeError, r"role 'a' needs an initializer or a context rule"),
        ({"roles": {"a": jinit.ones}, "naming": ["a"]}, TypeError, r"`naming` must be a mapping"),
        ({"roles": {"a": jinit.ones}, "naming": {2: "a"}}, TypeError, r"roles are named by str; got 2"),
        ({"roles": {"a": jinit.ones}, "naming": {"a": ()}}, TypeError, r"role 'a' needs a regex or a non-empty"),
        ({"roles": {"a": jinit.ones}, "naming": {}}, ValueError, r"roles \['a'\] have an initializer but no naming"),
        ({"roles": {}, "naming": {"a": "a"}}, ValueError, r"roles \['a'\] have a naming but no initializer"),
        ({"roles": {"a": jinit.ones}, "naming": {"a": "("}}, ValueError, r"rule '\(' is not a valid regex"),
        ({"roles": {"a": jinit.ones}, "naming": {"a": "a"}, "ties": [("a",)]}, TypeError, r"each tie must be"),
        ({"roles": {"a": jinit.ones}, "naming": {"a": "a"}, "ties": [("a", "b")]}, ValueError, r"names roles \['b'\]"),
        ({"roles": {}, "naming": {}, "name": 3}, TypeError, r"`name` must be a str; got name=3"),
        (
            {
                "roles": {"a": jinit.ones, "b": jinit.ones},
                "naming": {"a": "a", "b": "b"},
                "ties": [("a", "b"), ("b", "a")],
            },
            ValueError,
            r"a role follows one source .* roles \['a', 'b'\] break this",
        ),
    ],
)
def test_recipe_construction_errors(kwargs: dict, error: type, match: str) -> None:
    kwargs = {"name": "r", **kwargs}
    with pytest.raises(error, match=r"jinit.recipes.Recipe: .*" + match):
        R.Recipe(**kwargs)


def test_role_of_needs_a_string() -> None:
    with pytest.raises(TypeError, match=r"jinit.recipes.Recipe.role_of: `leaf_path` must be a str; got 3"):
        R.bert().role_of(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# init_state_dict


def test_init_state_dict_ties_follow_their_source_and_the_rest_is_materialize() -> None:
    recipe = R.bert()
    sd = {
        "bert.embeddings.word_embeddings.weight": sds(32, 8),
        "bert.pooler.dense.weight": sds(8, 8),
        "cls.predictions.bias": sds(32),
        "cls.predictions.decoder.weight": sds(32, 8),
        "cls.predictions.decoder.bias": sds(32),
    }
    key = jax.random.key(3)
    out = R.init_state_dict(recipe, sd, key)
    assert out["cls.predictions.decoder.weight"] is out["bert.embeddings.word_embeddings.weight"]
    assert out["cls.predictions.decoder.bias"] is out["cls.predictions.bias"]
    assert np.all(np.asarray(out["bert.embeddings.word_embeddings.weight"])[0] == 0)  # pad_token_id=0
    plain = jinit.tree.materialize(sd, recipe, key)  # the same key and path: the same values, drawn apart for ties
    for k in ("bert.embeddings.word_embeddings.weight", "bert.pooler.dense.weight"):
        np.testing.assert_array_equal(out[k], plain[k])
    assert not np.array_equal(plain["cls.predictions.decoder.weight"], plain["bert.embeddings.word_embeddings.weight"])
    untied = R.init_state_dict(R.bert(tie_word_embeddings=False), sd, key)
    assert untied["cls.predictions.decoder.weight"] is not untied["bert.embeddings.word_embeddings.weight"]


def test_init_state_dict_on_a_nested_state_dict_and_without_the_source() -> None:
    recipe = R.gpt2(n_layer=2)
    nested = {"transformer": {"wte": {"weight": sds(64, 16)}}, "lm_head": {"weight": sds(64, 16)}}
    out = R.init_state_dict(recipe, nested, jax.random.key(0))
    assert out["lm_head"]["weight"] is out["transformer"]["wte"]["weight"]
    alone = R.init_state_dict(recipe, {"lm_head.weight": sds(64, 16)}, jax.random.key(0))  # no source: drawn
    assert alone["lm_head.weight"].shape == (64, 16) and float(jnp.std(alone["lm_head.weight"])) > 0.0


def test_init_state_dict_picks_the_source_with_the_longest_common_prefix() -> None:
    recipe = R.t5(d_model=8, d_kv=4, d_ff=16, num_heads=2)
    sd = {
        "a.shared.weight": sds(16, 8),
        "b.shared.weight": sds(16, 8),
        "b.encoder.embed_tokens.weight": sds(16, 8),
    }
    out = R.init_state_dict(recipe, sd, jax.random.key(0))
    assert out["b.encoder.embed_tokens.weight"] is out["b.shared.weight"]


def test_init_state_dict_fills_integer_buffers_and_position_ids() -> None:
    sd = {
        "bn1.running_mean": sds(4),
        "bn1.running_var": sds(4),
        "bn1.num_batches_tracked": sds(dtype=np.int64),
        "bn1.weight": sds(4),
        "bn1.bias": sds(4),
    }
    out = R.init_state_dict(R.resnet(variant="torchvision"), sd, jax.random.key(0))
    count = out["bn1.num_batches_tracked"]
    assert count.dtype == jax.dtypes.canonicalize_dtype(np.int64) and int(count) == 0
    assert np.asarray(out["bn1.running_var"]).tolist() == [1.0] * 4
    ids = R.init_state_dict(R.bert(), {"embeddings.position_ids": sds(1, 6, dtype=np.int64)}, jax.random.key(0))
    assert np.asarray(ids["embeddings.position_ids"]).tolist() == [[0, 1, 2, 3, 4, 5]]


def test_init_state_dict_errors() -> None:
    with pytest.raises(TypeError, match=r"jinit.recipes.init_state_dict: `recipe` must be a jinit.recipes.Recipe"):
        R.init_state_dict([(".*", jinit.ones)], {"a": sds(2)}, jax.random.key(0))  # type: ignore[arg-type]
    bad = {"wte.weight": sds(64, 16), "lm_head.weight": sds(32, 16)}
    with pytest.raises(ValueError, match=r"jinit.recipes.init_state_dict: 'lm_head.weight' is tied to 'wte.weight'"):
        R.init_state_dict(R.gpt2(n_layer=1), bad, jax.random.key(0))
    with pytest.raises(ValueError, match=r"jinit.recipes.init_state_dict: every leaf needs a rule.*'extra'"):
        R.init_state_dict(R.gpt2(n_layer=1), {"extra": sds(3)}, jax.random.key(0))


# ---------------------------------------------------------------------------
# Named recipes: laws


def _std(x: jax.Array) -> float:
    return float(np.std(np.asarray(x, dtype=np.float64)))


def test_torchtitan_depth_init_reads_the_layer_from_the_path() -> None:
    recipe = R.llama_torchtitan(dim=128)
    sd = {f"layers.{i}.{name}.weight": sds(128, 256) for i in (0, 5) for name in ("attention.wo", "feed_forward.w2")}
    sd["layers.5.feed_forward.w1.weight"] = sds(256, 128)
    sd["lm_head.weight"] = sds(512, 128)
    plan = recipe.assign(sd)
    for i in (0, 5):
        for name in ("attention.wo", "feed_forward.w2"):
            assert plan[f"layers.{i}.{name}.weight"][1] == jt.trunc_normal(std=0.02 / math.sqrt(2 * (i + 1)))
    assert plan["layers.5.feed_forward.w1.weight"][1] == jt.trunc_normal(std=0.02)
    s = 128**-0.5
    assert plan["lm_head.weight"][1] == jt.trunc_normal(std=s, a=-3 * s, b=3 * s)
    out = R.init_state_dict(recipe, sd, jax.random.key(0))
    # 32768 draws: the std's relative SE is sqrt((k - 1) / n) / 2 with k = 3: 6 of them is 2.3 %.
    tol = 6 * math.sqrt(2 / (128 * 256)) / 2
    for i in (0, 5):
        assert abs(_std(out[f"layers.{i}.attention.wo.weight"]) / (0.02 / math.sqrt(2 * (i + 1))) - 1) < tol
    flat = R.llama_torchtitan(dim=128, n_layers=8, depth_init=False).assign(sd)
    assert flat["layers.0.attention.wo.weight"][1] == flat["layers.5.attention.wo.weight"][1]
    assert flat["layers.0.attention.wo.weight"][1] == jt.trunc_normal(std=0.02 / 4)
    tied = R.init_state_dict(
        R.llama_torchtitan(dim=128, enable_weight_tying=True),
        {"tok_embeddings.weight": sds(512, 128), "lm_head.weight": sds(512, 128)},
        jax.random.key(0),
    )
    assert tied["tok_embeddings.weight"] is tied["lm_head.weight"]
    assert float(jnp.max(jnp.abs(tied["lm_head.weight"]))) <= 3 * s * (1 + 1e-6)


def test_torchtitan_depth_rule_needs_a_layer_group() -> None:
    recipe = R.llama_torchtitan(dim=8, naming={"o": r".*/wo"})
    with pytest.raises(ValueError, match=r"jinit.tree.materialize: the context rule .* named group `layer`"):
        jinit.tree.materialize({"blk": {"wo": sds(8, 8)}}, recipe, jax.random.key(0))
    named = R.llama_torchtitan(dim=8, naming={"o": r"(?P<layer>[a-z]+)/wo"})
    with pytest.raises(ValueError, match=r"the `layer` group must capture a layer index; got 'blk'"):
        jinit.tree.materialize({"blk": {"wo": sds(8, 8)}}, named, jax.random.key(0))


def test_resnet_zero_init_residual_zeroes_the_last_norm_of_each_block() -> None:
    sd = {
        "conv1.weight": sds(16, 3, 7, 7),
        "bn1.weight": sds(16),
        "layer1.0.bn1.weight": sds(16),
        "layer1.0.bn2.weight": sds(16),
        "layer1.0.downsample.1.weight": sds(16),
        "fc.weight": sds(10, 16),
        "fc.bias": sds(10),
    }
    out = R.init_state_dict(
        R.resnet(variant="torchvision", layer_type="basic", zero_init_residual=True), sd, jax.random.key(0)
    )
    assert not np.any(np.asarray(out["layer1.0.bn2.weight"]))
    for k in ("bn1.weight", "layer1.0.bn1.weight", "layer1.0.downsample.1.weight"):
        assert np.all(np.asarray(out[k]) == 1.0)
    assert float(jnp.max(jnp.abs(out["fc.bias"]))) <= 0.25  # U(-1/sqrt(16), 1/sqrt(16))
    plain = R.init_state_dict(R.resnet(variant="torchvision", layer_type="basic"), sd, jax.random.key(0))
    assert np.all(np.asarray(plain["layer1.0.bn2.weight"]) == 1.0)


def test_vit_variants() -> None:
    timm = {
        "patch_embed.proj.weight": sds(64, 3, 4, 4),
        "patch_embed.proj.bias": sds(64),
        "cls_token": sds(1, 1, 64),
        "pos_embed": sds(1, 5, 64),
        "head.weight": sds(10, 64),
        "head.bias": sds(10),
    }
    plan = R.vit(variant="timm").assign(timm)
    assert plan["patch_embed.proj.bias"][1] == jt.conv_bias(48)  # fan_in 3 * 4 * 4 of the sibling weight
    assert plan["patch_embed.proj.weight"][1] == jt.conv_weight(layout="torch")
    assert plan["head.weight"][1] == jt.trunc_normal(std=0.02)
    assert R.vit(variant="timm", zero_head=True).assign(timm)["head.weight"][1] == jt.zeros()
    nested = {"patch_embed": {"proj": {"weight": sds(64, 3, 4, 4), "bias": sds(64)}}}
    assert R.vit(variant="timm").assign(nested)["patch_embed/proj/bias"][1] == jt.conv_bias(48)
    big = {
        "embedding": {"kernel": sds(4, 4, 3, 64), "bias": sds(64)},
        "pos_embedding": sds(1, 16, 64),
        "Transformer": {
            "encoderblock": {  # nn.scan: a leading axis of 3 layers
                "MultiHeadDotProductAttention_0": {
                    "query": {"kernel": sds(3, 64, 4, 16), "bias": sds(3, 4, 16)},
                    "out": {"kernel": sds(3, 4, 16, 64), "bias": sds(3, 64)},
                },
                "MlpBlock_0": {"Dense_0": {"kernel": sds(3, 64, 256), "bias": sds(3, 256)}},
            },
            "encoder_norm": {"scale": sds(64), "bias": sds(64)},
        },
        "head": {"kernel": sds(64, 10), "bias": sds(10)},
    }
    plan = R.vit(variant="big_vision").assign(big)
    law = plan["Transformer/encoderblock/MultiHeadDotProductAttention_0/query/kernel"][1].moments((3, 64, 4, 16))
    assert law.variance == pytest.approx(2 / (64 + 64) / 1.0, rel=1e-12)  # glorot: fans 64 and 4 * 16, scan axis apart
    law = plan["Transformer/encoderblock/MlpBlock_0/Dense_0/kernel"][1].moments((3, 64, 256))
    assert law.variance == pytest.approx(2 / (64 + 256), rel=1e-12)
    assert plan["pos_embedding"][1] == jinit.normal(stddev=0.125)
    assert plan["embedding/kernel"][1].moments((4, 4, 3, 64)).variance == pytest.approx(1 / 48, rel=1e-12)
    assert plan["head/kernel"][1] == jt.zeros()
    assert plan["Transformer/encoderblock/MlpBlock_0/Dense_0/bias"][1] == jinit.normal(stddev=1e-6)


def test_mamba_reads_dt_rank_off_the_weight_and_rescales_out_proj() -> None:
    sd = {
        "layers.0.mixer.dt_proj.weight": sds(32, 4),
        "layers.0.mixer.out_proj.weight": sds(16, 32),
        "layers.0.mixer.A_log": sds(32, 8),
        "layers.0.mixer.D": sds(32),
    }
    plan = R.mamba().assign(sd)
    assert plan["layers.0.mixer.dt_proj.weight"][1] == jinit.ssm.mamba_dt_proj(4)
    flax = R.mamba(layout="flax").assign({"mixer": {"dt_proj": {"weight": sds(4, 32)}}})
    assert flax["mixer/dt_proj/weight"][1] == jinit.ssm.mamba_dt_proj(4)
    scaled = R.mamba(rescale_prenorm_residual=True, num_hidden_layers=4).assign(sd)["layers.0.mixer.out_proj.weight"][1]
    assert scaled.moments((16, 32)).variance == pytest.approx(
        jt.linear_weight(layout="torch").moments((16, 32)).variance / 4
    )
    out = R.init_state_dict(R.mamba(), sd, jax.random.key(0))
    np.testing.assert_array_equal(out["layers.0.mixer.A_log"], jinit.ssm.mamba_a_log(32, 8))
    assert np.all(np.asarray(out["layers.0.mixer.D"]) == 1.0)


def test_recipes_on_a_flax_nnx_model() -> None:
    nnx = pytest.importorskip("flax.nnx")
    import jinit.flax

    class Net(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.conv1 = nnx.Conv(3, 32, (3, 3), use_bias=False, rngs=rngs)
            self.bn1 = nnx.BatchNorm(32, rngs=rngs)
            self.fc = nnx.Linear(32, 10, rngs=rngs)

    recipe = R.resnet(
        layout="flax",
        variant="torchvision",
        naming={"conv": r"conv\d+/kernel", "norm_scale": r"bn\d+/scale", "classifier": r"fc/kernel"},
    )
    model = Net(nnx.Rngs(0))
    new = jinit.flax.reinit(model, recipe, jax.random.key(1))
    kernel = np.asarray(new.conv1.kernel[...], dtype=np.float64)
    # kaiming_normal(fan_out, relu): variance 2 / (32 * 9); 864 draws, relative SE sqrt(2 / 864), 6 of them.
    assert abs(kernel.var() / (2 / (32 * 9)) - 1) < 6 * math.sqrt(2 / kernel.size)
    assert np.all(np.asarray(new.bn1.scale[...]) == 1.0)
    assert float(jnp.max(jnp.abs(new.fc.bias[...]))) <= 32**-0.5
    abstract = nnx.eval_shape(lambda: Net(nnx.Rngs(0)))
    made = jinit.flax.materialize(abstract, recipe, jax.random.key(1))
    np.testing.assert_array_equal(made.conv1.kernel[...], new.conv1.kernel[...])


# ---------------------------------------------------------------------------
# Parts


def test_parts_laws_and_values() -> None:
    key = jax.random.key(0)
    pad = parts.PaddingRow(jt.normal(std=2.0), -1)
    x = pad(key, (5, 3))
    assert not np.any(np.asarray(x[4])) and np.all(np.asarray(x[:4]) != 0)
    law = pad.moments((5, 3))
    assert law.mean == 0.0 and law.variance == pytest.approx(4.0 * 4 / 5) and not law.iid
    arange = parts.Arange()
    assert arange.moments((1, 5)).variance == pytest.approx(2.0)  # (25 - 1) / 12
    scaled = parts.Scaled(jt.uniform(-1.0, 1.0), 0.5)
    assert scaled.moments((4,)).bound == 0.5 and float(jnp.max(jnp.abs(scaled(key, (1000,))))) <= 0.5
    assert parts.MambaALog().moments((2, 3)).mean == pytest.approx(math.log(6) / 3)
    assert parts.Fill(0.0)(key, (2,), jnp.bool_).dtype == jnp.bool_


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda k: parts.Fill()(k, (2,), "nope"), TypeError, r"jinit.recipes.Fill: `dtype` must be a dtype"),
        (lambda k: parts.Arange()(k, ()), ValueError, r"jinit.recipes.Arange: needs at least one axis"),
        (lambda k: parts.PaddingRow(jinit.ones, 9)(k, (4, 2)), ValueError, r"padding_idx=9 is not a row .* 4 rows"),
        (lambda k: parts.PaddingRow(jinit.ones, 0)(k, ()), ValueError, r"PaddingRow: needs an embedding table"),
        (lambda k: parts.MambaALog()(k, (4,)), ValueError, r"jinit.recipes.MambaALog: needs a \(d_inner, n_state\)"),
    ],
)
def test_parts_errors(call: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call(jax.random.key(0))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("recipe", "tree", "match"),
    [
        (R.resnet(), {"classifier.bias": sds(4)}, r"needs the layer's weight .* beside the bias"),
        (R.vit(variant="big_vision"), {"pos_embedding": sds()}, r"needs a last axis of positive width"),
        (R.vit(variant="big_vision"), {"MlpBlock_0": {"Dense_0": {"kernel": sds(4)}}}, r"needs a kernel of rank >= 2"),
        (R.mamba(), {"mixer": {"dt_proj": {"weight": sds(2, 3, 4)}}}, r"needs the 2-D dt_proj weight"),
    ],
)
def test_context_rule_errors_name_the_rule_and_leaf(recipe: R.Recipe, tree: dict, match: str) -> None:
    with pytest.raises(ValueError, match=r"jinit.tree.materialize: the context rule of rule .* failed: .*" + match):
        jinit.tree.materialize(tree, recipe, jax.random.key(0))


# ---------------------------------------------------------------------------
# Bad hyperparameters


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: R.gpt2(n_layer=0), ValueError, r"jinit.recipes.gpt2: `n_layer` must be at least 1; got n_layer=0"),
        (lambda: R.gpt2(n_layer=2.0), TypeError, r"jinit.recipes.gpt2: `n_layer` must be an int"),
        (lambda: R.gpt2(n_layer=2, initializer_range=0.0), ValueError, r"`initializer_range` must be positive"),
        (lambda: R.gpt2(n_layer=2, tie_word_embeddings=1), TypeError, r"`tie_word_embeddings` must be a bool"),
        (lambda: R.bert(pad_token_id=1.5), TypeError, r"jinit.recipes.bert: `pad_token_id` must be an int or None"),
        (
            lambda: R.t5(d_model=8, d_kv=0, d_ff=8, num_heads=1),
            ValueError,
            r"jinit.recipes.t5: `d_kv` must be at least 1",
        ),
        (lambda: R.llama_torchtitan(dim=8, depth_init=False), ValueError, r"`depth_init=False` .* needs `n_layers`"),
        (lambda: R.vit(variant="jax"), ValueError, r"jinit.recipes.vit: `variant` must be one of"),
        (lambda: R.vit(variant="big_vision", layout="torch"), ValueError, r"`layout` must be 'flax'; got 'torch'"),
        (lambda: R.resnet(layer_type="wide"), ValueError, r"jinit.recipes.resnet: `layer_type` must be one of"),
        (lambda: R.mamba(rescale_prenorm_residual=True), ValueError, r"jinit.recipes.mamba: .* give it; got None"),
        (lambda: R.mamba(time_step_min=0.1, time_step_max=0.01), ValueError, r"`time_step_max` must exceed"),
        (lambda: R.mamba(time_step_init_scheme="x"), ValueError, r"`time_step_init_scheme` must be one of"),
        (
            lambda: R.huggingface([("model_type", "gpt2")]),
            TypeError,
            r"jinit.recipes.huggingface: `config` must be a mapping",
        ),
        (
            lambda: R.huggingface({"n_layer": 2}),
            ValueError,
            r"jinit.recipes.huggingface: `config` needs a 'model_type'",
        ),
        (
            lambda: R.huggingface({"model_type": "bloom"}),
            ValueError,
            r"model_type 'bloom' is not supported; supported: bert, gpt2, llama, mamba, olmo2, resnet, t5, vit\.",
        ),
    ],
)
def test_bad_hyperparameters(build: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        build()  # type: ignore[operator]


def test_huggingface_reads_the_config_and_its_defaults() -> None:
    assert R.huggingface({"model_type": "mamba", "hidden_size": 100}) == R.mamba(time_step_rank=7, num_hidden_layers=32)
    assert R.huggingface({"model_type": "bert", "initializer_range": None}) == R.bert()  # `initializer_range or 0.02`
    assert R.huggingface({"model_type": "vit", "initializer_range": 0.05}) == R.vit(initializer_range=0.05)
