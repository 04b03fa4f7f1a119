"""The ``jinit`` command: ``jinit list``, ``jinit check``, ``jinit propagate``, ``jinit explain``."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import math
import re
import sys
import textwrap
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jinit._src.diagnostics import catalog
from jinit._src.diagnostics.progress import progress
from jinit._src.diagnostics.testing import check_moments


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must look like 256,512 or 3x3x64x128; got {text!r}") from None


def cmd_list(args: argparse.Namespace) -> int:
    rows = [(e.name, e.family, type(e.make()).__name__) for e in catalog.entries()]
    w = max(len(r[0]) for r in rows)
    f = max(len(r[1]) for r in rows)
    print(f"{'scheme':<{w}}  {'family':<{f}}  class")
    for name, family, cls in rows:
        print(f"{name:<{w}}  {family:<{f}}  {cls}")
    print(f"{len(rows)} schemes")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    entries = [catalog.get(n) for n in args.schemes] if args.schemes else catalog.entries()
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
        init, shape = entry.make(), args.shape or entry.shape
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


def _parse_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated scheme names; got {text!r}")
    return names


def cmd_propagate(args: argparse.Namespace) -> int:
    from jinit._src.diagnostics.propagate import propagate
    from jinit._src.schemes import basic

    bias = None if args.bias_variance == 0.0 else basic.normal(math.sqrt(args.bias_variance))
    result = propagate(
        list(args.schemes),
        args.activation,
        depth=args.depth,
        width=args.width,
        batch=args.batch,
        seeds=args.seeds,
        key=args.seed,
        bias_init=bias,
        param=args.param,
        progress=True,
    )
    print(result.table())
    print()
    print(result.layer_table("second_moment", args.every))
    print()
    print(result.layer_table("grad_norm", args.every))
    if args.out:
        from jinit._src.diagnostics import plot

        fig = plot.propagation(result)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
        plot.pyplot().close(fig)
        print(f"\nwrote {out}")
    return 0


def _doc_sections(doc: str | None) -> tuple[str, str]:
    """(summary before Args/Returns/Examples, the References section) of a docstring."""
    if not doc:
        return "", ""
    lines = inspect.cleandoc(doc).splitlines()
    heads = ("Args:", "Returns:", "Examples:", "Raises:", "References:", "Attributes:")
    summary, refs, where = [], [], "summary"
    for line in lines:
        if line.strip() in heads:
            where = "refs" if line.strip() == "References:" else "other"
            continue
        if where == "summary":
            summary.append(line)
        elif where == "refs":
            refs.append(line.strip())
    return "\n".join(summary).strip(), " ".join(r for r in refs if r)


def _pick_references(refs: str, summary: str) -> str:
    """The references of a module whose "Author (year)" the summary cites (all of them if none is cited)."""
    starts = list(re.finditer(r"(?:^|(?<=\.\s))([A-Z][^()]*?\(\d{4}\))", refs))
    cited = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(refs)
        if m.group(1) in summary:
            cited.append(refs[m.start() : end].strip())
    return " ".join(cited) if cited else refs


def _public_object(name: str) -> Any:
    import jinit

    obj: Any = jinit
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def advised_for(init: Any, shape: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """Activations whose ``jinit.recommend`` is ``init`` itself, and those whose advice has its variance."""
    from jinit._src.theory.gain import RECOMMENDATIONS, recommend

    exact, same_variance = [], []
    law = init.moments(shape) if hasattr(init, "moments") else None
    for activation in RECOMMENDATIONS:
        rec = recommend(activation)
        if rec == init:
            exact.append(activation)
            continue
        try:
            rec_law = rec.moments(shape)  # type: ignore[attr-defined]
        except (ValueError, TypeError):
            continue
        if law is not None and rec_law is not None and math.isclose(rec_law.variance, law.variance, rel_tol=1e-12):
            same_variance.append(activation)
    return exact, same_variance


def cmd_explain(args: argparse.Namespace) -> int:
    from jinit._src.diagnostics import plot

    entry = catalog.get(args.scheme)
    init = entry.make()
    shape = args.shape or entry.shape
    dtype = np.dtype(args.dtype) if args.dtype != "bfloat16" else jax.numpy.bfloat16
    public = _public_object(entry.name)
    summary, refs = _doc_sections(getattr(public, "__doc__", None) or type(init).__doc__)
    if not refs:
        refs = _pick_references(_doc_sections(sys.modules[type(init).__module__].__doc__)[1], summary)
    print(f"{entry.name}  (family {entry.family}, class {type(init).__name__})")
    print(f"  default:   {init!r}")
    print("formula:")
    print(textwrap.indent(summary, "  "))
    law = init.moments(shape, dtype)  # type: ignore[attr-defined]
    print(f"law of one entry for shape {'x'.join(map(str, shape))}, dtype {np.dtype(dtype).name}:")
    fans = _fans(init, shape)
    if fans:
        print(f"  {fans}")
    if law is None:
        print("  (empty shape: no entries)")
    else:
        kurt = "undefined (entries not i.i.d.)" if law.excess_kurtosis is None else f"{law.excess_kurtosis:.6g}"
        bound = "unbounded" if law.bound is None else f"|w - mean| <= {law.bound:.6g}"
        print(f"  mean {law.mean:.6g}, variance {law.variance:.6g} (std {law.std:.6g}), {bound}")
        print(f"  excess kurtosis {kurt}; {'i.i.d.' if law.iid else 'not i.i.d.'} entries")
        try:
            print(f"  density: {plot.density(init, shape, dtype).description}")
        except (NotImplementedError, ValueError):
            pass
    print(f"reference: {refs or '-'}")
    try:
        exact, same = advised_for(init, shape)
    except (ValueError, TypeError):
        exact, same = [], []
    print(f"recommended for (jinit.recommend): {', '.join(exact) or '-'}")
    if same:
        print(f"same variance as the advice for: {', '.join(same)}")
    return 0


def _fans(init: Any, shape: tuple[int, ...]) -> str:
    """``fan_in=..., fan_out=...`` for schemes with axes, else ''."""
    from jinit._src.core import fans

    f = (
        {fld.name: getattr(init, fld.name) for fld in dataclasses.fields(init)}
        if dataclasses.is_dataclass(init)
        else {}
    )
    try:
        if "in_axis" in f:
            fan_in, fan_out = fans.compute_fans("explain", shape, f["in_axis"], f["out_axis"], f.get("batch_axis", ()))
        elif "mode" in f and "layout" in f:
            fan_in, fan_out = fans.torch_fans("explain", shape, f["layout"])
        else:
            return ""
    except (ValueError, TypeError):
        return ""
    return f"fan_in={fan_in:g}, fan_out={fan_out:g}"


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
    p = sub.add_parser("propagate", help="forward and backward signal through a deep Dense network at init")
    p.add_argument("--activation", default="relu", help="activation name (see jinit.gain), default relu")
    p.add_argument("--param", type=float, default=None, help="the activation's parameter (leaky_relu slope, elu alpha)")
    p.add_argument("--depth", type=int, default=50)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seeds", type=int, default=8, help="independent networks per scheme (the bands)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--schemes",
        type=_parse_names,
        default=("he_normal", "glorot_normal", "lecun_normal"),
        help="comma-separated scheme names (jinit list), default he_normal,glorot_normal,lecun_normal",
    )
    p.add_argument("--bias-variance", type=float, default=0.0, dest="bias_variance", help="biases N(0, this)")
    p.add_argument("--every", type=int, default=10, help="rows of the per-layer tables every this many layers")
    p.add_argument("--out", default=None, help="write the figure to this PNG (needs matplotlib)")
    p.set_defaults(func=cmd_propagate)
    p = sub.add_parser("explain", help="a scheme's formula, law for a shape, reference and advised activations")
    p.add_argument("scheme", help="a scheme name (jinit list)")
    p.add_argument("--shape", type=_parse_shape, default=None, help="e.g. 256,512 (default: the scheme's dense case)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16", "float64"])
    p.set_defaults(func=cmd_explain)
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
