"""The job guard: a refused write is one ERROR, then quiet retries with backoff until it
succeeds; a refused key is one problem; anything else is left to the scheduler."""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd import metrics
from syncd.core.errors import ApiContext, AuthenticationApiError, RetryableApiError, StorageError
from syncd.runtime.health import STORE_RETRY_CAP_S, HealthBoard, HemnetProbe, JobGuard, Problem

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def disk_full() -> None:
    raise OSError(errno.ENOSPC, "No space left on device", "/state/spill-1.jsonl")


def gauge(problem: Problem) -> float | None:
    return metrics.REGISTRY.get_sample_value("syncd_problem", {"problem": problem.value})


def test_a_refused_write_is_one_error_then_backed_off_quiet_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="syncd.runtime.health")
    clock = Clock()
    board = HealthBoard(clock)
    runs: list[datetime] = []
    failing = [True]

    def job() -> datetime | None:
        runs.append(clock.now)
        if failing[0]:
            disk_full()
        return None

    guarded = JobGuard(board, clock).periodic("poll", job)
    waits = []
    for _ in range(12):
        retry_at = guarded()
        assert retry_at is not None
        # Asked again before its time (a kick, its interval): skipped, nothing logged.
        clock.now = retry_at - timedelta(seconds=1)
        assert guarded() == retry_at
        waits.append((retry_at - runs[-1]).total_seconds())
        clock.now = retry_at
    assert waits[:4] == [5.0, 10.0, 20.0, 40.0] and max(waits) == STORE_RETRY_CAP_S
    assert len(runs) == 12  # the skipped calls did not run the job
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR
    message = errors[0].getMessage()
    assert "cannot write to disk: No space left on device: /state/spill-1.jsonl" in message
    assert f"remedy: {StorageError.remedy}" in message
    assert [p.problem for p in board.problems()] == [Problem.STORE_UNWRITABLE]
    assert gauge(Problem.STORE_UNWRITABLE) == 1.0

    failing[0] = False
    assert guarded() is None
    assert board.problems() == ()
    assert gauge(Problem.STORE_UNWRITABLE) == 0.0
    assert "resolved after" in caplog.text


def test_the_problem_lasts_until_every_failing_part_has_written_again() -> None:
    clock = Clock()
    board = HealthBoard(clock)
    guard = JobGuard(board, clock, (("state_dir", Path("/var/lib/syncd")),))
    with pytest.raises(StorageError, match="cannot write to disk: No space left on device"):
        guard.once("ingest", disk_full)
    (problem,) = board.problems()
    assert "(syncd writes to state_dir /var/lib/syncd)" in problem.detail
    status = guard.periodic("status", disk_full)
    retry_at = status()
    assert retry_at is not None
    assert guard.once("ingest", lambda: 7) == 7
    assert [p.problem for p in board.problems()] == [Problem.STORE_UNWRITABLE]  # status waits
    clock.now = retry_at
    assert guard.periodic("status", lambda: None)() is None
    assert board.problems() == ()


def test_a_refused_key_is_one_problem_and_other_errors_reach_the_scheduler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    board = HealthBoard(clock)
    guard = JobGuard(board, clock)

    def refused() -> None:
        raise AuthenticationApiError("Hemnet refused the key", ApiContext("GET", "/x", 401))

    for _ in range(3):
        assert guard.periodic("poll", refused)() is None
    assert [p.problem for p in board.problems()] == [Problem.KEY_REFUSED]
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1

    def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        guard.periodic("sync", broken)()


class Answers:
    """Stands in for HemnetClient.list_keys: raises each prepared error in turn, then answers."""

    def __init__(self, *errors: Exception | None) -> None:
        self.errors = list(errors)

    def list_keys(self) -> list[object]:
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return []


def test_the_probe_needs_two_failed_reads_for_an_outage_and_a_429_is_no_outage() -> None:
    board = HealthBoard(Clock())
    probe = HemnetProbe(board)
    down = RetryableApiError("network error", ApiContext("GET", "/keys"))
    busy = RetryableApiError("too many requests", ApiContext("GET", "/keys", 429))
    client = Answers(down, busy, down, down, None)
    probe.probe(client)  # type: ignore[arg-type]
    assert board.problems() == ()  # one dropped connection is not an outage
    probe.probe(client)  # type: ignore[arg-type]
    probe.probe(client)  # type: ignore[arg-type]
    assert board.problems() == ()  # the 429 was an answer: the count started again
    probe.probe(client)  # type: ignore[arg-type]
    assert [p.problem for p in board.problems()] == [Problem.HEMNET_UNREACHABLE]
    probe.probe(client)  # type: ignore[arg-type]
    assert board.problems() == ()
