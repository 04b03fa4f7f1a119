"""The self-contained code blocks of the README and docs run as written (docstring examples run as doctests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)

# (file, index of the ```python block): the blocks that define everything they use. The others are
# fragments of a larger program (a `model`, `rules`, a multi-host cluster) and say so in their text.
RUNNABLE = [("README.md", 0), ("docs/flax.md", 0)]


def blocks(path: str) -> list[str]:
    return BLOCK.findall((ROOT / path).read_text())


@pytest.mark.parametrize(("path", "index"), RUNNABLE, ids=[f"{p}[{i}]" for p, i in RUNNABLE])
def test_block_runs(path: str, index: int) -> None:
    code = blocks(path)[index]
    exec(compile(code, f"{path} block {index}", "exec"), {"__name__": "__docs__"})


def test_readme_quick_start_states_the_truth() -> None:
    """The README's first block says its draws are jax's and shows its law: check both claims."""
    import jax
    import jax.numpy as jnp

    import jinit

    shape = (3, 3, 64, 128)
    init = jinit.he_normal()
    assert jnp.array_equal(init(jax.random.key(0), shape), jax.nn.initializers.he_normal()(jax.random.key(0), shape))
    law = init.moments(shape)
    number = r"(-?[0-9]+\.[0-9]+)\.\.\."
    shown = re.search(rf"variance={number}, bound={number}, excess_kurtosis={number}", blocks("README.md")[0])
    assert shown is not None
    for text, value in zip(shown.groups(), (law.variance, law.bound, law.excess_kurtosis), strict=True):
        assert str(value).startswith(text), (text, value)
