"""``out_sharding`` on a mesh of Auto axes, on 8 host devices: honoured, with the same values.

Run with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` in a process
of its own (``make multidevice``), as tests/test_sharding.py.

jax's samplers ignore a NamedSharding whose mesh axes are Auto (the array
comes back on one device) or refuse its axis names; jinit draws unsharded
and constrains the result (``jax.lax.with_sharding_constraint``), which the
SPMD partitioner propagates back into the draw under jit. The values equal
the unsharded call's for the same key. A NamedSharding on Explicit axes,
used outside ``jax.set_mesh``, gets a jinit error that says what to do.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import law_cases
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jinit

pytestmark = [
    pytest.mark.multidevice,
    pytest.mark.skipif(
        jax.device_count() < 8,
        reason="needs 8 devices: run `make multidevice` (XLA_FLAGS=--xla_force_host_platform_device_count=8)",
    ),
]

KEY = jax.random.key(2025)
ENTRIES = law_cases.entries()


def auto_mesh() -> jax.sharding.Mesh:
    return jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))


def explicit_mesh() -> jax.sharding.Mesh:
    return jax.make_mesh((8,), ("d",), axis_types=(AxisType.Explicit,))


def case(entry: law_cases.Entry) -> tuple[jinit.Initializer, tuple[int, ...]]:
    c = entry.cases()[0]
    return c.init, c.shape


def last_axis(rank: int) -> P:
    """The last axis split over the mesh (every first law case has a last axis divisible by 8)."""
    return P(*([None] * (rank - 1)), "d")


def assert_placed(x: jax.Array, sharding: NamedSharding, split: bool) -> None:
    assert x.sharding.is_equivalent_to(sharding, x.ndim), f"{x.sharding} is not {sharding}"
    shards = x.addressable_shards
    assert len({s.device for s in shards}) == 8
    for s in shards:
        assert s.data.nbytes * (8 if split else 1) == x.nbytes, f"a shard holds {s.data.nbytes} of {x.nbytes} bytes"


def assert_same_values(x: jax.Array, ref: jax.Array, init: jinit.Initializer, shape: tuple[int, ...]) -> None:
    """Equal to the unsharded eager draw: to an ulp of the float map (a partitioned program may
    round a fused expression differently), QR-based schemes to about sqrt(n) eps of their scale."""
    eps = float(jnp.finfo(ref.dtype).eps)
    law = init.moments(shape)
    atol = 4 * eps * abs(law.mean) if law is not None else 0.0
    if law is not None and not law.iid:
        atol = max(atol, math.sqrt(max(shape)) * eps * (law.bound if law.bound is not None else law.std))
    chex.assert_trees_all_close(x, ref, rtol=4 * eps, atol=atol, custom_message=getattr(init, "name", ""))


def test_every_first_case_splits_its_last_axis_by_eight() -> None:
    for entry in ENTRIES:
        assert case(entry)[1][-1] % 8 == 0, entry.name


@pytest.mark.parametrize("split", [False, True], ids=["replicated", "split"])
def test_every_scheme_eager(split: bool) -> None:
    m = auto_mesh()
    for entry in ENTRIES:
        init, shape = case(entry)
        sharding = NamedSharding(m, last_axis(len(shape)) if split else P())
        out = init(KEY, shape, out_sharding=sharding)
        assert_placed(out, sharding, split)
        assert_same_values(out, init(KEY, shape), init, shape)


@pytest.mark.parametrize("split", [False, True], ids=["replicated", "split"])
def test_every_scheme_under_jit(split: bool) -> None:
    """``out_sharding`` given to each initializer inside one jitted program (not jit's out_shardings)."""
    m = auto_mesh()
    cases = [case(e) for e in ENTRIES]
    shardings = [NamedSharding(m, last_axis(len(shape)) if split else P()) for _, shape in cases]

    def draw_all(key: jax.Array) -> tuple:
        return tuple(init(key, shape, out_sharding=s) for (init, shape), s in zip(cases, shardings, strict=True))

    out = jax.jit(draw_all)(KEY)
    for (init, shape), x, s in zip(cases, out, shardings, strict=True):
        assert_placed(x, s, split)
        assert_same_values(x, init(KEY, shape), init, shape)


def test_partition_spec_under_set_mesh_of_auto_axes() -> None:
    m = auto_mesh()
    shape = (64, 32)
    for init in (jinit.normal(0.1), jinit.he_normal(), jinit.orthogonal(), jinit.zeros, jinit.constant([1.0] * 32)):
        reference = init(KEY, shape)
        with jax.set_mesh(m):
            eager = init(KEY, shape, out_sharding=P("d", None))
            jitted = jax.jit(lambda k, init=init: init(k, shape, out_sharding=P("d", None)))(KEY)
        for x in (eager, jitted):
            assert_placed(x, NamedSharding(m, P("d", None)), split=True)
            assert_same_values(x, reference, init, shape)


def test_the_issue_example() -> None:
    sharding, init = NamedSharding(auto_mesh(), P()), jinit.normal(0.1)
    # jax: ignored (one device), or refused for an axis name of the mesh (docs/differences.md).
    theirs = jax.nn.initializers.normal(0.1)
    assert len(theirs(KEY, (16, 32), out_sharding=sharding).sharding.device_set) == 1
    with pytest.raises(ValueError, match="cannot contain axis names that are of type Auto"):
        theirs(KEY, (16, 32), out_sharding=NamedSharding(auto_mesh(), P("d", None)))
    eager = init(KEY, (16, 32), out_sharding=sharding)
    jitted = jax.jit(lambda k: init(k, (16, 32), out_sharding=sharding))(KEY)
    for out in (eager, jitted):
        assert len(out.sharding.device_set) == 8
    chex.assert_trees_all_equal(eager, init(KEY, (16, 32)))
    assert_same_values(jitted, init(KEY, (16, 32)), init, (16, 32))  # jit may fuse: an ulp


def test_zero_size_and_narrow_dtypes_are_placed_too() -> None:
    sharding = NamedSharding(auto_mesh(), P(None, "d"))
    empty = jinit.he_normal()(KEY, (0, 16), out_sharding=sharding)
    assert empty.sharding.is_equivalent_to(sharding, 2)
    narrow = jinit.he_normal()(KEY, (64, 32), jnp.float8_e4m3fn, out_sharding=sharding)
    assert_placed(narrow, sharding, split=True)
    chex.assert_trees_all_equal(narrow, jinit.he_normal()(KEY, (64, 32), jnp.float8_e4m3fn))


def test_explicit_axes_outside_set_mesh_say_what_to_do() -> None:
    sharding = NamedSharding(explicit_mesh(), P("d", None))
    # (orthogonal, drawn unsharded and resharded, is placed even outside a mesh context.)
    for init in (jinit.normal(0.1), jinit.he_normal(), jinit.zeros):
        with pytest.raises(
            ValueError,
            match=rf"^jinit\.{init.name}: `out_sharding` has Explicit mesh axes, which jax places only inside a "
            r"mesh context: call the initializer under `with jax.set_mesh\(mesh\):`, or build the mesh with "
            r"AxisType\.Auto axes; got out_sharding=NamedSharding\(",
        ):
            init(KEY, (16, 32), out_sharding=sharding)
        # What the message says works.
        with jax.set_mesh(explicit_mesh()):
            out = init(KEY, (16, 32), out_sharding=sharding)
        assert_placed(out, sharding, split=True)
        chex.assert_trees_all_equal(out, init(KEY, (16, 32)))
