"""Many small kernels at once: 64 x (512, 512) glorot_uniform, float32.

Competitors, interleaved in one process:

* ``jinit vmap``: ``jax.jit(jax.vmap(jinit.glorot_uniform()))`` over 64 keys
  (one program);
* ``jinit stacked``: ``jinit.stacked(jinit.glorot_uniform(), 64)`` in one jit
  (keys ``fold_in(key, i)``);
* ``jax vmap``: the same vmap of ``jax.nn.initializers.glorot_uniform``;
* ``jax loop``: a Python loop of 64 calls of one jitted function;
* ``torch loop``: 64 ``torch.empty`` + ``xavier_uniform_`` (what 64 layers do).

Targets (CPU): jinit / jax vmap <= 0.25 and jinit / torch loop <= 0.5,
with jinit's values equal to jax's vmap.

Usage: ``python benchmarks/bench_vmap.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import math

import _harness as h
import jax
import jax.numpy as jnp
import torch

import jinit

TARGET_JAX_VMAP = 0.25
TARGET_TORCH_LOOP = 0.5


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="8 x (64, 64), one round (smoke check)")
    p.add_argument("--rounds", type=int, default=None)
    args = p.parse_args()
    n, shape = (8, (64, 64)) if args.quick else (64, (512, 512))
    rounds = args.rounds or (1 if args.quick else 9)
    device = h.torch_device()

    key = jax.random.key(0)
    keys = jax.random.split(key, n)
    ours = jinit.glorot_uniform()
    theirs = jax.nn.initializers.glorot_uniform()
    f_vmap = jax.jit(jax.vmap(lambda k: ours(k, shape, jnp.float32)))
    f_stacked = jax.jit(lambda k: jinit.stacked(ours, n)(k, (n, *shape), jnp.float32))
    j_vmap = jax.jit(jax.vmap(lambda k: theirs(k, shape, jnp.float32)))
    j_one = jax.jit(lambda k: theirs(k, shape, jnp.float32))

    def torch_loop() -> list:
        return [torch.nn.init.xavier_uniform_(torch.empty(shape, device=device)) for _ in range(n)]

    competitors = {
        "jinit vmap": lambda: f_vmap(keys),
        "jinit stacked": lambda: f_stacked(key),
        "jax vmap": lambda: j_vmap(keys),
        "jax loop": lambda: [j_one(k) for k in keys],
        "torch loop": torch_loop,
    }
    first, med = h.interleaved(competitors, rounds)
    identical = bool(jnp.array_equal(f_vmap(keys), j_vmap(keys)))
    base = med["jinit vmap"]
    nbytes = 4 * n * math.prod(shape)
    bw_name, bw_ref = h.reference_bandwidth(h.write_bandwidth(2**24 if args.quick else 2**28, 2 if args.quick else 5))
    rows = [
        [
            name,
            h.ms(t),
            h.ratio(base, t),
            f"{nbytes / t / 1e9:.2f}",
            f"{nbytes / t / bw_ref:.0%}",
            h.ms(max(first[name] - t, 0.0)),
        ]
        for name, t in med.items()
    ]
    print(h.header(f"{n} x {shape} glorot_uniform in one call (float32)", args.quick))
    print(f"Medians of {rounds} interleaved rounds; values of jinit vmap == jax vmap: {'yes' if identical else 'NO'}.")
    print(f"Fraction of write bandwidth against {bw_name} ({bw_ref / 1e9:.1f} GB/s).\n")
    print(h.table(["competitor", "ms", "jinit vmap / this", "GB/s", "of write BW", "compile ms"], rows))
    print()
    print(h.load_line())
    print()
    if not args.quick:
        r1 = med["jinit vmap"] / med["jax vmap"]
        r2 = med["jinit vmap"] / med["torch loop"]
        print(f"- jinit / jax vmap: {h.verdict(r1, TARGET_JAX_VMAP)} (values identical: {identical}).")
        print(f"- jinit / torch loop: {h.verdict(r2, TARGET_TORCH_LOOP)}.")


if __name__ == "__main__":
    main()
