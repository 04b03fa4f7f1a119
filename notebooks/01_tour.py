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
# # A tour of jinit: every scheme, its law, and its draws
#
# Every initializer in jinit states the law of one entry (`init.moments(shape)`),
# written from the formula in its paper. This notebook walks through every
# scheme in the catalog (what `jinit list` prints), shows its law for a shape,
# draws it once and compares the histogram with the density of the formula,
# and asserts that the two agree: a chi-square test (`jinit.plot.goodness_of_fit`)
# and the moment check of `jinit check`. It ends with the usual advice
# (Xavier for sigmoid/tanh, He for the ReLU family), as `jinit.recommend`
# encodes it, and with three mix-ups common in write-ups of these schemes.

# %%
import math

import jax
import numpy as np

import jinit
import jinit.torch  # registers the torch-semantics schemes
from jinit.testing import check_moments

plt = jinit.plot.pyplot()
entries = jinit.catalog.entries()
print(f"{len(entries)} schemes")


# %% [markdown]
# ## The law of every scheme
#
# For each scheme: a small version of the dense (or conv) shape its law is
# checked on, the mean, variance, bound and excess kurtosis of one entry, and
# the density family `jinit.plot.density` reads from the initializer.


# %%
def small(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Halve the large axes (keeps ratios such as in <= out, and stack sizes)."""
    return tuple(d // 2 if d >= 64 else d for d in shape)


rows = []
for e in entries:
    init = e.make()
    shape = small(e.shape)
    law = init.moments(shape)
    dens = jinit.plot.density(init, shape)
    rows.append((e.name, shape, law, dens))

print(f"{'scheme':<22} {'shape':<14} {'mean':>9} {'variance':>11} {'bound':>9} {'kurt':>7}  density")
for name, shape, law, dens in rows:
    bound = "-" if law.bound is None else f"{law.bound:.4g}"
    kurt = "-" if law.excess_kurtosis is None else f"{law.excess_kurtosis:.3f}"
    print(
        f"{name:<22} {'x'.join(map(str, shape)):<14} {law.mean:>9.3g} {law.variance:>11.4g} {bound:>9} {kurt:>7}  "
        f"{dens.description[:60]}"
    )

# %% [markdown]
# ## Draws against the formula
#
# One draw per scheme, each panel from its own key (`fold_in(key(0), i)` for
# panel i, so the panels are independent draws). Bars: the histogram of the
# draws; line: the density of the formula; stems: point masses (zeros,
# identities, deterministic schemes), with the measured share as a dot. Each
# title gives the chi-square statistic as a standard normal deviate z:
# |z| < 6 means the draws follow the formula. Entries of orthogonal matrices
# are the entries of uniform unit vectors, with density proportional to
# (1 - x^2)^((m - 3)/2).

# %%
cols = 5
n_rows = math.ceil(len(rows) / cols)
keys = [jax.random.fold_in(jax.random.key(0), i) for i in range(len(rows))]  # an independent key per panel
fits = {}
with plt.style.context(jinit.plot.STYLE):
    fig, axes = plt.subplots(n_rows, cols, figsize=(2.6 * cols, 2.0 * n_rows), layout="constrained")
    for ax, key, (name, shape, _, _) in zip(axes.ravel(), keys, rows, strict=False):
        init = jinit.catalog.get(name).make()
        draws = np.asarray(init(key, shape))
        fits[name] = jinit.plot.goodness_of_fit(init, shape, draws=draws)
        # The same key draws the same values: the panel shows the draws that were tested.
        jinit.plot.histogram(init, shape, key=key, bins=40, ax=ax, title=f"{name} {shape}", legend=False)
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in axes.ravel()[len(rows) :]:
        ax.remove()
    jinit.plot.shared_legend(fig)
    plt.show()

# %% [markdown]
# How many tests is that? Fewer than panels. A scheme that ignores its key
# (zeros, ones, identities, ZerO, IRNN, ...) is not drawn at random: its panel
# is an exact check that each value has the share the formula gives (the
# statistic is 0, hence z = -1.65 in every such title), not a statistical
# test. Each random scheme's panel is one chi-square test on its own key, so
# those tests are independent of each other; some of them draw the same law on
# the same shape (an alias, or a torch name equal to a jax one) and test it
# again on fresh draws. Under the formula, |z| >= 6 has probability about
# 2e-9 per test, so the grid would raise a false alarm with probability about
# (number of tests) x 2e-9: a loose bar that catches a wrong family, scale or
# support, not a small bias (the test suite's moment checks, with tolerances
# from the sampling distribution, are sharper).

# %%
key_data = {tuple(np.asarray(jax.random.key_data(k)).tolist()) for k in keys}
assert len(key_data) == len(fits) == len(rows)  # one key per panel, all different
random_rows = [(name, shape) for name, shape, _, _ in rows if jinit.catalog.get(name).random]
exact = [name for name, _, _, _ in rows if not jinit.catalog.get(name).random]
laws = {(repr(jinit.catalog.get(name).make()), shape) for name, shape in random_rows}
assert all(fits[name].statistic == 0.0 for name in exact)  # the exact checks: every share as the formula says
print(
    f"{len(rows)} panels: {len(random_rows)} independent chi-square tests (random schemes, "
    f"{len(laws)} distinct initializer and shape pairs) and {len(exact)} exact checks of deterministic schemes"
)


# %% [markdown]
# Every histogram follows its formula: the chi-square z of each scheme is
# within 6, and the moment check of `jinit check` passes (mean, variance,
# bound and kurtosis within 6 standard errors).

# %%
bad_fit = {n: round(f.z, 2) for n, f in fits.items() if not abs(f.z) < 6}
assert not bad_fit, bad_fit
checks = {}
for i, (name, shape, _, _) in enumerate(rows):
    init = jinit.catalog.get(name).make()
    checks[name] = check_moments(init, shape, key=jax.random.fold_in(jax.random.key(1), i))
failed = [n for n, c in checks.items() if not c.ok]
assert not failed, failed
print(f"{len(fits)} schemes: max |z| = {max(abs(f.z) for f in fits.values()):.2f}; all moment checks pass")

# %% [markdown]
# ## Which initializer for which activation
#
# The usual table: Xavier/Glorot for sigmoid and tanh, He/Kaiming for
# ReLU, leaky ReLU and Swish. `jinit.recommend` gives the scheme and
# `jinit.recommend_reason` the reason; `jinit.gain` is the exact
# variance-preserving gain 1/sqrt(E[phi(z)^2]) by quadrature (sqrt 2 for relu).

# %%
advice = {}
for act in ("sigmoid", "tanh", "relu", "leaky_relu", "swish"):
    init = jinit.recommend(act)
    advice[act] = init
    print(f"{act:<11} gain {jinit.gain(act):.4f}  {init!r}")
    print(f"{'':<11} {jinit.recommend_reason(act)}")

# %%
assert advice["sigmoid"] == jinit.glorot_uniform() and advice["tanh"] == jinit.glorot_uniform()
assert advice["relu"] == jinit.he_normal() and advice["swish"] == jinit.he_normal()
# Leaky ReLU with slope a: He et al. (2015), eq. 15, Var(w) = 2 / ((1 + a^2) fan_in).
assert advice["leaky_relu"] == jinit.variance_scaling(2 / (1 + 0.01**2), "fan_in", "truncated_normal")
assert math.isclose(jinit.gain("relu"), math.sqrt(2), rel_tol=1e-12)

# %% [markdown]
# ## Three common mix-ups
#
# * The Xavier uniform bound written as sqrt(6)/sqrt(n) with
#   n = (fan_in + fan_out)/2. The bound is sqrt(6 / (fan_in + fan_out)) =
#   sqrt(3/n): sqrt(6/n) is sqrt(2) too wide, a variance twice Glorot's.
# * N(0, 1/n) called "Xavier": that is LeCun. Xavier's variance is
#   2 / (fan_in + fan_out); they agree only when fan_in = fan_out.
# * He init described as making the output variance "the input variance
#   divided by the number of inputs". He's Var(w) = 2/fan_in keeps the second
#   moment of a ReLU layer's output equal to its input's (notebook 02 shows it
#   through 50 layers).

# %%
fan_in, fan_out = 256, 512
bound = jinit.glorot_uniform().moments((fan_in, fan_out)).bound
n = (fan_in + fan_out) / 2
mixed_up = math.sqrt(6) / math.sqrt(n)
print(f"glorot_uniform bound {bound:.5f} = sqrt(6/(fan_in+fan_out)) {math.sqrt(6 / (fan_in + fan_out)):.5f}")
print(f"sqrt(6/n), n the average fan: {mixed_up:.5f}: {mixed_up / bound:.4f} x too wide")
assert math.isclose(bound, math.sqrt(6 / (fan_in + fan_out)), rel_tol=1e-12)
assert math.isclose(mixed_up / bound, math.sqrt(2), rel_tol=1e-12)

lecun = jinit.lecun_normal().moments((fan_in, fan_out)).variance
xavier = jinit.glorot_normal().moments((fan_in, fan_out)).variance
print(f"N(0, 1/n) with n = fan_in = {fan_in}: variance {lecun:.3e} (lecun_normal); Xavier: {xavier:.3e}")
assert math.isclose(lecun, 1 / fan_in) and math.isclose(xavier, 2 / (fan_in + fan_out))
