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
# # Why initialisation matters: signals through depth
#
# Five ways to initialise the kernels of a 50-layer network, with tanh and
# with relu: zeros, a tiny normal N(0, 0.01^2), a large normal N(0, 1),
# Xavier/Glorot (`glorot_normal`) and He (`he_normal`). `jinit.propagate`
# pushes a batch of N(0, I) inputs through 4 independent networks per scheme
# (width 128, zero biases) and measures, per layer, the second moment
# E[z^2] of the pre-activations and the norm of the kernel gradient of a
# random linear readout. Lines are medians over the 4 networks, bands the
# 10%-90% range. Every claim below is asserted.

# %%
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits

import jinit
from jinit import mean_field

plt = jinit.plot.pyplot()
DEPTH, WIDTH = 50, 128
schemes = {
    "zeros": jinit.zeros,
    "N(0, 0.01²)": jinit.normal(0.01),
    "N(0, 1)": jinit.normal(1.0),
    "Xavier": jinit.glorot_normal(),
    "He": jinit.he_normal(),
}
runs = {
    act: jinit.propagate(schemes, act, depth=DEPTH, width=WIDTH, batch=64, seeds=4, key=0) for act in ("tanh", "relu")
}
# One figure: a column per activation, one legend; what a line cannot show (zeros on a log axis,
# float32 underflow or overflow, one curve hiding another) is noted in each panel.
fig = jinit.plot.propagation(list(runs.values()), ("second_moment", "grad_norm"))
plt.show()
for run in runs.values():
    print(run.table())

# %% [markdown]
# ## Zeros: nothing moves
#
# With zero kernels every pre-activation is 0 and so is every gradient:
# nothing reaches the kernels (the lines are absent from the log plots, as the
# note in each panel says).
# Every unit of a layer computes the same thing, the symmetry that the last
# section shows training cannot break.

# %%
for act, run in runs.items():
    i = run.index("zeros")
    assert np.all(run.second_moment.samples[i] == 0.0) and np.all(run.grad_norm.samples[i] == 0.0), act

# %% [markdown]
# ## N(0, 0.01^2): the signal vanishes
#
# Each layer multiplies E[z^2] by width x 0.01^2 x E[phi(z)^2]/E[z^2]:
# 128e-4 for tanh (near 0, tanh is the identity) and half that for relu.
# After 50 layers the forward signal and the gradients of the first layers
# are below float32's smallest number.

# %%
for act, run in runs.items():
    i = run.index("N(0, 0.01²)")
    q, g = run.second_moment.median[i], run.grad_norm.median[i]
    print(f"{act}: E[z^2] layer 1 {q[0]:.3g}, layer 10 {q[9]:.3g}, layer 50 {q[-1]:.3g}; |dW| layer 1 {g[0]:.3g}")
    assert q[-1] < 1e-30 and g[0] < 1e-30, act

# %% [markdown]
# ## N(0, 1): explosion (relu) and chaos (tanh)
#
# With Var(w) = 1 the relu network multiplies E[z^2] by width/2 = 64 per
# layer and overflows float32 within 25 layers. Tanh bounds the forward
# signal (the units saturate, E[z^2] stays near width x E[tanh^2]), but the
# network is chaotic: mean-field theory (`jinit.mean_field`) gives
# chi_1 = sigma_w^2 E[tanh'(z)^2] >> 1 for sigma_w^2 = 128, so gradients grow
# by about sqrt(chi_1) per layer going backwards.

# %%
relu, tanh = runs["relu"], runs["tanh"]
q_big = relu.second_moment.median[relu.index("N(0, 1)")]
overflow = int(np.argmax(~np.isfinite(q_big))) + 1
print(f"relu, N(0, 1): E[z^2] at layer 10 = {q_big[9]:.3g}, no longer finite from layer {overflow}")
assert not np.isfinite(q_big[-1]) and q_big[9] > 1e15

i = tanh.index("N(0, 1)")
g = tanh.grad_norm.samples[i]  # (seeds, layers)
chi1 = mean_field.chi1("tanh", float(WIDTH), 0.0)
growth = (g[:, 0] / g[:, -1]) ** (1 / (DEPTH - 1))  # per layer, per network
print(f"tanh, N(0, 1): |dW| layer 1 / layer 50 = {np.median(g[:, 0] / g[:, -1]):.3g}")
print(f"measured growth per layer {np.round(growth, 3)}; mean-field sqrt(chi_1) = {math.sqrt(chi1):.3f}")
assert np.all(g[:, 0] / g[:, -1] > 1e6)
# Within 6 standard errors across the networks, plus the O(1/width) finite-width bias of chi_1.
se = growth.std(ddof=1) / math.sqrt(growth.size)
assert abs(growth.mean() - math.sqrt(chi1)) < 6 * se + math.sqrt(chi1) / WIDTH
assert tanh.second_moment.median[i, -1] < WIDTH  # bounded forward signal: E[z^2] <= width E[tanh^2] < width

