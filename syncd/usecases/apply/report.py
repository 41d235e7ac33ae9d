"""What a pass did: the report the CLI and the daemon print, the tally its threads keep,
and the client observer that feeds the metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from syncd import metrics
from syncd.core.errors import ApiError, UnsafePlanError


def api_observer(method: str, route: str, status: int | None, seconds: float) -> None:
    """HemnetClient observer: latency, answers by class, rate limiting."""
    metrics.API_LATENCY.labels(method, route).observe(seconds)
    metrics.API_RESPONSES.labels(metrics.status_class(status)).inc()
    if status == 429:
        metrics.RATE_LIMITED.inc()


@dataclass(frozen=True)
class ApplyReport:
    ops_succeeded: int = 0
    ops_failed: int = 0
    ops_retry: int = 0
    ops_unknown: int = 0
    holds: int = 0
    next_retry_at: datetime | None = None
    settled: int = 0  # unknown outcomes resolved by reading Hemnet back
    deferred: int = 0  # listings left for the next pass because this one ran out of time
    stopped: bool = False
    planned: int = 0  # listings the pass read and planned
    full: bool = True  # every listing, or only the dirty set and the due ones

    @property
    def ops_total(self) -> int:
        return self.ops_succeeded + self.ops_failed + self.ops_retry + self.ops_unknown

    def summary_lines(self) -> list[str]:
        """The pass as 'syncd apply' prints it (run by the command or by the daemon)."""
        lines = [
            f"applied: {self.ops_succeeded} succeeded, {self.ops_failed} failed, "
            f"{self.ops_retry} to retry, {self.ops_unknown} unknown, {self.settled} settled"
        ]
        if self.next_retry_at is not None:
            lines.append(f"next retry at {self.next_retry_at:%Y-%m-%d %H:%M:%S} UTC")
        if self.holds:
            lines.append(f"{self.holds} removal(s) held: see 'syncd hold list'")
        return lines

    @property
    def exit_code(self) -> int:
        if self.ops_failed or self.ops_retry or self.ops_unknown:
            return ApiError.exit_code
        if self.holds:
            return UnsafePlanError.exit_code
        return 0


@dataclass
class Tally:
    """Counts of one pass, from several threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: dict[str, int] = field(default_factory=dict)
    next_retry_at: datetime | None = None

    def add(self, outcome: str) -> None:
        with self.lock:
            self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def retry_at(self, when: datetime | None) -> None:
        if when is None:
            return
        with self.lock:
            if self.next_retry_at is None or when < self.next_retry_at:
                self.next_retry_at = when

    def get(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)
