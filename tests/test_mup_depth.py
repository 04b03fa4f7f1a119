"""jinit.mup.parametrization: SP, NTK, muP, depth-muP, CompleteP and u-muP in width and depth.

The tables are checked against the papers' formulas, the optax transform
against Adam's update written out, and the claims themselves by coordinate
checks and learning-rate sweeps on a small residual MLP.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit
from jinit import mup

optax = pytest.importorskip("optax")

EPS32 = float(jnp.finfo(jnp.float32).eps)


@pytest.fixture
def optax_promotion():
    """optax's Adam raises its int32 step count to a float power: it needs JAX's
    standard dtype promotion, not the strict mode of conftest.py."""
    with jax.numpy_dtype_promotion("standard"):
        yield


def family(base_width: int = 64, base_depth: int = 2, **kw: bool) -> dict[str, mup.Parametrization]:
    """The muP family at one base shape."""
    return {
        "mup": mup.parametrization("mup", base_width=base_width, **kw),
        "depth_mup": mup.parametrization("depth_mup", base_width=base_width, base_depth=base_depth, **kw),
        "completep": mup.parametrization("completep", base_width=base_width, base_depth=base_depth, **kw),
    }


# ---------------------------------------------------------------------------
# The tables.


def test_mup_is_todays_width_multipliers(key: jax.Array) -> None:
    """parametrization("mup") gives the WidthMultipliers factors (Tensor Programs V, Table 3) at the same widths."""
    p = mup.parametrization("mup", base_width=64)
    for width in (32, 64, 256, 1024):
        m = width / 64
        for kind, spec in (
            ("input", mup.WidthMultipliers("input", 1.0, m)),
            ("hidden", mup.WidthMultipliers("hidden", m, m)),
            ("output", mup.WidthMultipliers("output", m, 1.0)),
            ("scalar", mup.WidthMultipliers("scalar")),
        ):
            r = p.rule(kind, width=width, fan_in=8)
            assert r.learning_rate == spec.learning_rate("adam"), (kind, width)
            assert r.multiplier == 1.0
            law, sp_law = (
                r.init.moments((width, 10)),
                jinit.variance_scaling(1.0, "fan_in", "normal").moments((width, 10)),
            )
            if kind != "scalar":
                assert law.variance == pytest.approx(spec.init_variance() * sp_law.variance, rel=1e-15)
    # Same draws as the SP initializer, the readout times 1/sqrt(m).
    out = p.rule("output", width=256).init
    sp = jinit.variance_scaling(1.0, "fan_in", "normal")
    chex.assert_trees_all_close(out(key, (256, 10)), sp(key, (256, 10)) * 0.5, rtol=2 * EPS32)
    jinit.testing.assert_moments(out, (256, 64), key=key)
    zero = mup.parametrization("mup", base_width=64, zero_readout=True).rule("output", width=256).init
    assert not np.asarray(zero(key, (256, 10))).any()


def test_every_scheme_is_sp_at_its_base_shape() -> None:
    """muP, depth-muP and CompleteP are relative to the base shape: there they are SP exactly."""
    sp = mup.parametrization("sp")
    for name, p in family(base_width=64, base_depth=4).items():
        for kind in ("input", "embedding", "hidden", "bias", "output", "scalar"):
            assert p.rule(kind, width=64, depth=4, fan_in=8) == sp.rule(kind, width=64, depth=4, fan_in=8), (name, kind)
        assert p.residual(4) == (1.0, 1.0)
    # SP itself: one learning rate and epsilon, no multiplier, whatever the size.
    for kind in ("input", "hidden", "output", "bias"):
        r = sp.rule(kind, width=4096, depth=96, fan_in=8)
        assert (r.multiplier, r.learning_rate, r.eps) == (1.0, 1.0, 1.0)
    assert sp.residual(96) == (1.0, 1.0)


@pytest.mark.parametrize(("name", "alpha"), [("depth_mup", 0.5), ("completep", 1.0)])
def test_depth_rules_follow_the_papers(name: str, alpha: float) -> None:
    """Dey et al. 2025, Table 1, with m_N = width / base_width and m_L = depth / base_depth:
    residual branch m_L^-alpha; hidden weights Adam LR m_N^-1 m_L^(alpha-1) and epsilon
    m_N^-1 m_L^-alpha; biases and norm scales in the branches LR m_L^(alpha-1); input and
    output layers as muP. (alpha = 1/2 is depth-muP: Yang et al. 2023, Bordelon et al. 2023.)"""
    p = family(base_width=64, base_depth=2)[name]
    assert p.alpha == alpha
    for width in (32, 64, 512):
        for depth in (1, 2, 8, 48):
            mn, ml = width / 64, depth / 2
            hidden = p.rule("hidden", width=width, depth=depth)
            bias = p.rule("bias", width=width, depth=depth)
            assert hidden.learning_rate == pytest.approx(ml ** (alpha - 1) / mn, rel=1e-14)
            assert hidden.eps == pytest.approx(ml**-alpha / mn, rel=1e-14)
            assert bias.learning_rate == pytest.approx(ml ** (alpha - 1), rel=1e-14)
            assert bias.eps == pytest.approx(ml**-alpha / mn, rel=1e-14)
            assert p.residual(depth, depth - 1) == (1.0, pytest.approx(ml**-alpha, rel=1e-14))
            # Outside the residual branches the depth does not enter.
            for kind in ("input", "embedding", "output", "scalar"):
                assert p.rule(kind, width=width, depth=depth, fan_in=8) == p.rule(kind, width=width, fan_in=8)
    # The update a branch adds to the residual stream: multiplier m_L^-alpha times an
    # Adam step of LR m_L^(alpha-1) is m_L^-1 for every alpha, so L branches add Theta(1).
    for depth in (2, 8, 48):
        branch = p.residual(depth)[1]
        assert branch * p.rule("hidden", width=64, depth=depth).learning_rate == pytest.approx(2 / depth, rel=1e-14)


def test_ntk_and_umup_move_the_scale_into_multipliers(key: jax.Array) -> None:
    """NTK and u-muP draw N(0, 1) and multiply in the forward pass: at init the effective
    weights multiplier * w have SP's variance 1/fan_in (u-muP's readout: 1/fan_in^2, muP's
    order), and u-muP's effective Adam step multiplier * LR scales like muP's LR."""
    ntk, umup = mup.parametrization("ntk"), mup.parametrization("umup")
    for fan_in in (8, 64, 1000):
        for p in (ntk, umup):
            for kind in ("input", "hidden"):
                r = p.rule(kind, width=fan_in, fan_in=fan_in)
                assert r.init.moments((fan_in, 16)).variance == 1.0
                assert r.multiplier**2 == pytest.approx(1 / fan_in, rel=1e-14)
        assert ntk.rule("output", width=fan_in).multiplier ** 2 == pytest.approx(1 / fan_in, rel=1e-14)
        assert umup.rule("output", width=fan_in).multiplier == pytest.approx(1 / fan_in, rel=1e-15)
    w = umup.rule("hidden", width=128).init(key, (128, 128))
    chex.assert_trees_all_equal(w, jinit.normal(1.0)(key, (128, 128)))
    # Effective Adam step of the hidden and output weights (Blake et al. 2024, Table 2):
    # u-muP's multiplier * LR is 1/fan_in, muP's LR 1/m: the same exponent in width.
    mu = mup.parametrization("mup", base_width=64)
    for kind in ("hidden", "output"):
        for width in (64, 256, 4096):
            u = umup.rule(kind, width=width)
            assert u.multiplier * u.learning_rate * 64 == pytest.approx(mu.rule(kind, width=width).learning_rate)
    # u-muP's embedding LR rule fan_out^-1/2 (its section 4.4) and depth^-1/2 inside branches.
    assert umup.rule("embedding", width=256).learning_rate == pytest.approx(1 / 16, rel=1e-15)
    assert umup.rule("embedding", width=256).multiplier == 1.0
    assert umup.rule("hidden", width=256, depth=16).learning_rate == pytest.approx(1 / 64, rel=1e-15)
    assert umup.rule("bias", width=256, depth=16).learning_rate == pytest.approx(1 / 4, rel=1e-15)


@pytest.mark.parametrize("residual_mult", [1.0, 0.5, 3.0])
def test_umup_residual_rule(residual_mult: float) -> None:
    """u-muP's tau rule (Blake et al. 2024, Appendix G): skip^2 + branch^2 = 1, and every one of
    the L unit-variance branches ends with a^2 / L of the first layer's share of the variance."""
    p = mup.parametrization("umup", residual_mult=residual_mult)
    for depth in (1, 2, 7, 64):
        coef = [p.residual(depth, layer) for layer in range(depth)]
        shares = [1.0]  # variance shares of the embedding, then of each branch, as layers are added
        for skip, branch in coef:
            assert skip**2 + branch**2 == pytest.approx(1.0, rel=1e-14)
            shares = [s * skip**2 for s in shares] + [branch**2]
        for s in shares[1:]:
            assert s / shares[0] == pytest.approx(residual_mult**2 / depth, rel=1e-12)
        assert math.fsum(shares) == pytest.approx(1.0, rel=1e-13)


