"""A recipe at model scale: a 1B-parameter Llama drawn by ``jinit.recipes`` vs transformers vs ``jax.jit(model.init)``.

The model is Llama-shaped, untied (``tie_word_embeddings=False``, Llama's
default, so the LM head is drawn apart from the embedding): hidden 2048,
16 layers, intermediate 5632, vocab 32000, 32 heads and 32 key/value heads
(every attention projection 2048 x 2048), 0.95B parameters: 3.8 GB in
float32, 1.9 GB in bfloat16. Each competitor draws the same parameter
shapes with the same law, transformers' ``_init_weights`` for Llama: N(0,
0.02^2) for every Linear and the embedding, ones for the RMSNorm scales.

* ``jinit``: ``jinit.recipes.huggingface(config)`` (the config as
  ``LlamaConfig(...).to_dict()`` holds it, written out here so that the
  process imports neither torch nor transformers) applied by
  ``jinit.tree.materialize`` to the state dict's names and shapes
  (``jax.ShapeDtypeStruct``, torch's ``(out, in)`` layout). Timed from the
  config to arrays ready; the same call again with another key (its
  programs compiled) gives the steady-state draw, the difference is
  jinit's trace and compile.
* ``torch``: ``LlamaForCausalLM(LlamaConfig(...))`` (float32) or
  ``AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)``
  (bfloat16: built in that dtype, as ``from_config`` does), on the CPU with
  ``torch.set_num_threads`` = the cores jax's CPU client uses (this
  process's affinity). Its cost is torch's own: ``nn.Linear`` and
  ``nn.Embedding`` draw their defaults, then ``post_init`` redraws them
  with ``_init_weights``.
* ``jit_init``: ``jax.jit(model.init)`` of a Flax linen stack with the same
  parameter shapes in Flax's ``(in, out)`` layout (Embed, per layer two
  RMSNorms and seven bias-free Dense, a final RMSNorm and the head;
  ``normal(0.02)`` kernels, ones for the scales; the forward pass only
  wires the layers). Lower and compile are reported apart; its wall is
  compile plus run.

Each run is a fresh subprocess (compile caches, allocator pools and imports
do not leak between runs), one at a time, the competitors interleaved in an
order that alternates between rounds; the tables quote medians. Memory: the
baseline is the RSS (psutil) after the imports and a first tiny op; the
kernel's high-water mark is then reset (``/proc/self/clear_refs``) and read
back as ``VmHWM`` after the arrays are ready, so "peak above baseline" is
what building the model cost, compared with the parameters' bytes.

Targets for jinit: wall <= 1.0 x torch's; peak above baseline <= 1.1 x the
parameters' bytes. jinit's values are checked against the recipe's law
(every role's pooled mean and variance within 6 standard errors, the norm
scales exactly 1) in every run; a failed check fails the script.

Usage: ``python benchmarks/bench_recipe.py [--quick] [--rounds N] [--dtypes float32 bfloat16]``.
``--quick``: a 51M-parameter model (hidden 512, 8 layers, intermediate
2816, vocab 8000), every competitor once in this process, float32 and
bfloat16 for jinit; it asserts that everything runs, that jinit's values
have the recipe's law, that transformers draws the same law, and that the
three hold the same parameter shapes; never a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

WALL_TARGET = 1.0  # jinit wall / torch wall
MEMORY_TARGET = 1.1  # jinit (peak RSS - baseline) / parameter bytes
SIGMAS = 6  # width of the statistical checks, in standard errors

#: Llama-shaped configs (transformers' LlamaConfig names). Heads only shape attention's math, not its parameters.
SHAPES = {
    "1b": {
        "hidden_size": 2048,
        "num_hidden_layers": 16,
        "intermediate_size": 5632,
        "vocab_size": 32000,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
    },
    "quick": {
        "hidden_size": 512,
        "num_hidden_layers": 8,
        "intermediate_size": 2816,
        "vocab_size": 8000,
        "num_attention_heads": 8,
        "num_key_value_heads": 8,
    },
}
INITIALIZER_RANGE = 0.02
COMPETITORS = ("jinit", "torch", "jit_init")
LABELS = {
    "jinit": "jinit.recipes.huggingface + jinit.tree.materialize",
    "torch": "transformers LlamaForCausalLM(config), torch init",
    "jit_init": "jax.jit(model.init), Flax linen stack",
}


def cores() -> int:
    """CPU cores this process may run on: jax's CPU client uses as many threads."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def hf_config(shape: dict[str, int]) -> dict[str, Any]:
    """The keys of ``LlamaConfig(...).to_dict()`` the recipe reads, and the shapes."""
    return {"model_type": "llama", "initializer_range": INITIALIZER_RANGE, "tie_word_embeddings": False, **shape}


