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
# # The edge of chaos: mean-field theory against a simulated network
#
# For a wide network with weights N(0, sigma_w^2 / fan_in) and biases
# N(0, sigma_b^2), mean-field theory (Poole et al. 2016; Schoenholz et al.
# 2017; `jinit.mean_field`) predicts, layer by layer:
#
# * the **length** q^l = E[z^2] of the pre-activations (the length map
#   q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2, with fixed point q*);
# * the **backward signal**: E[delta^2] shrinks or grows by
#   chi = sigma_w^2 E[phi'(sqrt(q) z)^2] per layer, going back;
# * the **correlation** c^l between the pre-activations of two inputs.
#
# chi_1 < 1 (at q*) is the ordered phase: gradients vanish and inputs become
# indistinguishable (c -> 1); chi_1 > 1 is chaos: gradients explode and
# nearby inputs decorrelate; chi_1 = 1 is the edge of chaos, where
# `jinit.edge_of_chaos` puts the initialisation. Here `jinit.propagate`
# measures all three in tanh networks of width 512 and the notebook asserts
# that they follow the theory.

# %%
import math

import numpy as np

import jinit
from jinit import mean_field

plt = jinit.plot.pyplot()
SB2 = 0.05  # sigma_b^2
with plt.style.context(jinit.plot.STYLE):
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2), layout="constrained")
    jinit.plot.length_map("tanh", (0.5, 1.0, 1.76, 3.0), SB2, q_max=2.0, ax=axes[0])
    jinit.plot.chi1_map("tanh", ax=axes[1])  # 64 x 33 grid, the edge of chaos on 101 bias variances
    plt.show()

# %% [markdown]
# Left: the length maps cross the identity at q*. Right: chi_1 over
# (sigma_w^2, sigma_b^2); the black line is the edge of chaos
# (`jinit.mean_field.critical`). At sigma_b^2 = 0 it is sigma_w^2 = 1 (Xavier
# for tanh); with sigma_b^2 = 0.05 it moves to 1.76.

# %%
sw2_crit, q_crit = mean_field.critical("tanh", SB2)
kernel_init, bias_init = jinit.edge_of_chaos("tanh", SB2)
print(
    f"critical sigma_w^2 = {sw2_crit:.4f}, q* = {q_crit:.4f}; chi_1 there = {mean_field.chi1('tanh', sw2_crit, SB2):.6f}"
)
assert math.isclose(mean_field.critical("tanh", 0.0)[0], 1.0, rel_tol=1e-9)
assert math.isclose(kernel_init.moments((512, 512)).variance, sw2_crit / 512, rel_tol=1e-12)
assert math.isclose(bias_init.moments((512,)).variance, SB2, rel_tol=1e-12)

# %% [markdown]
# ## Three networks: ordered, critical, chaotic
#
# sigma_w^2 = 1 (ordered), the critical 1.76 (`jinit.edge_of_chaos`), and 3
# (chaotic), all with sigma_b^2 = 0.05; 8 networks of width 512 and depth 16
# each, 32 inputs from N(0, I).

# %%
DEPTH, WIDTH, SEEDS = 16, 512, 8
phases = {
    "ordered": (jinit.variance_scaling(1.0, "fan_in", "normal"), jinit.normal(math.sqrt(SB2))),
    "critical": (kernel_init, bias_init),
    "chaotic": (jinit.variance_scaling(3.0, "fan_in", "normal"), jinit.normal(math.sqrt(SB2))),
}
sw2 = {"ordered": 1.0, "critical": sw2_crit, "chaotic": 3.0}
run = jinit.propagate(phases, "tanh", depth=DEPTH, width=WIDTH, batch=32, seeds=SEEDS, key=0)
print({p: round(mean_field.chi1("tanh", w, SB2), 4) for p, w in sw2.items()}, "(chi_1 at q*)")

# %% [markdown]
# The theory, from each network's own input length (the length map is cheap)
# and from the mean input for the correlations. Between layers of different
# lengths the correlation map C(c) (defined at equal lengths q) is rescaled:
# c^{l+1} = C(c^l; q^l) q^l / q^{l+1}. The first layer's correlation is
# sigma_b^2 / q^1, since independent inputs have E<x_a, x_b> = 0.


