"""Every jinit initializer as kernel_init / bias_init / embedding_init / scale_init in linen and nnx.

The stored parameters must have the law the initializer promises for the
shape the layer hands it. Flax's DenseGeneral / LinearGeneral and attention
projections call the initializer with the kernel FLATTENED to 2-D
``(prod(batch) * prod(in), prod(out))`` and reshape afterwards (biases to
``(prod(out),)``), so the fans are those of the flat matrix; the tests
check that, and that the unflattened shape's law is rejected.

Two matrices keep the compile count low (each random parameter of a jitted
``model.init`` costs a compilation, about 0.1-0.3 s on 2 CPU cores):

* every registry scheme in linen (float32 Dense kernel and bias, under
  ``jax.jit(model.init)``) and in nnx (bfloat16 Conv kernel or Embed table,
  LayerNorm scale, under ``nnx.jit``), wherever the scheme accepts the shape;
* every layer type (Dense, DenseGeneral with one and two input axes, Conv,
  ConvTranspose, Embed, LayerNorm, multi-head attention) in linen with
  bfloat16 (orthogonal kernels) and in nnx with float32 (he_normal), so that
  each framework sees both dtypes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import law_cases
import numpy as np
import pytest
from flax import nnx

import jinit
from jinit._src.core.types import Moments
from jinit._src.schemes.orthogonal import Orthogonal

F32, BF16 = np.dtype(jnp.float32), np.dtype(jnp.bfloat16)

# Inputs: features 64; a (4, 16) view of them for DenseGeneral over two axes;
# a 4-token sequence; 8x8 images with 16 channels; 4 token ids.
X = jnp.ones((1, 64))
SEQ = jnp.ones((1, 4, 64))
IMG = jnp.ones((1, 8, 8, 16))
IDS = jnp.zeros((1, 4), jnp.int32)


# ---------------------------------------------------------------------------
# Checking a stored parameter against the law of its initializer.


def accepts(init: Any, shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """Whether the scheme defines this shape (its own validation decides)."""
    try:
        return init.moments(shape, dtype) is not None
    except ValueError:
        return False


def assert_stored_law(init: Any, stored: jax.Array, flat_shape: tuple[int, ...], dtype: np.dtype, what: str) -> None:
    """``stored`` (any shape) has ``init``'s law for ``flat_shape``: the shape the layer called it with."""
    assert stored.dtype == dtype, f"{what}: dtype {stored.dtype}, expected {dtype}"
    assert math.prod(stored.shape) == math.prod(flat_shape), f"{what}: {stored.shape} vs {flat_shape}"
    flat = jnp.reshape(stored, flat_shape)
    assert_sample_law(flat, init.moments(flat_shape, dtype), what)
    if isinstance(init, Orthogonal) or type(init).__name__ == "TorchOrthogonal":
        assert_semi_orthogonal(flat, getattr(init, "scale", None) or getattr(init, "gain", 1.0), what)


def assert_sample_law(x: jax.Array, law: Moments, what: str, n_sigma: float = 6.0) -> None:
    """Empirical mean, variance and bound of ``x`` against ``law``, within sampling tolerances.

    Mean: standard error sqrt(var / n). Variance: relative standard error
    sqrt((kurtosis - 1) / n), the kurtosis from the law for i.i.d. entries,
    else from the sample's 4th moment (an upper bound for schemes whose sum
    of squares is fixed). Plus 2 eps of the dtype, which rounds sigma itself.
    """
    eps = float(jnp.finfo(x.dtype).eps)
    w = np.asarray(x, dtype=np.float64).ravel()
    n = w.size
    scale = math.sqrt(law.variance) + abs(law.mean)
    mean = float(w.mean())
    tol = n_sigma * math.sqrt(law.variance / n) + 2 * eps * scale
    assert abs(mean - law.mean) <= tol, f"{what}: mean {mean:.6g}, expected {law.mean:.6g} +- {tol:.3g}"
    sq = (w - law.mean) ** 2
    var = float(sq.mean())
    if law.iid and law.excess_kurtosis is not None:
        se = law.variance * math.sqrt((law.excess_kurtosis + 2.0) / n)
    else:
        se = math.sqrt(max(float((sq * sq).mean()) - var * var, 0.0) / n)
    tol = n_sigma * se + 2 * eps * scale * scale
    assert abs(var - law.variance) <= tol, f"{what}: variance {var:.6g}, expected {law.variance:.6g} +- {tol:.3g}"
    if law.interval is not None:
        lo, hi = law.interval
        slack = 2 * eps * max(abs(lo), abs(hi))
        assert lo - slack <= w.min() and w.max() <= hi + slack, f"{what}: draws outside [{lo}, {hi}]"
    elif law.bound is not None:
        worst = float(np.abs(w - law.mean).max())
        assert worst <= law.bound + 2 * eps * (law.bound + abs(law.mean)), f"{what}: |w - mean| = {worst} > {law.bound}"


