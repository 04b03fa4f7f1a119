"""Every random scheme: jinit vs jax.nn.initializers vs torch.nn.init, float32.

For each scheme and shape (4096 x 4096 and 50000 x 512; tiny in --quick),
the three run interleaved in one process; the table gives median
milliseconds per array, ratios of medians, whether jinit's values equal
jax's bit for bit, and jinit's output bandwidth as a fraction of the
machine's memory write bandwidth (the floor of any initializer: it must at
least write the array once).

torch runs the same law (``trunc_normal_`` for jax's truncated ``*_normal``
schemes, whose torch namesakes ``xavier_normal_``/``kaiming_normal_`` draw an
untruncated normal); the "torch (name)" column times those namesakes too.

Targets (CPU): jinit / jax <= 0.35 with identical values, and
jinit / torch <= 1.0, for every scheme at both shapes.

Usage: ``python benchmarks/bench_random.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import _harness as h
import jax
import jax.numpy as jnp
import torch

import jinit

J = jax.nn.initializers
TI = torch.nn.init
# Standard deviation of N(0, 1) truncated to [-2, 2] (jax's *_normal divide by it).
TRUNC_STD = 0.87962566103423978

TARGET_JAX = 0.35
TARGET_TORCH = 1.0


def _fans(shape: tuple[int, int]) -> tuple[int, int]:
    return shape[0], shape[1]  # jax layout (in, out)


def _torch_trunc(std: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda w: TI.trunc_normal_(w, 0.0, std, -2 * std, 2 * std)


def schemes(shape: tuple[int, int]) -> dict[str, tuple]:
    """name -> (jinit init, jax init, torch same law, torch namesake or None)."""
    fan_in, fan_out = _fans(shape)
    avg = (fan_in + fan_out) / 2
    vs_std = {  # std before truncation of the truncated *_normal schemes
        "glorot": math.sqrt(1 / avg) / TRUNC_STD,
        "he": math.sqrt(2 / fan_in) / TRUNC_STD,
        "lecun": math.sqrt(1 / fan_in) / TRUNC_STD,
    }
    # torch tensors are allocated in torch's layout (out, in) so that its fans match.
    return {
        "uniform": (jinit.uniform(0.05), J.uniform(0.05), lambda w: TI.uniform_(w, 0.0, 0.05), None),
        "normal": (jinit.normal(0.02), J.normal(0.02), lambda w: TI.normal_(w, 0.0, 0.02), None),
        "truncated_normal": (jinit.truncated_normal(0.02), J.truncated_normal(0.02), _torch_trunc(0.02), None),
        "glorot_uniform": (jinit.glorot_uniform(), J.glorot_uniform(), lambda w: TI.xavier_uniform_(w), None),
        "glorot_normal": (
            jinit.glorot_normal(),
            J.glorot_normal(),
            _torch_trunc(vs_std["glorot"]),
            lambda w: TI.xavier_normal_(w),
        ),
        "he_uniform": (
            jinit.he_uniform(),
            J.he_uniform(),
            lambda w: TI.kaiming_uniform_(w, nonlinearity="relu"),
            None,
        ),
        "he_normal": (
            jinit.he_normal(),
            J.he_normal(),
            _torch_trunc(vs_std["he"]),
            lambda w: TI.kaiming_normal_(w, nonlinearity="relu"),
        ),
        "lecun_uniform": (
            jinit.lecun_uniform(),
            J.lecun_uniform(),
            lambda w: TI.kaiming_uniform_(w, nonlinearity="linear"),
            None,
        ),
        "lecun_normal": (
            jinit.lecun_normal(),
            J.lecun_normal(),
            _torch_trunc(vs_std["lecun"]),
            lambda w: TI.kaiming_normal_(w, nonlinearity="linear"),
        ),
    }


def time_scheme(shape: tuple[int, int], entry: tuple, rounds: int) -> tuple[dict, dict, bool]:
    """First-call and median seconds of each competitor, and whether jinit's values equal jax's."""
    ours, theirs, same_law, namesake = entry
    key = jax.random.key(0)
    device = h.torch_device()
    torch_shape = shape[::-1]  # torch's layout (out, in), so that its fans match jax's
    f_ours = jax.jit(lambda k: ours(k, shape, jnp.float32))
    f_jax = jax.jit(lambda k: theirs(k, shape, jnp.float32))
    competitors = {
        "jinit": lambda: f_ours(key),
        "jax": lambda: f_jax(key),
        "torch": lambda: same_law(torch.empty(torch_shape, device=device)),
    }
    if namesake is not None:
        competitors["torch_name"] = lambda: namesake(torch.empty(torch_shape, device=device))
    first, med = h.interleaved(competitors, rounds)
    identical = bool(jnp.array_equal(f_ours(key), f_jax(key)))
    return first, med, identical


def run(shapes: list[tuple[int, int]], rounds: int, names: list[str] | None, quick: bool) -> tuple[str, list[str]]:
    bw = h.write_bandwidth(2**24 if quick else 2**28, 2 if quick else 5)
    bw_name, bw_ref = h.reference_bandwidth(bw)
    rows = []
    misses = []
    for shape in shapes:
        for name, entry in schemes(shape).items():
            if names and name not in names:
                continue
            first, med, identical = time_scheme(shape, entry, rounds)
            r_jax, r_torch = med["jinit"] / med["jax"], med["jinit"] / med["torch"]
            gbs = 4 * math.prod(shape) / med["jinit"]
            rows.append(
                [
                    name,
                    f"{shape[0]}x{shape[1]}",
                    h.ms(med["jinit"]),
                    h.ms(med["jax"]),
                    h.ms(med["torch"]),
                    h.ms(med["torch_name"]) if "torch_name" in med else "=",
                    f"**{r_jax:.2f}**",
                    f"**{r_torch:.2f}**",
                    h.ratio(med["jinit"], med["torch_name"]) if "torch_name" in med else "=",
                    "yes" if identical else "NO",
                    f"{gbs / 1e9:.2f}",
                    f"{gbs / bw_ref:.0%}",
                    f"{h.ms(first['jinit'] - med['jinit'])} / {h.ms(first['jax'] - med['jax'])}",
                ]
            )
            if not (r_jax <= TARGET_JAX and identical):
                misses.append(f"{name} {shape}: jinit/jax {r_jax:.2f} (identical: {identical})")
            if r_torch > TARGET_TORCH:
                misses.append(f"{name} {shape}: jinit/torch {r_torch:.2f}")
    headers = [
        "scheme",
        "shape",
        "jinit ms",
        "jax ms",
        "torch ms (same law)",
        "torch ms (name)",
        "jinit/jax",
        "jinit/torch",
        "jinit/torch (name)",
        "values == jax",
        "jinit GB/s",
        "of write BW",
        "compile ms jinit / jax",
    ]
    bw_line = (
        f"Write bandwidth: numpy fill {bw['numpy_fill'] / 1e9:.1f} GB/s, numpy copy "
        f"{bw['numpy_copy'] / 1e9:.1f} GB/s, jax full {bw['jax_full'] / 1e9:.1f} GB/s; reference: {bw_name}."
    )
    return bw_line + "\n\n" + h.table(headers, rows), misses


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny shapes, one round (smoke check)")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--schemes", nargs="*", default=None, help="subset of schemes")
    args = p.parse_args()
    shapes = [(256, 128)] if args.quick else [(4096, 4096), (50000, 512)]
    rounds = args.rounds or (1 if args.quick else 5)
    names = args.schemes or (["uniform", "he_normal"] if args.quick else None)
    body, misses = run(shapes, rounds, names, args.quick)
    print(h.header("Random schemes: jinit vs jax.nn.initializers vs torch.nn.init (float32)", args.quick))
    print(f"Medians of {rounds} interleaved rounds. jinit/jax target <= {TARGET_JAX} with identical values; ")
    print(f"jinit/torch target <= {TARGET_TORCH} (same law). Compile = first call minus steady state.\n")
    print(body)
    print()
    print(h.load_line())
    print()
    if misses and not args.quick:
        print("Targets not met in this run: " + "; ".join(misses) + ".")
    elif not args.quick:
        print("All targets met in this run.")


if __name__ == "__main__":
    main()
