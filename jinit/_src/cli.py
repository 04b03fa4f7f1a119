"""The ``jinit`` command: ``list``, ``check``, ``propagate``, ``explain``.

Every argument is validated before anything is computed; a bad one gives one
line on stderr and exit status 2, never a traceback. ``--help`` and ``list``
do not import jax (the scheme modules are imported by the commands that draw).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import importlib
import importlib.util
import inspect
import json
import math
import os
import re
import sys
import textwrap
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from jinit._src.diagnostics import catalog
from jinit._src.diagnostics.progress import progress

DTYPES = ("float32", "float16", "bfloat16", "float64")
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
# Arrays above this many bytes are refused before any work: a quarter of the machine's memory (the checks
# hold a draw, a float64 copy and a few temporaries of the same size).
MEMORY_SHARE = 0.25


class CliError(ValueError):
    """A bad argument, reported as one line (``jinit COMMAND: message``) with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


# --- argument types and checks --------------------------------------------------------------------------------------


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must look like 256,512 or 3x3x64x128; got {text!r}") from None
    if any(d < 0 for d in dims):
        raise argparse.ArgumentTypeError(f"shape dimensions must be >= 0; got {text!r}")
    return dims


def _parse_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated scheme names; got {text!r}")
    return names


def _int_in(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be in [{lo}, {hi}]; got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not (math.isfinite(value) and value >= 0.0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0; got {text!r}")
    return value


SEED = _int_in(-(2**63), 2**63 - 1)  # what jax.random.key accepts
POSITIVE = _int_in(1, 2**31 - 1)


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 2**30


def _check_fits(command: str, what: str, nbytes: int) -> None:
    budget = int(MEMORY_SHARE * _memory_bytes())
    if nbytes > budget:
        raise CliError(
            f"jinit {command}: {what} needs about {nbytes / 2**30:.3g} GiB, more than this machine can hold for it "
            f"({budget / 2**30:.3g} GiB, a quarter of its memory); use a smaller size."
        )


def _check_out(command: str, out: str | None) -> Path | None:
    """The figure path: a known suffix, matplotlib installed, a writable folder (checked before computing)."""
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise CliError(f"jinit {command}: --out must end in {', '.join(FIGURE_SUFFIXES)}; got {out!r}.")
    if importlib.util.find_spec("matplotlib") is None:
        raise CliError(f"jinit {command}: --out needs matplotlib: pip install 'jinit[plot]'.")
    if path.is_dir():
        raise CliError(f"jinit {command}: --out is a folder; give a file name; got {out!r}.")
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise CliError(f"jinit {command}: --out lies under a file ({probe}); got {out!r}.")
    if not os.access(probe, os.W_OK):
        raise CliError(f"jinit {command}: cannot write under {probe} (permission denied); got --out {out!r}.")
    return path


def _dtype(text: str) -> Any:
    import jax.numpy as jnp
    import numpy as np

    return jnp.bfloat16 if text == "bfloat16" else np.dtype(text)


# --- resolving a public name -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scheme:
    """A scheme the command line resolved: the name it was asked by, its family, the initializer, a shape."""

    name: str
    family: str
    init: Any
    shape: tuple[int, ...]


def _public_names() -> dict[str, Any]:
    """Every public object of jinit's modules by dotted name (``he_normal``, ``torch.kaiming_normal``, ...)."""
    import jinit

    out: dict[str, Any] = {}
    for name in jinit.__all__:
        obj = getattr(jinit, name)
        if inspect.ismodule(obj):
            for sub in getattr(obj, "__all__", ()):
                try:
                    out[f"{name}.{sub}"] = getattr(obj, sub)
                except ImportError:  # a name built from an optional dependency that is not installed
                    continue
        else:
            out[name] = obj
    return out


def _unknown(command: str, name: str, known: Sequence[str]) -> CliError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else " See `jinit list`."
    return CliError(f"jinit {command}: unknown scheme {name!r}.{hint}")


def _parse_params(command: str, items: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise CliError(f"jinit {command}: hyperparameters look like n_layer=24; got {item!r}.")
        try:
            params[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[key] = text  # a bare word: a string such as mode=fan_out
    return params


def resolve(command: str, name: str, params: dict[str, Any] | None = None) -> Scheme:
    """The scheme ``name`` (a catalog name, any public name or alias) built with ``params``."""
    params = params or {}
    entries = {e.name: e for e in catalog.entries()}
    if name in entries and not params:
        e = entries[name]
        return Scheme(e.name, e.family, e.make(), e.shape)
    public = _public_names()
    if name not in public:
        raise _unknown(command, name, sorted({*entries, *public}))
    obj = public[name]
    # The catalog entry of the same factory (an alias such as kaiming_normal is he_normal's).
    entry = next((e for n, e in entries.items() if public.get(n) is obj), None)
    family = entry.family if entry else name.rpartition(".")[0] or "jinit"
    shape = entry.shape if entry else catalog.DENSE
    if hasattr(obj, "moments"):  # a ready initializer (zeros, ones)
        if params:
            raise CliError(f"jinit {command}: {name} takes no hyperparameters; got {sorted(params)}.")
        return Scheme(name, family, obj, shape)
    if not callable(obj):
        raise CliError(f"jinit {command}: {name} is not an initializer.")
    if entry is not None and not params:
        return Scheme(name, family, entry.make(), shape)
    sig = inspect.signature(obj)
    takes = [p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(params) - set(takes))
    if unknown:
        raise CliError(f"jinit {command}: {name} has no hyperparameter {unknown[0]!r}; it takes {', '.join(takes)}.")
    try:
        sig.bind(**params)
    except TypeError as e:
        needed = [p.name for p in sig.parameters.values() if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
        hint = f" it needs {', '.join(f'{n}=...' for n in needed)}" if needed else ""
        raise CliError(f"jinit {command}: {name}: {e};{hint} (e.g. jinit {command} {name} NAME=VALUE).") from None
    init = obj(**params)
    if not hasattr(init, "moments"):
        raise CliError(f"jinit {command}: {name} does not build an initializer (it returns {type(init).__name__}).")
    return Scheme(name, family, init, shape)


# --- commands ---------------------------------------------------------------------------------------------------------


def _emit_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False, default=float))


def cmd_list(args: argparse.Namespace) -> int:
    entries = catalog.entries()
    if args.format == "json":
        _emit_json([{"name": e.name, "family": e.family} for e in entries])
        return 0
    w = max(len(e.name) for e in entries)
    print(f"{'scheme':<{w}}  family")
    for e in entries:
        print(f"{e.name:<{w}}  {e.family}")
    print(f"{len(entries)} schemes")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    schemes = (
        [resolve("check", n) for n in args.schemes]
        if args.schemes
        else [resolve("check", e.name) for e in catalog.entries()]
    )
    if args.shape is not None:
        _check_fits("check", f"shape {'x'.join(map(str, args.shape))}", 8 * 3 * math.prod(args.shape))

    import jax
    import numpy as np

    from jinit._src.diagnostics.testing import check_moments

    dtype = _dtype(args.dtype)
    root = jax.random.key(args.seed)
    rows, failed = [], 0
    for s in progress(schemes, len(schemes), "jinit check"):
        shape = args.shape or s.shape
        key = jax.random.fold_in(root, zlib.crc32(s.name.encode()))
        row: dict[str, Any] = {"scheme": s.name, "shape": list(shape)}
        try:
            check = check_moments(s.init, shape, key=key, dtype=dtype, n_sigma=args.n_sigma)
        except (ValueError, TypeError) as e:
            rows.append({**row, "result": "skipped", "reason": str(e)})
            continue
        var = check.get("variance")
        bound = next((st for st in check.statistics if st.name in ("bound", "max")), None)
        failed += not check.ok
        rows.append(
            {
                **row,
                "mean": check.moments.mean,
                "variance": var.expected,
                "measured": var.measured,
                "z": var.z,
                "bound": None if bound is None else bound.expected,
                "max_deviation": None if bound is None else bound.measured,
                "result": "pass" if check.ok else "FAIL",
            }
        )
    checked = [r for r in rows if r["result"] != "skipped"]
    if args.format == "json":
        _emit_json({"dtype": np.dtype(dtype).name, "seed": args.seed, "n_sigma": args.n_sigma, "rows": rows})
        return 1 if failed else 0
    header = (
        f"{'scheme':<24} {'shape':<18} {'mean':>10} {'variance':>12} {'measured':>12} "
        f"{'z(var)':>7} {'bound':>10} {'max|w-m|':>10}  result"
    )
    print(f"law check: dtype={np.dtype(dtype).name}, seed={args.seed}, tolerance {args.n_sigma} standard errors")
    print(header)
    print("-" * len(header))
    for r in rows:
        shape_text = "x".join(map(str, r["shape"]))
        if r["result"] == "skipped":
            print(f"{r['scheme']:<24} {shape_text:<18} skipped: {r['reason']}")
            continue
        bound_text = "-" if r["bound"] is None else f"{r['bound']:.4g}"
        dev_text = "-" if r["max_deviation"] is None else f"{r['max_deviation']:.4g}"
        print(
            f"{r['scheme']:<24} {shape_text:<18} {r['mean']:>10.4g} {r['variance']:>12.5g} "
            f"{r['measured']:>12.5g} {r['z']:>7.2f} {bound_text:>10} {dev_text:>10}  {r['result']}"
        )
    print(f"\n{len(checked) - failed}/{len(checked)} schemes draw the law they claim")
    return 1 if failed else 0


def _propagate_schemes(specs: Sequence[str]) -> list[str] | dict[str, Any]:
    """Scheme names as given, or ``{label: initializer}`` when one has hyperparameters (``normal:stddev=0.01``)."""
    if not any(":" in spec for spec in specs):
        return list(specs)
    out: dict[str, Any] = {}
    for spec in specs:
        name, *items = spec.split(":")
        label = f"{name}({', '.join(items)})" if items else name
        out[label] = resolve("propagate", name, _parse_params("propagate", items)).init
    return out


def _propagate_payload(result: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "schemes": list(result.schemes),
        "activation": result.activation,
        "depth": result.depth,
        "layers": result.layers.tolist(),
    }
    for quantity in ("second_moment", "grad_norm"):
        band = getattr(result, quantity)
        payload[quantity] = {s: band.median[i].tolist() for i, s in enumerate(result.schemes)}
    return payload


def cmd_propagate(args: argparse.Namespace) -> int:
    outs = [_check_out("propagate", out) for out in args.out or ()]
    if args.every < 1:
        raise CliError(f"jinit propagate: --every must be at least 1; got {args.every}.")
    n_runs = len(args.schemes) * len(args.activation)
    kernels = 4 * args.depth * args.width * args.width * args.seeds * n_runs
    activations = 4 * 3 * args.depth * args.width * args.batch * args.seeds * n_runs
    _check_fits("propagate", f"depth {args.depth} x width {args.width} ({args.seeds} seeds)", kernels + activations)
    schemes = _propagate_schemes(args.schemes)

    from jinit._src.diagnostics.propagate import propagate
    from jinit._src.schemes import basic

    bias = None if args.bias_variance == 0.0 else basic.normal(math.sqrt(args.bias_variance))
    results = [
        propagate(
            schemes,
            activation,
            depth=args.depth,
            width=args.width,
            batch=args.batch,
            seeds=args.seeds,
            key=args.seed,
            bias_init=bias,
            param=args.param,
            progress=True,
        )
        for activation in args.activation
    ]
    payloads = [_propagate_payload(r) for r in results]
    payload: dict[str, Any] = payloads[0] if len(payloads) == 1 else {"runs": payloads}
    if args.format != "json":
        for i, result in enumerate(results):
            if i:
                print()
            print(result.table())
            print()
            print(result.layer_table("second_moment", args.every))
            print()
            print(result.layer_table("grad_norm", args.every))
    if outs:
        from jinit._src.diagnostics import plot

        fig = plot.propagation(results)
        if args.format != "json":
            print()
        for out in outs:
            assert out is not None
            plot.save(fig, out)
            if args.format != "json":
                print(f"wrote {out}")
        plot.pyplot().close(fig)
    if args.format == "json":
        payload["figure"] = None if not outs else str(outs[0]) if len(outs) == 1 else [str(o) for o in outs]
        _emit_json(payload)
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


def _fans(init: Any, shape: tuple[int, ...]) -> dict[str, float]:
    """``{"fan_in": ..., "fan_out": ...}`` for schemes with axes, else {}."""
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
            return {}
    except (ValueError, TypeError):
        return {}
    return {"fan_in": float(fan_in), "fan_out": float(fan_out)}


def cmd_explain(args: argparse.Namespace) -> int:
    scheme = resolve("explain", args.scheme, _parse_params("explain", args.params))
    init, shape = scheme.init, args.shape or scheme.shape

    import numpy as np

    from jinit._src.diagnostics import plot

    dtype = _dtype(args.dtype)
    public = _public_names().get(scheme.name)
    summary, refs = _doc_sections(getattr(public, "__doc__", None) or type(init).__doc__)
    if not refs:
        refs = _pick_references(_doc_sections(sys.modules[type(init).__module__].__doc__)[1], summary)
    law = init.moments(shape, dtype)
    fans = _fans(init, shape)
    try:
        density = plot.density(init, shape, dtype).description if law is not None else None
    except (NotImplementedError, ValueError, TypeError):
        density = None
    try:
        exact, same = advised_for(init, shape)
    except (ValueError, TypeError):
        exact, same = [], []
    if args.format == "json":
        _emit_json(
            {
                "scheme": scheme.name,
                "family": scheme.family,
                "class": type(init).__name__,
                "default": repr(init),
                "formula": summary,
                "shape": list(shape),
                "dtype": np.dtype(dtype).name,
                **fans,
                "law": None if law is None else dataclasses.asdict(law),
                "density": density,
                "reference": refs or None,
                "recommended_for": exact,
                "same_variance_as_advice_for": same,
            }
        )
        return 0
    print(f"{scheme.name}  (family {scheme.family}, class {type(init).__name__})")
    print(f"  default:   {init!r}")
    print("formula:")
    print(textwrap.indent(summary, "  "))
    print(f"law of one entry for shape {'x'.join(map(str, shape))}, dtype {np.dtype(dtype).name}:")
    if fans:
        print(f"  fan_in={fans['fan_in']:g}, fan_out={fans['fan_out']:g}")
    if law is None:
        print("  (empty shape: no entries)")
    else:
        kurt = "undefined (entries not i.i.d.)" if law.excess_kurtosis is None else f"{law.excess_kurtosis:.6g}"
        bound = "unbounded" if law.bound is None else f"|w - mean| <= {law.bound:.6g}"
        print(f"  mean {law.mean:.6g}, variance {law.variance:.6g} (std {law.std:.6g}), {bound}")
        print(f"  excess kurtosis {kurt}; {'i.i.d.' if law.iid else 'not i.i.d.'} entries")
        if density:
            print(f"  density: {density}")
    print(f"reference: {refs or '-'}")
    print(f"recommended for (jinit.recommend): {', '.join(exact) or '-'}")
    if same:
        print(f"same variance as the advice for: {', '.join(same)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jinit", description="Weight initializers for JAX, with their laws.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    fmt: dict[str, Any] = {
        "choices": ["text", "json"],
        "default": "text",
        "help": "text tables (default) or JSON for scripts",
    }
    p = sub.add_parser("list", help="list every scheme")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("check", help="draw each scheme and compare its moments with its formula")
    p.add_argument("schemes", nargs="*", help="schemes to check (default: all; any public name or alias)")
    p.add_argument("--shape", type=_parse_shape, default=None, help="e.g. 256,512 (default: each scheme's own)")
    p.add_argument("--dtype", default="float32", choices=DTYPES)
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--n-sigma", type=_positive_float, default=6.0, dest="n_sigma", help="tolerance in standard errors")
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("propagate", help="forward and backward signal through a deep Dense network at init")
    p.add_argument(
        "--activation",
        type=_parse_names,
        default=("relu",),
        help="activation name (see jinit.gain), default relu; a list (relu,tanh) draws one column per activation",
    )
    p.add_argument("--param", type=float, default=None, help="the activation's parameter (leaky_relu slope, elu alpha)")
    p.add_argument("--depth", type=POSITIVE, default=50)
    p.add_argument("--width", type=POSITIVE, default=256)
    p.add_argument("--batch", type=POSITIVE, default=128)
    p.add_argument("--seeds", type=POSITIVE, default=8, help="independent networks per scheme (the bands)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument(
        "--schemes",
        type=_parse_names,
        default=("he_normal", "glorot_normal", "lecun_normal"),
        help="comma-separated scheme names (jinit list), each with optional hyperparameters as NAME:KEY=VALUE "
        "(normal:stddev=0.01), default he_normal,glorot_normal,lecun_normal",
    )
    p.add_argument("--bias-variance", type=_positive_float, default=0.0, dest="bias_variance", help="biases N(0, this)")
    p.add_argument("--every", type=int, default=10, help="rows of the per-layer tables every this many layers")
    p.add_argument(
        "--out",
        action="append",
        default=None,
        help="write the figure to this .png, .svg or .pdf (needs matplotlib); repeat for several formats",
    )
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_propagate)
    p = sub.add_parser("explain", help="a scheme's formula, law for a shape, reference and advised activations")
    p.add_argument("scheme", help="any public name or alias (jinit list), e.g. kaiming_normal or torch.xavier_uniform")
    p.add_argument("params", nargs="*", help="hyperparameters as NAME=VALUE, e.g. n_layer=24")
    p.add_argument("--shape", type=_parse_shape, default=None, help="e.g. 256,512 (default: the scheme's own)")
    p.add_argument("--dtype", default="float32", choices=DTYPES)
    p.add_argument("--format", **fmt)
    p.set_defaults(func=cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``) and return its exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a refused argument (2, already printed)
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    try:
        return int(args.func(args))
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"error: jinit {args.command}: out of memory; use a smaller shape, width or depth.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
