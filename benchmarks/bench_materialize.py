"""Whole-model init: jinit.flax.materialize vs jax.jit(model.init) vs torch, each in a fresh process.

The model is a stack of layers, each a Dense d -> 4d -> d plus four d x d
attention projections (all with biases): d = 1024 and 12 layers give 151M
parameters (604 MB in float32).

* ``materialize (torch laws)``: ``jax.eval_shape(model.init)`` then
  ``jinit.flax.materialize`` with the laws torch gives these layers
  (``jinit.torch.linear_weight`` and ``linear_bias(fan_in)``: uniform), so
  that it draws what torch draws; timed from the model definition to arrays
  ready.
* ``materialize (flax laws)``: the same with Flax's default laws
  (``lecun_normal`` kernels, a truncated normal, and zero biases), so that
  it draws what ``jax.jit(model.init)`` draws.
* ``jit_init``: ``jax.jit(model.init)(key, x)`` (compile reported apart).
* ``torch``: ``nn.Sequential`` of ``nn.Linear`` with torch's default init.

Each competitor runs in its own subprocess (so compile caches, allocator
pools and imports do not leak between them), the rounds interleaved, and
the table quotes medians. Wall time is compile plus run. Peak RSS is the
process high-water mark (``ru_maxrss``); the baseline is the RSS after the
imports and a first tiny op, so ``peak / (baseline + parameter bytes)`` is
the memory overhead of building the model.

Targets, for materialize with torch's laws: wall <= 1.5 x torch,
peak RSS <= 1.3 x (baseline + parameter bytes).

Usage: ``python benchmarks/bench_materialize.py [--quick] [--rounds N]``;
prints a markdown table to stdout. ``--quick`` is a smoke test (a 1-layer
d=64 stack, every method once in this process, a few seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

WALL_TARGET = 1.5  # materialize wall / torch wall
RSS_TARGET = 1.3  # peak RSS / (baseline + parameter bytes)


def peak_rss() -> int:
    """The process's peak resident set size in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def worker_jax(kind: str, layers: int, d: int) -> dict:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    import jinit
    import jinit.flax
    import jinit.torch

    class Layer(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            x = nn.Dense(d, name="down")(nn.Dense(4 * d, name="up")(x))
            for name in ("q", "k", "v", "o"):
                x = nn.Dense(d, name=name)(x)
            return x

    class Stack(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            for i in range(layers):
                x = Layer(name=f"layer_{i}")(x)
            return x

    model, x, key = Stack(), jnp.ones((1, d)), jax.random.key(0)
    jax.block_until_ready(jnp.zeros(4) + 1)  # start the runtime: part of the baseline
    baseline = current_rss()
    out: dict = {"baseline": baseline}
    t0 = time.perf_counter()
    if kind.startswith("materialize"):
        abstract = jax.eval_shape(model.init, key, x)
        if kind == "materialize_flax":  # Flax's default laws
            rules = {r".*kernel": jinit.lecun_normal(), r".*bias": jinit.zeros}
        else:  # torch's default laws for nn.Linear; a bias's bound uses its weight's fan_in
            rules = {
                r".*kernel": jinit.torch.linear_weight(),
                r".*/down/bias": jinit.torch.linear_bias(4 * d),
                r".*bias": jinit.torch.linear_bias(d),
            }
        params = jinit.flax.materialize(abstract, rules, key)
    else:
        compiled = jax.jit(model.init).lower(key, x).compile()
        out["compile"] = time.perf_counter() - t0
        params = compiled(key, x)
    jax.block_until_ready(params)
    out["wall"] = time.perf_counter() - t0
    out["peak"] = peak_rss()
    out["bytes"] = sum(a.nbytes for a in jax.tree_util.tree_leaves(params))
    return out


def worker_torch(layers: int, d: int) -> dict:
    import torch

    torch.zeros(4).add_(1)
    baseline = current_rss()
    t0 = time.perf_counter()
    modules = []
    for _ in range(layers):
        modules += [torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)]
        modules += [torch.nn.Linear(d, d) for _ in range(4)]
    model = torch.nn.Sequential(*modules)
    wall = time.perf_counter() - t0
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return {"baseline": baseline, "wall": wall, "peak": peak_rss(), "bytes": nbytes}


COMPETITORS = ("materialize_torch", "materialize_flax", "jit_init", "torch")
LABELS = {
    "materialize_torch": "jinit.flax.materialize, torch's laws",
    "materialize_flax": "jinit.flax.materialize, Flax's laws",
    "jit_init": "jax.jit(model.init), Flax's laws",
    "torch": "torch nn.Linear stack, torch's laws",
}


def start_worker(kind: str, layers: int, d: int) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", kind, "--layers", str(layers), "--d", str(d)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_worker(kind: str, proc: subprocess.Popen) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def versions() -> str:
    import jax
    import jaxlib

    parts = [f"jax {jax.__version__}", f"jaxlib {jaxlib.__version__}"]
    try:
        import flax

        parts.append(f"flax {flax.__version__}")
    except ImportError:
        pass
    try:
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    except ImportError:
        pass
    cpu = platform.processor() or platform.machine()
    device = f"{jax.devices()[0].platform} x{jax.device_count()}, {os.cpu_count()} CPU cores ({cpu})"
    return ", ".join(parts) + f"; device: {device}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-layer d=64 stack, one round in-process (smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per competitor (default 3, quick 1)")
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--d", type=int, default=None)
    parser.add_argument("--worker", choices=COMPETITORS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    layers = args.layers or (1 if args.quick else 12)
    d = args.d or (64 if args.quick else 1024)
    if args.worker:
        result = worker_torch(layers, d) if args.worker == "torch" else worker_jax(args.worker, layers, d)
        print(json.dumps(result))
        return

    rounds = args.rounds or (1 if args.quick else 3)
    results: dict[str, list[dict]] = {k: [] for k in COMPETITORS}
    for _ in range(rounds):  # interleaved: each round runs every competitor once
        if args.quick:  # a smoke test: every method in this process, to finish in seconds
            for kind in COMPETITORS:
                results[kind].append(worker_torch(layers, d) if kind == "torch" else worker_jax(kind, layers, d))
        else:  # each in a fresh process, one at a time
            for kind in COMPETITORS:
                results[kind].append(finish_worker(kind, start_worker(kind, layers, d)))

    def med(kind: str, field: str) -> float:
        return statistics.median(r[field] for r in results[kind])

    torch_wall = med("torch", "wall")
    n_params = results["torch"][0]["bytes"] // 4
    print(f"### jinit.flax.materialize: {layers}-layer stack, d={d}, {n_params / 1e6:.1f}M parameters\n")
    how = "one run in this process (--quick)" if args.quick else f"medians of {rounds} fresh processes, interleaved"
    print(f"Per method: {how}. {versions()}.\n")
    print("| method | wall (s) | compile (s) | wall / torch | peak RSS (MB) | baseline (MB) | peak / (base + params) |")
    print("|---|---|---|---|---|---|---|")
    for kind in COMPETITORS:
        wall, peak, base, nbytes = med(kind, "wall"), med(kind, "peak"), med(kind, "baseline"), med(kind, "bytes")
        compile_s = f"{med(kind, 'compile'):.2f}" if kind == "jit_init" else "-"
        print(
            f"| {LABELS[kind]} | {wall:.2f} | {compile_s} | {wall / torch_wall:.2f} | {peak / 1e6:.0f} | "
            f"{base / 1e6:.0f} | {peak / (base + nbytes):.2f} |"
        )
    if args.quick:
        print("\n(--quick: a smoke test on a small stack, all in one process; its ratios say nothing.)")
        return
    wall_ratio = med("materialize_torch", "wall") / torch_wall
    base_params = med("materialize_torch", "baseline") + med("materialize_torch", "bytes")
    rss_ratio = med("materialize_torch", "peak") / base_params
    print(
        f"\nTargets (materialize with torch's laws): wall <= {WALL_TARGET} x torch: {wall_ratio:.2f} "
        f"({'met' if wall_ratio <= WALL_TARGET else 'NOT met'}); peak RSS <= {RSS_TARGET} x (baseline + params): "
        f"{rss_ratio:.2f} ({'met' if rss_ratio <= RSS_TARGET else 'NOT met'})."
    )


if __name__ == "__main__":
    main()