def assert_semi_orthogonal(w: jax.Array, scale: float, what: str) -> None:
    """The Gram matrix of the short side is scale^2 I: exact up to rounding of the entries.

    Each entry is rounded with relative error eps/2, so by Cauchy-Schwarz each
    Gram entry moves by at most eps * scale^2 (plus float32 accumulation).
    """
    if w.ndim != 2:
        return
    q = np.asarray(w, dtype=np.float64)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    eps = float(jnp.finfo(w.dtype).eps)
    tol = (1.01 * eps + 4 * float(jnp.finfo(jnp.float32).eps) * max(q.shape)) * scale**2
    chex.assert_trees_all_close(gram, scale**2 * np.eye(gram.shape[0]), atol=tol, rtol=0.0, custom_message=what)


# ---------------------------------------------------------------------------
# Matrix A: every registry scheme, in linen and in nnx, float32 and bfloat16, under jit.
#
# Each random parameter costs a compilation, so each framework gets its own small set of slots:
# linen float32 (Dense kernel and bias), nnx bfloat16 (Conv kernel, or Embed table for 2-D-only
# schemes, and LayerNorm scale). A scheme takes every slot whose shape it accepts; the raw
# (4, 16, 32) parameter is for schemes no layer slot takes (e.g. stacked(init, 4)).

# (role, layer keyword, param dtype, stored shape, flat shape the layer passes)
LINEN_ROLES = (
    ("dense/kernel", "kernel_init", F32, (64, 512), (64, 512)),
    ("dense/bias", "bias_init", F32, (512,), (512,)),
    ("raw", "param", F32, (4, 16, 32), (4, 16, 32)),
)
NNX_ROLES = (
    ("conv/kernel", "kernel_init", BF16, (3, 3, 16, 32), (3, 3, 16, 32)),
    ("embed/embedding", "embedding_init", BF16, (512, 32), (512, 32)),
    ("norm/scale", "scale_init", BF16, (512,), (512,)),
    ("raw", "param", BF16, (4, 16, 32), (4, 16, 32)),
)
ROLES = {"linen": LINEN_ROLES, "nnx": NNX_ROLES}


def applicable_roles(init: Any, framework: str) -> dict[str, bool]:
    roles = {r: accepts(init, flat, dt) for r, _, dt, _, flat in ROLES[framework]}
    if framework == "nnx":  # the Embed table only for schemes the Conv kernel refuses (2-D only)
        roles["embed/embedding"] = roles["embed/embedding"] and not roles["conv/kernel"]
    roles["raw"] = roles["raw"] and not any(v for r, v in roles.items() if r != "raw")
    return roles


class LinenCompact(nn.Module):
    scheme: Any
    roles: tuple[tuple[str, bool], ...]

    @nn.compact
    def __call__(self, x: jax.Array) -> None:
        on = dict(self.roles)
        kernel = {"kernel_init": self.scheme} if on["dense/kernel"] else {}
        bias = {"bias_init": self.scheme} if on["dense/bias"] else {}
        nn.Dense(512, name="dense", param_dtype=F32, **kernel, **bias)(x)
        if on["raw"]:
            self.param("raw", self.scheme, (4, 16, 32), F32)


