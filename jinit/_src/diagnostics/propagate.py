"""Signal propagation through a deep stack of Dense layers at initialisation.

For a network ``z^l = x^{l-1} W^l + b^l``, ``x^l = phi(z^l)``, l = 1..L, and a
batch of inputs ``x^0``, ``propagate`` measures per layer:

* ``second_moment``: q^l = E[(z^l)^2], the mean square of the pre-activations
  over the batch and the units (the length of mean-field theory, Poole et
  al. 2016);
* ``mean``: E[x^l], the mean of the post-activations;
* ``dead_fraction``: the fraction of units that pass no gradient for any
  input of the batch, |phi'(z)| < ``DEAD_DERIVATIVE`` (a dead relu, a
  saturated tanh or sigmoid);
* ``unit_spread``: the share of E[(z^l)^2] that differs between the units
  of a layer, E_b[Var_j z^l_bj] / E[(z^l)^2]: about 1 for random weights, 0
  when every unit computes the same function (a constant init: the symmetry
  that training cannot break);
* ``correlation``: the mean correlation between the pre-activations of two
  different inputs, q_ab / sqrt(q_aa q_bb) (the c-map of Schoenholz et al.
  2017);
* ``grad_norm``: the root mean square over the inputs of |dL_b/dW^l|
  (Frobenius), the kernel gradient of one input's loss
  ``L_b = <x^L_b, r>``, a random linear readout r ~ N(0, I / n_L) of the last
  layer, so that the signal sent back is the same whatever the forward
  scale. It equals |x^{l-1}_b| |delta^l_b| exactly (an outer product), so
  it is not blurred by how aligned the inputs of a batch are;
* ``backward_second_moment``: E[delta^2], delta^l_b = dL_b/dz^l_b, the mean
  square of the back-propagated signal (it changes by chi_1 per layer in
  mean-field theory).

The network is compiled once per call and vmapped over seeds; each scheme's
weights are drawn outside it (one small compilation per initializer), with
the same keys for every scheme, so two schemes of the same family differ
only by their scale. Values that overflow float32 come back as inf or nan;
when the forward pass overflows, every gradient statistic of that network is nan.

References:
  Glorot & Bengio (2010), Understanding the difficulty of training deep
  feedforward neural networks. He et al. (2015), Delving deep into
  rectifiers, section 2.2. Poole et al. (2016), Exponential expressivity in
  deep neural networks through transient chaos. Schoenholz et al. (2017),
  Deep information propagation.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jinit._src.core import validation
from jinit._src.core.types import Initializer
from jinit._src.diagnostics import catalog
from jinit._src.diagnostics.progress import progress as progress_bar
from jinit._src.random import sampling
from jinit._src.schemes.constant import zeros
from jinit._src.theory.activations import get_activation

NAME = "propagate"

# A unit is dead when its local derivative is below this for every input of
# the batch: exactly 0 for rectifiers below 0; tanh'(z) = 1 - tanh(z)^2 falls
# below it for |z| > 7.6, sigmoid'(z) for |z| > 13.8.
DEAD_DERIVATIVE = 1e-6

#: The per-layer quantities of a :class:`Propagation`, in display order.
QUANTITIES = (
    "second_moment",
    "mean",
    "dead_fraction",
    "unit_spread",
    "correlation",
    "grad_norm",
    "backward_second_moment",
)

#: Human-readable labels (with the symbol used in the docs) of each quantity.
LABELS = {
    "second_moment": "E[z^2] (pre-activation second moment)",
    "mean": "E[phi(z)] (post-activation mean)",
    "dead_fraction": "fraction of dead units",
    "unit_spread": "share of E[z^2] that differs between units",
    "correlation": "correlation between inputs",
    "grad_norm": "|dL/dW| (kernel gradient norm)",
    "backward_second_moment": "E[delta^2] (backward second moment)",
}


@dataclasses.dataclass(frozen=True, eq=False)
class Band:
    """One per-layer quantity across seeds, for every scheme.

    Attributes:
      samples: the per-seed values, shape ``(schemes, seeds, depth)``.
      mean: the mean across seeds, shape ``(schemes, depth)``.
      median: the median across seeds.
      lower: the lower quantile across seeds (``Propagation.quantiles[0]``).
      upper: the upper quantile across seeds.
    """

    samples: np.ndarray
    mean: np.ndarray
    median: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def from_samples(cls, samples: np.ndarray, quantiles: tuple[float, float]) -> Band:
        """Summarise ``(schemes, seeds, depth)`` samples across the seed axis."""
        with np.errstate(all="ignore"):
            return cls(
                samples=samples,
                mean=np.mean(samples, axis=1),
                median=np.median(samples, axis=1),
                lower=np.quantile(samples, quantiles[0], axis=1),
                upper=np.quantile(samples, quantiles[1], axis=1),
            )


@dataclasses.dataclass(frozen=True, eq=False)
class Propagation:
    """What ``jinit.propagate`` measured: one :class:`Band` per quantity.

    Every band's arrays have a scheme axis first (in the order of
    ``schemes``) and a layer axis last (layer 1 to ``depth``).

    Attributes:
      schemes: the scheme labels.
      activation: the activation's name.
      widths: ``(n_0, n_1, ..., n_L)``, the input width first.
      batch: the number of inputs.
      seeds: the number of independent networks per scheme.
      quantiles: the (lower, upper) quantiles of the bands.
      input_second_moment: E[(x^0)^2] per seed, shape ``(seeds,)``.
      second_moment, mean, dead_fraction, unit_spread, correlation,
        grad_norm, backward_second_moment: see the module docstring.
    """

    schemes: tuple[str, ...]
    activation: str
    widths: tuple[int, ...]
    batch: int
    seeds: int
    quantiles: tuple[float, float]
    input_second_moment: np.ndarray
    second_moment: Band
    mean: Band
    dead_fraction: Band
    unit_spread: Band
    correlation: Band
    grad_norm: Band
    backward_second_moment: Band

    @property
    def depth(self) -> int:
        """The number of layers L."""
        return len(self.widths) - 1

    @property
    def layers(self) -> np.ndarray:
        """The layer numbers 1..L (the x axis of the bands)."""
        return np.arange(1, self.depth + 1)

    def band(self, quantity: str) -> Band:
        """The band of a quantity named in ``QUANTITIES``."""
        if quantity not in QUANTITIES:
            raise ValueError(
                validation.error(
                    "Propagation.band", f"`quantity` must be one of {', '.join(QUANTITIES)}; got {quantity!r}."
                )
            )
        band: Band = getattr(self, quantity)
        return band

    def index(self, scheme: str) -> int:
        """The position of ``scheme`` on the scheme axis."""
        if scheme not in self.schemes:
            raise KeyError(f"jinit.Propagation: no scheme {scheme!r}; have {', '.join(self.schemes)}.")
        return self.schemes.index(scheme)

    def table(self) -> str:
        """A text table: one row per scheme, medians across seeds at the first and last layer.

        Columns: E[z^2] at layer 1 and L and their ratio, |dL/dW| at layer 1
        and L and their ratio, the dead fraction and the input correlation at
        layer L.
        """
        last = self.depth
        header = (
            f"{'scheme':<24} {'E[z^2] l=1':>11} {f'E[z^2] l={last}':>11} {'ratio':>9} "
            f"{'|dW| l=1':>10} {f'|dW| l={last}':>10} {'ratio':>9} {f'dead l={last}':>9} {f'corr l={last}':>9}"
        )
        lines = [
            f"activation={self.activation}, depth={self.depth}, widths={_describe_widths(self.widths)}, "
            f"batch={self.batch}, seeds={self.seeds}: medians across seeds",
            header,
            "-" * len(header),
        ]
        with np.errstate(all="ignore"):
            for i, name in enumerate(self.schemes):
                q = self.second_moment.median[i]
                g = self.grad_norm.median[i]
                lines.append(
                    f"{name:<24} {q[0]:>11.4g} {q[-1]:>11.4g} {q[-1] / q[0]:>9.3g} "
                    f"{g[0]:>10.4g} {g[-1]:>10.4g} {g[0] / g[-1]:>9.3g} "
                    f"{self.dead_fraction.median[i, -1]:>9.3f} {self.correlation.median[i, -1]:>9.3f}"
                )
        return "\n".join(lines)

    def layer_table(self, quantity: str = "second_moment", every: int = 10) -> str:
        """A text table of one quantity's median at layers 1, every, 2 every, ..., L (one column per scheme)."""
        band = self.band(quantity)
        rows = sorted({1, *range(every, self.depth + 1, max(every, 1)), self.depth})
        w = max(12, *(len(s) for s in self.schemes))
        lines = [
            f"{quantity} (median across {self.seeds} seeds)",
            f"{'layer':>5} " + " ".join(f"{s:>{w}}" for s in self.schemes),
        ]
        for layer in rows:
            vals = " ".join(f"{band.median[i, layer - 1]:>{w}.4g}" for i in range(len(self.schemes)))
            lines.append(f"{layer:>5} {vals}")
        return "\n".join(lines)


def _describe_widths(widths: tuple[int, ...]) -> str:
    hidden = set(widths[1:])
    if len(hidden) == 1:
        return f"{widths[1]} (input {widths[0]})"
    return "x".join(map(str, widths))


SchemeSpec = str | Initializer | tuple[Initializer, Initializer]


def resolve_schemes(
    schemes: Any, bias_init: Initializer | None, caller: str = NAME
) -> list[tuple[str, Initializer, Initializer]]:
    """``(label, kernel_init, bias_init)`` for every scheme.

    Accepts a registry name, an initializer, a sequence of those, or a
    mapping from label to an initializer or a ``(kernel_init, bias_init)`` pair.
    """
    default_bias = zeros if bias_init is None else bias_init
    if bias_init is not None and not callable(bias_init):
        raise TypeError(validation.error(caller, f"`bias_init` must be an initializer; got {bias_init!r}."))

    def one(label: str | None, spec: Any) -> tuple[str, Initializer, Initializer]:
        if isinstance(spec, str):
            try:
                init = catalog.get(spec).make()
            except ValueError as e:
                raise ValueError(validation.error(caller, f"unknown scheme {spec!r} in `schemes` ({e}).")) from None
            return (label or spec, init, default_bias)
        if isinstance(spec, tuple) and len(spec) == 2 and all(callable(s) for s in spec):
            if label is None:
                raise TypeError(
                    validation.error(caller, "a (kernel_init, bias_init) pair needs a label: pass a mapping.")
                )
            return (label, spec[0], spec[1])
        if callable(spec):
            return (label or str(getattr(spec, "name", None) or type(spec).__name__), spec, default_bias)
        raise TypeError(
            validation.error(
                caller,
                f"`schemes` must hold scheme names, initializers or (kernel_init, bias_init) pairs; got {spec!r}.",
            )
        )

    if isinstance(schemes, Mapping):
        out = [one(str(k), v) for k, v in schemes.items()]
    elif isinstance(schemes, str) or callable(schemes):
        out = [one(None, schemes)]
    elif isinstance(schemes, Sequence):
        out = [one(None, s) for s in schemes]
        labels = [o[0] for o in out]
        # Two initializers with the same name (e.g. two normal()s): label them by their repr.
        out = [(repr(o[1]) if labels.count(o[0]) > 1 else o[0], o[1], o[2]) for o in out]
    else:
        raise TypeError(
            validation.error(
                caller, f"`schemes` must be a name, an initializer, a sequence or a mapping; got {schemes!r}."
            )
        )
    if not out:
        raise ValueError(validation.error(caller, "`schemes` must not be empty."))
    labels = [o[0] for o in out]
    if len(set(labels)) != len(labels):
        raise ValueError(validation.error(caller, f"scheme labels must be distinct; got {labels!r}."))
    return out


def _widths(depth: int, width: int | Sequence[int], input_dim: int | None, inputs: Any) -> tuple[int, ...]:
    if isinstance(width, Sequence) and not isinstance(width, str):
        hidden = tuple(validation.integer(NAME, "width", w, minimum=1) for w in width)
        if len(hidden) != depth:
            raise ValueError(
                validation.error(
                    NAME, f"`width` as a sequence must give one width per layer ({depth}); got {len(hidden)} widths."
                )
            )
    else:
        hidden = (validation.integer(NAME, "width", width, minimum=1),) * depth
    n0 = hidden[0] if input_dim is None else validation.integer(NAME, "input_dim", input_dim, minimum=1)
    if inputs is not None:
        if input_dim is not None and input_dim != inputs.shape[-1]:
            raise ValueError(
                validation.error(
                    NAME, f"`input_dim` must match inputs.shape[-1]; got input_dim={input_dim}, inputs {inputs.shape}."
                )
            )
        n0 = int(inputs.shape[-1])
    return (n0, *hidden)


def _segments(widths: tuple[int, ...]) -> list[tuple[int, int, tuple[int, int]]]:
    """Runs of consecutive layers with the same kernel shape: ``(first layer, count, shape)``."""
    shapes = list(itertools.pairwise(widths))
    out = []
    start = 0
    for shape, group in itertools.groupby(shapes):
        n = len(list(group))
        out.append((start, n, shape))
        start += n
    return out


def _as_key(key: Any) -> jax.Array:
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return jax.random.key(int(key))
    return validation.key(NAME, key)


# Tags that separate the random streams of one seed.
_KERNEL, _BIAS, _INPUT, _READOUT = 0, 1, 2, 3


Segment = tuple[int, int, tuple[int, int]]


def _layer_draw(init: Initializer, key: jax.Array, shape: tuple[int, ...]) -> Callable[[jax.Array], jax.Array]:
    """Layer i's draw: ``init(fold_in(key, i), shape)`` in float32."""
    return lambda i: init(jax.random.fold_in(key, i), shape, jnp.float32)


@functools.partial(jax.jit, static_argnums=(0, 1, 3, 4))
def _draw(
    kernel_init: Initializer, bias_init: Initializer, root: jax.Array, seeds: int, segments: tuple[Segment, ...]
) -> tuple[list[jax.Array], list[jax.Array]]:
    """Every seed's kernels and biases, per segment ``(seeds, count, n_in, n_out)`` and ``(seeds, count, n_out)``.

    Layer l of seed s draws its kernel from ``fold_in(fold_in(fold_in(root,
    s), _KERNEL), l)`` and its bias with ``_BIAS``: a layer's values do not
    depend on how layers are grouped, nor on the scheme (common random numbers).
    """

    def per_seed(s: jax.Array) -> tuple[list[jax.Array], list[jax.Array]]:
        k_w = jax.random.fold_in(jax.random.fold_in(root, s), _KERNEL)
        k_b = jax.random.fold_in(jax.random.fold_in(root, s), _BIAS)
        kernels, biases = [], []
        for first, count, (n_in, n_out) in segments:
            layers = jnp.arange(first, first + count)
            kernels.append(jax.vmap(_layer_draw(kernel_init, k_w, (n_in, n_out)))(layers))
            biases.append(jax.vmap(_layer_draw(bias_init, k_b, (n_out,)))(layers))
        return kernels, biases

    return jax.vmap(per_seed)(jnp.arange(seeds))


def _norms(v: jax.Array) -> jax.Array:
    """Euclidean norm of each row, scaled first so that squaring does not overflow float32."""
    m = jnp.max(jnp.abs(v), axis=1, keepdims=True)
    safe = jnp.where((m > 0) & jnp.isfinite(m), m, 1.0)
    out = jnp.squeeze(safe, 1) * jnp.sqrt(jnp.sum(jnp.square(v / safe), axis=1))
    return jnp.where(jnp.isfinite(jnp.squeeze(m, 1)), out, jnp.squeeze(m, 1))


def _rms(v: jax.Array) -> jax.Array:
    """Root mean square of each row, scaled first so that squaring does not overflow float32."""
    m = jnp.max(jnp.abs(v), axis=1, keepdims=True)
    safe = jnp.where((m > 0) & jnp.isfinite(m), m, 1.0)
    out = jnp.squeeze(safe, 1) * jnp.sqrt(jnp.mean(jnp.square(v / safe), axis=1))
    return jnp.where(jnp.isfinite(jnp.squeeze(m, 1)), out, jnp.squeeze(m, 1))


def _layer_stats(h_in: jax.Array, z: jax.Array, h: jax.Array, dphi: jax.Array) -> dict[str, jax.Array]:
    """Forward statistics of one layer; ``input_norm`` (per input) feeds the gradient norms."""
    # Correlation over disjoint pairs of inputs (0, 1), (2, 3), ...: unbiased and O(batch * width).
    pairs = z.shape[0] // 2
    a, b = z[: 2 * pairs : 2], z[1 : 2 * pairs : 2]
    corr = jnp.sum(a * b, axis=1) / jnp.sqrt(jnp.sum(a * a, axis=1) * jnp.sum(b * b, axis=1))
    q = jnp.mean(z * z)
    return {
        "second_moment": q,
        "unit_spread": jnp.mean(jnp.var(z, axis=1)) / q,
        "mean": jnp.mean(h),
        "dead_fraction": jnp.mean(jnp.all(jnp.abs(dphi) < DEAD_DERIVATIVE, axis=0).astype(z.dtype)),
        "correlation": jnp.mean(corr) if pairs else jnp.full((), jnp.nan, z.dtype),
        "input_norm": _norms(h_in),
    }


def _scan(
    body: Callable[[jax.Array, Any], tuple[jax.Array, Any]], carry: jax.Array, xs: Any, reverse: bool = False
) -> tuple[jax.Array, Any]:
    """``lax.scan`` over a run of layers; a single layer that changes the width is applied directly."""
    first = jax.tree.leaves(xs)[0]
    if first.shape[0] == 1:
        carry, ys = body(carry, jax.tree.map(lambda a: a[0], xs))
        return carry, jax.tree.map(lambda a: jnp.expand_dims(a, 0), ys)
    return jax.lax.scan(body, carry, xs, reverse=reverse)


def _network(
    phi: Callable[[jax.Array], jax.Array],
    kernels: list[jax.Array],
    biases: list[jax.Array],
    x: jax.Array,
    readout: jax.Array,
) -> dict[str, jax.Array]:
    """Statistics of one network (one seed); ``kernels[i]`` is ``(count, n_in, n_out)`` per segment.

    Backward by hand (cheaper to compile than autodiff through the scans):
    for one input's loss ``L_b = <x^L_b, r>``, ``delta^L = phi'(z^L) r`` and
    ``delta^l = phi'(z^l) (W^{l+1} delta^{l+1})``; the kernel gradient
    ``dL_b/dW^l`` is the outer product ``x^{l-1}_b delta^l_b``, whose Frobenius
    norm is ``|x^{l-1}_b| |delta^l_b|``.
    """

    def forward(h: jax.Array, p: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, Any]:
        w, b = p
        z = h @ w + jnp.expand_dims(b, 0)
        h_next, dphi = jax.jvp(phi, (z,), (jnp.ones_like(z),))
        return h_next, (_layer_stats(h, z, h_next, dphi), dphi)

    h = x
    stats, dphis = [], []
    for w, b in zip(kernels, biases, strict=True):
        h, (st, dphi) = _scan(forward, h, (w, b))
        stats.append(st)
        dphis.append(dphi)

    def backward(g: jax.Array, p: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, Any]:
        w, dphi = p  # g = dL_b/dx^l_b; delta = dL_b/dz^l_b
        delta = dphi * g
        return delta @ w.T, (_norms(delta), jnp.mean(delta * delta))

    g = jnp.broadcast_to(jnp.expand_dims(readout, 0), (x.shape[0], readout.shape[0]))
    backs = []
    for w, dphi in zip(reversed(kernels), reversed(dphis), strict=True):
        g, back = _scan(backward, g, (w, dphi), reverse=True)
        backs.append(back)
    backs.reverse()
    out = {k: jnp.concatenate([s[k] for s in stats]) for k in stats[0]}
    per_input = out.pop("input_norm") * jnp.concatenate([d for d, _ in backs])  # (depth, batch)
    # Every delta depends on the whole forward pass: if it overflowed, no gradient is meaningful.
    finite = jnp.all(jnp.isfinite(h))
    out["grad_norm"] = jnp.where(finite, _rms(per_input), jnp.nan)
    out["backward_second_moment"] = jnp.where(finite, jnp.concatenate([m for _, m in backs]), jnp.nan)
    return out


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _run(
    phi: Callable[[jax.Array], jax.Array],
    seeds: int,
    batch: int,
    root: jax.Array,
    kernels: list[jax.Array],
    biases: list[jax.Array],
    x_shared: jax.Array | None,
) -> dict[str, jax.Array]:
    """Every seed's network: inputs (unless shared) and readout drawn here, then ``_network``, vmapped."""
    n_in, n_out = kernels[0].shape[2], kernels[-1].shape[3]

    def per_seed(s: jax.Array, kernels: list[jax.Array], biases: list[jax.Array]) -> dict[str, jax.Array]:
        k = jax.random.fold_in(root, s)
        if x_shared is None:
            x = sampling.normal(jax.random.fold_in(k, _INPUT), (batch, n_in), np.dtype(np.float32))
        else:
            x = x_shared
        r = sampling.normal(jax.random.fold_in(k, _READOUT), (n_out,), np.dtype(np.float32)) / np.float32(
            np.sqrt(n_out)
        )
        out = _network(phi, kernels, biases, x, r)
        out["input_second_moment"] = jnp.mean(x * x)
        return out

    return jax.vmap(per_seed)(jnp.arange(seeds), kernels, biases)


def propagate(
    schemes: SchemeSpec | Sequence[str | Initializer] | Mapping[str, Initializer | tuple[Initializer, Initializer]],
    activation: str | Callable[[Any], Any] = "relu",
    *,
    depth: int = 50,
    width: int | Sequence[int] = 256,
    inputs: Any = None,
    batch: int = 128,
    input_dim: int | None = None,
    bias_init: Initializer | None = None,
    seeds: int = 8,
    key: int | jax.Array = 0,
    quantiles: tuple[float, float] = (0.1, 0.9),
    param: float | None = None,
    progress: bool = False,
) -> Propagation:
    """Measures forward and backward signal through a deep Dense network at init.

    The network is ``z^l = x^{l-1} W^l + b^l``, ``x^l = phi(z^l)`` for
    l = 1..``depth``; ``W^l`` is drawn by the scheme's initializer with shape
    ``(n_{l-1}, n_l)`` (jax/Flax layout), ``b^l`` by ``bias_init`` (zeros by
    default). The loss behind the gradients is a random linear readout of the
    last layer, ``L_b = <x^L_b, r>`` per input b, r ~ N(0, I / n_L). See the
    module docstring for every measured quantity.

    With He init on relu, E[(z^l)^2] stays at E[(z^1)^2] = 2 E[(x^0)^2] for
    every l (He et al. 2015, eq. 10); with Glorot it halves at each layer.

    Args:
      schemes: a scheme name from ``jinit list`` (``"he_normal"``), an
        initializer, a sequence of those, or a mapping from a label to an
        initializer or to a ``(kernel_init, bias_init)`` pair (as
        ``jinit.edge_of_chaos`` returns).
      activation: a name known to ``jinit.gain`` or an elementwise callable.
      depth: the number of Dense layers L.
      width: the width of every layer, or one width per layer.
      inputs: a ``(batch, features)`` array shared by every seed; by default
        each seed draws ``batch`` inputs from N(0, I_{input_dim}).
      batch: the number of generated inputs (ignored with ``inputs``).
      input_dim: the width of generated inputs (default: the first layer's).
      bias_init: the bias initializer of every scheme without its own
        (default zeros).
      seeds: the number of independent networks per scheme.
      key: an int seed or a PRNG key; seed s uses ``fold_in(key, s)`` for
        every scheme (common random numbers).
      quantiles: the lower and upper quantile across seeds of each band.
      param: the activation's parameter (leaky_relu slope, elu alpha).
      progress: draw a progress bar on stderr (after a second) over the schemes.

    Returns:
      A :class:`Propagation` of numpy arrays: per scheme, seed and layer
      samples, and their mean, median and quantiles across seeds.

    Examples:
      >>> import jinit
      >>> p = jinit.propagate(["he_normal", "glorot_normal"], "relu", depth=10, width=512, seeds=4)
      >>> p.second_moment.median.shape
      (2, 10)
      >>> bool(0.5 < p.second_moment.median[0, -1] / p.second_moment.median[0, 0] < 2.0)
      True
      >>> bool(p.second_moment.median[1, -1] / p.second_moment.median[1, 0] < 0.01)
      True
    """
    resolved = resolve_schemes(schemes, bias_init)
    act = get_activation(activation, param, caller=NAME)
    depth = validation.integer(NAME, "depth", depth, minimum=1)
    seeds = validation.integer(NAME, "seeds", seeds, minimum=1)
    batch = validation.integer(NAME, "batch", batch, minimum=1)
    q_lo, q_hi = (validation.real_scalar(NAME, "quantiles", q) for q in quantiles)
    if not 0.0 <= q_lo < q_hi <= 1.0:
        raise ValueError(
            validation.error(NAME, f"`quantiles` must satisfy 0 <= lower < upper <= 1; got quantiles={quantiles!r}.")
        )
    x_shared = None
    if inputs is not None:
        x_shared = jnp.asarray(inputs, jnp.float32)
        if x_shared.ndim != 2 or x_shared.shape[0] < 1:
            raise ValueError(
                validation.error(NAME, f"`inputs` must be a (batch, features) array; got shape {x_shared.shape}.")
            )
        if not bool(jnp.all(jnp.isfinite(x_shared))):
            raise ValueError(validation.error(NAME, "`inputs` must be finite."))
        batch = int(x_shared.shape[0])
    widths = _widths(depth, width, input_dim, x_shared)
    root = _as_key(key)

    segments = tuple(_segments(widths))
    samples: dict[str, list[np.ndarray]] = {q: [] for q in QUANTITIES}
    input_q = np.zeros(seeds)
    for _, kernel_init, b_init in progress_bar(resolved, len(resolved), "jinit propagate", enabled=progress):
        kernels, biases = _draw(kernel_init, b_init, root, seeds, segments)
        stats = _run(act.fn, seeds, batch, root, kernels, biases, x_shared)
        for q in QUANTITIES:
            samples[q].append(np.asarray(stats[q], dtype=np.float64))
        input_q = np.asarray(stats["input_second_moment"], dtype=np.float64)

    bands = {q: Band.from_samples(np.stack(samples[q]), (q_lo, q_hi)) for q in QUANTITIES}
    return Propagation(
        schemes=tuple(r[0] for r in resolved),
        activation=act.name,
        widths=widths,
        batch=batch,
        seeds=seeds,
        quantiles=(q_lo, q_hi),
        input_second_moment=input_q,
        **bands,
    )
