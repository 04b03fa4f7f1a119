"""One process of the 2-process materialize test (run by tests/test_multiprocess.py, not by pytest).

Usage: python tests/_mp_materialize.py PROCESS_ID NUM_PROCESSES PORT OUT_DIR

Joins the JAX runtime on 127.0.0.1:PORT, materializes a sharded parameter
tree over all global devices, checks that this process holds only its own
(addressable) shards, and saves them with their global index to
OUT_DIR/process_<id>.npz for the parent to assemble.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import jinit
import jinit.flax

# Shared with the parent test: the tree, its shardings (as specs on a (2, 4) mesh) and the rules.
ABSTRACT = {
    "embed": jax.ShapeDtypeStruct((64, 32), jnp.float32),
    "layers": [
        {"kernel": jax.ShapeDtypeStruct((32, 64), jnp.float32), "bias": jax.ShapeDtypeStruct((64,), jnp.float32)},
        {"kernel": jax.ShapeDtypeStruct((64, 32), jnp.bfloat16), "bias": jax.ShapeDtypeStruct((32,), jnp.float32)},
    ],
}
SPECS = {
    "embed": P(("x", "y"), None),
    "layers": [{"kernel": P("x", "y"), "bias": P(("x", "y"))}, {"kernel": P("y", "x"), "bias": P(("y", "x"))}],
}
RULES = {r"embed": jinit.normal(1.0), r".*kernel": jinit.he_normal(), r".*bias": jinit.uniform(0.1)}
SEED = 42


def main() -> None:
    process_id, num_processes, port, out_dir = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}", num_processes=num_processes, process_id=process_id
    )
    assert jax.process_index() == process_id and jax.process_count() == num_processes
    mesh = jax.make_mesh((2, 4), ("x", "y"))
    shardings = jax.tree_util.tree_map(lambda s: NamedSharding(mesh, s), SPECS)
    params = jinit.flax.materialize(ABSTRACT, RULES, jax.random.key(SEED), shardings=shardings)

    local = set(jax.local_devices())
    saved = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        name = jax.tree_util.keystr(path, simple=True, separator="/")
        assert not leaf.is_fully_addressable, f"{name} lives on this process only"
        shards = leaf.addressable_shards
        assert {s.device for s in shards} <= local and len(shards) == len(local), f"{name}: foreign shards"
        for s in shards:
            assert s.data.nbytes * jax.device_count() == leaf.nbytes, f"{name}: a shard is not 1/{jax.device_count()}"
            start = [0 if sl.start is None else sl.start for sl in s.index]
            saved[f"{name}|{s.device.id}|{','.join(map(str, start))}"] = np.asarray(s.data.astype(jnp.float32))
    np.savez(f"{out_dir}/process_{process_id}.npz", **saved)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
