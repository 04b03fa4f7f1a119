"""Sharded init on 8 host devices: the bytes are split, the values do not depend on the mesh.

Run by ``make multidevice`` (``XLA_FLAGS=--xla_force_host_platform_device_count=8``,
a process of its own: the device count is fixed when JAX starts).

Two ways to shard, as in JAX itself:

* explicit mesh axes: ``with jax.set_mesh(mesh): init(key, shape, out_sharding=...)``
  (eagerly or inside jit), where the sharding is part of the array's type;
* automatic axes: ``jax.jit(init, out_shardings=...)``, which the SPMD
  partitioner propagates back into the draw.

Either way each device holds 1/8 of the bytes and the values equal the
unsharded call's for the same key (threefry in jax's partitionable mode
hashes each element's global index, so a shard computes its own bits).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import law_cases
import numpy as np
import pytest
from flax import nnx
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jinit
import jinit.flax

pytestmark = [
    pytest.mark.multidevice,
    pytest.mark.skipif(
        jax.device_count() < 8,
        reason="needs 8 devices: run `make multidevice` (XLA_FLAGS=--xla_force_host_platform_device_count=8)",
    ),
]

KEY = jax.random.key(2024)

# Mesh shapes and, for the last two axes of an array, specs that use every device.
MESHES: dict[str, tuple[tuple[int, ...], tuple[str, ...], tuple[P, ...]]] = {
    "8": ((8,), ("d",), (P("d", None), P(None, "d"))),
    "2x4": ((2, 4), ("x", "y"), (P("x", "y"), P("y", "x"), P(("x", "y"), None), P(None, ("y", "x")))),
    "4x2": ((4, 2), ("x", "y"), (P("x", "y"), P("y", "x"), P(None, ("x", "y")), P(("y", "x"), None))),
}


@functools.cache
def mesh(name: str, explicit: bool) -> jax.sharding.Mesh:
    shape, axes, _ = MESHES[name]
    kind = AxisType.Explicit if explicit else AxisType.Auto
    return jax.make_mesh(shape, axes, axis_types=(kind,) * len(axes))


def full_spec(spec: P, rank: int) -> P:
    """``spec`` on the last two axes of a rank-``rank`` array (leading axes unsharded)."""
    return P(*([None] * (rank - 2)), *spec)


def assert_split_in_eight(x: jax.Array, sharding: NamedSharding) -> None:
    assert x.sharding.is_equivalent_to(sharding, x.ndim), f"{x.sharding} is not {sharding}"
    shards = x.addressable_shards
    assert len({s.device for s in shards}) == 8
    for s in shards:
        assert s.data.nbytes * 8 == x.nbytes, f"a shard holds {s.data.nbytes} of {x.nbytes} bytes"


def case(entry: law_cases.Entry) -> tuple[Any, tuple[int, ...]]:
    c = entry.cases()[0]
    return c.init, c.shape


ENTRIES = law_cases.entries()
MODES = ("explicit", "automatic")
SLOTS = [(mode, name) for mode in MODES for name in MESHES]
# The schemes are dealt to the six (mode, mesh) slots in turn, each with one of its mesh's specs, so
# that every mode, mesh and spec occurs; one jitted program per slot draws all of its schemes. (One
# program per scheme, mesh and mode would cost minutes of compilation on 2 cores.)
DEALT = {
    slot: [(e, MESHES[slot[1]][2][j % len(MESHES[slot[1]][2])]) for j, e in enumerate(ENTRIES[i :: len(SLOTS)])]
    for i, slot in enumerate(SLOTS)
}


def draw_all(dealt: list[tuple[law_cases.Entry, P]], key: jax.Array, specs: list[Any] | None = None) -> tuple:
    """Every dealt scheme's case, with ``out_sharding=specs[i]`` (or none)."""
    out = []
    for i, (entry, _) in enumerate(dealt):
        init, shape = case(entry)
        out.append(init(key, shape) if specs is None else init(key, shape, out_sharding=specs[i]))
    return tuple(out)


def assert_same_values(x: jax.Array, entry: law_cases.Entry) -> None:
    """``x`` equals the unsharded eager draw of the same case and key.

    Elementwise laws: exact up to an ulp of the float map (jit and eager, or
    a partitioned and a whole program, may round a fused expression
    differently), relative to the output or, near 0, to the law's mean.
    QR-based schemes: the Householder QR of the same Gaussian
    matrix, partitioned or not, agrees to about sqrt(n) eps times the
    entries' scale (backward stability; observed: ~2 eps).
    """
    init, shape = case(entry)
    ref = init(KEY, shape)
    eps = float(jnp.finfo(ref.dtype).eps)
    law = init.moments(shape)
    # An output near 0 of ``mean + std * z`` carries the rounding of ``mean``: a few eps of |mean|.
    atol = 4 * eps * abs(law.mean) if law is not None else 0.0
    if law is not None and not law.iid and entry.random:
        atol = math.sqrt(max(shape)) * eps * (law.bound if law.bound is not None else math.sqrt(law.variance))
    chex.assert_trees_all_close(x, ref, rtol=4 * eps, atol=atol, custom_message=entry.name)


