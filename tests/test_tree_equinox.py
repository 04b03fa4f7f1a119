"""Equinox models re-initialised in one call with torch-layout rules; docs/porting.md's examples run.

Equinox modules are pytrees whose ``Linear.weight`` is ``(out, in)`` and
``Conv2d.weight`` ``(out, in, kh, kw)`` with a ``(out, 1, 1)`` bias. Each
leaf is checked against the documented value (jinit.torch's layer law at the
leaf's key), and the whole model against torch's own default init with
jinit.tree.compare.
"""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
import jinit.torch as jt
import jinit.tree

eqx = pytest.importorskip("equinox")

KEY = jax.random.key(17)
# KS p-value below which two samples are called different: a false alarm once in 10^6 seeds.
KS_ALPHA = 1e-6
N_SIGMA = 6.0
ROOT = Path(__file__).resolve().parent.parent


class Net(eqx.Module):
    conv: Any
    mlp: Any
    norm: Any
    embed: Any

    def __init__(self, key: jax.Array) -> None:
        k1, k2, k3 = jax.random.split(key, 3)
        self.conv = eqx.nn.Conv2d(16, 64, 3, key=k1)
        self.mlp = eqx.nn.MLP(256, 10, 512, depth=1, key=k2)
        self.norm = eqx.nn.LayerNorm(64)
        self.embed = eqx.nn.Embedding(1000, 64, key=k3)


def at(init: Any, path: str, shape: tuple[int, ...]) -> jax.Array:
    return init(jax.random.fold_in(KEY, zlib.crc32(path.encode())), shape)


def test_one_call_gives_every_equinox_layer_torchs_default_law() -> None:
    net = Net(jax.random.key(0))
    new = jinit.tree.reinit(net, jinit.tree.torch_defaults(layout="torch"), KEY)
    assert type(new) is Net and new.mlp.activation is net.mlp.activation
    chex.assert_trees_all_equal(new.conv.weight, at(jt.conv_weight(layout="torch"), "conv/weight", (64, 16, 3, 3)))
    chex.assert_trees_all_equal(new.conv.bias, at(jt.conv_bias(16 * 9), "conv/bias", (64, 1, 1)))
    for i, (fan_in, out) in enumerate([(256, 512), (512, 10)]):
        path = f"mlp/layers/{i}"
        weight = at(jt.linear_weight(layout="torch"), f"{path}/weight", (out, fan_in))
        chex.assert_trees_all_equal(new.mlp.layers[i].weight, weight)
        chex.assert_trees_all_equal(new.mlp.layers[i].bias, at(jt.linear_bias(fan_in), f"{path}/bias", (out,)))
    chex.assert_trees_all_equal(new.norm.weight, jnp.ones((64,)))
    chex.assert_trees_all_equal(new.norm.bias, jnp.zeros((64,)))
    chex.assert_trees_all_equal(new.embed.weight, at(jt.embedding(), "embed/weight", (1000, 64)))
    # The model still runs.
    assert new.mlp(jnp.ones((256,))).shape == (10,)
    assert new.conv(jnp.ones((16, 8, 8))).shape == (64, 6, 6)


def test_materialize_of_an_abstract_module_equals_reinit() -> None:
    abstract = eqx.filter_eval_shape(Net, jax.random.key(0))
    rules = jinit.tree.torch_defaults(layout="torch")
    made = jinit.tree.materialize(abstract, rules, KEY)
    chex.assert_trees_all_equal(
        eqx.filter(made, eqx.is_array), eqx.filter(jinit.tree.reinit(Net(jax.random.key(0)), rules, KEY), eqx.is_array)
    )


def test_torch_layout_wraps_any_scheme_for_equinox_weights() -> None:
    rules = {r"mlp/layers/\d+/weight": jinit.tree.torch_layout(jinit.he_normal())}
    new = jinit.tree.reinit(Net(jax.random.key(0)), rules, KEY)
    want = at(jinit.he_normal(), "mlp/layers/0/weight", (256, 512)).T  # jax layout (in, out), transposed
    chex.assert_trees_all_equal(new.mlp.layers[0].weight, want)


def test_equinox_with_torch_defaults_has_the_law_of_torchs_own_init() -> None:
    """torch's default init and jinit's port of it on the equinox model: not told apart, layer by layer."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    modules = {
        "conv": torch.nn.Conv2d(16, 64, 3),
        "mlp/layers/0": torch.nn.Linear(256, 512),
        "mlp/layers/1": torch.nn.Linear(512, 10),
        "embed": torch.nn.Embedding(1000, 64),
    }
    state: dict[str, Any] = {}
    for prefix, module in modules.items():
        for name, tensor in module.state_dict().items():
            node = state
            for part in f"{prefix}/{name}".split("/")[:-1]:
                node = node.setdefault(part, {})
            node[name] = jnp.asarray(tensor.detach().numpy())
    state["conv"]["bias"] = state["conv"]["bias"].reshape(64, 1, 1)  # equinox keeps (out, 1, 1)
    state["mlp"]["layers"] = [state["mlp"]["layers"]["0"], state["mlp"]["layers"]["1"]]
    ported = jinit.tree.reinit(Net(jax.random.key(0)), jinit.tree.torch_defaults(layout="torch"), KEY)
    table = jinit.tree.compare(state, eqx.filter(ported, eqx.is_array))
    assert table.only_a == () and set(table.only_b) == {"norm/weight", "norm/bias"}
    for row in table.to_dicts():
        assert row["shape_a"] == row["shape_b"], row
        assert row["p_value"] > KS_ALPHA, row
        # Variances agree within their joint standard error (uniform laws: kurtosis 1.8; embedding: 3).
        n = math.prod(row["shape_a"])
        kurtosis = 3.0 if row["path"].startswith("embed") else 1.8
        ratio = (row["std_b"] / row["std_a"]) ** 2
        assert abs(ratio - 1) < N_SIGMA * math.sqrt(2 * (kurtosis - 1) / n), row


# ---------------------------------------------------------------------------
# docs/porting.md

SECTIONS = ("Plain dicts", "Equinox", "Flax nnx")
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def section_blocks(title: str) -> list[str]:
    text = (ROOT / "docs" / "porting.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert match is not None, f"docs/porting.md has no section {title!r}"
    return BLOCK.findall(match.group(1))


@pytest.mark.parametrize("title", SECTIONS)
def test_porting_guide_examples_run(title: str, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = section_blocks(title)
    assert blocks, f"no example in section {title!r}"
    for code in blocks:
        exec(compile(code, f"docs/porting.md ({title})", "exec"), {"__name__": "__docs__"})
    if title != "Flax nnx":
        assert "expected_std" in capsys.readouterr().out  # the summary table it prints


def test_docs_example_arrays_are_what_they_claim() -> None:
    """The plain-dict example's summary row: he_normal's std for fan_in 64, measured within sampling error."""
    params = {"mlp": [{"kernel": jnp.zeros((64, 256))}]}
    row = jinit.tree.summary(params, {r"mlp/\d+/kernel": jinit.he_normal()}, key=jax.random.key(0)).to_dicts()[0]
    assert row["expected_std"] == pytest.approx(math.sqrt(2 / 64), rel=1e-15)
    # The docs allow 5% on the std, i.e. ~10% on the variance; 6 standard errors here are 6 sqrt(2 / n) = 3.3%.
    assert abs((row["std"] / row["expected_std"]) ** 2 - 1) < N_SIGMA * math.sqrt(2 / (64 * 256))
    assert np.isfinite(row["mean"])
