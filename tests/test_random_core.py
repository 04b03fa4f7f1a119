"""The random core draws exactly jax.random's bits, only faster.

Every comparison is bit for bit (the arrays viewed as unsigned integers):
jinit's unrolled Threefry against ``jax.random`` for the same key, over many
keys, odd, empty and large shapes, every float width, typed and legacy keys,
under jit, vmap and ``out_sharding``. The fallbacks (other key
implementations, the non-partitionable layout, configurations jax warns
about) must give jax's values, warnings and errors. Last, orthogonal at
scale: Stewart's reflector product against its definition, orthonormality
and the Haar law.

Compiling dominates the run time of this file: most checks share one shape
so that jinit's and jax's compiled samplers are reused from test to test.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jinit
from jinit._src.random import householder, sampling, threefry
from jinit._src.schemes.orthogonal import compute_dtype, haar_orthogonal

N_KEYS = 12
SHAPE = (5, 7)
SHAPES = [(), (7,), (2, 3, 5), (4, 0, 3), (129, 3)]
FLOATS = [jnp.float32, jnp.bfloat16, jnp.float16]


def _bits_of(x: jax.Array) -> np.ndarray:
    a = np.asarray(x).reshape(-1)
    return a.view(np.dtype(f"uint{8 * a.dtype.itemsize}")) if a.dtype.kind != "c" else a.view(np.uint32)


def assert_bitwise_equal(actual: jax.Array, expected: jax.Array) -> None:
    """Same dtype, same shape, same bits (so NaN payloads and signed zeros count)."""
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(_bits_of(actual), _bits_of(expected))


def _keys(kind: str, n: int = N_KEYS, seed: int = 0) -> jax.Array:
    keys = jax.random.split(jax.random.key(seed), n)
    return keys if kind == "typed" else jax.random.key_data(keys)


def _against_jax(ours, theirs, kind: str = "typed", n: int = N_KEYS) -> None:
    """ours(k) == theirs(k), bit for bit, for n different keys."""
    for k in _keys(kind, n):
        assert_bitwise_equal(ours(k), theirs(k))


# ---------------------------------------------------------------------------
# The fast path is the one being tested


@pytest.mark.parametrize("kind", ["typed", "legacy"])
def test_threefry_keys_take_the_unrolled_path(kind: str) -> None:
    # Without this check every parity test below would also pass if jinit
    # silently fell back to jax.random.
    key = _keys(kind, 1)[0]
    for fn in (
        lambda k: sampling.normal(k, SHAPE, jnp.float32),
        lambda k: sampling.truncated_normal(k, -2.0, 2.0, SHAPE, jnp.bfloat16),
        lambda k: sampling.split(k),
        lambda k: sampling.fold_in(k, 3),
    ):
        jaxpr = str(jax.make_jaxpr(fn)(key))
        assert "random_bits" not in jaxpr and "random_split" not in jaxpr and "random_fold_in" not in jaxpr
        assert "shift_left" in jaxpr  # the unrolled rounds
    rbg = jax.random.key(0, impl="rbg")
    assert "random_bits" in str(jax.make_jaxpr(lambda k: sampling.normal(k, SHAPE, jnp.float32))(rbg))


# ---------------------------------------------------------------------------
# The hash itself


def test_threefry_known_answer() -> None:
    # Known-answer vectors of Threefry-2x32-20 from the Random123 suite
    # (kat_vectors: threefry2x32 20 rounds), as jax's own tests use them.
    cases = [
        ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ]
    for key, count, expected in cases:
        k = [np.uint32(v) for v in key]
        y0, y1 = threefry.hash2x32(k[0], k[1], jnp.uint32(count[0]), jnp.uint32(count[1]))
        assert (int(y0), int(y1)) == expected


def test_more_than_2_pow_32_elements_is_refused_by_the_hash() -> None:
    # The public functions hand such shapes to jax.random before this point.
    with pytest.raises(ValueError, match="at most 2\\*\\*32 elements"):
        threefry.hash_index(jnp.zeros(2, jnp.uint32), (2**16, 2**16 + 1))
    assert sampling._static_shape((2**16, 2**16 + 1)) is None


def test_row_major_index() -> None:
    np.testing.assert_array_equal(threefry.row_major_index((3, 4, 5)), np.arange(60, dtype=np.uint32).reshape(3, 4, 5))
    assert threefry.row_major_index(()).shape == ()


# ---------------------------------------------------------------------------
# Bits and floats, bit for bit


@pytest.mark.parametrize("shape", SHAPES)
def test_bits_over_shapes(shape: tuple[int, ...]) -> None:
    _against_jax(lambda k: sampling.bits(k, shape), lambda k: jax.random.bits(k, shape), n=4)


@pytest.mark.parametrize("kind", ["typed", "legacy"])
def test_uniform_many_keys(kind: str) -> None:
    _against_jax(
        lambda k: sampling.uniform(k, SHAPE, jnp.float32, -0.5, 3.0),
        lambda k: jax.random.uniform(k, SHAPE, jnp.float32, -0.5, 3.0),
        kind,
        n=2 * N_KEYS,
    )


@pytest.mark.parametrize("dtype", [jnp.uint8])  # uint16: via float16 uniform
def test_bits_widths(dtype: np.dtype) -> None:
    _against_jax(lambda k: sampling.bits(k, SHAPE, dtype), lambda k: jax.random.bits(k, SHAPE, dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform_dtypes(dtype: np.dtype) -> None:
    _against_jax(
        lambda k: sampling.uniform(k, SHAPE, dtype, -1.0, 1.0), lambda k: jax.random.uniform(k, SHAPE, dtype, -1.0, 1.0)
    )


@pytest.mark.parametrize("dtype", [*FLOATS, jnp.complex64])
def test_normal(dtype: np.dtype) -> None:
    _against_jax(lambda k: sampling.normal(k, SHAPE, dtype), lambda k: jax.random.normal(k, SHAPE, dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_truncated_normal(dtype: np.dtype) -> None:
    _against_jax(
        lambda k: sampling.truncated_normal(k, -2.0, 2.0, SHAPE, dtype),
        lambda k: jax.random.truncated_normal(k, -2.0, 2.0, SHAPE, dtype),
    )


def test_truncated_normal_other_bounds() -> None:
    # The bounds are runtime arguments of one compiled sampler, in jinit as in jax.
    for lo, hi in ((-0.5, 3.0), (1.0, math.inf), (-math.inf, -1.5)):
        _against_jax(
            lambda k, lo=lo, hi=hi: sampling.truncated_normal(k, lo, hi, SHAPE, jnp.float32),
            lambda k, lo=lo, hi=hi: jax.random.truncated_normal(k, lo, hi, SHAPE, jnp.float32),
            n=4,
        )


def test_vmap_over_keys() -> None:
    keys = _keys("typed")
    for ours, theirs in (
        (lambda k: sampling.normal(k, SHAPE, jnp.float32), lambda k: jax.random.normal(k, SHAPE, jnp.float32)),
        (lambda k: sampling.bits(k, (3,)), lambda k: jax.random.bits(k, (3,))),
    ):
        assert_bitwise_equal(jax.vmap(ours)(keys), jnp.stack([theirs(k) for k in keys]))
    legacy = _keys("legacy", 4)
    got = jax.vmap(lambda k: sampling.uniform(k, SHAPE, jnp.float32, -0.5, 3.0))(legacy)
    assert_bitwise_equal(got, jnp.stack([jax.random.uniform(k, SHAPE, jnp.float32, -0.5, 3.0) for k in legacy]))


def test_more_than_2_pow_24_elements(key: jax.Array) -> None:
    # float32 counts exactly only up to 2**24: an index computed in floats
    # would repeat values beyond it. 4097**2 = 2**24 + 2**13 + 1.
    shape = (4097, 4097)
    assert math.prod(shape) > 2**24
    assert_bitwise_equal(sampling.uniform(key, shape, jnp.float32), jax.random.uniform(key, shape, jnp.float32))


def test_float64_with_x64(key: jax.Array) -> None:
    # normal covers 64-bit bits and the float64 uniform; truncated adds erf.
    with jax.enable_x64(True):
        assert_bitwise_equal(sampling.normal(key, SHAPE, jnp.float64), jax.random.normal(key, SHAPE, jnp.float64))
        assert_bitwise_equal(
            sampling.truncated_normal(key, -2.0, 2.0, SHAPE, jnp.float64),
            jax.random.truncated_normal(key, -2.0, 2.0, SHAPE, jnp.float64),
        )


def test_float64_without_x64_warns_and_gives_jax_values(key: jax.Array) -> None:
    with pytest.warns(UserWarning, match="float64"):
        got = sampling.normal(key, (4,), jnp.float64)
    with pytest.warns(UserWarning, match="float64"):
        want = jax.random.normal(key, (4,), jnp.float64)
    assert_bitwise_equal(got, want)


# ---------------------------------------------------------------------------
# jit, vmap, eager, keys


def test_jit_equals_eager_equals_jax(key: jax.Array) -> None:
    jitted = jax.jit(lambda k: sampling.truncated_normal(k, -2.0, 2.0, SHAPE, jnp.float32))
    eager = sampling.truncated_normal(key, -2.0, 2.0, SHAPE, jnp.float32)
    assert_bitwise_equal(jitted(key), eager)
    assert_bitwise_equal(eager, jax.random.truncated_normal(key, -2.0, 2.0, SHAPE, jnp.float32))


def test_traced_bounds_under_jit(key: jax.Array) -> None:
    f = jax.jit(lambda k, lo, hi: sampling.uniform(k, SHAPE, jnp.float32, lo, hi))
    assert_bitwise_equal(f(key, -3.0, 0.5), jax.random.uniform(key, SHAPE, jnp.float32, -3.0, 0.5))


def test_typed_and_legacy_keys_agree(key: jax.Array, legacy_key: jax.Array) -> None:
    assert_bitwise_equal(sampling.normal(key, SHAPE, jnp.float32), sampling.normal(legacy_key, SHAPE, jnp.float32))


@pytest.mark.parametrize("kind", ["typed", "legacy"])
def test_split_and_fold_in(kind: str) -> None:
    key = _keys(kind, 1)[0]
    data = (lambda k: k) if kind == "legacy" else jax.random.key_data
    for num in (3, (2, 3)):
        got, want = sampling.split(key, num), jax.random.split(key, num)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert_bitwise_equal(data(got), data(want))
    for d in (0, 1, 7, 2**32 - 1):
        got, want = sampling.fold_in(key, d), jax.random.fold_in(key, d)
        assert got.dtype == want.dtype
        assert_bitwise_equal(data(got), data(want))
    folded = jax.vmap(lambda i: sampling.fold_in(key, i))(jnp.arange(5, dtype=jnp.uint32))
    assert_bitwise_equal(data(folded), jnp.stack([data(jax.random.fold_in(key, i)) for i in range(5)]))


def test_split_of_a_vmapped_key() -> None:
    keys = _keys("typed", 4)
    got = jax.vmap(lambda k: jax.random.key_data(sampling.split(k, 3)))(keys)
    want = jnp.stack([jax.random.key_data(jax.random.split(k, 3)) for k in keys])
    assert_bitwise_equal(got, want)


# ---------------------------------------------------------------------------
# The one place jinit departs from jax.random: no truncated draw on a far bound


def _at_far_bound(x: jax.Array, lower: float, upper: float) -> np.ndarray:
    """Where ``x`` equals jax's clip value, nextafter(bound, inward), of a bound beyond 6 sigma."""
    dt = x.dtype
    lo = jax.lax.nextafter(jnp.asarray(lower, dt), jnp.asarray(np.inf, dt))
    hi = jax.lax.nextafter(jnp.asarray(upper, dt), jnp.asarray(-np.inf, dt))
    return np.asarray(((x == lo) & (lower < -6.0)) | ((x == hi) & (upper > 6.0)))