def test_rules_read_fans_from_shapes() -> None:
    p = mup.parametrization("umup")
    params = {
        "embed": jax.ShapeDtypeStruct((1000, 256), jnp.float32),
        "conv": jax.ShapeDtypeStruct((3, 3, 256, 256), jnp.float32),
        "norm": jax.ShapeDtypeStruct((256,), jnp.float32),
        "head": jax.ShapeDtypeStruct((256, 10), jnp.float32),
    }
    kinds = {"embed": "embedding", "conv": "hidden", "norm": "bias", "head": "output"}
    rules = p.rules(params, kinds, width=256, depth=4)
    assert rules["embed"] == p.rule("embedding", width=256, fan_out=256)
    assert rules["conv"] == p.rule("hidden", width=256, depth=4, fan_in=9 * 256)  # receptive field in the fan-in
    assert rules["norm"] == p.rule("bias", width=256, depth=4)
    assert rules["head"] == p.rule("output", width=256, fan_in=256)


def _mlp(width: int) -> tuple[dict, dict]:
    shapes = {
        "w_in": (16, width),
        "b_in": (width,),
        "w": (width, width),
        "b": (width,),
        "w_out": (width, 10),
        "b_out": (10,),
    }
    kinds = {"w_in": "input", "b_in": "input", "w": "hidden", "b": "bias", "w_out": "output", "b_out": "scalar"}
    return {k: jnp.zeros(s) for k, s in shapes.items()}, kinds