@pytest.mark.parametrize("slot", SLOTS, ids=[f"{mode}-{name}" for mode, name in SLOTS])
def test_every_scheme_sharded_on_eight_devices(slot: tuple[str, str]) -> None:
    """explicit: ``out_sharding`` given to each initializer inside jit (sharding in types);
    automatic: no sharding argument, ``jax.jit(..., out_shardings=...)`` and the SPMD partitioner."""
    mode, mesh_name = slot
    m = mesh(mesh_name, explicit=mode == "explicit")
    dealt = DEALT[slot]
    shardings = tuple(NamedSharding(m, full_spec(spec, len(case(e)[1]))) for e, spec in dealt)
    if mode == "explicit":
        with jax.set_mesh(m):
            out = jax.jit(lambda k: draw_all(dealt, k, [s.spec for s in shardings]))(KEY)
    else:
        out = jax.jit(functools.partial(draw_all, dealt), out_shardings=shardings)(KEY)
    for (entry, _), x, s in zip(dealt, out, shardings, strict=True):
        assert_split_in_eight(x, s)
        assert_same_values(x, entry)


def test_every_scheme_is_dealt() -> None:
    dealt = [e.name for d in DEALT.values() for e, _ in d]
    assert sorted(dealt) == sorted(e.name for e in ENTRIES)
    used = {(name, spec) for (_, name), d in DEALT.items() for _, spec in d}
    assert used == {(name, spec) for name, (_, _, specs) in MESHES.items() for spec in specs}


@pytest.mark.parametrize("mesh_name", list(MESHES))
@pytest.mark.parametrize("scheme", [jinit.he_normal(), jinit.orthogonal()], ids=["he_normal", "orthogonal"])
def test_eager_out_sharding_on_every_mesh_and_spec(scheme: Any, mesh_name: str) -> None:
    """Outside jit too (inside a mesh context, as jax.random requires for explicit axes)."""
    shape = (64, 32)
    reference = scheme(KEY, shape)
    m = mesh(mesh_name, explicit=True)
    with jax.set_mesh(m):
        for spec in MESHES[mesh_name][2]:
            out = scheme(KEY, shape, out_sharding=NamedSharding(m, spec))
            assert_split_in_eight(out, NamedSharding(m, spec))
            chex.assert_trees_all_equal(out, reference)


def test_orthogonal_accepts_out_sharding_where_jax_refuses() -> None:
    m = mesh("2x4", explicit=True)
    sharding = NamedSharding(m, P("x", "y"))
    with jax.set_mesh(m):
        ours = jinit.orthogonal()(KEY, (64, 32), out_sharding=sharding)
        with pytest.raises(NotImplementedError):  # jax 0.10: a bare NotImplementedError
            jax.nn.initializers.orthogonal()(KEY, (64, 32), out_sharding=sharding)
    assert_split_in_eight(ours, sharding)
    q = np.asarray(ours, np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(32), atol=1e-5)


# ---------------------------------------------------------------------------
# Flax: nnx.with_partitioning, linen partitioning, materialize with shardings.


def values(model: nnx.Module) -> dict:
    """The parameter arrays without their metadata (sharding annotations differ by design)."""
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


class NnxNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, partitioned: bool = True) -> None:
        def ann(init: Any, names: tuple[Any, ...]) -> Any:
            return nnx.with_partitioning(init, names) if partitioned else init

        self.up = nnx.Linear(64, 128, kernel_init=ann(jinit.he_normal(), ("x", "y")), rngs=rngs)
        self.down = nnx.Linear(128, 64, kernel_init=ann(jinit.orthogonal(), ("y", "x")), rngs=rngs)


def test_nnx_with_partitioning_on_an_explicit_mesh() -> None:
    reference = NnxNet(nnx.Rngs(0), partitioned=False)
    m = mesh("2x4", explicit=True)
    with jax.set_mesh(m):
        eager = NnxNet(nnx.Rngs(0))
        in_jit = nnx.jit(lambda: NnxNet(nnx.Rngs(0)))()
    for model in (eager, in_jit):
        assert_split_in_eight(model.up.kernel[...], NamedSharding(m, P("x", "y")))
        assert_split_in_eight(model.down.kernel[...], NamedSharding(m, P("y", "x")))
    chex.assert_trees_all_equal(eager.up.kernel[...], reference.up.kernel[...])
    chex.assert_trees_all_close(values(in_jit), values(reference), rtol=1e-6, atol=0.0)


def test_nnx_with_partitioning_on_an_automatic_mesh() -> None:
    """The flax recipe: create under nnx.jit and constrain the state to its partition specs."""

    @nnx.jit
    def create() -> NnxNet:
        model = NnxNet(nnx.Rngs(0))
        state = nnx.state(model)
        nnx.update(model, jax.lax.with_sharding_constraint(state, nnx.get_partition_spec(state)))
        return model

    m = mesh("4x2", explicit=False)
    with jax.set_mesh(m):
        model = create()
    assert_split_in_eight(model.up.kernel[...], NamedSharding(m, P("x", "y")))
    reference = nnx.jit(lambda: NnxNet(nnx.Rngs(0), partitioned=False))()
    chex.assert_trees_all_equal(values(model), values(reference))