class NnxCompact(nnx.Module):
    def __init__(self, scheme: Any, roles: dict[str, bool], rngs: nnx.Rngs) -> None:
        if roles["conv/kernel"]:
            self.conv = nnx.Conv(16, 32, (3, 3), param_dtype=BF16, kernel_init=scheme, use_bias=False, rngs=rngs)
        if roles["embed/embedding"]:
            self.embed = nnx.Embed(512, 32, param_dtype=BF16, embedding_init=scheme, rngs=rngs)
        if roles["norm/scale"]:
            self.norm = nnx.LayerNorm(512, param_dtype=BF16, scale_init=scheme, use_bias=False, rngs=rngs)
        if roles["raw"]:
            self.raw = nnx.Param(scheme(rngs.params(), (4, 16, 32), BF16))


def compact_params(scheme: Any, framework: str, roles: dict[str, bool]) -> dict[str, jax.Array]:
    if framework == "linen":
        model = LinenCompact(scheme, tuple(roles.items()))
        return flat_params(jax.jit(model.init)(jax.random.key(1), X)["params"])
    module = nnx.jit(lambda: NnxCompact(scheme, roles, nnx.Rngs(1)))()
    return flat_params(nnx.state(module, nnx.Param))


def flat_params(tree: Any) -> dict[str, jax.Array]:
    flat = jax.tree_util.tree_flatten_with_path(tree, is_leaf=lambda x: isinstance(x, nnx.Variable))[0]
    out = {}
    for path, leaf in flat:
        name = "/".join(str(getattr(k, "key", getattr(k, "name", k))) for k in path)
        out[name] = leaf.get_value() if isinstance(leaf, nnx.Variable) else leaf
    return out


ENTRIES = law_cases.entries()


@pytest.mark.parametrize("framework", ["linen", "nnx"])
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_every_scheme_stores_its_law_under_jit(entry: law_cases.Entry, framework: str) -> None:
    scheme = entry.make()
    roles = applicable_roles(scheme, framework)
    assert any(roles.values()), f"{entry.name}: no {framework} slot accepts it; the test would check nothing"
    params = compact_params(scheme, framework, roles)
    for role, _, dtype, shape, flat in ROLES[framework]:
        if roles[role]:
            stored = params[role]
            chex.assert_shape(stored, shape)
            assert_stored_law(scheme, stored, flat, dtype, f"{entry.name} as {framework} {role}")


def test_slots_cover_each_keyword_for_some_scheme() -> None:
    """Guards the matrix above: every slot of each framework is exercised by some scheme."""
    for framework, roles in ROLES.items():
        seen = {r: False for r, *_ in roles}
        for entry in ENTRIES:
            for role, on in applicable_roles(entry.make(), framework).items():
                seen[role] |= on
        assert all(seen.values()), (framework, seen)


# ---------------------------------------------------------------------------
# Matrix B: every layer type, flattened fans, both dtypes.


@dataclasses.dataclass(frozen=True)
class Slot:
    """A stored parameter: its path, the initializer keyword that draws it, its shape, the flat shape."""

    path: str
    role: str  # "kernel" (kernel_init / embedding_init) or "vector" (bias_init / scale_init)
    shape: tuple[int, ...]
    flat: tuple[int, ...]