# %%
def theory(w: float, q0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per layer: the length q^l, chi(q^l), and the correlation c^l (layer 1 first)."""
    q = [w * q0 + SB2]
    for _ in range(DEPTH - 1):
        q.append(mean_field.length_map("tanh", w, SB2, q[-1]))
    chi = [mean_field.chi1("tanh", w, SB2, q_star=ql) for ql in q]
    c = [SB2 / q[0]]
    for layer in range(DEPTH - 1):
        c.append(mean_field.correlation_map("tanh", w, SB2, c[-1], q_star=q[layer]) * q[layer] / q[layer + 1])
    return np.array(q), np.array(chi), np.array(c)


pred = {p: theory(w, float(np.mean(run.input_second_moment))) for p, w in sw2.items()}
q_seed = {}  # per network: the lengths from its own input
for p, w in sw2.items():
    rows = []
    for s in range(SEEDS):
        q = [w * run.input_second_moment[s] + SB2]
        for _ in range(DEPTH - 1):
            q.append(mean_field.length_map("tanh", w, SB2, q[-1]))
        rows.append(q)
    q_seed[p] = np.array(rows)

layers = run.layers
with plt.style.context(jinit.plot.STYLE):
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.0), layout="constrained")
    for i, p in enumerate(sw2):
        q_th, chi_th, c_th = pred[p]
        color = jinit.plot.OKABE_ITO[i]
        back = run.backward_second_moment.median[i]
        back_th = back[-1] * np.concatenate([np.cumprod(chi_th[::-1][:-1])[::-1], [1.0]])
        for ax, theory_curve, measured in (
            (axes[0], q_th, run.second_moment.median[i]),
            (axes[1], back_th, back),
            (axes[2], c_th, run.correlation.median[i]),
        ):
            ax.plot(layers, theory_curve, color=color, lw=1.4, label=f"{p}, $\\sigma_w^2 = {sw2[p]:.2f}$")
            ax.plot(layers, measured, "o", ms=3.5, mfc="none", color=color, label="_network")
    axes[0].set_ylabel("$q^l = \\mathbb{E}[(z^l)^2]$")
    axes[1].set_ylabel("$\\mathbb{E}[(\\delta^l)^2]$ (theory anchored at layer 16)")
    axes[1].set_yscale("log")
    axes[2].set_ylabel("correlation $c^l$ between two inputs")
    for ax in axes:
        ax.set_xlabel("layer $l$")
    # One legend: a colour per phase; lines are mean-field theory, circles the median of 8 networks.
    axes[0].plot([], [], "o", ms=3.5, mfc="none", color="0.3", label="network (median of 8)")
    axes[0].plot([], [], color="0.3", lw=1.4, label="mean-field theory")
    jinit.plot.shared_legend(fig)
    plt.show()

# %% [markdown]
# ## The assertions
#
# For each phase and layer, the mean over the 8 networks is compared with the
# theory within 6 standard errors; the standard error pools the
# network-to-network spread over the layers (many degrees of freedom, so 6 of
# them is a 6-sigma bound). Mean-field theory is the infinite-width limit; its
# bias at width 512 and depth 16 is O(depth/width) = 3%, below these bounds,
# and we allow it explicitly for the correlations, whose spread is smallest.


# %%
def within(measured: np.ndarray, expected: np.ndarray, bias: float = 0.0) -> np.ndarray:
    """|mean over networks - expected| <= 6 pooled standard errors (+ bias), per layer."""
    se = math.sqrt(np.mean(np.var(measured, axis=0, ddof=1)) / measured.shape[0])
    return np.abs(measured.mean(axis=0) - expected) <= 6 * se + bias


for i, p in enumerate(sw2):
    rel_q = run.second_moment.samples[i] / q_seed[p]
    assert np.all(within(rel_q, 1.0)), (p, rel_q.mean(axis=0))
    d = run.backward_second_moment.samples[i]
    chi_seed = np.array([[mean_field.chi1("tanh", sw2[p], SB2, q_star=q) for q in row] for row in q_seed[p]])
    rel_chi = d[:, :-1] / d[:, 1:] / chi_seed[:, :-1]
    assert np.all(within(rel_chi, 1.0)), (p, rel_chi.mean(axis=0))
    c = run.correlation.samples[i]
    assert np.all(within(c, pred[p][2], bias=DEPTH / WIDTH)), (p, c.mean(axis=0), pred[p][2])
    print(
        f"{p:>8}: q within {np.max(np.abs(rel_q.mean(0) - 1)):.3f}, chi within {np.max(np.abs(rel_chi.mean(0) - 1)):.3f}, "
        f"c within {np.max(np.abs(c.mean(0) - pred[p][2])):.3f} of the theory"
    )

# %% [markdown]
# And the phases themselves: going back 16 layers, the gradients shrink in the
# ordered network, keep their size at the edge of chaos, and grow in the
# chaotic one; the correlation between inputs heads to 1 when ordered and
# stays far below it when chaotic.

# %%
g = run.grad_norm.median
growth = g[:, 0] / g[:, -1]  # layer 1 vs layer 16
print(dict(zip(sw2, np.round(growth, 3), strict=True)))
chi_star = {p: mean_field.chi1("tanh", w, SB2) for p, w in sw2.items()}
assert growth[0] < 1 < growth[2]
assert chi_star["ordered"] < 1 < chi_star["chaotic"] and math.isclose(chi_star["critical"], 1.0, rel_tol=1e-9)
c_last = run.correlation.median[:, -1]
assert c_last[0] > 0.9 > 0.5 > c_last[2]