# %% [markdown]
# ## Xavier and He
#
# **tanh + Xavier** (Var(w) = 1/width on square layers, sigma_w^2 = 1): near
# 0 tanh is linear, so the length map q -> E[tanh(sqrt(q) z)^2] ~ q - 2 q^2
# shrinks E[z^2] only like 1/(2l), not exponentially, and the gradients keep
# their size through all 50 layers (chi_1 -> 1). The mean-field length map
# predicts E[z^2] layer by layer.
#
# **relu + He** keeps E[z^2] constant in expectation (He et al. 2015): each
# relu keeps half the second moment and Var(w) = 2/fan_in doubles it back.
# A finite network fluctuates around that: log E[z^L] spreads by about
# sqrt(5 L / width) across networks. **relu + Xavier** halves it at every
# layer: relu is positively homogeneous and the keys are shared, so the
# Xavier network is exactly the He network scaled by 2^(-l/2) at layer l.

# %%
i = tanh.index("Xavier")
q_x = tanh.second_moment.samples[i]  # (seeds, layers)
theory = np.empty_like(q_x)
for s in range(q_x.shape[0]):
    q = 1.0 * tanh.input_second_moment[s]  # sigma_w^2 = 1, no bias
    for layer in range(DEPTH):
        theory[s, layer] = q
        q = mean_field.length_map("tanh", 1.0, 0.0, q)
rel = q_x / theory
print(f"tanh + Xavier: E[z^2] layer 50 = {np.median(q_x[:, -1]):.4f}, mean field {np.median(theory[:, -1]):.4f}")
print(f"  the asymptotic 1/(2l) at l = 50: {1 / 100:.4f}")
# Mean field is the infinite-width limit: one network of width n strays from it by about
# sqrt(depth / n) in log E[z^2] (0.6 at layer 50 here); the median over the networks stays within that.
assert np.all(np.abs(np.log(np.median(rel, axis=0))) < np.sqrt(np.arange(1, DEPTH + 1) / WIDTH))
g = tanh.grad_norm.median[i]
print(f"tanh + Xavier: |dW| layer 1 / layer 50 = {g[0] / g[-1]:.3f}")
assert 0.5 < g[0] / g[-1] < 2.0  # neither vanishing nor exploding

he, xavier = relu.index("He"), relu.index("Xavier")
ratio = relu.second_moment.samples[he, :, -1] / relu.second_moment.samples[he, :, 0]
spread = math.sqrt(5 * (DEPTH - 1) / WIDTH)
print(f"relu + He: E[z^50] / E[z^1] per network {np.round(ratio, 3)}; spread of its log ~ {spread:.2f}")
assert np.all(np.abs(np.log(ratio)) < 4 * spread)
layers = relu.layers
np.testing.assert_allclose(relu.second_moment.samples[xavier], relu.second_moment.samples[he] * 2.0**-layers, rtol=1e-4)
print(f"relu + Xavier: E[z^50] / E[z^1] = 2^-49 = {2.0**-49:.3g}")

# %% [markdown]
# ## Zero and constant kernels: symmetry that training cannot break
#
# If every kernel entry of a layer is the same, every unit of that layer
# computes the same function of its input, receives the same gradient, and
# takes the same step: the units stay identical however long we train. We
# train a 4-layer tanh MLP on scikit-learn's digits for 50 steps of SGD with
# three kernel initialisations: zeros, the constant 0.1, and He. With zeros
# the hidden kernels never even move (their gradient is 0: the layer above
# holds only zeros); with the constant they move, but every column stays equal
# to the first. He breaks the symmetry from the start.

# %%
X, y = load_digits(return_X_y=True)
X = jnp.asarray((X - X.mean(0)) / (X.std(0) + 1e-6), jnp.float32)
y = jnp.asarray(y)
widths = [64, 32, 32, 32, 10]


def init_mlp(kernel_init, key):
    keys = jax.random.split(key, len(widths) - 1)
    return [(kernel_init(k, (a, b)), jnp.zeros((b,))) for k, a, b in zip(keys, widths[:-1], widths[1:], strict=True)]


def loss_fn(params, x, y):
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return optax.softmax_cross_entropy_with_integer_labels(x @ w + b, y).mean()


opt = optax.sgd(0.1)


@jax.jit
def train(params):
    def step(carry, _):
        p, s = carry
        g = jax.grad(loss_fn)(p, X, y)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    return jax.lax.scan(step, (params, opt.init(params)), None, length=50)[0][0]


trained = {
    name: train(init_mlp(init, jax.random.key(0)))
    for name, init in {"zeros": jinit.zeros, "constant 0.1": jinit.constant(0.1), "He": jinit.he_normal()}.items()
}
for name, params in trained.items():
    # Largest difference between a hidden unit's incoming weights and unit 0's, per hidden layer.
    spread = [float(jnp.max(jnp.abs(w - w[:, :1]))) for w, _ in params[:-1]]
    print(f"{name:>12}: max |W[:, j] - W[:, 0]| per hidden layer {np.round(spread, 4)}")

assert all(float(jnp.max(jnp.abs(w))) == 0.0 for w, _ in trained["zeros"][1:-1])
assert all(float(jnp.max(jnp.abs(w - w[:, :1]))) == 0.0 for w, _ in trained["constant 0.1"][:-1])
assert any(float(jnp.max(jnp.abs(w - 0.1))) > 0 for w, _ in trained["constant 0.1"][:-1])  # they did move
assert all(float(jnp.max(jnp.abs(w - w[:, :1]))) > 0.1 for w, _ in trained["He"][:-1])
