# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Hyperparameter transfer in width and depth: SP, muP, depth-muP, CompleteP, u-muP
#
# A parametrization says how the init, the forward multipliers, the residual
# branches and the optimizer's learning rates change with the width n and the
# depth L of a model. `jinit.mup.parametrization(name, base_width=...,
# base_depth=...)` gives them for six schemes (docs/mup.md has the tables):
#
# * **sp**: N(0, 1/fan_in) kernels, one Adam learning rate;
# * **mup** (Yang et al. 2021): hidden and readout Adam LR times 1/m
#   (m = n / base_width), readout started at zero;
# * **depth_mup** (Yang et al. 2023; Bordelon et al. 2023): muP, residual
#   branches times (L / base_depth)^-1/2, hidden LR times (L / base_depth)^-1/2;
# * **completep** (Dey et al. 2025): muP, branches times (L / base_depth)^-1,
#   hidden LR independent of depth, Adam epsilon times 1/(m L / base_depth);
# * **umup** (Blake et al. 2024): N(0, 1) weights, the scale in forward
#   multipliers, a unit-variance residual stream; no base shape.
#
# Two experiments on a residual MLP
# `h_l = skip h_(l-1) + branch * W_l relu(rms_norm(h_(l-1)))` (pre-norm
# branches, as in the papers' transformers) trained with Adam on a random
# teacher (64 inputs, nothing downloaded):
#
# 1. **Coordinate checks**: after 20 steps, how much did each layer's
#    activations move? A parametrization that transfers moves them by the
#    same amount at every width (and, for the depth rules, every depth).
# 2. **Learning-rate sweeps**: the best learning rate at a small and a large
#    model.
#
# Every run of one shape is one `vmap`ped program: the schemes differ only in
# numbers, all read from `jinit.mup`.

# %%
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jinit
from jinit import mup

plt = jinit.plot.pyplot()

D_IN, D_OUT, BATCH, STEPS = 16, 4, 64, 20
B1, B2, EPS = 0.9, 0.999, 1e-8
kx, ka, kb = jax.random.split(jax.random.key(123), 3)
X = jax.random.normal(kx, (BATCH, D_IN))
Y = jnp.tanh(X @ jax.random.normal(ka, (D_IN, 32)) / math.sqrt(D_IN)) @ jax.random.normal(kb, (32, D_OUT))
Y = Y / jnp.std(Y)


def forward(p, c, x):
    """Every residual-stream state (L + 1, batch, n) and the output."""
    h0 = c["mult"][0] * (x @ p["w_in"])

    def block(h, args):
        w, skip, branch = args
        z = h * jax.lax.rsqrt(jnp.mean(h * h, axis=-1, keepdims=True) + 1e-6)
        h = skip * h + branch * (c["mult"][1] * (jax.nn.relu(z) @ w))
        return h, h

    h, hs = jax.lax.scan(block, h0, (p["w"], c["skip"], c["branch"]))
    return jnp.concatenate([h0[None], hs]), c["mult"][2] * (h @ p["w_out"])


def loss_fn(p, c):
    return jnp.mean((forward(p, c, X)[1] - Y) ** 2)


def adam_step(p, m, v, t, c, lr):
    """One Adam step with per-leaf LR and epsilon factors (checked against mup's optax transform below)."""
    loss, g = jax.value_and_grad(loss_fn)(p, c)
    names = ("w_in", "w", "w_out")
    m = {k: B1 * m[k] + (1 - B1) * g[k] for k in names}
    v = {k: B2 * v[k] + (1 - B2) * g[k] ** 2 for k in names}
    p = {
        k: p[k] - lr * c["lr"][i] * (m[k] / (1 - B1**t)) / (jnp.sqrt(v[k] / (1 - B2**t)) + EPS * c["eps"][i])
        for i, k in enumerate(names)
    }
    return p, m, v, loss


def train(p, c, lr):
    """STEPS of Adam: the RMS change of every residual state, the output change, the losses."""

    def step(carry, t):
        p, m, v = carry
        p, m, v, loss = adam_step(p, m, v, t, c, lr)
        return (p, m, v), loss

    zeros = jax.tree.map(jnp.zeros_like, p)
    (p_end, _, _), losses = jax.lax.scan(step, (p, zeros, zeros), jnp.arange(1, STEPS + 1, dtype=jnp.float32))
    (hs0, out0), (hs1, out1) = forward(p, c, X), forward(p_end, c, X)
    return jnp.sqrt(jnp.mean((hs1 - hs0) ** 2, axis=(1, 2))), out1 - out0, losses


