"""The catalog of public schemes: what ``jinit list`` prints.

Each entry has the scheme's dotted name under ``jinit``, its family, a
``make()`` that builds a default instance and a ``shape`` to show it on.
"""

from jinit._src.diagnostics.catalog import Entry as Entry
from jinit._src.diagnostics.catalog import entries as entries
from jinit._src.diagnostics.catalog import get as get

__all__ = ["Entry", "entries", "get"]
