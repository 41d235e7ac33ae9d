"""When a pass stops starting new listings (``max_pass_s``), and the rest waits for the
next pass, which comes at once.

Only once one of the pass's jobs has called Hemnet: settling and planning count against
the time, and a pass that only planned, on a loaded machine or a large store, would
otherwise defer every job every time and never send anything (nor would one whose first
job only found it must wait, as for images still processing).
"""

from __future__ import annotations

import threading
import time


class PassDeadline:
    def __init__(self, max_pass_s: float | None) -> None:
        self.max_pass_s = max_pass_s
        self._at = float("inf")
        self._progressed = threading.Event()

    def start(self) -> None:
        """A pass begins now."""
        self._at = float("inf") if self.max_pass_s is None else time.monotonic() + self.max_pass_s
        self._progressed.clear()

    def job_done(self) -> None:
        """One of the pass's jobs called Hemnet (whatever the answer); any thread."""
        self._progressed.set()

    def passed(self) -> bool:
        """Start no new job: the time is up and the pass has sent something."""
        return self._progressed.is_set() and time.monotonic() > self._at