@pytest.mark.parametrize("name", ["sp", "mup", "depth_mup", "completep", "umup"])
def test_optimizer_is_adam_with_per_leaf_lr_and_eps(name: str, optax_promotion: None) -> None:
    """Adam's first step is -lr * g / (|g| + eps); with the parametrization it must be
    -lr * lr_factor * g / (|g| + eps * eps_factor) on every leaf. Gradients of the size of eps
    make the epsilon factor visible."""
    p = family(base_width=64, base_depth=2)[name] if name in family() else mup.parametrization(name)
    params, kinds = _mlp(256)
    lr, eps = 1e-2, 1e-8
    grads = jax.tree.map(lambda x: jnp.full_like(x, 1e-8), params)
    tx = p.optimizer(lr, params, kinds, width=256, depth=8, eps=eps)
    updates, _ = tx.update(grads, tx.init(params), params)
    rules = p.rules(params, kinds, width=256, depth=8)
    for k, r in rules.items():
        expected = -lr * r.learning_rate * 1e-8 / (1e-8 + eps * r.eps)
        # Adam's bias corrections 1 - b^t are rounded in float32: relative error up to
        # eps32 / 0.001 (b2 = 0.999), halved by the square root, plus the division.
        np.testing.assert_allclose(np.asarray(updates[k]), expected, rtol=EPS32 / 1e-3, err_msg=k)
    # adamw: decoupled decay lr * factor * wd * w, independent of epsilon.
    params = jax.tree.map(lambda x: jnp.ones_like(x), params)
    tx = p.optimizer(lr, params, kinds, width=256, depth=8, base="adamw", weight_decay=0.5)
    zero_grads = jax.tree.map(jnp.zeros_like, params)
    updates, _ = tx.update(zero_grads, tx.init(params), params)
    for k, r in rules.items():
        np.testing.assert_allclose(np.asarray(updates[k]), -lr * r.learning_rate * 0.5, rtol=4 * EPS32, err_msg=k)