@pytest.mark.parametrize(
    ("impl", "bounds", "dtype"),
    [
        *(("threefry", b, d) for b in [(-100.0, 100.0), (-9.0, 9.0), (-math.inf, -1.5)] for d in FLOATS[1:]),
        ("rbg", (-100.0, 100.0), jnp.bfloat16),
        ("rbg", (-math.inf, -1.5), jnp.float16),
        ("non-partitionable", (-9.0, 9.0), jnp.bfloat16),
    ],
)
def test_truncated_normal_departs_from_jax_only_on_far_bounds(
    dtype: np.dtype, bounds: tuple[float, float], impl: str
) -> None:
    # Half precision draws u from 128 (bfloat16) or 1024 (float16) values, so
    # jax's u = erf(lower/sqrt2) = -1, mapped to -inf and clipped to the bound,
    # shows up in a small array; in float32 it is one draw in 2**23 (test_tails.py).
    lower, upper = bounds
    key = jax.random.key(0, impl="rbg") if impl == "rbg" else jax.random.key(0)
    with jax.threefry_partitionable(impl != "non-partitionable"):
        ours = sampling.truncated_normal(key, lower, upper, (64, 64), dtype)
        theirs = jax.random.truncated_normal(key, lower, upper, (64, 64), dtype)
    moved = _at_far_bound(theirs, lower, upper)
    assert moved.sum() > 0  # the defect is there to be fixed
    assert not _at_far_bound(ours, lower, upper).any()
    # Every other draw is jax's, bit for bit.
    np.testing.assert_array_equal(_bits_of(ours)[~moved.reshape(-1)], _bits_of(theirs)[~moved.reshape(-1)])
    # The moved draws are finite, inside the interval and within 6 sigma.
    got = np.asarray(ours, np.float64)[moved]
    assert np.all((got > -6.0) & (got < min(upper, 6.0))), got


