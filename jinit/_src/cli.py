"""The ``jinit`` command: ``jinit list``, ``jinit check``."""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Sequence

import jax
import numpy as np

from jinit._src import registry
from jinit._src.progress import progress
from jinit._src.testing import check_moments


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must look like 256,512 or 3x3x64x128; got {text!r}") from None


def cmd_list(args: argparse.Namespace) -> int:
    rows = [(e.name, e.family, type(e.make()).__name__) for e in registry.entries()]
    w = max(len(r[0]) for r in rows)
    f = max(len(r[1]) for r in rows)
    print(f"{'scheme':<{w}}  {'family':<{f}}  class")
    for name, family, cls in rows:
        print(f"{name:<{w}}  {family:<{f}}  {cls}")
    print(f"{len(rows)} schemes")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    entries = [registry.get(n) for n in args.schemes] if args.schemes else registry.entries()
    dtype = np.dtype(args.dtype) if args.dtype != "bfloat16" else jax.numpy.bfloat16
    root = jax.random.key(args.seed)
    header = (
        f"{'scheme':<24} {'shape':<18} {'mean':>10} {'variance':>12} {'measured':>12} "
        f"{'z(var)':>7} {'bound':>10} {'max|w-m|':>10}  result"
    )
    print(f"law check: dtype={np.dtype(dtype).name}, seed={args.seed}, tolerance {args.n_sigma} standard errors")
    print(header)
    print("-" * len(header))
    failed = 0
    lines = []
    for entry in progress(entries, len(entries), "jinit check"):
        case = entry.cases()[0]
        init, shape = case.init, args.shape or case.shape
        key = jax.random.fold_in(root, zlib.crc32(entry.name.encode()))
        try:
            check = check_moments(init, shape, key=key, dtype=dtype, n_sigma=args.n_sigma)
        except (ValueError, TypeError) as e:
            lines.append(f"{entry.name:<24} {'x'.join(map(str, shape)):<18} skipped: {e}")
            continue
        var = check.get("variance")
        bound = next((s for s in check.statistics if s.name in ("bound", "max")), None)
        ok = "pass" if check.ok else "FAIL"
        failed += not check.ok
        lines.append(
            f"{entry.name:<24} {'x'.join(map(str, shape)):<18} {check.moments.mean:>10.4g} {var.expected:>12.5g} "
            f"{var.measured:>12.5g} {var.z:>7.2f} "
            f"{(f'{bound.expected:.4g}' if bound else '-'):>10} {(f'{bound.measured:.4g}' if bound else '-'):>10}  "
            f"{ok}" + ("" if check.ok else "  " + ", ".join(s.name for s in check.statistics if not s.ok))
        )
    print("\n".join(lines))
    print(f"{len(entries) - failed}/{len(entries)} schemes draw the law they claim")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jinit", description="Weight initializers for JAX, with their laws.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list every scheme")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("check", help="draw each scheme and compare its moments with its formula")
    p.add_argument("schemes", nargs="*", help="schemes to check (default: all)")
    p.add_argument("--shape", type=_parse_shape, default=None, help="e.g. 256,512 (default: each scheme's own)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16", "float64"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-sigma", type=float, default=6.0, dest="n_sigma")
    p.set_defaults(func=cmd_check)
    # --- diagnostics commands (issue 6) ---
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