def test_optimizer_with_nnx(optax_promotion: None) -> None:
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Sequential(nnx.Linear(8, 128, rngs=nnx.Rngs(0)), jax.nn.relu, nnx.Linear(128, 3, rngs=nnx.Rngs(1)))
    params = nnx.state(model, nnx.Param)
    kinds = {"layers": {0: {"kernel": "input", "bias": "input"}, 2: {"kernel": "output", "bias": "scalar"}}}
    p = mup.parametrization("mup", base_width=32)
    opt = nnx.Optimizer(model, p.optimizer(1e-2, params, kinds, width=128), wrt=nnx.Param)
    before = np.asarray(model.layers[2].kernel.get_value())
    x = jnp.ones((4, 8))
    grads = nnx.grad(lambda m: jnp.sum(m(x) ** 2))(model)
    opt.update(model, grads)
    step = np.abs(np.asarray(model.layers[2].kernel.get_value()) - before)
    moved = np.asarray(grads["layers"][2]["kernel"].get_value()) != 0
    assert moved.any()
    # The readout's Adam LR factor is 1/m = 1/4: its entries move by lr / 4 on the first step.
    np.testing.assert_allclose(step[moved], 1e-2 / 4, rtol=EPS32 / 1e-3)


def test_errors() -> None:
    name = r"jinit\.mup\.parametrization: "
    with pytest.raises(ValueError, match=name + r"`name` must be one of 'sp', 'ntk', 'mup', .*got name='mu_p'"):
        mup.parametrization("mu_p")
    with pytest.raises(ValueError, match=name + r"'mup' needs `base_width`"):
        mup.parametrization("mup")
    with pytest.raises(ValueError, match=name + r"'completep' needs `base_depth`"):
        mup.parametrization("completep", base_width=64)
    for bad in (0, -4):
        with pytest.raises(ValueError, match=name + rf"`base_width` must be positive; got base_width={bad}\."):
            mup.parametrization("mup", base_width=bad)
    with pytest.raises(ValueError, match=name + rf"`base_depth` must be at most 2\*\*53; got base_depth={2**60}\."):
        mup.parametrization("completep", base_width=64, base_depth=2**60)
    for bad in (64.0, float("nan"), float("inf"), True, "64"):
        with pytest.raises(TypeError, match=name + r"`base_width` must be a positive integer; got base_width="):
            mup.parametrization("mup", base_width=bad)
    with pytest.raises(TypeError, match=name + r"`zero_readout` must be a bool; got zero_readout='yes'"):
        mup.parametrization("mup", base_width=64, zero_readout="yes")
    with pytest.raises(ValueError, match=name + r"`zero_readout` applies to 'mup', 'depth_mup' and 'completep'"):
        mup.parametrization("umup", zero_readout=True)
    with pytest.raises(ValueError, match=name + r"`residual_mult` is u-muP's .*got residual_mult=2\.0 for 'completep'"):
        mup.parametrization("completep", base_width=64, base_depth=2, residual_mult=2.0)
    for bad, err in ((0.0, ValueError), (float("nan"), ValueError), (float("inf"), ValueError), ("1", TypeError)):
        with pytest.raises(err, match=name + r"`residual_mult` must be"):
            mup.parametrization("umup", residual_mult=bad)

    p = mup.parametrization("completep", base_width=64, base_depth=2)
    name = r"jinit\.mup\.Parametrization\.rule: "
    with pytest.raises(ValueError, match=name + r"`kind` must be one of 'input', 'embedding', .*got kind='weight'"):
        p.rule("weight", width=64)
    for param in ("width", "depth", "fan_in", "fan_out"):
        kw = {"width": 64, param: 0}
        with pytest.raises(ValueError, match=name + rf"`{param}` must be positive; got {param}=0\."):
            p.rule("hidden", **kw)
        kw = {"width": 64, param: -4}
        with pytest.raises(ValueError, match=name + rf"`{param}` must be positive; got {param}=-4\."):
            p.rule("hidden", **kw)
        kw = {"width": 64, param: 2**60}
        with pytest.raises(ValueError, match=name + rf"`{param}` must be at most 2\*\*53; got {param}="):
            p.rule("hidden", **kw)
        for bad in (float("nan"), float("inf"), 64.0, False):
            kw = {"width": 64, param: bad}
            with pytest.raises(TypeError, match=name + rf"`{param}` must be a positive integer; got {param}="):
                p.rule("hidden", **kw)
    for scheme in ("ntk", "umup"):
        with pytest.raises(ValueError, match=name + rf"kind='input' needs `fan_in` under '{scheme}'"):
            mup.parametrization(scheme).rule("input", width=64)

    name = r"jinit\.mup\.Parametrization\.residual: "
    with pytest.raises(ValueError, match=name + r"`depth` must be positive; got depth=0\."):
        p.residual(0)
    with pytest.raises(TypeError, match=name + r"`depth` must be a positive integer; got depth=nan\."):
        p.residual(float("nan"))
    for layer in (-1, 4):
        with pytest.raises(ValueError, match=name + rf"`layer` must be in \[0, depth\); got layer={layer}, depth=4\."):
            p.residual(4, layer)
    with pytest.raises(TypeError, match=name + r"`layer` must be an integer; got layer=1\.5\."):
        p.residual(4, 1.5)

    params, kinds = _mlp(64)
    name = r"jinit\.mup\.Parametrization\.rules: "
    with pytest.raises(ValueError, match=name + r"`kinds` has no kind for the parameter at \['b'\]"):
        p.rules(params, {k: v for k, v in kinds.items() if k != "b"}, width=64)
    with pytest.raises(ValueError, match=name + r"`kinds` names paths that `params` does not have: \[\"\['c'\]\"\]"):
        p.rules(params, {**kinds, "c": "bias"}, width=64)
    with pytest.raises(ValueError, match=name + r"`kinds\['b'\]` must be one of .*got kinds\['b'\]='norm'"):
        p.rules(params, {**kinds, "b": "norm"}, width=64)
    with pytest.raises(ValueError, match=name + r"\['w'\]: needs positive sizes; got shape=\(0, 64\)\."):
        p.rules({**params, "w": jnp.zeros((0, 64))}, kinds, width=64)
    name = r"jinit\.mup\.Parametrization\.optimizer: "
    with pytest.raises(ValueError, match=name + r"`base` must be one of 'adam', 'adamw'; got base='sgd'"):
        p.optimizer(1e-3, params, kinds, width=64, base="sgd")
    for bad in (-1e-8, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=name + r"`eps` must be"):
            p.optimizer(1e-3, params, kinds, width=64, eps=bad)