# ---------------------------------------------------------------------------
# Fallbacks: jax.random's own values, warnings and errors


def test_other_key_implementations_fall_back() -> None:
    for impl in ("rbg",):
        key = jax.random.key(3, impl=impl)
        assert_bitwise_equal(sampling.normal(key, SHAPE, jnp.float32), jax.random.normal(key, SHAPE, jnp.float32))
        assert_bitwise_equal(jax.random.key_data(sampling.split(key)), jax.random.key_data(jax.random.split(key)))
        assert_bitwise_equal(
            jax.random.key_data(sampling.fold_in(key, 5)), jax.random.key_data(jax.random.fold_in(key, 5))
        )


def test_non_partitionable_layout_falls_back(key: jax.Array) -> None:
    with jax.threefry_partitionable(False):
        got = sampling.uniform(key, SHAPE, jnp.float32)
        want = jax.random.uniform(key, SHAPE, jnp.float32)
        keys = jax.random.key_data(sampling.split(key, 3))
        want_keys = jax.random.key_data(jax.random.split(key, 3))
    assert_bitwise_equal(got, want)
    assert_bitwise_equal(keys, want_keys)
    # ... and the layouts do differ, so the comparison above means something.
    assert not np.array_equal(_bits_of(got), _bits_of(sampling.uniform(key, SHAPE, jnp.float32)))


