"""Helpers for bulk work in Python (a million rows of a state file, a state's scores)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around code that allocates many small containers and frees
    them by reference counting: without this, every few hundred allocations the collector rescans all
    of them. Process-wide, so keep the block short (one chunk of rows)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