# ---------------------------------------------------------------------------
# Coordinate checks and learning-rate sweeps on a residual MLP:
#   h_0 = m_in x W_in,  h_l = skip_l h_(l-1) + branch_l m_h W_l relu(rms_norm(h_(l-1))),  y = m_out h_L W_out
# (pre-norm branches, as in the papers' transformers), trained by full-batch Adam on a
# fixed random teacher. The parametrizations differ only in numbers (draws, multipliers,
# residual coefficients, per-leaf LR and epsilon factors, all from jinit.mup), so every
# run of one shape is one vmapped program: one compile per (width, depth).

D_IN, D_OUT, BATCH, STEPS = 16, 4, 64, 20
B1, B2, EPS = 0.9, 0.999, 1e-8
COORD_WIDTHS = (32, 64, 128, 256)
COORD_DEPTHS = (2, 4, 8, 16)
COORD_SEEDS = (0, 1, 2, 3)
# The coordinate checks' learning rate: small enough that every run stays in the
# linear-response regime for its 20 steps (SP's change at width 256 is about 0.1 of its
# activations), where the update sizes follow the first-order exponents of the theory;
# the sweeps below train in the non-linear regime. u-muP's weights are unit-scale, so its
# base LR is larger by the base width (its multiplier * LR equals muP's 1/m there).
COORD_LR = 2.0**-15
SWEEP_LRS = 2.0 ** np.arange(-14, -1)
SWEEP_SEEDS = (0, 1)