run = jax.jit(jax.vmap(train))


def setup(p, width, depth, seed):
    """Draws, multipliers, residual coefficients and Adam factors of one run, from the parametrization."""
    r_in = p.rule("input", width=width, depth=depth, fan_in=D_IN)
    r_h = p.rule("hidden", width=width, depth=depth)
    r_out = p.rule("output", width=width, depth=depth)
    key = jax.random.key(seed)
    params = {
        "w_in": r_in.init(jax.random.fold_in(key, 0), (D_IN, width)),
        "w": jinit.stacked(r_h.init, depth)(jax.random.fold_in(key, 1), (depth, width, width)),
        "w_out": r_out.init(jax.random.fold_in(key, 2), (width, D_OUT)),
    }
    res = np.asarray([p.residual(depth, layer) for layer in range(depth)], np.float32)
    rules = (r_in, r_h, r_out)
    coef = {
        "mult": jnp.asarray([r.multiplier for r in rules], jnp.float32),
        "skip": jnp.asarray(res[:, 0]),
        "branch": jnp.asarray(res[:, 1]),
        "lr": jnp.asarray([r.learning_rate for r in rules], jnp.float32),
        "eps": jnp.asarray([r.eps for r in rules], jnp.float32),
    }
    return params, coef


# %% [markdown]
# The hand-written Adam step above is what `Parametrization.optimizer` does
# (an optax chain: gradients divided by the epsilon factors, `optax.adam`,
# updates times the learning-rate factors). Checked on a CompleteP model
# (width 128, depth 8, base 32 x 2):

# %%
P = mup.parametrization("completep", base_width=32, base_depth=2, zero_readout=True)
params, coef = setup(P, 128, 8, seed=0)
params = {
    **params,
    "w_out": 0.01 * jax.random.normal(jax.random.key(5), (128, D_OUT)),
}  # a readout that passes gradients
kinds = {"w_in": "input", "w": "hidden", "w_out": "output"}
tx = P.optimizer(1e-3, params, kinds, width=128, depth=8, eps=EPS)
state, p_tx = tx.init(params), params
p_hand, m, v = params, jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params)
for t in range(1, 4):
    updates, state = tx.update(jax.grad(loss_fn)(p_tx, coef), state, p_tx)
    p_tx = optax.apply_updates(p_tx, updates)
    p_hand, m, v, _ = adam_step(p_hand, m, v, jnp.float32(t), coef, 1e-3)
for k in kinds:
    np.testing.assert_allclose(p_hand[k], p_tx[k], rtol=1e-5, atol=1e-7, err_msg=k)
print("hand-written Adam == Parametrization.optimizer after 3 steps")

# %% [markdown]
# ## Runs
#
# Coordinate checks: widths 32 to 256 at depth 4 (base 32 x 2, so the depth
# rules act too), and depths 2 to 16 at width 64 (base 64 x 2), with a learning
# rate small enough (2^-15; u-muP's unit-scale weights take base_width times
# that) that 20 steps stay in the linear-response regime where the theory's
# exponents apply. Sweeps: 13 learning rates 2^-14 ... 2^-2 for SP and
# CompleteP at widths 32 and 256 and depths 2 and 16. Two seeds each.

# %%
WIDTHS, DEPTHS, SEEDS = (32, 64, 128, 256), (2, 4, 8, 16), (0, 1)
COORD_LR, LRS = 2.0**-15, 2.0 ** np.arange(-14, -1)


def schemes(base_width, base_depth):
    kw = {"base_width": base_width, "zero_readout": True}
    return {
        "sp": mup.parametrization("sp"),
        "mup": mup.parametrization("mup", **kw),
        "depth_mup": mup.parametrization("depth_mup", base_depth=base_depth, **kw),
        "completep": mup.parametrization("completep", base_depth=base_depth, **kw),
        "umup": mup.parametrization("umup"),
    }