MHA_SLOTS = (
    *(Slot(f"mha/{p}/kernel", "kernel", (64, 4, 32), (64, 128)) for p in ("query", "key", "value")),
    Slot("mha/out/kernel", "kernel", (4, 32, 64), (128, 64)),
    *(Slot(f"mha/{p}/bias", "vector", (4, 32), (128,)) for p in ("query", "key", "value")),
    Slot("mha/out/bias", "vector", (64,), (64,)),
)
SLOTS = (
    Slot("dense/kernel", "kernel", (64, 128), (64, 128)),
    Slot("dense/bias", "vector", (128,), (128,)),
    # DenseGeneral(features=(4, 32)): kernel (64, 4, 32) drawn as (64, 128).
    Slot("general/kernel", "kernel", (64, 4, 32), (64, 128)),
    Slot("general/bias", "vector", (4, 32), (128,)),
    # DenseGeneral over the last two input axes (4, 16) -> 32: kernel (4, 16, 32) drawn as (64, 32).
    Slot("general2/kernel", "kernel", (4, 16, 32), (64, 32)),
    Slot("general2/bias", "vector", (32,), (32,)),
    Slot("conv/kernel", "kernel", (3, 3, 16, 32), (3, 3, 16, 32)),
    Slot("conv/bias", "vector", (32,), (32,)),
    Slot("convt/kernel", "kernel", (3, 3, 16, 32), (3, 3, 16, 32)),
    Slot("convt/bias", "vector", (32,), (32,)),
    Slot("embed/embedding", "kernel", (512, 32), (512, 32)),
    Slot("norm/scale", "vector", (64,), (64,)),
    Slot("norm/bias", "vector", (64,), (64,)),
    *MHA_SLOTS,
)


class LinenLayers(nn.Module):
    kernel: Any
    vector: Any
    dtype_: Any

    @nn.compact
    def __call__(self, x: jax.Array, seq: jax.Array, img: jax.Array, ids: jax.Array) -> None:
        kw = {"kernel_init": self.kernel, "bias_init": self.vector, "param_dtype": self.dtype_}
        x, seq, img = (a.astype(self.dtype_) for a in (x, seq, img))  # strict promotion: no implicit upcast
        nn.Dense(128, name="dense", **kw)(x)
        nn.DenseGeneral((4, 32), name="general", **kw)(x)
        nn.DenseGeneral(32, axis=(-2, -1), name="general2", **kw)(jnp.reshape(x, (1, 4, 16)))
        nn.Conv(32, (3, 3), name="conv", **kw)(img)
        nn.ConvTranspose(32, (3, 3), name="convt", **kw)(img)
        nn.Embed(512, 32, embedding_init=self.kernel, param_dtype=self.dtype_, name="embed")(ids)
        nn.LayerNorm(scale_init=self.vector, bias_init=self.vector, param_dtype=self.dtype_, name="norm")(x)
        nn.MultiHeadDotProductAttention(4, qkv_features=128, out_features=64, name="mha", **kw)(seq)


class NnxLayers(nnx.Module):
    def __init__(self, kernel: Any, vector: Any, dtype: Any, rngs: nnx.Rngs) -> None:
        kw = {"kernel_init": kernel, "bias_init": vector, "param_dtype": dtype, "rngs": rngs}
        self.dense = nnx.Linear(64, 128, **kw)
        self.general = nnx.LinearGeneral(64, (4, 32), **kw)
        self.general2 = nnx.LinearGeneral((4, 16), 32, axis=(-2, -1), **kw)
        self.conv = nnx.Conv(16, 32, (3, 3), **kw)
        self.convt = nnx.ConvTranspose(16, 32, (3, 3), **kw)
        self.embed = nnx.Embed(512, 32, embedding_init=kernel, param_dtype=dtype, rngs=rngs)
        self.norm = nnx.LayerNorm(64, scale_init=vector, bias_init=vector, param_dtype=dtype, rngs=rngs)
        self.mha = nnx.MultiHeadAttention(4, 64, 128, 64, decode=False, keep_rngs=False, **kw)


# (kernel scheme, vector scheme, param dtype, framework): the dtype each framework does not get in matrix A.
# glorot_uniform and fan_out laws on flattened kernels are in the fans test below.
PAIRS: dict[str, tuple[Callable[[], tuple[Any, Any]], np.dtype, str]] = {
    "orthogonal+uniform-linen-bfloat16": (lambda: (jinit.orthogonal(2.0), jinit.uniform(0.5)), BF16, "linen"),
    "he_normal+normal-nnx-float32": (lambda: (jinit.he_normal(), jinit.normal(0.5)), F32, "nnx"),
}