# ---------------------------------------------------------------------------
# Memory


def current_rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def reset_peak() -> bool:
    """Resets the kernel's RSS high-water mark to the current RSS (Linux); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    """The RSS high-water mark in bytes: ``VmHWM`` (since the last reset), else ``ru_maxrss`` (since start)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# ---------------------------------------------------------------------------
# The models' shapes


def state_dict_shapes(shape: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """``LlamaForCausalLM(config).state_dict()``'s names and shapes (torch layout: a Linear's weight is (out, in))."""
    d, f, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    kv = d * shape["num_key_value_heads"] // shape["num_attention_heads"]
    out: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (v, d)}
    for i in range(shape["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out |= {
            p + "self_attn.q_proj.weight": (d, d),
            p + "self_attn.k_proj.weight": (kv, d),
            p + "self_attn.v_proj.weight": (kv, d),
            p + "self_attn.o_proj.weight": (d, d),
            p + "mlp.gate_proj.weight": (f, d),
            p + "mlp.up_proj.weight": (f, d),
            p + "mlp.down_proj.weight": (d, f),
            p + "input_layernorm.weight": (d,),
            p + "post_attention_layernorm.weight": (d,),
        }
    out |= {"model.norm.weight": (d,), "lm_head.weight": (v, d)}
    return out


def parameter_count(shape: dict[str, int]) -> int:
    return sum(math.prod(s) for s in state_dict_shapes(shape).values())


def flax_model(shape: dict[str, int], dtype: Any) -> Any:
    """A linen Llama-shaped stack: the parameter shapes of ``state_dict_shapes`` in Flax's (in, out) layout."""
    import flax.linen as nn
    import jax

    d, f, v = shape["hidden_size"], shape["intermediate_size"], shape["vocab_size"]
    kv = d * shape["num_key_value_heads"] // shape["num_attention_heads"]
    normal = nn.initializers.normal(INITIALIZER_RANGE)

    def dense(features: int, name: str) -> nn.Dense:
        return nn.Dense(features, use_bias=False, kernel_init=normal, dtype=dtype, param_dtype=dtype, name=name)

    def norm(name: str) -> nn.RMSNorm:
        return nn.RMSNorm(dtype=dtype, param_dtype=dtype, name=name)

    class Block(nn.Module):
        @nn.compact
        def __call__(self, h: jax.Array) -> jax.Array:
            a = norm("input_layernorm")(h)
            q, k, vv = dense(d, "q_proj")(a), dense(kv, "k_proj")(a), dense(kv, "v_proj")(a)
            mixed = q + jax.numpy.tile(k * vv, d // kv)  # wires the projections; attention's math is not the point
            h = h + dense(d, "o_proj")(mixed)
            m = norm("post_attention_layernorm")(h)
            return h + dense(d, "down_proj")(nn.silu(dense(f, "gate_proj")(m)) * dense(f, "up_proj")(m))

    class Llama(nn.Module):
        @nn.compact
        def __call__(self, tokens: jax.Array) -> jax.Array:
            h = nn.Embed(v, d, embedding_init=normal, dtype=dtype, param_dtype=dtype, name="embed_tokens")(tokens)
            for i in range(shape["num_hidden_layers"]):
                h = Block(name=f"layers_{i}")(h)
            return dense(v, "lm_head")(norm("norm")(h))

    return Llama()


# ---------------------------------------------------------------------------
# The law of jinit's values


def check_law(recipe: Any, abstract: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """Each role's values pooled over its leaves against the recipe's ``moments``; a line per role.

    Raises AssertionError on a role whose mean or variance is more than
    ``SIGMAS`` standard errors off (the relative standard error of a second
    moment of n draws with kurtosis k is sqrt((k - 1) / n); plus 2 eps of a
    half-precision dtype, where the std itself is rounded), or a constant
    role with any other value.
    """
    import jax.numpy as jnp
    import numpy as np

    pooled: dict[str, list[Any]] = {}
    for path, (role, init) in recipe.assign(abstract).items():
        pooled.setdefault(role, []).append((path, init))
    lines = []
    for role, members in pooled.items():
        n, total, squares = 0, 0.0, 0.0
        law = members[0][1].moments(abstract[members[0][0]].shape)
        for path, init in members:
            assert init.moments(abstract[path].shape) == law, f"{role}: {path} has another law than {members[0][0]}"
            x = np.asarray(params[path].astype(jnp.float32), dtype=np.float64).ravel()
            assert params[path].dtype == abstract[path].dtype, f"{path}: dtype {params[path].dtype}"
            n += x.size
            total += float(x.sum())
            squares += float(np.dot(x - law.mean, x - law.mean))
        mean, variance = total / n, squares / n
        if law.variance == 0:
            assert mean == law.mean and variance == 0, (
                f"{role}: a constant {law.mean} law; got mean {mean}, var {variance}"
            )
            lines.append(f"{role}: {n} values, all {law.mean:g}")
            continue
        dtype = params[members[0][0]].dtype
        eps = float(jnp.finfo(dtype).eps) if jnp.finfo(dtype).bits < 32 else 0.0
        kurtosis = 3.0 + (law.excess_kurtosis or 0.0)
        mean_se = math.sqrt(law.variance / n)
        var_tol = SIGMAS * math.sqrt((kurtosis - 1) / n) + 2 * eps
        assert abs(mean - law.mean) <= SIGMAS * mean_se, f"{role}: mean {mean:.3e}, law {law.mean} +- {mean_se:.1e}"
        assert abs(variance / law.variance - 1) <= var_tol, (
            f"{role}: variance {variance:.4e}, law {law.variance:.4e} (relative tolerance {var_tol:.1e})"
        )
        lines.append(f"{role}: {n} values, std {math.sqrt(variance):.5f} (law {math.sqrt(law.variance):.5f})")
    return lines


# ---------------------------------------------------------------------------
# Workers: one measured run each (a fresh process in full mode)

COMPILE_EVENTS = (  # jax.monitoring's durations of tracing, lowering and XLA's compile of each program
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


@contextlib.contextmanager
def compile_log() -> Iterator[dict[str, float]]:
    """Sums jax's trace, lower and compile durations while the block runs (all threads: they may overlap)."""
    import jax

    log = {"seconds": 0.0, "programs": 0}

    def listener(event: str, duration: float, **kwargs: Any) -> None:
        if event in COMPILE_EVENTS:
            log["seconds"] += duration
            log["programs"] += event == COMPILE_EVENTS[-1]

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield log
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def worker_jinit(shape: dict[str, int], dtype_name: str, check: bool) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    import jinit.recipes
    import jinit.tree

    jax.block_until_ready(jnp.zeros(4) + 1)  # start the runtime: part of the baseline
    reset = reset_peak()
    baseline = current_rss()
    t0 = time.perf_counter()
    dtype = jnp.dtype(dtype_name)
    recipe = jinit.recipes.huggingface(hf_config(shape))
    abstract = {k: jax.ShapeDtypeStruct(s, dtype) for k, s in state_dict_shapes(shape).items()}
    with compile_log() as compiled:
        params = jinit.tree.materialize(abstract, recipe, jax.random.key(0))
        jax.block_until_ready(params)
    wall = time.perf_counter() - t0
    peak = peak_rss()
    nbytes = sum(a.nbytes for a in params.values())
    law = check_law(recipe, abstract, params) if check else []
    del params
    t0 = time.perf_counter()
    jax.block_until_ready(jinit.tree.materialize(abstract, recipe, jax.random.key(1)))
    steady = time.perf_counter() - t0
    out = {"baseline": baseline, "peak": peak, "reset": reset, "wall": wall, "steady": steady, "bytes": nbytes}
    return out | {"compile": compiled["seconds"], "programs": compiled["programs"], "law": law}


def worker_torch(shape: dict[str, int], dtype_name: str, check: bool) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    threads = torch.get_num_threads()
    torch.set_num_threads(cores())
    try:
        torch.zeros(4).add_(1)
        reset = reset_peak()
        baseline = current_rss()
        t0 = time.perf_counter()
        config = LlamaConfig(**{k: v for k, v in hf_config(shape).items() if k != "model_type"})
        if dtype_name == "float32":
            model = LlamaForCausalLM(config)
        else:
            model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype_name))
        wall = time.perf_counter() - t0
        peak = peak_rss()
        state = model.state_dict()
        nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
        out = {"baseline": baseline, "peak": peak, "reset": reset, "wall": wall, "bytes": nbytes}
        out["threads"] = torch.get_num_threads()
        if check:  # the same names, shapes and dtype as jinit's tree, and the same law
            shapes = {k: tuple(t.shape) for k, t in state.items()}
            expected = state_dict_shapes(shape)
            differ = sorted(k for k in set(shapes) | set(expected) if shapes.get(k) != expected.get(k))
            assert not differ, f"transformers' state dict differs from jinit's tree at {differ[:5]}"
            assert all(str(t.dtype) == f"torch.{dtype_name}" for t in state.values())
            assert (config.to_dict()["tie_word_embeddings"], config.to_dict()["initializer_range"]) == (False, 0.02)
            q = state["model.layers.0.self_attn.q_proj.weight"].double()
            tol = SIGMAS * math.sqrt(2 / q.numel()) + (2 * 2**-7 if dtype_name == "bfloat16" else 0.0)
            assert abs(float(q.var()) / INITIALIZER_RANGE**2 - 1) <= tol, f"torch q_proj std {float(q.std())}"
            assert bool((state["model.norm.weight"] == 1).all())
        return out
    finally:
        torch.set_num_threads(threads)


def worker_jit_init(shape: dict[str, int], dtype_name: str, check: bool) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    jax.block_until_ready(jnp.zeros(4) + 1)
    reset = reset_peak()
    baseline = current_rss()
    t0 = time.perf_counter()
    model = flax_model(shape, jnp.dtype(dtype_name))
    key, tokens = jax.random.key(0), jnp.zeros((1, 1), jnp.int32)
    compiled = jax.jit(model.init).lower(key, tokens).compile()
    compile_s = time.perf_counter() - t0
    params = compiled(key, tokens)
    jax.block_until_ready(params)
    wall = time.perf_counter() - t0
    peak = peak_rss()
    leaves = jax.tree_util.tree_leaves(params)
    nbytes = sum(a.nbytes for a in leaves)
    if check:
        got = sorted(math.prod(a.shape) for a in leaves)
        assert got == sorted(math.prod(s) for s in state_dict_shapes(shape).values()), "Flax stack's sizes differ"
    return {"baseline": baseline, "peak": peak, "reset": reset, "wall": wall, "compile": compile_s, "bytes": nbytes}


WORKERS = {"jinit": worker_jinit, "torch": worker_torch, "jit_init": worker_jit_init}


def run_fresh(kind: str, size: str, dtype_name: str, check: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", kind, "--size", size, "--dtypes", dtype_name]
    if not check:
        cmd.append("--no-check")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} ({dtype_name}) worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Report


def versions() -> str:
    import importlib.metadata as md

    import jax

    parts = []
    for pkg in ("jax", "jaxlib", "flax", "torch", "transformers"):
        try:
            parts.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            parts.append(f"{pkg} absent")
    dev = jax.devices()[0]
    return ", ".join(parts) + f"; jax device: {dev.platform} x{jax.device_count()}; {cores()} CPU cores"


def report(results: dict[str, list[dict[str, Any]]], dtype_name: str, rounds: int, quick: bool) -> None:
    def med(kind: str, field: str) -> float:
        return statistics.median(r[field] for r in results[kind])

    torch_wall = med("torch", "wall")
    jit_wall = med("jit_init", "wall") if results["jit_init"] else math.nan
    print(f"#### {dtype_name}\n")
    print(
        "| method | wall (s) | compile (s) | draw (s) | wall / torch | wall / jit_init "
        "| peak above baseline (MB) | params (MB) | peak above baseline / params | baseline RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in (k for k in COMPETITORS if results[k]):
        wall, nbytes = med(kind, "wall"), med(kind, "bytes")
        above = statistics.median(r["peak"] - r["baseline"] for r in results[kind])
        if kind == "jinit":
            programs = statistics.median(r["programs"] for r in results[kind])
            compile_s = f"{med(kind, 'compile'):.2f} ({programs:.0f} programs, overlapping the draws)"
            steady_s = f"{med(kind, 'steady'):.2f} (a second call)"
        elif kind == "jit_init":
            compile_s, steady_s = f"{med(kind, 'compile'):.2f}", f"{wall - med(kind, 'compile'):.2f}"
        else:
            compile_s, steady_s = "-", "-"
        of_jit = "-" if math.isnan(jit_wall) else f"{wall / jit_wall:.2f}"
        print(
            f"| {LABELS[kind]} | {wall:.2f} | {compile_s} | {steady_s} | {wall / torch_wall:.2f} | {of_jit} | "
            f"{above / 1e6:.0f} | {nbytes / 1e6:.0f} | {above / nbytes:.2f} | "
            f"{med(kind, 'baseline') / 1e6:.0f} |"
        )
    if not results["jit_init"]:
        print("\n(jit_init: float32 only in --quick.)")
    if not all(r["reset"] for rs in results.values() for r in rs):
        print("\n(The RSS high-water mark could not be reset: peaks are since process start.)")
    if quick:
        return
    walls = ", ".join(f"{r['wall']:.2f}" for r in results["jinit"])
    torch_walls = ", ".join(f"{r['wall']:.2f}" for r in results["torch"])
    wall_ratio = med("jinit", "wall") / torch_wall
    memory_ratio = statistics.median((r["peak"] - r["baseline"]) / r["bytes"] for r in results["jinit"])
    print(f"\nRuns (s): jinit {walls}; torch {torch_walls}.")
    print(
        f"Targets (jinit, {dtype_name}): wall <= {WALL_TARGET} x torch: {wall_ratio:.2f} "
        f"({'met' if wall_ratio <= WALL_TARGET else 'NOT met'}); peak above baseline <= {MEMORY_TARGET} x params: "
        f"{memory_ratio:.2f} ({'met' if memory_ratio <= MEMORY_TARGET else 'NOT met'}).\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="51M parameters, every competitor once in-process")
    parser.add_argument("--rounds", type=int, default=None, help="fresh processes per competitor (default 3)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    parser.add_argument("--size", choices=sorted(SHAPES), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-check", action="store_true", help="skip the law check of jinit's values")
    parser.add_argument("--worker", choices=COMPETITORS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = args.size or ("quick" if args.quick else "1b")
    shape = SHAPES[size]
    if args.worker:
        print(json.dumps(WORKERS[args.worker](shape, args.dtypes[0], not args.no_check)))
        return

    rounds = 1 if args.quick else (args.rounds or 3)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    n = parameter_count(shape)
    title = "quick: a smoke check, not a measurement" if args.quick else f"medians of {rounds} fresh processes"
    print(f"### Llama recipe at model scale: {n / 1e6:.0f}M parameters ({title})\n")
    print(
        f"hidden {shape['hidden_size']}, {shape['num_hidden_layers']} layers, intermediate "
        f"{shape['intermediate_size']}, vocab {shape['vocab_size']}, {shape['num_key_value_heads']} key/value heads "
        f"of {shape['num_attention_heads']}, untied LM head; N(0, {INITIALIZER_RANGE}^2) Linear and Embedding "
        f"weights, RMSNorm scales 1. {versions()}; torch threads set to {cores()} (the cores jax uses).\n"
    )
    for dtype_name in args.dtypes:
        results: dict[str, list[dict[str, Any]]] = {k: [] for k in COMPETITORS}
        for r in range(rounds):
            order = COMPETITORS if r % 2 == 0 else tuple(reversed(COMPETITORS))
            for kind in order:
                if args.quick:  # in this process: seconds, every check still runs (Flax's compile: float32 only)
                    if kind != "jit_init" or dtype_name == "float32":
                        results[kind].append(WORKERS[kind](shape, dtype_name, True))
                else:
                    results[kind].append(run_fresh(kind, size, dtype_name, not args.no_check))
        report(results, dtype_name, rounds, args.quick)
        law = results["jinit"][0]["law"]
        if law:
            print(f"\njinit's values against the recipe's law ({dtype_name}): " + "; ".join(law) + ".\n")
    if args.quick:
        print("(--quick: one run each in this process; peaks and times say nothing.)")
    try:
        print(
            f"Load average (1 min) on {cores()} cores: {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at the end."
        )
    except OSError:
        pass


if __name__ == "__main__":
    main()