def test_legacy_key_warning_is_jax_s(legacy_key: jax.Array) -> None:
    with jax.legacy_prng_key("warn"), pytest.warns(UserWarning, match="Legacy uint32 key"):
        sampling.normal(legacy_key, (2,), jnp.float32)
    with jax.legacy_prng_key("error"), pytest.raises(ValueError, match="Legacy uint32 key"):
        sampling.normal(legacy_key, (2,), jnp.float32)


def test_jax_errors_are_kept(key: jax.Array) -> None:
    with pytest.raises(ValueError, match="must be a float dtype"):
        sampling.uniform(key, (2,), jnp.int32)
    with pytest.raises(ValueError, match="unsigned int dtype"):
        sampling.bits(key, (2,), jnp.int32)
    with pytest.raises(TypeError, match="fold_in accepts a scalar"):
        sampling.fold_in(key, jnp.arange(2))
    with pytest.raises(ValueError, match="not under a mesh context"):
        sampling.normal(key, (2,), jnp.float32, out_sharding=P())


# ---------------------------------------------------------------------------
# out_sharding


def test_out_sharding_on_one_device(key: jax.Array) -> None:
    mesh = jax.make_mesh((1,), ("x",), axis_types=(AxisType.Explicit,))
    with jax.set_mesh(mesh):
        sharding = NamedSharding(mesh, P("x"))
        got = sampling.normal(key, SHAPE, jnp.float32, out_sharding=sharding)
        want = jax.random.normal(key, SHAPE, jnp.float32, out_sharding=sharding)
        assert got.sharding == want.sharding
        assert_bitwise_equal(got, want)
        got = sampling.uniform(key, SHAPE, jnp.float32, out_sharding=P(None, "x"))
        assert got.sharding.spec == P(None, "x")
        assert_bitwise_equal(got, jax.random.uniform(key, SHAPE, jnp.float32))


