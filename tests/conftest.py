"""Shared test configuration: JAX made strict, and fixed keys.

Strictness as in equinox/jaxtyping: no implicit dtype promotion (a float32
array times a float64 numpy scalar is an error, not a silent upcast) and no
implicit rank promotion (broadcasting must be explicit). Warnings are errors
(``filterwarnings = ["error"]`` in pyproject.toml).
"""

from __future__ import annotations

import jax
import pytest

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key() -> jax.Array:
    """A fixed typed key."""
    return jax.random.key(0)


@pytest.fixture
def other_key() -> jax.Array:
    """A second fixed typed key, different from ``key``."""
    return jax.random.key(1)


@pytest.fixture
def legacy_key(key: jax.Array) -> jax.Array:
    """The raw ``uint32[2]`` data of ``key``: the same key in the legacy form."""
    return jax.random.key_data(key)
