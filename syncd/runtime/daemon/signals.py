"""Signals for the daemon's main loop: bytes on a socketpair, read by the loop.

Does no work inside a handler; what a signal means is the main loop's (``lifecycle``).
"""

from __future__ import annotations

import select
import signal
import socket
from collections.abc import Sequence
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
ALL_SIGNALS = (*STOP_SIGNALS, signal.SIGHUP, signal.SIGUSR1)


class SignalPipe:
    """Signals as bytes on a socketpair (``signal.set_wakeup_fd``), read by the main loop.

    The Python-level handlers do nothing: all the work happens in the loop, never inside a
    handler, so no lock or file can be caught half-way.
    """

    def __init__(self, signums: Sequence[signal.Signals]) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._old_handlers = {signum: signal.signal(signum, _ignore) for signum in signums}

    def wait(self, timeout_s: float) -> list[int]:
        """The signals received, waiting up to ``timeout_s`` for the first one."""
        ready, _, _ = select.select([self._read], [], [], max(timeout_s, 0.0))
        if not ready:
            return []
        try:
            return list(self._read.recv(256))
        except BlockingIOError:
            return []

    def close(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._old_fd)
        self._read.close()
        self._write.close()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The wakeup fd already carries the signal to the main loop."""