@pytest.mark.multidevice
def test_out_sharding_on_eight_devices(key: jax.Array) -> None:
    if jax.device_count() < 8:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=8 (make multidevice)")
    mesh = jax.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Explicit, AxisType.Explicit))
    shape = (16, 6)
    plain = {
        "bits": sampling.bits(key, shape),
        "uniform": sampling.uniform(key, shape, jnp.float32),
        "normal": sampling.normal(key, shape, jnp.bfloat16),
        "truncated": sampling.truncated_normal(key, -2.0, 2.0, shape, jnp.float32),
    }
    with jax.set_mesh(mesh):
        for spec in (P("x", "y"), P(None, "y"), P(("x", "y"))):
            sharded = {
                "bits": sampling.bits(key, shape, out_sharding=spec),
                "uniform": jax.jit(lambda k, s=spec: sampling.uniform(k, shape, jnp.float32, out_sharding=s))(key),
                "normal": sampling.normal(key, shape, jnp.bfloat16, out_sharding=NamedSharding(mesh, spec)),
                "truncated": sampling.truncated_normal(key, -2.0, 2.0, shape, jnp.float32, out_sharding=spec),
            }
            for name, x in sharded.items():
                assert x.sharding.is_equivalent_to(NamedSharding(mesh, spec), x.ndim), (name, x.sharding)
                assert_bitwise_equal(x, plain[name])
            want = jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32, out_sharding=spec)
            assert_bitwise_equal(sharded["truncated"], want)
        # A scalar under an all-explicit mesh is replicated, as in jax.
        assert sampling.normal(key, (), jnp.float32).sharding == jax.random.normal(key, (), jnp.float32).sharding
        w = jinit.he_normal()(key, (16, 8), out_sharding=P("x", "y"))
    assert w.sharding.spec == P("x", "y")
    assert_bitwise_equal(w, jinit.he_normal()(key, (16, 8)))


# ---------------------------------------------------------------------------
# The schemes still give jax.nn.initializers' values


SCHEMES = [
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
]


@pytest.mark.parametrize(
    ("dtype", "names"),
    [
        (jnp.float32, SCHEMES),
        (jnp.bfloat16, ["he_normal"]),
        (jnp.float16, ["lecun_uniform"]),
        # jinit's complex truncated normal fixes jax's variance (README): it differs by design.
        (jnp.complex64, ["he_uniform"]),
    ],
)
def test_schemes_equal_jax_nn_initializers(
    dtype: np.dtype, names: list[str], key: jax.Array, legacy_key: jax.Array
) -> None:
    for name in names:
        want = getattr(jax.nn.initializers, name)()(key, SHAPE, dtype)
        assert_bitwise_equal(getattr(jinit, name)()(key, SHAPE, dtype), want)
        assert_bitwise_equal(getattr(jinit, name)()(legacy_key, SHAPE, dtype), want)


