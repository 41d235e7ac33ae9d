"""Giving the heap a big side job freed back to the system, so the next big job, on another
thread, does not grow the process beside it.

Each thread allocates from a glibc malloc arena of its own, which keeps what a job freed
for that thread: at 100,000 listings reconcile's reading of Hemnet's list, on a side
worker, leaves about 10 MiB free in its arena for the hours its run lasts, and an ingest
of the whole export on the store worker then grows the process by its own peak on top of
it. ``malloc_trim`` returns every arena's free pages at once. A few milliseconds, after a
job of a minute; elsewhere than glibc, nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

# glibc's soname on Linux; elsewhere loading it fails and nothing is given back.
_LIBC = "libc.so.6"


def give_back_freed() -> None:
    """Return the free pages of every malloc arena to the system (glibc's malloc_trim)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(_LIBC).malloc_trim(0)
