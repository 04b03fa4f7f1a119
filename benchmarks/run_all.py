"""Run every ``benchmarks/bench_*.py``, each in its own process, and collect the tables.

``python benchmarks/run_all.py [--quick]``: with ``--quick`` each script
runs its smoke check (tiny shapes, one round) in THIS process (one import
of jax and torch for all, so the check takes seconds) and the tables go to
stdout only; without it the full runs go to stdout and rewrite
``benchmarks/RESULTS.md`` with a header of versions, devices, CPU model and
date. ``--out FILE`` writes the collected markdown elsewhere (the GPU run),
``--append FILE`` adds them to an existing file, ``--timeout S`` bounds each
script, ``--only NAME ...`` picks scripts (``random``, ``orthogonal``, ...),
``--pass-args`` forwards the remaining arguments to every script.
A script that fails or times out is reported in place of its table, and the
exit status is non-zero.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only]
    return found


def run_in_process(path: Path, extra: list[str]) -> tuple[str, bool, float]:
    """Runs a script's ``__main__`` here (the smoke check): its stdout, whether it succeeded, wall seconds."""
    t0 = time.perf_counter()
    out, argv = io.StringIO(), sys.argv
    sys.argv = [str(path), *extra]
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
    except SystemExit as e:
        if e.code not in (0, None):
            return f"## {path.name}\n\n**failed (exit {e.code})**\n\n{out.getvalue()}", False, time.perf_counter() - t0
    except Exception as e:  # a smoke check reports every failure in place of its table
        return f"## {path.name}\n\n**failed**: {type(e).__name__}: {e}\n", False, time.perf_counter() - t0
    finally:
        sys.argv = argv
    return out.getvalue(), True, time.perf_counter() - t0


def run_script(path: Path, extra: list[str], timeout: float | None) -> tuple[str, bool, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(path), *extra],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        msg = f"## {path.name}\n\n**timed out after {timeout:.0f} s**; partial output:\n\n{out}\n"
        return msg, False, time.perf_counter() - t0
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return f"## {path.name}\n\n**failed (exit {proc.returncode})**:\n\n```\n{tail}\n```\n", False, wall
    return proc.stdout, True, wall


def environment_block() -> str:
    """The header: versions and devices, read in a child process like the benchmarks'."""
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import _harness as h; "
        "[print(f'- {k}: {v}') for k, v in h.environment().items()]"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    return proc.stdout if proc.returncode == 0 else f"(environment unavailable: {proc.stderr.strip()[-300:]})\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke check: tiny shapes, stdout only")
    p.add_argument("--out", type=Path, default=None, help="markdown output (default: RESULTS.md unless --quick)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per script")
    p.add_argument("--only", nargs="*", default=None, help="script names without bench_ (e.g. random vmap)")
    p.add_argument("--append", type=Path, default=None, help="append the tables to this file (no header)")
    p.add_argument("--title", default="Benchmark results", help="first heading of the output file")
    p.add_argument("--pass-args", nargs=argparse.REMAINDER, default=[], help="arguments for every script")
    args = p.parse_args()

    extra = (["--quick"] if args.quick else []) + args.pass_args
    writes = args.append is None and (args.out is not None or not args.quick)
    env_block = environment_block() if writes else ""  # before the runs: the load average at the start
    sections, ok = [], True
    t_all = time.perf_counter()
    for path in scripts(args.only):
        if args.quick and args.timeout is None:
            text, good, wall = run_in_process(path, extra)
        else:
            text, good, wall = run_script(path, extra, args.timeout)
        ok &= good
        print(text, flush=True)
        print(f"({path.name}: {wall:.1f} s)\n", flush=True)
        sections.append(text.rstrip() + f"\n\n_{path.name}: {wall:.0f} s wall._\n")
    print(f"All benchmarks: {time.perf_counter() - t_all:.1f} s.")

    if args.append is not None:
        with args.append.open("a") as f:
            f.write("\n" + "\n".join(sections))
        print(f"Appended to {args.append}.")
        sys.exit(0 if ok else 1)
    out = args.out or (None if args.quick else HERE / "RESULTS.md")
    if out is not None:
        command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "")
        doc = [
            f"# {args.title}\n",
            f"Written by `{command}`: each `benchmarks/bench_*.py` in its own process, competitors "
            "interleaved within it, medians of the rounds. Ratios below 1 mean jinit is faster.\n",
            "## Environment (at the start)\n",
            env_block,
            *sections,
        ]
        extra_notes = HERE / "NOTES.md"
        if out.name == "RESULTS.md" and extra_notes.exists():
            doc.append(extra_notes.read_text())
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(doc))
        print(f"Wrote {out}.")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