def test_basic_schemes_and_jit_equal_jax(key: jax.Array) -> None:
    pairs = [
        (jinit.normal(0.3), jax.nn.initializers.normal(0.3)),
        (jinit.uniform(0.3), jax.nn.initializers.uniform(0.3)),
        (jinit.truncated_normal(0.3), jax.nn.initializers.truncated_normal(0.3)),
        (
            jinit.variance_scaling(2.0, "fan_avg", "normal"),
            jax.nn.initializers.variance_scaling(2.0, "fan_avg", "normal"),
        ),
    ]
    for ours, theirs in pairs:
        want = theirs(key, SHAPE, jnp.float32)
        assert_bitwise_equal(ours(key, SHAPE, jnp.float32), want)
    # Under jit XLA may fuse the final multiply differently: an ulp, not more.
    jitted = jax.jit(jinit.he_normal(), static_argnums=(1, 2))(key, SHAPE, jnp.float32)
    np.testing.assert_allclose(jitted, jax.nn.initializers.he_normal()(key, SHAPE, jnp.float32), rtol=2.4e-7, atol=0)
    got = jinit.normal(0.3)(key, SHAPE, jnp.complex64)
    assert_bitwise_equal(got, jax.nn.initializers.normal(0.3)(key, SHAPE, jnp.complex64))


def test_stacked_is_fold_in_per_slice(key: jax.Array) -> None:
    init = jinit.glorot_uniform()
    got = jax.jit(lambda k: jinit.stacked(init, 5)(k, (5, *SHAPE)))(key)
    want = jnp.stack([jax.nn.initializers.glorot_uniform()(jax.random.fold_in(key, i), SHAPE) for i in range(5)])
    assert_bitwise_equal(got, want)


# ---------------------------------------------------------------------------
# Orthogonal at scale


def test_small_orthogonal_equals_jax_random_orthogonal(key: jax.Array) -> None:
    assert not householder.use_stewart(24, np.dtype(np.float32))
    # Wide (the transposed case; tall ones are in test_jax_parity.py).
    got = haar_orthogonal(key, (3,), 24, 40, np.dtype(np.float32))
    want = jax.random.orthogonal(key, 24, (3,), jnp.float32, 40)
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * np.finfo(np.float32).eps)


def _reflector_product(z: np.ndarray) -> np.ndarray:
    """Stewart's Q in float64 numpy, one reflector at a time, from the definition."""
    m, n = z.shape
    q = np.eye(m)
    signs = []
    for k in range(n):
        x = z[k:, k]
        beta = -math.copysign(np.linalg.norm(x), x[0])
        u = x.copy()
        u[0] -= beta  # H x = beta e_1 for H = I - 2 u u^T / (u^T u)
        h = np.eye(m)
        h[k:, k:] -= 2 * np.outer(u, u) / (u @ u)
        np.testing.assert_allclose(h[k:, k:] @ x, beta * np.eye(m - k)[0], atol=1e-12)
        q = q @ h
        signs.append(np.sign(beta))
    return q[:, :n] * np.array(signs)


@pytest.mark.parametrize("block", [3, 64])
def test_stewart_blocks_equal_the_reflector_product(block: int) -> None:
    # Odd sizes so that the last block is partial; block 1 is the unblocked product.
    z = jax.random.normal(jax.random.key(11), (13, 10))
    got = householder.haar_from_gaussian(z, block)
    want = _reflector_product(np.asarray(z, np.float64))
    np.testing.assert_allclose(got, want, rtol=0, atol=10 * 13 * np.finfo(np.float32).eps)
    # The first column is the Gaussian's normalised first column, as in the QR route.
    np.testing.assert_allclose(got[:, 0], z[:, 0] / jnp.linalg.norm(z[:, 0]), rtol=0, atol=4e-7)


