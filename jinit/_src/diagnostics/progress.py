"""A dependency-free progress bar on stderr for anything that runs over a second."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, *, enabled: bool = True, width: int = 30) -> Iterator[T]:
    """Yield ``items``, drawing ``label [####----] i/total elapsed`` on stderr when it is a terminal
    (or one line per 10% otherwise) once more than a second has passed."""
    start = time.perf_counter()
    tty = sys.stderr.isatty()
    last_decile = -1
    for i, item in enumerate(items):
        yield item
        done = i + 1
        elapsed = time.perf_counter() - start
        if not enabled or elapsed < 1.0:
            continue
        if tty:
            filled = int(width * done / max(total, 1))
            sys.stderr.write(f"\r{label} [{'#' * filled}{'-' * (width - filled)}] {done}/{total} {elapsed:5.1f}s")
            if done == total:
                sys.stderr.write("\n")
        else:
            decile = 10 * done // max(total, 1)
            if decile != last_decile:
                last_decile = decile
                sys.stderr.write(f"{label}: {done}/{total} ({elapsed:.1f}s)\n")
        sys.stderr.flush()
