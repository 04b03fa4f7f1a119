"""Fan arithmetic: which axes of a kernel are inputs, outputs, batch, receptive field.

jax/Flax layout is ``(*receptive, in, out)``: ``in_axis=-2``, ``out_axis=-1``.
Axes in none of ``in_axis``, ``out_axis`` or ``batch_axis`` form the
receptive field, which multiplies both fans. Products are exact integers, so
zero-size dimensions give zero fans instead of a ZeroDivisionError.

Equivalently, ``fan_in`` is the product of the axes outside ``out_axis`` and
``batch_axis``, and ``fan_out`` that of the axes outside ``in_axis`` and
``batch_axis``: jax's arithmetic (``prod(shape) / in / out / batch``) read
as integers. This form also gives jax's fans where ``in_axis`` and
``out_axis`` share an axis (Flax's embedding, ``out_axis=0`` with the default
``in_axis=-2`` on ``(vocab, features)``: both fans are ``features``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jinit._src.core import validation

#: One axis or several, as jax's in_axis/out_axis/batch_axis take them.
Axes = int | tuple[int, ...]


def normalize_axes(name: str, param: str, axes: int | tuple[int, ...], rank: int) -> tuple[int, ...]:
    """Non-negative axis indices, each checked against the rank."""
    out = []
    for a in validation.as_tuple(axes):
        if not -rank <= a < rank:
            raise ValueError(validation.error(name, f"`{param}`={axes!r} is out of range for a shape of rank {rank}."))
        out.append(a % rank)
    return tuple(out)


def compute_fans(
    name: str, shape: Sequence[int], in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = ()
) -> tuple[int, int]:
    """(fan_in, fan_out) of a kernel whose axes are disjoint; receptive field counted into both."""
    return _fans(name, shape, in_axis, out_axis, batch_axis, shared_in_out=False)


def jax_fans(
    name: str, shape: Sequence[int], in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = ()
) -> tuple[int, int]:
    """(fan_in, fan_out) as jax computes them: :func:`compute_fans`, where ``in_axis`` and ``out_axis`` may share axes.

    A shared axis counts in neither fan (see the module docstring).
    Schemes that lay the inputs and outputs out as a matrix (spectral,
    ``jinit.tree.with_fans``) use :func:`compute_fans`, which refuses it. An
    axis shared with ``batch_axis`` is refused by both: an independent slice
    cannot also be an input or an output, and jax's division counts it out
    twice.
    """
    rank = len(shape)
    if rank >= 2 or in_axis != -2:
        ins = normalize_axes(name, "in_axis", in_axis, rank)
        outs = normalize_axes(name, "out_axis", out_axis, rank)
        if set(ins) & set(outs):
            return _fans(name, shape, in_axis, out_axis, batch_axis, shared_in_out=True)
    return compute_fans(name, shape, in_axis, out_axis, batch_axis)


def _fans(
    name: str,
    shape: Sequence[int],
    in_axis: int | tuple[int, ...],
    out_axis: int | tuple[int, ...],
    batch_axis: int | tuple[int, ...],
    *,
    shared_in_out: bool,
) -> tuple[int, int]:
    rank = len(shape)
    if rank < 2 and in_axis == -2:
        raise ValueError(
            validation.error(
                name,
                f"shape needs at least 2 dimensions with the default `in_axis`=-2 "
                f"(pass `in_axis` and `out_axis` for other ranks); got shape={tuple(shape)!r}.",
            )
        )
    ins = normalize_axes(name, "in_axis", in_axis, rank)
    outs = normalize_axes(name, "out_axis", out_axis, rank)
    batch = normalize_axes(name, "batch_axis", batch_axis, rank)
    for a, b, pa, pb in (
        (ins, outs, "in_axis", "out_axis"),
        (ins, batch, "in_axis", "batch_axis"),
        (outs, batch, "out_axis", "batch_axis"),
    ):
        if set(a) & set(b) and not (shared_in_out and pb == "out_axis"):
            raise ValueError(
                validation.error(
                    name, f"`{pa}` and `{pb}` share an axis; got {pa}={a!r}, {pb}={b!r} for shape={tuple(shape)!r}."
                )
            )
    fan_in = math.prod(shape[i] for i in range(rank) if i not in outs and i not in batch)
    fan_out = math.prod(shape[i] for i in range(rank) if i not in ins and i not in batch)
    return fan_in, fan_out


def fan_denominator(mode: str, fan_in: int, fan_out: int) -> float:
    """The n of ``variance = scale / n`` for each mode."""
    if mode == "fan_in":
        return float(fan_in)
    if mode == "fan_out":
        return float(fan_out)
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    if mode == "fan_geo_avg":
        return (fan_in * fan_out) ** 0.5
    raise AssertionError(mode)  # factories validate `mode`


def torch_fans(name: str, shape: Sequence[int], layout: str) -> tuple[int, int]:
    """torch.nn.init's _calculate_fan_in_and_fan_out for either layout.

    torch layout ``(out, in, *k)``; flax layout ``(*k, in, out)``. Both give
    the same numbers for the same layer.
    """
    if len(shape) < 2:
        raise ValueError(
            validation.error(name, f"fans need an array of at least 2 dimensions; got shape={tuple(shape)!r}.")
        )
    if layout == "torch":
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive
