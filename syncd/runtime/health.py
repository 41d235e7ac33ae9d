"""Whether the daemon can do its work: the Hemnet key, the disk it writes to, Hemnet itself.

``HealthBoard`` keeps the problems that last (an ERROR with its remedy when one starts, an
INFO line when it clears) and is what /healthz and the ``syncd_problem`` gauges read;
``HemnetProbe`` reads Hemnet once; ``JobGuard`` turns a refused write or a refused key in a
job into that one problem and quiet, backed-off retries. Decides nothing about listings.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from syncd import metrics
from syncd.core.errors import ApiError, AuthenticationApiError, RetryableApiError, StorageError
from syncd.hemnet import HemnetClient
from syncd.hemnet.budget import TokenBucket
from syncd.store.blocked import SendingBlocked
from syncd.store.disk import disk_failure

log = logging.getLogger(__name__)

T = TypeVar("T")

# One dropped connection is not an outage: this many probes in a row must fail.
UNREACHABLE_AFTER = 2
# A job whose write the disk refused runs again after this long, doubling up to the cap.
STORE_RETRY_FIRST_S = 5.0
STORE_RETRY_CAP_S = 60.0  # freed space is noticed within a minute

KEY_REMEDY = AuthenticationApiError.remedy
HEMNET_REMEDY = (
    "if Hemnet is down, wait: syncd retries by itself and then sends what waits; "
    "otherwise check hemnet.base_url, DNS and the firewall"
)


class Problem(enum.StrEnum):
    """A condition that stops syncd from doing its work (its label on ``syncd_problem``)."""

    KEY_REFUSED = "key_refused"
    STORE_UNWRITABLE = "store_unwritable"
    HEMNET_UNREACHABLE = "hemnet_unreachable"


# Problems that stop every change from reaching Hemnet (the listings say so).
_BLOCKS_SENDING = (Problem.KEY_REFUSED, Problem.HEMNET_UNREACHABLE)


@dataclass(frozen=True)
class ProblemState:
    problem: Problem
    detail: str  # one line, never a secret
    remedy: str
    since: datetime


class HealthBoard:
    """The problems that last now; thread-safe (jobs report, the HTTP thread reads)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._problems: dict[Problem, ProblemState] = {}
        for problem in Problem:
            metrics.PROBLEM.labels(problem.value).set(0)

    def report(self, problem: Problem, detail: str, remedy: str) -> bool:
        """Record ``problem``; True (and one ERROR line) only when it was not already so."""
        with self._lock:
            if problem in self._problems:
                return False
            self._problems[problem] = ProblemState(problem, detail, remedy, self._clock())
        metrics.PROBLEM.labels(problem.value).set(1)
        log.error("%s; remedy: %s", detail, remedy)
        return True

    def clear(self, problem: Problem) -> bool:
        """The problem is over; True (and one INFO line) when it had been reported."""
        with self._lock:
            state = self._problems.pop(problem, None)
        if state is None:
            return False
        metrics.PROBLEM.labels(problem.value).set(0)
        lasted = self._clock() - state.since
        log.info("resolved after %s: %s", _how_long(lasted), state.detail)
        return True

    def problems(self) -> tuple[ProblemState, ...]:
        with self._lock:
            return tuple(self._problems[p] for p in Problem if p in self._problems)

    def sending_blocked(self) -> SendingBlocked | None:
        """What the listings waiting to be sent should say, or None when sending works."""
        blocking = [p for p in self.problems() if p.problem in _BLOCKS_SENDING]
        if not blocking:
            return None
        first = blocking[0]
        return SendingBlocked(first.detail, first.remedy, first.since)


