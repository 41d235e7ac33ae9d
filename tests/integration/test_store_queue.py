"""The store worker's queue on real APScheduler threads: a dropped file's ingest and the
pass after it run before queued reconcile slices and status writes, whatever came first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import pytest

from syncd.runtime.daemon.jobs import SYNC, StatusEntriesNotStored, store_status_entries
from syncd.runtime.daemon.reconcile_slices import RECONCILE_SLICE
from syncd.runtime.scheduler import Scheduler
from syncd.runtime.store_queue import Turn
from tests.integration.scheduler_support import hold_worker, wait_for

HOUR_S = 3600.0


def test_an_ingest_submitted_behind_queued_slices_and_status_writes_runs_before_them(
    scheduler: Scheduler,
) -> None:
    ran: list[str] = []

    def record(name: str) -> Callable[[], None]:
        return partial(ran.append, name)

    # The daemon's turns (lifecycle and jobs): slices and status entries last, the ingest of
    # a dropped file and the sync pass first.
    scheduler.every(RECONCILE_SLICE, record("slice"), HOUR_S, turn=Turn.LAST)
    scheduler.every(SYNC, record("sync"), HOUR_S, turn=Turn.FIRST)
    release, _ = hold_worker(scheduler)
    scheduler.kick(RECONCILE_SLICE)
    status = [
        scheduler.submit(f"status entries {n}", record(f"status-{n}"), turn=Turn.LAST)
        for n in range(3)
    ]
    # Due and queued (not merely scheduled) before the ingest comes.
    wait_for(lambda: len(scheduler.waiting()) == 4)

    def ingest() -> None:
        ran.append("ingest")
        scheduler.kick(SYNC)  # as an accepted file does

    done = scheduler.submit("ingest export.csv", ingest, turn=Turn.FIRST)
    wait_for(lambda: "ingest export.csv" in scheduler.waiting())
    assert scheduler.waiting()[0] == "ingest export.csv"
    release.set()
    done.result(timeout=5)
    for future in status:
        future.result(timeout=5)
    wait_for(lambda: len(ran) == 6)
    # The slice and the status writes came first; the ingest ran before all of them. The
    # pass it kicked came after the worker had taken the next job (the kick is due only
    # then), so it is only known to run before what was still queued behind that job.
    assert ran[0] == "ingest"
    assert sorted(ran[1:]) == ["slice", "status-0", "status-1", "status-2", "sync"]


def test_the_pass_kicked_while_slices_wait_runs_before_them(scheduler: Scheduler) -> None:
    ran: list[str] = []
    scheduler.every(RECONCILE_SLICE, lambda: ran.append("slice"), HOUR_S, turn=Turn.LAST)
    scheduler.every(SYNC, lambda: ran.append("sync"), HOUR_S, turn=Turn.FIRST)
    release, _ = hold_worker(scheduler)
    scheduler.kick(RECONCILE_SLICE)
    wait_for(lambda: scheduler.waiting() == [RECONCILE_SLICE + ":kick"])
    scheduler.kick(SYNC)
    wait_for(lambda: len(scheduler.waiting()) == 2)
    assert scheduler.waiting() == [SYNC + ":kick", RECONCILE_SLICE + ":kick"]
    release.set()
    wait_for(lambda: len(ran) == 2)
    assert ran == ["sync", "slice"]


def test_jobs_of_one_turn_run_in_the_order_they_came(scheduler: Scheduler) -> None:
    ran: list[int] = []
    release, _ = hold_worker(scheduler)
    futures = [
        scheduler.submit(f"job {n}", partial(ran.append, n), turn=Turn.LAST) for n in range(5)
    ]
    wait_for(lambda: len(scheduler.waiting()) == 5)
    release.set()
    for future in futures:
        future.result(timeout=5)
    assert ran == [0, 1, 2, 3, 4]


def test_a_job_that_waited_long_in_the_queue_says_so(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    release, _ = hold_worker(scheduler)
    waiting = scheduler.submit("ingest late.csv", lambda: None, turn=Turn.FIRST)
    wait_for(lambda: scheduler.waiting() == ["ingest late.csv"])
    # Released only once the wait is surely over the threshold: no timing race.
    time.sleep(0.15)
    with caplog.at_level("INFO", logger="syncd.runtime.store_queue"):
        release.set()
        waiting.result(timeout=5)
    assert any(
        "ingest late.csv waited" in r.getMessage() and "turn first" in r.getMessage()
        for r in caplog.records
    )


def test_work_beside_the_worker_gives_way_until_the_first_turn_is_done(
    scheduler: Scheduler,
) -> None:
    scheduler.give_way()  # nothing of the first turn: returns at once
    order: list[str] = []
    release, done = hold_worker(
        scheduler, "ingest export.csv", turn=Turn.FIRST, then=lambda: order.append("ingest done")
    )

    def beside() -> None:  # as reconcile's reading of Hemnet's list does, per listing
        scheduler.give_way()
        order.append("went on")

    thread = threading.Thread(target=beside)
    thread.start()
    release.set()
    done.result(timeout=5)
    thread.join(5)
    assert order == ["ingest done", "went on"]


def test_giving_way_ends_when_the_scheduler_stops() -> None:
    made = Scheduler()
    made.start()
    release, _ = hold_worker(made)
    made.submit("ingest never.csv", lambda: None, turn=Turn.FIRST)
    made.pause()  # stopping: nothing waits for the ingest queued behind the held job
    made.give_way()  # returns (within its check interval) though the ingest has not run
    release.set()
    made.shutdown(wait=True)


def test_a_first_turn_job_that_gives_way_itself_does_not_wait_for_itself(
    scheduler: Scheduler,
) -> None:
    done = scheduler.submit("ingest self.csv", scheduler.give_way, turn=Turn.FIRST)
    done.result(timeout=5)


def test_status_entries_waiting_when_the_daemon_stops_are_left_without_a_failure(
    scheduler: Scheduler,
) -> None:
    # A stop while the status job waits for the worker (held by a long ingest) used to end
    # in a RuntimeError and a traceback in the journal; the marks stay for the final write.
    release, done = hold_worker(scheduler, "ingest big.csv", turn=Turn.FIRST)
    stored: list[str] = []
    outcome: list[BaseException | None] = []

    def status_job() -> None:
        try:
            store_status_entries(scheduler, lambda: stored.append("entries"))
        except BaseException as error:  # the test reads it below
            outcome.append(error)
        else:
            outcome.append(None)

    waiting = threading.Thread(target=status_job)
    waiting.start()
    wait_for(lambda: "status entries" in scheduler.waiting())
    scheduler.pause()  # what stopping does first
    waiting.join(timeout=10)
    assert not waiting.is_alive()
    [error] = outcome
    assert isinstance(error, StatusEntriesNotStored)
    release.set()
    done.result(timeout=5)


def test_status_entries_are_stored_on_the_worker_when_it_is_free(scheduler: Scheduler) -> None:
    ran_on: list[str] = []
    store_status_entries(scheduler, lambda: ran_on.append(threading.current_thread().name))
    assert len(ran_on) == 1
    assert ran_on[0] != threading.current_thread().name
