"""The daemon's gate between its big side jobs: reconcile's begin pauses while the status
book builds many listings at once, so their peaks of memory do not add.

Both run on the side workers, beside the store worker: the book's first build (every
listing marked, after an upgrade or a first ingest) and reconcile's reading of Hemnet's
list each hold a transient of tens of MB at 100,000 listings. Run at the same moment,
their peaks add, on top of an ingest's on the store worker. Only reconcile's begin waits
(between two listings of Hemnet's list, where it already gives way to a dropped file's
ingest): the status files stay as prompt as before, and nothing on the store worker
(ingest, the pass, its calls) ever waits here. What each job computes is unchanged; the
begin only ends later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class SideGate:
    """Held by a big build (``holding``); waited for by reconcile's begin (``wait``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._free = threading.Event()
        self._free.set()

    @contextmanager
    def holding(self) -> Iterator[None]:
        with self._lock:
            self._holders += 1
            self._free.clear()
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if not self._holders:
                    self._free.set()

    @property
    def free(self) -> bool:
        """No big build holds the gate."""
        return self._free.is_set()

    def wait(self, stop: Callable[[], bool], check_s: float = 0.5) -> None:
        """Return when no big build holds the gate (at once when none does), or when
        ``stop()`` says the daemon is stopping (checked every ``check_s``)."""
        while not self._free.wait(check_s):
            if stop():
                return