def _how_long(span: timedelta) -> str:
    seconds = max(int(span.total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


# The longest the health check waits for its request's token. Hemnet counts the probe like
# any other request: sent beside the budget, it came right after both instances of a fleet
# at burst 2 had spent theirs and was answered 429, and the next budgeted call with it
# (docs/scaling.md). A probe left out is the previous verdict kept until the next one.
# ASSUMED: a few token intervals at the lowest rates; longer only in a Retry-After pause.
PROBE_WAIT_S = 2.0


def probe_paid(
    budget: TokenBucket, closing: Callable[[], bool], clock: Callable[[], float]
) -> bool:
    """Take the probe's token from the request budget; False (probe left out) when none
    comes within PROBE_WAIT_S, the daemon closes, or a fleet's instance may not spend."""
    if budget.wait_s() > PROBE_WAIT_S:  # paused by Retry-After: not worth waiting for
        return False
    give_up = clock() + PROBE_WAIT_S
    return budget.take(lambda: closing() or clock() > give_up)


class HemnetProbe:
    """Reads Hemnet's key list once per call and tells the board what it found."""

    def __init__(self, board: HealthBoard) -> None:
        self._board = board
        self._failures = 0  # network failures or 5xx in a row

    def probe(self, client: HemnetClient) -> None:
        try:
            client.list_keys()  # a 401 goes through the key keeper's renewal first
        except AuthenticationApiError as error:
            self._failures = 0
            self._board.clear(Problem.HEMNET_UNREACHABLE)
            status = error.context.status
            self._board.report(
                Problem.KEY_REFUSED,
                f"Hemnet refuses syncd's API key (status {status}) and no stored or "
                "configured key works: nothing can be sent",
                KEY_REMEDY,
            )
            return
        except RetryableApiError as error:
            if error.context.status == 429:
                # Hemnet answered (too many requests): reachable; the key is not judged.
                self._failures = 0
                self._board.clear(Problem.HEMNET_UNREACHABLE)
                return
            self._failures += 1
            if self._failures >= UNREACHABLE_AFTER:
                self._board.report(
                    Problem.HEMNET_UNREACHABLE,
                    f"Hemnet cannot be reached: {error}",
                    HEMNET_REMEDY,
                )
            return
        except ApiError:
            pass  # Hemnet answered something odd: it is reachable, the key is not refused
        self._failures = 0
        self._board.clear(Problem.HEMNET_UNREACHABLE)
        self._board.clear(Problem.KEY_REFUSED)


class JobGuard:
    """Runs the daemon's jobs so that a refused write or key is one problem, not a traceback
    per run: the job is retried with backoff, quietly, until it succeeds again."""

    def __init__(
        self,
        board: HealthBoard,
        clock: Callable[[], datetime],
        places: Sequence[tuple[str, Path]] = (),
    ) -> None:
        self._board = board
        self._clock = clock
        # Where the daemon writes, named in the problem: a full disk's error seldom says.
        self._where = ", ".join(f"{name} {path}" for name, path in places)
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}  # part -> refused writes in a row
        self._retry_at: dict[str, datetime] = {}

    def periodic(
        self, part: str, job: Callable[[], datetime | None]
    ) -> Callable[[], datetime | None]:
        """``job`` for the scheduler: skipped until its retry time while its writes fail."""

        def guarded() -> datetime | None:
            with self._lock:
                waiting = self._retry_at.get(part)
            if waiting is not None and self._clock() < waiting:
                return waiting
            try:
                wanted = job()
            except AuthenticationApiError as error:
                self._key_refused(part, error)
                return None
            except Exception as error:
                why = disk_failure(error)
                if why is None:
                    raise
                return self._refused_write(part, why)
            self._succeeded(part)
            return wanted

        return guarded

    def once(self, part: str, job: Callable[[], T]) -> T:
        """``job`` run now; a refused write raises StorageError (its caller backs off)."""
        try:
            result = job()
        except Exception as error:
            why = disk_failure(error)
            if why is None:
                raise
            self._refused_write(part, why)
            raise StorageError(f"cannot write to disk: {why}") from None
        self._succeeded(part)
        return result

    def _key_refused(self, part: str, error: AuthenticationApiError) -> None:
        reported = self._board.report(
            Problem.KEY_REFUSED,
            f"Hemnet refuses syncd's API key (status {error.context.status}) and no stored "
            "or configured key works: nothing can be sent",
            KEY_REMEDY,
        )
        if not reported:
            log.debug("job %s: the key is still refused", part)

    def _refused_write(self, part: str, why: str) -> datetime:
        with self._lock:
            failures = self._failures.get(part, 0) + 1
            self._failures[part] = failures
            wait_s = min(STORE_RETRY_FIRST_S * 2 ** (failures - 1), STORE_RETRY_CAP_S)
            retry_at = self._clock() + timedelta(seconds=wait_s)
            self._retry_at[part] = retry_at
        where = f" (syncd writes to {self._where})" if self._where else ""
        reported = self._board.report(
            Problem.STORE_UNWRITABLE,
            f"cannot write to disk: {why}{where}; syncd records nothing until it can",
            StorageError.remedy,
        )
        if not reported:
            log.debug("%s: still cannot write (%s); next try in %.0f s", part, why, wait_s)
        return retry_at

    def _succeeded(self, part: str) -> None:
        with self._lock:
            if self._failures.pop(part, None) is None:
                return
            self._retry_at.pop(part, None)
            still_failing = bool(self._failures)
        if not still_failing:
            self._board.clear(Problem.STORE_UNWRITABLE)
