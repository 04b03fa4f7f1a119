"""jinit.flax.materialize on JAX's multi-process runtime: 2 processes x 4 CPU devices on localhost.

Each process (tests/_mp_materialize.py) joins ``jax.distributed.initialize``
with a coordinator on 127.0.0.1, materializes a tree sharded over the 8
global devices, checks it holds only its addressable shards (1/8 of each
array per device) and saves them; this test assembles the shards of both
processes and compares them with a single-process, unsharded materialize
for the same key. The same code runs on a multi-host TPU or GPU slice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit.flax

pytestmark = pytest.mark.multiprocess

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import _mp_materialize as mp  # noqa: E402  (the shared tree, shardings and rules)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_hold_their_shards_and_agree_with_one_process(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    script = str(HERE / "_mp_materialize.py")
    procs = [
        subprocess.Popen(
            [sys.executable, script, str(i), "2", str(port), str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = []
    for p in procs:
        try:
            outputs.append(p.communicate(timeout=150))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("a process of the 2-process run did not finish in 150 s")
    for i, (p, (_, err)) in enumerate(zip(procs, outputs, strict=True)):
        assert p.returncode == 0, f"process {i} failed:\n{err[-4000:]}"

    # Assemble the global arrays from the shards both processes saved.
    single = jinit.flax.materialize(mp.ABSTRACT, mp.RULES, jax.random.key(mp.SEED))
    flat = jax.tree_util.tree_flatten_with_path(single)[0]
    expected = {jax.tree_util.keystr(path, simple=True, separator="/"): leaf for path, leaf in flat}
    assembled = {name: np.full(leaf.shape, np.nan, np.float32) for name, leaf in expected.items()}
    devices_seen: dict[str, set[int]] = {name: set() for name in expected}
    for i in range(2):
        with np.load(tmp_path / f"process_{i}.npz") as shards:
            for key in shards.files:
                name, device, start = key.split("|")
                begin = [int(v) for v in start.split(",")]
                block = shards[key]
                assembled[name][tuple(slice(b, b + n) for b, n in zip(begin, block.shape, strict=True))] = block
                devices_seen[name].add(int(device))
    for name, leaf in expected.items():
        assert len(devices_seen[name]) == 8, f"{name}: shards from devices {sorted(devices_seen[name])}"
        assert not np.isnan(assembled[name]).any(), f"{name}: some entries held by no process"
        chex.assert_trees_all_equal(assembled[name], np.asarray(leaf.astype(jnp.float32)))