def _larft(gram: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """LAPACK's larft recurrence (forward, columnwise), in float64, one column at a time."""
    b = len(tau)
    t = np.zeros((b, b))
    for j in range(b):
        t[:j, j] = -tau[j] * (t[:j, :j] @ gram[:j, j])
        t[j, j] = tau[j]
    return t


@pytest.mark.parametrize("b", [1, 3, 8, 13, 64])
def test_t_factors_equal_larfts_recurrence(b: int) -> None:
    """T = S^-1 by triangular inversion in matrix products: the same T as the column recurrence."""
    rng = np.random.default_rng(b)
    v = np.tril(rng.standard_normal((2 * b + 3, b)), -1) + np.eye(2 * b + 3, b)
    tau = 2 / np.sum(v * v, axis=0)  # Householder coefficients: H_k = I - tau_k v_k v_k^T orthogonal
    gram = v.T @ v
    got = np.asarray(householder._t_factors(jnp.asarray(gram, jnp.float32), jnp.asarray(tau, jnp.float32)))
    want = _larft(gram, tau)
    np.testing.assert_allclose(got, want, rtol=0, atol=64 * b * np.finfo(np.float32).eps * np.abs(want).max())
    # Padding reflectors (tau = 0) drop out: their rows and columns of T are zero, the rest unchanged.
    if b > 2:
        padded = tau.copy()
        padded[-2:] = 0
        got = np.asarray(householder._t_factors(jnp.asarray(gram, jnp.float32), jnp.asarray(padded, jnp.float32)))
        np.testing.assert_array_equal(got[-2:, :], 0)
        np.testing.assert_array_equal(got[:, -2:], 0)
        np.testing.assert_allclose(got[:-2, :-2], want[:-2, :-2], rtol=0, atol=64 * b * 1.2e-7 * np.abs(want).max())


CASES = [  # (shape, dtype): Stewart (short side >= MIN_STEWART) and QR route
    ((2, 192, 128), jnp.float32),
    ((128, 200), jnp.bfloat16),
    ((64, 64), jnp.float16),
    ((3, 32, 24), jnp.complex64),
]


@pytest.mark.parametrize(("shape", "dtype"), CASES, ids=str)
def test_orthogonal_is_orthonormal(dtype: np.dtype, shape: tuple[int, ...], key: jax.Array) -> None:
    batch = shape[:-2]
    rows, cols = shape[-2:]
    q = haar_orthogonal(key, batch, rows, cols, compute_dtype(np.dtype(dtype))).astype(dtype)
    assert q.shape == shape and q.dtype == dtype
    q64 = np.asarray(q.astype(jnp.complex64 if dtype == jnp.complex64 else jnp.float32)).astype(np.complex128)
    gram = np.swapaxes(q64.conj(), -1, -2) @ q64 if rows >= cols else q64 @ np.swapaxes(q64.conj(), -1, -2)
    n = min(rows, cols)
    # float32 Householder: |Q^T Q - I| <~ n eps32 (Higham, Accuracy and Stability,
    # Lemma 19.3, with a small constant); a cast to a narrower dtype adds rounding
    # errors of eps/2 on each entry, whose products sum to about sqrt(n) eps.
    eps = float(jnp.finfo(dtype).eps)
    tol = 4 * n * np.finfo(np.float32).eps + 2 * math.sqrt(n) * eps
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(n), gram.shape), rtol=0, atol=tol)


def test_stewart_is_haar() -> None:
    # For Haar Q in O(n): E tr Q = 0, E tr(Q)^2 = 1 (Diaconis & Shahshahani 1994),
    # and every entry has mean 0. The QR route without the sign fix fails both
    # (its diagonal has mean -E|z_1| / ||z|| ~ -sqrt(2 / (pi n))).
    n, draws = 8, 4000
    z = sampling.normal(jax.random.key(12), (draws, n, n), np.dtype(np.float32))
    q = householder.haar_from_gaussian(z)
    trace = np.asarray(jnp.trace(q, axis1=-2, axis2=-1), np.float64)
    se = 1 / math.sqrt(draws)  # Var tr Q = 1
    assert abs(trace.mean()) < 6 * se, trace.mean()
    assert abs(np.mean(trace**2) - 1) < 6 * math.sqrt(2) * se, np.mean(trace**2)  # Var tr^2 = 2
    diag_mean = np.asarray(jnp.mean(jnp.diagonal(q, axis1=-2, axis2=-1), axis=0))
    assert np.all(np.abs(diag_mean) < 6 / math.sqrt(n * draws)), diag_mean
    # Undo the sign fix: multiply again by sign(beta_k) = -sign(z_kk).
    unfixed = q * -jnp.expand_dims(jnp.sign(jnp.diagonal(z, axis1=-2, axis2=-1)), -2)
    assert abs(float(jnp.mean(jnp.trace(unfixed, axis1=-2, axis2=-1)))) > 20 * se


def test_no_warnings_on_the_fast_path(key: jax.Array) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sampling.normal(key, (3,), jnp.float32)
