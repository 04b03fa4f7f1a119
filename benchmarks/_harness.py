"""Shared timing harness of the benchmarks (not a benchmark itself: no ``bench_`` prefix).

* Competitors run in one process, interleaved: every round calls each of
  them once, in an order that alternates between rounds, so that drift in
  the machine's load (others' jobs, thermal state) hits all of them alike.
* The first call of each competitor (compile plus run) is reported apart.
* Each sample is the time of ``inner`` back-to-back calls followed by one
  synchronisation, divided by ``inner``; ``inner`` is chosen after the
  warm-up so that a sample lasts at least ``min_sample`` seconds (1 on CPU
  for large arrays, many on a GPU).
* The tables quote medians and ratios of medians.

Synchronisation: ``jax.block_until_ready`` for jax outputs,
``torch.cuda.synchronize()`` when torch runs on CUDA.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - torch is a bench extra
    torch = None


def torch_device() -> str:
    """'cuda' when torch sees a GPU, else 'cpu'."""
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"


def sync(result: Any) -> None:
    """Wait until ``result`` (jax arrays, torch tensors or a tree of them) is computed."""
    if torch is not None and torch_device() == "cuda":
        torch.cuda.synchronize()
    leaves = [x for x in jax.tree_util.tree_leaves(result) if isinstance(x, jax.Array)]
    if leaves:
        jax.block_until_ready(leaves)


def _timed(fn: Callable[[], Any], inner: int) -> float:
    t0 = time.perf_counter()
    out = [fn() for _ in range(inner)]
    sync(out)
    return (time.perf_counter() - t0) / inner


def interleaved(
    competitors: dict[str, Callable[[], Any]], rounds: int, min_sample: float = 0.02
) -> tuple[dict[str, float], dict[str, float]]:
    """Time every competitor ``rounds`` times, interleaved.

    Returns:
      ``(first, median)``: seconds of the first call (compile + run) and the
      median steady-state seconds per call.
    """
    first: dict[str, float] = {}
    inner: dict[str, int] = {}
    for name, fn in competitors.items():
        first[name] = _timed(fn, 1)
        steady = _timed(fn, 1)
        inner[name] = max(1, min(1000, math.ceil(min_sample / max(steady, 1e-7))))
    samples: dict[str, list[float]] = {name: [] for name in competitors}
    names = list(competitors)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            samples[name].append(_timed(competitors[name], inner[name]))
    return first, {name: statistics.median(s) for name, s in samples.items()}


def write_bandwidth(nbytes: int = 256 * 2**20, rounds: int = 5) -> dict[str, float]:
    """The memory write bandwidth in bytes/s, the physical floor of any init.

    ``numpy_fill``: ``ndarray.fill`` of a preallocated host array (pure
    stores); ``numpy_copy``: ``np.copyto`` (a read and a write per byte,
    counted as the bytes written); ``jax_full``: a jitted ``jnp.full`` on
    jax's default device (allocation included, like an initializer).
    """
    n = nbytes // 4
    host = np.empty(n, np.float32)
    src = np.ones(n, np.float32)
    full = jax.jit(lambda: jnp.full((n,), 1.0, jnp.float32))
    sync(full())
    res = {}
    for name, fn in (
        ("numpy_fill", lambda: host.fill(1.0)),
        ("numpy_copy", lambda: np.copyto(host, src)),
        ("jax_full", full),
    ):
        fn()
        res[name] = nbytes / statistics.median(_timed(fn, 1) for _ in range(rounds))
    return res


def reference_bandwidth(bw: dict[str, float]) -> tuple[str, float]:
    """The write bandwidth to compare with: host fill on CPU, device fill on accelerators."""
    if jax.default_backend() == "cpu":
        name = max(("numpy_fill", "jax_full"), key=lambda k: bw[k])
    else:
        name = "jax_full"
    return name, bw[name]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def environment() -> dict[str, str]:
    """Versions, devices and thread counts, for the header of the results."""
    import jaxlib

    dev = jax.devices()[0]
    env = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "jax device": f"{dev.platform}: {getattr(dev, 'device_kind', '?')} (x{jax.device_count()})",
        "cpu": f"{cpu_model()}, {cores()} cores",
    }
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch device"] = torch_device() + (f": {torch.cuda.get_device_name()}" if torch_device() == "cuda" else "")
        env["torch threads"] = str(torch.get_num_threads())
    try:
        env["load average"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        pass
    return env


_LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def load_line() -> str:
    """The machine's 1-minute load average when the script started and now (others' jobs slow us all)."""
    now = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"Load average (1 min) on {cores()} cores: {_LOAD_AT_START:.1f} at start, {now:.1f} at the end."


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}" if seconds < 10 else f"{seconds * 1e3:.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}"


def verdict(value: float, target: float) -> str:
    return f"{value:.2f} <= {target} met" if value <= target else f"{value:.2f} > {target} NOT met"


def header(title: str, quick: bool) -> str:
    mode = " (quick: tiny shapes, one round; a smoke check, not a measurement)" if quick else ""
    return f"## {title}{mode}\n"
