"""Where the time goes: the parts of jinit's normal sampler, and of one materialize group's program.

Two diagnostic tables behind benchmarks/NOTES.md (not competitor timings):

* **The normal transform** at 4096 x 4096 float32, interleaved: jinit's
  ``uniform`` draw alone, jinit's ``normal`` (``sqrt(2) erfinv(u)``), jax's
  ``sampling.normal``, and three variants of jinit's normal that rebuild
  ``erf_inv``'s decomposition from ``jax.lax`` ops: as XLA writes it minus
  the ``|u| == 1`` edge case (bit-identical values, checked), without
  ``sqrt``, and without ``log1p`` (both wrong values: they only say what
  those ops cost).
* **A group's program**, as ``jinit.flax.materialize`` compiles it: trace and
  lower time, XLA compile time and run time of ``torch.linear_weight`` on a
  fresh (1024 + i, 4096) shape, against a trivial ``x * 2 + 1`` program.

Usage: ``python benchmarks/bench_anatomy.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import _harness as h
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import jinit
import jinit.torch
from jinit._src.random import sampling as jr

# XLA's float32 erf_inv (Giles 2010) coefficients, branch w < 5 and w >= 5, highest degree first, as its
# optimized HLO shows them (jax.jit(lax.erf_inv).lower(x).compile().as_text()).
W_LT_5 = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503)
W_LT_5 += (-0.00417768164, 0.246640727, 1.50140941)
W_GE_5 = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613)
W_GE_5 += (0.00943887047, 1.00167406, 2.83297682)


def erf_inv_parts(x: jax.Array, *, use_sqrt: bool = True, use_log1p: bool = True) -> jax.Array:
    """erf_inv's decomposition without the |x| == 1 edge case; dropping sqrt or log1p changes the values."""
    dt = x.dtype
    y = lax.mul(x, lax.neg(x))
    w = lax.neg(lax.log1p(y) if use_log1p else y)
    small = lax.lt(w, np.array(5, dt))

    def coefficient(i: int) -> jax.Array:
        return lax.select(small, lax.full_like(x, W_LT_5[i]), lax.full_like(x, W_GE_5[i]))

    w = lax.select(small, lax.sub(w, np.array(2.5, dt)), lax.sub(lax.sqrt(w) if use_sqrt else w, np.array(3.0, dt)))
    p = coefficient(0)
    for i in range(1, len(W_LT_5)):
        p = lax.add(coefficient(i), lax.mul(p, w))
    return lax.mul(p, x)


def normal_transform(quick: bool, rounds: int) -> None:
    shape = (256, 256) if quick else (4096, 4096)
    lo = np.nextafter(np.float32(-1), np.float32(0))
    sqrt2 = np.float32(np.sqrt(2))

    def uniform(k: jax.Array) -> jax.Array:
        return jr.uniform(k, shape, jnp.float32, lo, 1.0)

    def variant(**kw: bool):
        return jax.jit(lambda k: lax.mul(sqrt2, erf_inv_parts(uniform(k), **kw)))

    fns = {
        "jinit uniform draw alone": jax.jit(uniform),
        "jinit normal": jax.jit(lambda k: jinit.normal(1.0)(k, shape)),
        "jax.random.normal": jax.jit(lambda k: jax.random.normal(k, shape)),
        "erf_inv rebuilt, no edge case (same values)": variant(),
        "... without sqrt (other values)": variant(use_sqrt=False),
        "... without log1p (other values)": variant(use_log1p=False),
    }
    key = jax.random.key(0)
    same = bool(jnp.array_equal(fns["jinit normal"](key), fns["erf_inv rebuilt, no edge case (same values)"](key)))
    same_jax = bool(jnp.array_equal(fns["jinit normal"](key), fns["jax.random.normal"](key)))
    _, med = h.interleaved({name: (lambda f=f: f(key)) for name, f in fns.items()}, rounds)
    base = med["jinit uniform draw alone"]
    rows = [[name, h.ms(t), h.ms(t - base)] for name, t in med.items()]
    print(h.header(f"The normal transform, {shape[0]}x{shape[1]} float32", quick))
    print(f"Medians of {rounds} interleaved rounds. jinit normal == jax: {same_jax}; == the rebuilt erf_inv: {same}.\n")
    print(h.table(["computation", "ms", "ms beyond the uniform draw"], rows))
    print()


def program_anatomy(quick: bool, rounds: int) -> None:
    init = jinit.torch.linear_weight()
    key = jax.random.key(0)
    cols = 64 if quick else 4096

    def draw(k: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return init(k, shape, jnp.float32)

    lower, compile_, run, trivial = [], [], [], []
    for i in range(rounds):  # a fresh shape each round: nothing comes from a cache
        shape = (1024 + i if not quick else 16 + i, cols)
        t0 = time.perf_counter()
        lowered = jax.jit(draw, static_argnums=1).lower(key, shape)
        t1 = time.perf_counter()
        compiled = lowered.compile()
        t2 = time.perf_counter()
        compiled(key).block_until_ready()
        t3 = time.perf_counter()
        compiled(key).block_until_ready()
        t4 = time.perf_counter()
        lower.append(t1 - t0)
        compile_.append(t2 - t1)
        run.append(t4 - t3)
        low = jax.jit(lambda x: x * 2 + 1).lower(jnp.ones(100 + i))
        t5 = time.perf_counter()
        low.compile()
        trivial.append(time.perf_counter() - t5)
    med = statistics.median
    print(h.header("One materialize group's program (torch.linear_weight, float32)", quick))
    print(f"Medians over {rounds} fresh shapes ({'16' if quick else '1024'}+i, {cols}).\n")
    rows = [
        ["trace and lower (Python, holds the GIL)", h.ms(med(lower))],
        ["XLA compile (releases the GIL)", h.ms(med(compile_))],
        ["XLA compile of a trivial x * 2 + 1", h.ms(med(trivial))],
        [f"run ({'16' if quick else '1024'}+i) x {cols} draws", h.ms(med(run))],
    ]
    print(h.table(["step", "ms"], rows))
    print()
    print(h.load_line())
    print()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny shapes, one round (smoke check)")
    p.add_argument("--rounds", type=int, default=None)
    args = p.parse_args()
    rounds = args.rounds or (1 if args.quick else 9)
    normal_transform(args.quick, rounds)
    program_anatomy(args.quick, max(1, rounds // 2))


if __name__ == "__main__":
    main()
