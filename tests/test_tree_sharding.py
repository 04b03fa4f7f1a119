"""Sharded materialize from abstract shapes that carry their own sharding, on 8 host devices.

Run in a process of its own (the device count is fixed when JAX starts):
``XLA_FLAGS=--xla_force_host_platform_device_count=8 python -m pytest -m multidevice tests/test_tree_sharding.py``.

``nnx.eval_shape`` under ``jax.set_mesh(mesh)`` with ``nnx.with_partitioning``
annotations (and ``ShapeDtypeStruct``s built on ``mesh.abstract_mesh``) hold
shardings on the abstract mesh; materialize without ``shardings=`` places each
leaf on the mesh set, split as annotated, with the unsharded values, for
Explicit and Auto mesh axes and a root key made inside or outside the mesh.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jinit
import jinit.flax
import jinit.tree

pytestmark = [
    pytest.mark.multidevice,
    pytest.mark.skipif(
        jax.device_count() < 8,
        reason="needs 8 devices: run with XLA_FLAGS=--xla_force_host_platform_device_count=8",
    ),
]

SEED = 31
RULES = {r".*kernel": jinit.he_normal(), r".*bias": jinit.normal(0.1), r".*scale": jinit.ones}


class Block(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, annotate: bool = True) -> None:
        def part(init: Any, names: tuple[str | None, ...]) -> Any:
            return nnx.with_partitioning(init, names) if annotate else init

        self.up = nnx.Linear(32, 64, kernel_init=part(jinit.he_normal(), (None, "model")), rngs=rngs)
        self.down = nnx.Linear(
            64,
            32,
            kernel_init=part(jinit.he_normal(), ("model", None)),
            bias_init=part(jinit.zeros, (None,)),
            rngs=rngs,
        )
        self.bn = nnx.BatchNorm(32, rngs=rngs)
        self.drop = nnx.Dropout(0.1, rngs=rngs)


def mesh(explicit: bool) -> jax.sharding.Mesh:
    kind = AxisType.Explicit if explicit else AxisType.Auto
    return jax.make_mesh((2, 4), ("data", "model"), axis_types=(kind, kind))


def unsharded() -> Block:
    return jinit.flax.materialize(
        nnx.eval_shape(lambda: Block(nnx.Rngs(0), annotate=False)), RULES, jax.random.key(SEED)
    )


def assert_split(x: jax.Array, m: jax.sharding.Mesh, spec: P, ways: int) -> None:
    assert x.sharding.is_equivalent_to(NamedSharding(m, spec), x.ndim), x.sharding
    assert len(x.sharding.device_set) == 8
    for shard in x.addressable_shards:
        assert shard.data.nbytes * ways == x.nbytes


@pytest.mark.parametrize("key_inside", [True, False], ids=["key-on-mesh", "key-off-mesh"])
@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "auto"])
def test_abstract_nnx_model_materializes_on_the_mesh_it_was_traced_on(explicit: bool, key_inside: bool) -> None:
    want = unsharded()
    outside = jax.random.key(SEED)
    m = mesh(explicit)
    with jax.set_mesh(m):
        abstract = nnx.eval_shape(lambda: Block(nnx.Rngs(0)))
        key = jax.random.key(SEED) if key_inside else outside
        made = jinit.flax.materialize(abstract, RULES, key)
    assert_split(made.up.kernel[...], m, P(None, "model"), 4)
    assert_split(made.down.kernel[...], m, P("model", None), 4)
    # The values (the Variables' metadata differ: one model is annotated).
    chex.assert_trees_all_equal(
        jax.tree_util.tree_leaves(nnx.state(made, nnx.Param)), jax.tree_util.tree_leaves(nnx.state(want, nnx.Param))
    )
    # Non-parameter state: defined values, on the mesh too.
    chex.assert_trees_all_equal(made.bn.var[...], jnp.ones((32,)))
    assert made.bn.var[...].sharding.mesh.devices.size == 8
    np.testing.assert_array_equal(
        jax.random.key_data(made.drop.rngs.key[...]), jax.random.key_data(want.drop.rngs.key[...])
    )


@pytest.mark.parametrize("explicit", [True, False], ids=["explicit", "auto"])
def test_tree_leaves_on_the_abstract_mesh(explicit: bool) -> None:
    m = mesh(explicit)
    spec = P("data", "model")
    abstract = {
        "w": jax.ShapeDtypeStruct((64, 128), jnp.float32, sharding=NamedSharding(m.abstract_mesh, spec)),
        "b": jax.ShapeDtypeStruct((128,), jnp.float32),
    }
    rules = {"w": jinit.orthogonal(), "b": jinit.zeros}
    plain = jinit.tree.materialize(
        {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in abstract.items()}, rules, jax.random.key(SEED)
    )
    with jax.set_mesh(m):
        made = jinit.tree.materialize(abstract, rules, jax.random.key(SEED))
    assert_split(made["w"], m, spec, 8)
    chex.assert_trees_all_equal(made, plain)


def test_an_abstract_mesh_of_other_axes_is_refused() -> None:
    other = jax.make_mesh((4, 2), ("x", "y"))
    abstract = {"w": jax.ShapeDtypeStruct((8, 8), jnp.float32, sharding=NamedSharding(other.abstract_mesh, P("x")))}
    with (
        jax.set_mesh(mesh(True)),
        pytest.raises(
            ValueError,
            match=r"jinit\.tree\.materialize: a sharding on an abstract mesh needs its devices: .*the mesh set",
        ),
    ):
        jinit.tree.materialize(abstract, {"w": jinit.zeros}, jax.random.key(SEED))
