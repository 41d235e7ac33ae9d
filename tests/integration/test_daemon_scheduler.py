"""The daemon's scheduler on real APScheduler threads: one store worker, kicks, one-offs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from syncd.runtime.scheduler import Scheduler
from tests.integration.scheduler_support import wait_for

HOUR_S = 3600.0


def _appends(runs: list[str], name: str) -> Callable[[], None]:
    """A periodic job that records ``name`` in ``runs`` and asks for no earlier next run."""

    def job() -> None:
        runs.append(name)

    return job


def test_kick_runs_a_periodic_job_now_and_a_return_value_schedules_the_next(
    scheduler: Scheduler,
) -> None:
    runs: list[float] = []

    def job() -> datetime | None:
        runs.append(time.monotonic())
        # The first run asks to come back in 0.2 s, sooner than its hourly interval.
        return datetime.now(UTC) + timedelta(seconds=0.2) if len(runs) == 1 else None

    scheduler.every("sync", job, HOUR_S)
    time.sleep(0.2)
    assert runs == []  # first run is one interval away
    scheduler.kick("sync")
    wait_for(lambda: len(runs) >= 2)
    assert runs[1] - runs[0] >= 0.15
    time.sleep(0.4)
    assert len(runs) == 2  # nothing asked for a third
    next_run = scheduler.next_run_at("sync")
    assert next_run is not None
    assert next_run > datetime.now(UTC) + timedelta(seconds=HOUR_S - 60)


def test_a_kick_that_arrives_while_the_job_runs_is_not_lost(scheduler: Scheduler) -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        if len(runs) == 1:
            started.set()
            release.wait(5)

    scheduler.every("poll", job, HOUR_S)
    scheduler.kick("poll")
    assert started.wait(5)
    scheduler.kick("poll")  # while the first run is still going
    release.set()
    wait_for(lambda: len(runs) == 2)


def test_store_jobs_never_overlap_and_one_offs_queue_behind_them(scheduler: Scheduler) -> None:
    lock = threading.Lock()
    active = 0
    most = 0
    done: list[str] = []

    def work(name: str) -> Callable[[], None]:
        def run() -> None:
            nonlocal active, most
            with lock:
                active += 1
                most = max(most, active)
            time.sleep(0.05)
            with lock:
                active -= 1
            done.append(name)

        return run

    for name in ("sync", "poll", "reconcile"):
        scheduler.every(name, work(name), HOUR_S)
        scheduler.kick(name)
    futures = [scheduler.submit(f"ingest-{n}", work(f"ingest-{n}")) for n in range(3)]
    for future in futures:
        future.result(timeout=5)
    wait_for(lambda: len(done) == 6)
    assert most == 1
    assert sorted(done) == ["ingest-0", "ingest-1", "ingest-2", "poll", "reconcile", "sync"]


def test_submit_hands_back_the_result_or_the_exception(scheduler: Scheduler) -> None:
    assert scheduler.submit("answer", lambda: 42).result(timeout=5) == 42

    def boom() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        scheduler.submit("boom", boom).result(timeout=5)


def test_a_failing_job_is_logged_and_keeps_its_schedule(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        raise RuntimeError("hemnet exploded")

    scheduler.every("reconcile", job, HOUR_S)
    with caplog.at_level(logging.ERROR, logger="syncd.runtime.scheduler"):
        scheduler.kick("reconcile")
        wait_for(lambda: len(runs) == 1)
        wait_for(lambda: "job reconcile failed" in caplog.text)
    scheduler.kick("reconcile")
    wait_for(lambda: len(runs) == 2)
    assert scheduler.next_run_at("reconcile") is not None


def test_after_job_runs_on_the_worker_after_each_periodic_job() -> None:
    order: list[str] = []
    made = Scheduler(after_job=lambda job_id: order.append(f"after {job_id}"))
    made.start()
    try:
        made.every("sync", _appends(order, "sync"), HOUR_S)
        made.kick("sync")
        wait_for(lambda: len(order) == 2)
        assert order == ["sync", "after sync"]
    finally:
        made.shutdown()


def test_kicking_a_queued_job_is_quiet(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    runs: list[str] = []

    def slow() -> None:
        release.wait(5)

    scheduler.every("slow", slow, HOUR_S)
    scheduler.every("sync", _appends(runs, "sync"), HOUR_S)
    with caplog.at_level(logging.WARNING):
        scheduler.kick("slow")
        time.sleep(0.1)
        for _ in range(5):  # sync is queued behind "slow": the kicks coalesce
            scheduler.kick("sync")
            time.sleep(0.05)
        release.set()
        wait_for(lambda: len(runs) >= 1)
        time.sleep(0.2)
    assert runs == ["sync"]
    assert "maximum number of running instances" not in caplog.text


def test_pause_stops_periodic_jobs_but_one_offs_still_run(scheduler: Scheduler) -> None:
    runs: list[str] = []
    scheduler.every("sync", _appends(runs, "sync"), HOUR_S)
    scheduler.pause()
    scheduler.kick("sync")
    assert scheduler.submit("ingest", lambda: "taken").result(timeout=5) == "taken"
    time.sleep(0.2)
    assert runs == []
    assert scheduler.closing


def test_set_interval_reschedules_from_now(scheduler: Scheduler) -> None:
    scheduler.every("reconcile", lambda: None, HOUR_S)
    scheduler.set_interval("reconcile", 60)
    next_run = scheduler.next_run_at("reconcile")
    assert next_run is not None
    assert next_run < datetime.now(UTC) + timedelta(seconds=61)


def test_alive_follows_the_scheduler_thread() -> None:
    made = Scheduler()
    assert not made.alive
    made.start()
    assert made.alive
    made.shutdown()
    assert not made.alive
    future = made.submit("late", lambda: 1)
    with pytest.raises(RuntimeError, match="shut down"):
        future.result(timeout=1)


def test_a_job_that_only_reads_runs_beside_the_store_worker(scheduler: Scheduler) -> None:
    release = threading.Event()
    reading = threading.Event()

    def status_files() -> None:
        reading.set()
        release.wait(10)

    scheduler.every("status", status_files, HOUR_S, reads_only=True)
    try:
        scheduler.kick("status")
        assert reading.wait(5)
        # The side job is still going: a store job does not wait for it.
        assert scheduler.submit("ingest", lambda: "ingested").result(timeout=5) == "ingested"
    finally:
        release.set()


def test_kicked_runs_of_a_side_job_never_overlap(scheduler: Scheduler) -> None:
    running = 0
    overlapped = False
    runs = 0
    guard = threading.Lock()
    first_started = threading.Event()

    def status_files() -> None:
        nonlocal running, overlapped, runs
        with guard:
            running += 1
            overlapped |= running > 1
        first_started.set()
        time.sleep(0.2)  # long enough for a second run to start beside it, if one could
        with guard:
            running -= 1
            runs += 1

    scheduler.every("status", status_files, HOUR_S, reads_only=True)
    scheduler.kick("status")
    assert first_started.wait(5)
    scheduler.kick("status")  # asked again while the first runs: runs after it
    wait_for(lambda: runs == 2)
    assert not overlapped
