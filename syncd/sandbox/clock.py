"""The sandbox's own clock: real UTC time plus an offset tests can move forward.

Key expiry, sale windows and auto-approval read this clock; nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxClock:
    """``now()`` is ``source() + offset``; ``advance`` only ever moves time forward."""

    def __init__(self, source: Callable[[], datetime] = _utc_now) -> None:
        self._source = source
        self.offset = timedelta()

    def now(self) -> datetime:
        return self._source() + self.offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self.offset += timedelta(seconds=seconds)
        return self.now()


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, as the wire writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