class LinenNet(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i in range(3):
            x = nn.Dense(64, kernel_init=nn.with_partitioning(jinit.he_normal(), (None, "d")), name=f"dense_{i}")(x)
        return nn.Embed(128, 64, embedding_init=nn.with_partitioning(jinit.normal(1.0), ("d", None)), name="emb")(
            jnp.zeros((1,), jnp.int32)
        )


RULES = {r".*kernel": jinit.orthogonal(), r".*embedding": jinit.normal(1.0), r".*bias": jinit.zeros}


@pytest.mark.parametrize("mesh_name", list(MESHES))
def test_materialize_places_each_leaf_with_its_sharding(mesh_name: str) -> None:
    """Linen ``nn.get_sharding`` on the abstract tree; "d" is the whole mesh (one axis or two)."""
    shape, axes, _ = MESHES[mesh_name]
    m = jax.make_mesh(shape, axes, axis_types=(AxisType.Auto,) * len(axes))
    abstract = jax.eval_shape(LinenNet().init, jax.random.key(0), jnp.ones((1, 64)))
    rename = {"d": axes if len(axes) > 1 else "d"}
    abstract = jax.tree_util.tree_map(
        lambda b: b.replace(names=tuple(rename.get(n, n) for n in b.names)) if isinstance(b, nn.Partitioned) else b,
        abstract,
        is_leaf=lambda b: isinstance(b, nn.Partitioned),
    )
    shardings = nn.get_sharding(abstract, m)
    made = jinit.flax.materialize(abstract, RULES, KEY, shardings=shardings)
    plain = jinit.flax.materialize(abstract, RULES, KEY)
    chex.assert_trees_all_equal(nn.unbox(made), nn.unbox(plain))
    params = nn.unbox(made)["params"]
    want = nn.unbox(shardings)["params"] if isinstance(shardings, dict) else shardings["params"]
    for i in range(3):
        assert_split_in_eight(params[f"dense_{i}"]["kernel"], want[f"dense_{i}"]["kernel"])
    assert_split_in_eight(params["emb"]["embedding"], want["emb"]["embedding"])


def test_materialize_nnx_abstract_model_with_named_shardings() -> None:
    m = mesh("2x4", explicit=False)
    with jax.set_mesh(m):  # flax shards partitioned variables as it creates them: it needs the mesh
        abstract = nnx.eval_shape(lambda: NnxNet(nnx.Rngs(0)))
    shardings = nnx.get_named_sharding(nnx.state(abstract), m)
    rules = {r".*kernel": jinit.he_uniform(), r".*bias": jinit.zeros}
    model = jinit.flax.materialize(abstract, rules, KEY, shardings=shardings)
    assert_split_in_eight(model.up.kernel[...], NamedSharding(m, P("x", "y")))
    assert_split_in_eight(model.down.kernel[...], NamedSharding(m, P("y", "x")))
    plain = jinit.flax.materialize(nnx.eval_shape(lambda: NnxNet(nnx.Rngs(0), partitioned=False)), rules, KEY)
    chex.assert_trees_all_equal(values(model), values(plain))


def test_materialize_one_sharding_for_all_leaves() -> None:
    sharding = NamedSharding(mesh("8", explicit=False), P(None, "d"))
    abstract = {f"w{i}": jax.ShapeDtypeStruct((16, 64), jnp.bfloat16) for i in range(4)}
    made = jinit.flax.materialize(abstract, {".*": jinit.glorot_normal()}, KEY, shardings=sharding)
    for leaf in made.values():
        assert_split_in_eight(leaf, sharding)
    chex.assert_trees_all_equal(made, jinit.flax.materialize(abstract, {".*": jinit.glorot_normal()}, KEY))


def test_materialize_on_an_explicit_mesh_and_with_partition_specs() -> None:
    """``jax.make_mesh`` gives Explicit axes by default: drawn on the Auto twin, handed back as requested."""
    m = mesh("4x2", explicit=True)
    abstract = {"w": jax.ShapeDtypeStruct((32, 64), jnp.float32), "b": jax.ShapeDtypeStruct((64,), jnp.float32)}
    rules = {"w": jinit.lecun_normal(), "b": jinit.uniform(0.5)}
    specs = {"w": P("x", "y"), "b": P(("x", "y"))}
    shardings = {k: NamedSharding(m, s) for k, s in specs.items()}
    plain = jinit.flax.materialize(abstract, rules, KEY)
    made = jinit.flax.materialize(abstract, rules, KEY, shardings=shardings)
    with jax.set_mesh(m):
        from_specs = jinit.flax.materialize(abstract, rules, KEY, shardings=specs)
    for out in (made, from_specs):
        for k in abstract:
            assert_split_in_eight(out[k], shardings[k])
            assert out[k].sharding.mesh.axis_types == (AxisType.Explicit,) * 2
            chex.assert_trees_all_equal(np.asarray(out[k]), np.asarray(plain[k]))
