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
# # jinit with Flax: kernel_init, reinit by rules, ensembles, sharded init, PyTorch ports
#
# Every jinit initializer is a `kernel_init` for linen and nnx as it is. On
# top, `jinit.flax` re-initialises an existing model by path rules (like
# PyTorch's `model.apply(fn)`), builds ensembles in one jit, and materialises
# a model directly with its sharding. Eight CPU devices are requested before
# JAX starts, to show sharded initialisation on one machine.

# %%
import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import jinit
import jinit.flax
import jinit.torch

print(jax.devices())
assert len(jax.devices()) == 8

# %% [markdown]
# ## kernel_init in linen and nnx
#
# A linen `Dense` with `kernel_init=jinit.he_normal()`: its kernel follows
# He's law (chi-square test against the formula's density, and the moment
# check). jinit's jax-compatible names draw the same values as
# `jax.nn.initializers` for the same key, so `jinit.lecun_normal()` gives
# exactly Flax's default kernel.

# %%
x = jnp.ones((1, 256))
he_dense = nn.Dense(512, kernel_init=jinit.he_normal())
kernel = he_dense.init(jax.random.key(0), x)["params"]["kernel"]
fit = jinit.plot.goodness_of_fit(jinit.he_normal(), kernel.shape, draws=np.asarray(kernel))
check = jinit.testing.assert_moments(jinit.he_normal(), kernel.shape, key=jax.random.key(0))
print(f"he_normal kernel {kernel.shape}: variance {float(kernel.var()):.6f} (law {2 / 256:.6f}), chi2 z = {fit.z:.2f}")
assert abs(fit.z) < 6

default = nn.Dense(512).init(jax.random.key(0), x)["params"]["kernel"]
ours = nn.Dense(512, kernel_init=jinit.lecun_normal()).init(jax.random.key(0), x)["params"]["kernel"]
np.testing.assert_allclose(ours, default, rtol=1e-6, atol=1e-7)
print("jinit.lecun_normal() == Flax's default kernel init, value for value")

# nnx: the same initializers, e.g. an orthogonal kernel.
layer = nnx.Linear(256, 128, kernel_init=jinit.orthogonal(), bias_init=jinit.zeros, rngs=nnx.Rngs(0))
w = layer.kernel[...]
np.testing.assert_allclose(w.T @ w, np.eye(128), atol=1e-5)
print("nnx.Linear with jinit.orthogonal(): W^T W = I")

# %% [markdown]
# ## Re-initialising an existing model by rules
#
# PyTorch users write `model.apply(init_fn)`; with `jinit.flax.reinit` a
# list of `(regex, initializer)` rules gives new values to every leaf whose
# path matches (first rule wins), for a linen parameter tree or an nnx model.
# Here a 20-layer relu MLP built with Flax's default (LeCun) kernels loses
# half its signal at every layer; re-initialised with He it keeps it.


# %%
class MLP(nn.Module):
    depth: int = 20
    width: int = 256

    @nn.compact
    def __call__(self, x):
        for _ in range(self.depth):
            x = nn.relu(nn.Dense(self.width)(x))
        return x


mlp = MLP()
batch = jax.random.normal(jax.random.key(1), (128, 256))
params = mlp.init(jax.random.key(2), batch)["params"]
he_params = jinit.flax.reinit(params, [(r".*/kernel", jinit.he_normal()), (r".*/bias", jinit.zeros)], jax.random.key(3))
print(sorted(params)[:3], "...", params["Dense_0"]["kernel"].shape)


def second_moment(p):
    return float(jnp.mean(mlp.apply({"params": p}, batch) ** 2))


q_default, q_he = second_moment(params), second_moment(he_params)
print(f"E[x^2] after 20 relu layers: LeCun (Flax default) {q_default:.3g}, He {q_he:.3g} (input 1)")
# LeCun halves E[x^2] per relu layer (2^-20 ~ 1e-6); He keeps it (up to the finite-width spread).
assert q_default < 1e-4 < 0.1 < q_he < 10
# The tree is new; the old one is untouched; a rule that matches nothing is an error.
assert params["Dense_0"]["kernel"] is not he_params["Dense_0"]["kernel"]
try:
    jinit.flax.reinit(params, {".*/scale": jinit.ones}, jax.random.key(0))
except ValueError as e:
    print("ValueError:", str(e)[:100], "...")
else:
    raise AssertionError("a rule matching nothing must raise")

# The same rules on an nnx model give a new model of the same class.
nnx_mlp = nnx.Sequential(*[nnx.Linear(256, 256, rngs=nnx.Rngs(i)) for i in range(3)])
new = jinit.flax.reinit(nnx_mlp, {".*kernel": jinit.he_uniform()}, jax.random.key(4))
assert type(new) is type(nnx_mlp)
bound = float(jnp.sqrt(6 / 256))
assert all(float(jnp.max(jnp.abs(m.kernel[...]))) <= bound for m in new.layers)

# %% [markdown]
# ## Ensembles
#
# `jinit.flax.ensemble_init` creates N independent models in one compiled
# call; member i is exactly the model `init` builds from key i.