jobs = {}
for w in WIDTHS:
    for name, p in schemes(32, 2).items():
        lr = COORD_LR * 32 if name == "umup" else COORD_LR
        jobs.setdefault((w, 4), []).extend((("width", name, w, s), p, s, lr) for s in SEEDS)
for d in DEPTHS:
    for name, p in schemes(64, 2).items():
        lr = COORD_LR * 64 if name == "umup" else COORD_LR
        jobs.setdefault((64, d), []).extend((("depth", name, d, s), p, s, lr) for s in SEEDS)
SWEEPS = {"width": ((32, 4), (256, 4), (32, 2)), "depth": ((64, 2), (64, 16), (64, 2))}  # small, large, base
for axis, (small, large, base) in SWEEPS.items():
    for name in ("sp", "completep"):
        p = schemes(*base)[name]
        for shape in (small, large):
            for i, lr in enumerate(LRS):
                jobs.setdefault(shape, []).extend((("sweep", name, axis, shape, i, s), p, s, float(lr)) for s in SEEDS)

start, out = time.perf_counter(), {}
for (w, d), items in jobs.items():
    cfgs = [setup(p, w, d, s) for _, p, s, _ in items]
    batch = [jax.tree.map(lambda *a: jnp.stack(a), *[c[i] for c in cfgs]) for i in (0, 1)]
    dh, dout, losses = (np.asarray(a, np.float64) for a in run(*batch, jnp.asarray([it[3] for it in items])))
    out.update({tag: (dh[i], dout[i], losses[i]) for i, (tag, *_) in enumerate(items)})
print(f"{len(out)} runs in {time.perf_counter() - start:.1f} s (with compilation)")

# %% [markdown]
# ## Coordinate check across width
#
# Per layer, the RMS change of the residual stream (h_0 is the first layer's
# output, h_4 the last block's) and of the output. The output's coordinates are
# the same functions in every seed, so its change is averaged over seeds before
# its RMS is taken (that removes part of the O(1/n) variance a width-n sum
# adds); the hidden coordinates are neurons, sized per seed.


# %%
def sizes(axis, name, values, layers):
    rows = []
    for v in values:
        dh = np.mean([out[(axis, name, v, s)][0] for s in SEEDS], axis=0)[layers]
        dout = np.mean([out[(axis, name, v, s)][1] for s in SEEDS], axis=0)
        rows.append(np.append(dh, np.sqrt(np.mean(dout**2))))
    return np.asarray(rows)


def slopes(size, values):
    return np.polyfit(np.log(values), np.log(size), 1)[0]


names = list(schemes(32, 2))
fig, axes = plt.subplots(1, 5, figsize=(17, 3.4), layout="constrained", sharey=True)
width_slopes = {}
for ax, name in zip(axes, names, strict=True):
    s = sizes("width", name, WIDTHS, slice(None))
    width_slopes[name] = slopes(s, WIDTHS)
    for j, label in enumerate([f"h_{i}" for i in range(5)] + ["output"]):
        ax.plot(WIDTHS, s[:, j], "o-", label=label, color=plt.cm.viridis(j / 5))
    ax.set(xscale="log", yscale="log", title=name, xlabel="width")
    ax.set_xticks(WIDTHS, [str(w) for w in WIDTHS])
    ax.minorticks_off()
axes[0].set_ylabel("RMS change after 20 Adam steps")
axes[-1].legend(fontsize=7)
plt.show()
for name, s in width_slopes.items():
    print(f"{name:>10}: log-log slope per layer {np.round(s, 3)}")

# %% [markdown]
# SP's hidden layers move like n (slope about 0.8 here; Adam's sign-like
# steps add n aligned terms) and its output like n^1.5; the first layer, fed
# by 16 fixed inputs, is flat in every scheme. The four others are flat:
# slopes within +-0.15, the band a relative finite-width correction of
# 2/sqrt(n) at n = 32 allows (log(1 + 2/sqrt(32)) / log(8) = 0.146).

# %%
for name in ("mup", "depth_mup", "completep", "umup"):
    assert np.all(np.abs(width_slopes[name]) < 0.15), (name, width_slopes[name])
assert np.all(width_slopes["sp"][1:] > 0.3) and abs(width_slopes["sp"][0]) < 0.15, width_slopes["sp"]

# %% [markdown]
# ## Coordinate check across depth
#
# The first layer's output h_0, the last residual state h_L (what the readout
# sees) and the output, at width 64 and depths 2 to 16.

# %%
fig, axes = plt.subplots(1, 5, figsize=(17, 3.4), layout="constrained", sharey=True)
depth_slopes = {}
for ax, name in zip(axes, names, strict=True):
    s = sizes("depth", name, DEPTHS, [0, -1])
    depth_slopes[name] = slopes(s, DEPTHS)
    for j, label in enumerate(("h_0", "h_L", "output")):
        ax.plot(DEPTHS, s[:, j], "o-", label=label, color=plt.cm.viridis(j / 2))
    ax.set(xscale="log", yscale="log", title=name, xlabel="depth (residual blocks)")
    ax.set_xticks(DEPTHS, [str(d) for d in DEPTHS])
    ax.minorticks_off()
axes[0].set_ylabel("RMS change after 20 Adam steps")
axes[-1].legend(fontsize=7)
plt.show()
for name, s in depth_slopes.items():
    print(f"{name:>10}: log-log slope (h_0, h_L, output) {np.round(s, 3)}")

# %% [markdown]
# In SP and muP (no depth rule) every block adds a Theta(lr) update, so the
# last state moves like L. With depth-muP and CompleteP a block adds
# L^-alpha times an update of learning rate L^(alpha-1), i.e. 1/L, and the L
# blocks together a depth-independent amount; u-muP follows depth-muP.

# %%
for name in ("depth_mup", "completep", "umup"):
    assert np.all(np.abs(depth_slopes[name]) < 0.15), (name, depth_slopes[name])
assert np.all(depth_slopes["sp"][1:] > 0.3) and depth_slopes["mup"][1] > 0.3, depth_slopes

# %% [markdown]
# ## Learning-rate sweeps
#
# Training loss (mean of the last 5 of 20 steps, over two seeds) against the
# learning rate. The optimum is the vertex of a parabola through the best grid
# point and its neighbours, in (log2 lr, log loss).


# %%
def curve(name, axis, shape):
    return np.asarray(
        [np.mean([np.mean(out[("sweep", name, axis, shape, i, s)][2][-5:]) for s in SEEDS]) for i in range(len(LRS))]
    )


def optimum(loss):
    loss = np.where(np.isfinite(loss), loss, np.inf)
    i = int(np.argmin(loss))
    assert 0 < i < len(LRS) - 1, loss  # the grid brackets the optimum
    a, b, _ = np.polyfit(np.log2(LRS[i - 1 : i + 2]), np.log(loss[i - 1 : i + 2]), 2)
    return -b / (2 * a)


fig, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained")
shift = {}
for row, axis in enumerate(SWEEPS):
    small, large, _ = SWEEPS[axis]
    for col, name in enumerate(("sp", "completep")):
        ax = axes[row, col]
        best = {}
        for shape, color in ((small, "C0"), (large, "C3")):
            loss = curve(name, axis, shape)
            best[shape] = optimum(loss)
            label = f"width {shape[0]}" if axis == "width" else f"depth {shape[1]}"
            ax.plot(LRS, np.minimum(loss, 10.0), "o-", color=color, label=label)
            ax.axvline(2.0 ** best[shape], color=color, ls=":")
        shift[(name, axis)] = best[large] - best[small]
        ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="training loss")
        ax.set_title(f"{name} across {axis}: optimum moves {shift[(name, axis)]:+.2f} octaves")
        ax.legend()
plt.show()
for (name, axis), s in shift.items():
    print(f"{name:>10} across {axis}: log2 of the optimum moves by {s:+.2f}")

# %% [markdown]
# Under SP the best Adam learning rate falls like 1/width (theory: -3 octaves
# from width 32 to 256) and also falls with depth; CompleteP's stays put in
# both directions, so a learning rate tuned on the 32-wide, 2-block model is
# the one to use on the larger ones.

# %%
assert shift[("sp", "width")] < -1.5, shift
assert abs(shift[("completep", "width")]) < 0.75, shift
assert abs(shift[("completep", "depth")]) < 1.0, shift
assert abs(shift[("completep", "depth")]) < abs(shift[("sp", "depth")]), shift
print("width and depth transfer hold for CompleteP; SP's optimum moves.")