def _teacher() -> tuple[jax.Array, jax.Array]:
    kx, ka, kb = jax.random.split(jax.random.key(123), 3)
    x = jax.random.normal(kx, (BATCH, D_IN))
    a = jax.random.normal(ka, (D_IN, 32)) / math.sqrt(D_IN)
    b = jax.random.normal(kb, (32, D_OUT)) / math.sqrt(32 * 0.4)  # E tanh(z)^2 ~ 0.4: unit-variance targets
    return x, jnp.tanh(x @ a) @ b


def _forward(p: dict, c: dict, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """All residual-stream states (depth + 1, batch, width) and the output."""
    h0 = c["mult"][0] * (x @ p["w_in"])

    def block(h: jax.Array, args: tuple) -> tuple[jax.Array, jax.Array]:
        w, skip, branch = args
        z = h * jax.lax.rsqrt(jnp.mean(h * h, axis=-1, keepdims=True) + 1e-6)
        h = skip * h + branch * (c["mult"][1] * (jax.nn.relu(z) @ w))
        return h, h

    h, hs = jax.lax.scan(block, h0, (p["w"], c["skip"], c["branch"]))
    return jnp.concatenate([h0[None], hs]), c["mult"][2] * (h @ p["w_out"])


def _train(p: dict, c: dict, lr: jax.Array, x: jax.Array, y: jax.Array) -> tuple[jax.Array, ...]:
    """STEPS of Adam (optax's update, written out so that the per-leaf factors can be
    vmapped); returns the RMS change of every residual state, the output change, the losses."""
    names = ("w_in", "w", "w_out")

    def loss_fn(p: dict) -> jax.Array:
        return jnp.mean((_forward(p, c, x)[1] - y) ** 2)

    def step(carry: tuple, t: jax.Array) -> tuple[tuple, jax.Array]:
        p, m, v = carry
        loss, g = jax.value_and_grad(loss_fn)(p)
        m = {k: B1 * m[k] + (1 - B1) * g[k] for k in names}
        v = {k: B2 * v[k] + (1 - B2) * g[k] ** 2 for k in names}
        mhat = {k: m[k] / (1 - B1**t) for k in names}
        vhat = {k: v[k] / (1 - B2**t) for k in names}
        p = {k: p[k] - lr * c["lr"][i] * mhat[k] / (jnp.sqrt(vhat[k]) + EPS * c["eps"][i]) for i, k in enumerate(names)}
        return (p, m, v), loss

    zeros = {k: jnp.zeros_like(p[k]) for k in names}
    (p_end, _, _), losses = jax.lax.scan(step, (p, zeros, zeros), jnp.arange(1, STEPS + 1, dtype=jnp.float32))
    (hs0, out0), (hs1, out1) = _forward(p, c, x), _forward(p_end, c, x)
    dh = jnp.sqrt(jnp.mean((hs1 - hs0) ** 2, axis=(1, 2)))
    return dh, out1 - out0, losses


_run = jax.jit(jax.vmap(_train, in_axes=(0, 0, 0, None, None)))


def _config(p: mup.Parametrization, width: int, depth: int, seed: int) -> tuple[dict, dict]:
    """Draws and numbers of one run, all from the parametrization's rules."""
    r_in = p.rule("input", width=width, depth=depth, fan_in=D_IN)
    r_h = p.rule("hidden", width=width, depth=depth)
    r_out = p.rule("output", width=width, depth=depth)
    key = jax.random.key(seed)  # the same key for every parametrization: same draws up to scale
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


def _width_schemes() -> dict[str, mup.Parametrization]:
    # The readout starts at zero in the muP family (Tensor Programs V's advice): a readout
    # drawn N(0, 1/(fan_in m)) gives outputs of order m^-1/2 at init, a finite-width term
    # of the size the checks measure. The width runs use depth 4 with base depth 2, so the
    # depth rules are active too.
    return {"sp": mup.parametrization("sp"), **family(32, 2, zero_readout=True), "umup": mup.parametrization("umup")}


def _depth_schemes() -> dict[str, mup.Parametrization]:
    return {"sp": mup.parametrization("sp"), **family(64, 2, zero_readout=True), "umup": mup.parametrization("umup")}


def _coord_lr(name: str, base_width: int) -> float:
    return COORD_LR * base_width if name == "umup" else COORD_LR


SWEEP = {  # (scheme, axis) -> the two shapes whose optima are compared
    ("sp", "width"): ((32, 4), (256, 4)),
    ("completep", "width"): ((32, 4), (256, 4)),
    ("sp", "depth"): ((64, 2), (64, 16)),
    ("completep", "depth"): ((64, 2), (64, 16)),
}


@pytest.fixture(scope="module")
def runs() -> dict:
    """Every run, grouped by shape so that each shape compiles once."""
    x, y = _teacher()
    jobs: dict[tuple[int, int], list] = {}
    for w in COORD_WIDTHS:
        for name, p in _width_schemes().items():
            for s in COORD_SEEDS:
                jobs.setdefault((w, 4), []).append((("width", name, w, s), p, s, _coord_lr(name, 32)))
    for d in COORD_DEPTHS:
        for name, p in _depth_schemes().items():
            for s in COORD_SEEDS:
                jobs.setdefault((64, d), []).append((("depth", name, d, s), p, s, _coord_lr(name, 64)))
    for (name, axis), shapes in SWEEP.items():
        base = (32, 4) if axis == "width" else (64, 2)
        p = mup.parametrization("sp") if name == "sp" else family(*base, zero_readout=True)[name]
        for shape in shapes:
            for i, lr in enumerate(SWEEP_LRS):
                for s in SWEEP_SEEDS:
                    jobs.setdefault(shape, []).append((("sweep", name, axis, shape, i, s), p, s, float(lr)))
    out = {}
    for (w, d), items in jobs.items():
        cfgs = [_config(p, w, d, s) for _, p, s, _ in items]
        params = jax.tree.map(lambda *a: jnp.stack(a), *[c[0] for c in cfgs])
        coef = jax.tree.map(lambda *a: jnp.stack(a), *[c[1] for c in cfgs])
        lrs = jnp.asarray([lr for *_, lr in items], jnp.float32)
        dh, dout, losses = (np.asarray(a, np.float64) for a in _run(params, coef, lrs, x, y))
        for i, (tag, *_) in enumerate(items):
            out[tag] = (dh[i], dout[i], losses[i])
    return out


def _sizes(runs: dict, axis: str, name: str, values: tuple[int, ...], layers: slice | list) -> np.ndarray:
    """(len(values), n_layers) update sizes: per layer, the RMS change of the residual
    stream averaged over seeds, and the output's change averaged over seeds, then its RMS.

    The output's coordinates are the same functions in every seed, so the seed average
    keeps its infinite-width part and divides by the number of seeds the O(1/n) variance
    of the width-n sum that makes it (an upward bias of small widths in an RMS); the
    residual stream's coordinates are exchangeable neurons, sized per seed."""
    rows = []
    for v in values:
        dh = np.mean([runs[(axis, name, v, s)][0] for s in COORD_SEEDS], axis=0)[layers]
        dout = np.mean([runs[(axis, name, v, s)][1] for s in COORD_SEEDS], axis=0)
        rows.append(np.append(dh, np.sqrt(np.mean(dout**2))))
    return np.asarray(rows)


def _slopes(sizes: np.ndarray, values: tuple[int, ...]) -> np.ndarray:
    """Least-squares slope of log(size) against log(width or depth), per layer."""
    return np.polyfit(np.log(np.asarray(values, np.float64)), np.log(sizes), 1)[0]


# Thresholds from the theory. The exponents of the update size in width are 0 for the
# muP family and u-muP (Tensor Programs V) and, with Adam's sign-like steps, 1 for SP's
# hidden layers (dW relu(z) sums `width` aligned terms of size lr) and 1.5 for its readout
# (plus W_out dh with |W_out| ~ width^-1/2); in depth they are 0 for depth-muP, CompleteP
# and u-muP (a branch adds L^-alpha times an update of LR L^(alpha-1), 1/L, and L branches
# add Theta(1); Dey et al. 2025) and 1 for SP (L branches each add Theta(lr)). Finite sizes
# add corrections that vanish in the limits: relative O(n^-1/2) in width (fluctuations of
# width-n averages); in depth the first-order update is exactly depth-free here (each
# branch sees the unit-RMS input of its pre-norm) and the corrections come through the
# later blocks' Jacobians, O(L^-1/2) per block in depth-muP and O(L^-1) in CompleteP.
# Flat is |slope| < 0.15: a change under 8^0.15 = 1.37x over the 8-fold ranges, the size
# of a relative correction 2 n^-1/2 at the smallest width, log(1 + 2/sqrt(32)) / log(8) =
# 0.146, and far from any exponent the theory allows (0 or at least 1). SP must show at
# least twice the band, 0.3, in every layer whose theory exponent is 1 or more (its first
# layer, fed by the 16 fixed inputs, has exponent 0 and must be flat).
FLAT = 0.15
NOT_FLAT = 0.3


@pytest.mark.slow
def test_coordinate_check_width(runs: dict) -> None:
    slopes = {n: _slopes(_sizes(runs, "width", n, COORD_WIDTHS, slice(None)), COORD_WIDTHS) for n in _width_schemes()}
    for name in ("mup", "depth_mup", "completep", "umup"):
        assert np.all(np.abs(slopes[name]) < FLAT), (name, slopes[name])
    assert np.all(slopes["sp"][1:] > NOT_FLAT), slopes["sp"]
    assert abs(slopes["sp"][0]) < FLAT, slopes["sp"]


@pytest.mark.slow
def test_coordinate_check_depth(runs: dict) -> None:
    # Input layer, last residual state (what the readout sees), output.
    sizes = {n: _sizes(runs, "depth", n, COORD_DEPTHS, [0, -1]) for n in _depth_schemes()}
    slopes = {n: _slopes(s, COORD_DEPTHS) for n, s in sizes.items()}
    for name in ("depth_mup", "completep", "umup"):
        assert np.all(np.abs(slopes[name]) < FLAT), (name, slopes[name])
    assert np.all(slopes["sp"][1:] > NOT_FLAT), slopes["sp"]
    # muP has no depth rule: the update of its residual stream grows with depth as SP's.
    assert slopes["mup"][1] > NOT_FLAT, slopes["mup"]


def _optimum(runs: dict, name: str, axis: str, shape: tuple[int, int]) -> float:
    """log2 of the best learning rate: the vertex of a parabola through the grid's best
    point and its neighbours, in (log2 lr, log loss); loss = mean of the last 5 steps."""
    loss = np.asarray(
        [
            np.mean([np.mean(runs[("sweep", name, axis, shape, i, s)][2][-5:]) for s in SWEEP_SEEDS])
            for i in range(len(SWEEP_LRS))
        ]
    )
    loss = np.where(np.isfinite(loss), loss, np.inf)
    i = int(np.argmin(loss))
    assert 0 < i < len(SWEEP_LRS) - 1, (name, axis, shape, loss)  # the grid brackets the optimum
    a, b, _ = np.polyfit(np.log2(SWEEP_LRS[i - 1 : i + 2]), np.log(loss[i - 1 : i + 2]), 2)
    return float(-b / (2 * a))


@pytest.mark.slow
def test_learning_rate_transfer(runs: dict) -> None:
    """The optimal LR moves by 1/width for SP under Adam (3 octaves from width 32 to 256)
    and not at all in the muP family; across depth it moves for SP and not for CompleteP.
    Decision line: half the SP shift the theory predicts in width (1.5 octaves); in depth,
    CompleteP must move less than SP and by under one grid octave."""
    shift = {}
    for (name, axis), (small, large) in SWEEP.items():
        shift[(name, axis)] = _optimum(runs, name, axis, large) - _optimum(runs, name, axis, small)
    assert shift[("sp", "width")] < -1.5, shift
    assert abs(shift[("completep", "width")]) < 1.5 / 2, shift
    assert abs(shift[("completep", "depth")]) < 1.0, shift
    assert abs(shift[("completep", "depth")]) < abs(shift[("sp", "depth")]), shift