@pytest.mark.parametrize("pair", list(PAIRS))
def test_every_layer_stores_the_law_of_its_flat_shape(pair: str) -> None:
    make, dtype, framework = PAIRS[pair]
    kernel, vector = make()
    if framework == "linen":
        model = LinenLayers(kernel, vector, dtype)
        # Flax's LayerNorm promotes bfloat16 to float32 internally, which strict promotion forbids.
        with jax.numpy_dtype_promotion("standard"):
            params = flat_params(jax.jit(model.init)(jax.random.key(2), X, SEQ, IMG, IDS)["params"])
    else:
        module = nnx.jit(lambda: NnxLayers(kernel, vector, dtype, nnx.Rngs(2)))()
        params = flat_params(nnx.state(module, nnx.Param))
    assert set(params) == {s.path for s in SLOTS}
    for slot in SLOTS:
        stored = params[slot.path]
        chex.assert_shape(stored, slot.shape)
        init = kernel if slot.role == "kernel" else vector
        assert_stored_law(init, stored, slot.flat, dtype, f"{pair} {framework} {slot.path}")


@pytest.mark.parametrize(
    "scheme",
    [jinit.he_normal(), jinit.glorot_uniform(), jinit.variance_scaling(3.0, "fan_out", "normal")],
    ids=["he_normal", "glorot_uniform", "fan_out_normal"],
)
def test_flattened_fans_are_not_those_of_the_stored_shape(scheme: Any) -> None:
    """DenseGeneral and attention draw with the 2-D fans: the law of the unflattened shape is rejected.

    For a (64, 4, 32) DenseGeneral kernel, he_normal gets fan_in = 64 (flat
    (64, 128)), not 4 * 64 = 256 as on the 3-D shape (in_axis=-2 holds the 4
    heads and the 64 inputs count as receptive field).
    """
    # Flax's own default (lecun_normal) has jinit.lecun_normal's law for the flat shape.
    default = jax.jit(nn.DenseGeneral((4, 32)).init)(jax.random.key(3), X)["params"]["kernel"]
    assert_stored_law(jinit.lecun_normal(), default, (64, 128), F32, "default DenseGeneral kernel")
    params = jax.jit(nn.DenseGeneral((4, 32), kernel_init=scheme).init)(jax.random.key(3), X)["params"]
    assert_stored_law(scheme, params["kernel"], (64, 128), F32, "DenseGeneral kernel")
    with pytest.raises(AssertionError, match="variance"):
        assert_stored_law(scheme, params["kernel"], (64, 4, 32), F32, "the 3-D shape's law")


def test_eager_init_equals_jit_init() -> None:
    """Outside jit the same key gives the same parameters (to a few ulp: XLA may fuse differently)."""
    model = nn.DenseGeneral((4, 32), kernel_init=jinit.he_uniform(), bias_init=jinit.normal(0.1))
    eager = model.init(jax.random.key(4), X)
    jitted = jax.jit(model.init)(jax.random.key(4), X)
    chex.assert_trees_all_close(eager, jitted, rtol=4 * float(jnp.finfo(jnp.float32).eps), atol=0.0)


def test_fan_dependent_scheme_as_bias_init_names_itself() -> None:
    """A bias is 1-D: a fan-dependent scheme refuses it with its own name, not a Flax traceback."""
    with pytest.raises(ValueError, match=r"jinit\.he_normal: shape needs at least 2 dimensions"):
        nn.Dense(4, bias_init=jinit.he_normal()).init(jax.random.key(0), X)
    with pytest.raises(ValueError, match=r"jinit\.he_normal: shape needs at least 2 dimensions"):
        nnx.Linear(64, 4, bias_init=jinit.he_normal(), rngs=nnx.Rngs(0))