# %%
keys = jax.random.split(jax.random.key(5), 8)
small = MLP(depth=3, width=64)
ensemble = jinit.flax.ensemble_init(small, keys, batch[:, :64])
print(jax.tree.map(jnp.shape, ensemble)["params"]["Dense_0"])
for i in (0, 5):
    alone = small.init(keys[i], batch[:, :64])
    member = jinit.flax.ensemble_member(ensemble, i)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), member, alone)
outputs = jax.vmap(lambda v: small.apply(v, batch[:, :64]))(ensemble)
print("8 members' outputs:", outputs.shape)

# %% [markdown]
# ## Sharded initialisation on 8 devices
#
# For a model that fits no single device, `jinit.flax.materialize` turns the
# abstract shapes (`jax.eval_shape`) into arrays drawn directly with their
# sharding: each device computes only its own shard. The values do not
# depend on the mesh: they equal the unsharded ones.

# %%
mesh = jax.make_mesh((8,), ("model",), axis_types=(jax.sharding.AxisType.Auto,))
wide = MLP(depth=4, width=1024)
abstract = jax.eval_shape(wide.init, jax.random.key(0), jnp.ones((1, 1024)))
rules = {r".*/kernel": jinit.he_normal(), r".*/bias": jinit.zeros}
shardings = jax.tree.map(lambda leaf: NamedSharding(mesh, P(None, "model") if leaf.ndim == 2 else P("model")), abstract)
sharded = jinit.flax.materialize(abstract, rules, jax.random.key(6), shardings=shardings)
plain = jinit.flax.materialize(abstract, rules, jax.random.key(6))
k = sharded["params"]["Dense_0"]["kernel"]
print(k.shape, k.sharding.spec, [s.data.shape for s in k.addressable_shards][:3], "...")
assert len(k.addressable_shards) == 8 and all(s.data.shape == (1024, 128) for s in k.addressable_shards)
jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), sharded, plain)
# reinit of the same paths gives the same values as materialize.
again = jinit.flax.reinit(plain, rules, jax.random.key(6))
jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), again, plain)
print("sharded == unsharded == reinit, value for value")

# %% [markdown]
# ## Porting a PyTorch model's initialisation
#
# `torch.nn.Linear` draws its weight from U(+-1/sqrt(fan_in)) (kaiming
# uniform with a = sqrt(5)) and its bias from the same bound: laws Flax
# does not have. `jinit.torch.linear_weight()` and `linear_bias(fan_in)`
# are those laws in Flax layout, so a port keeps the PyTorch model's
# initialisation. We check that the weights of an actual `torch.nn.Linear`
# (transposed to Flax's `(in, out)`) follow jinit's law, and build the Flax
# twin.

# %%
torch.manual_seed(0)
fan_in, fan_out = 256, 512
torch_layer = torch.nn.Linear(fan_in, fan_out)
torch_w = torch_layer.weight.detach().numpy().T  # (in, out), Flax layout
torch_b = torch_layer.bias.detach().numpy()
law = jinit.torch.linear_weight().moments((fan_in, fan_out))
print(f"law: U(+-{law.bound:.5f}), variance {law.variance:.3e}; torch draws: max |w| {np.abs(torch_w).max():.5f}")
fit_w = jinit.plot.goodness_of_fit(jinit.torch.linear_weight(), (fan_in, fan_out), draws=torch_w)
fit_b = jinit.plot.goodness_of_fit(jinit.torch.linear_bias(fan_in), (fan_out,), draws=torch_b, bins=20)
print(f"torch's weights against jinit.torch.linear_weight: chi2 z = {fit_w.z:.2f}; bias: z = {fit_b.z:.2f}")
assert abs(fit_w.z) < 6 and abs(fit_b.z) < 6
assert np.isclose(law.bound, 1 / np.sqrt(fan_in))

flax_twin = nn.Dense(fan_out, kernel_init=jinit.torch.linear_weight(), bias_init=jinit.torch.linear_bias(fan_in))
twin = flax_twin.init(jax.random.key(7), jnp.ones((1, fan_in)))["params"]
fit_twin = jinit.plot.goodness_of_fit(jinit.torch.linear_weight(), (fan_in, fan_out), draws=np.asarray(twin["kernel"]))
print(f"Flax twin's kernel: chi2 z = {fit_twin.z:.2f}, variance {float(twin['kernel'].var()):.3e}")
assert abs(fit_twin.z) < 6
# Or copy the torch values themselves: a Flax Dense computes x @ W^T + b like torch.
xt = np.random.default_rng(0).normal(size=(4, fan_in)).astype(np.float32)
copied = {"kernel": jnp.asarray(torch_w), "bias": jnp.asarray(torch_b)}
np.testing.assert_allclose(
    nn.Dense(fan_out).apply({"params": copied}, xt),
    torch_layer(torch.from_numpy(xt)).detach().numpy(),
    rtol=1e-5,
    atol=1e-5,
)
print("copied weights: Flax output == torch output")
