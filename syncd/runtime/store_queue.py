"""The store worker's queue: one thread, each job by its turn, then in the order it came.

A plain one-thread pool runs jobs in the order they came: at 100,000 listings a dropped
file's ingest, and the pass that sends its change, queued behind reconcile slices and the
status book's writes that came first (each short, but many, and kicked again as soon as one
ends). Here a job of an earlier turn (``Turn.FIRST``: what a dropped file waits for) runs
before every queued job of a later one; a job running is never interrupted, which is why
background work comes in short jobs (a reconcile slice stays within ``SLICE_S``).

Work beside the worker that a dropped file must not wait for either (reading Hemnet's list
for reconcile: at 100,000 listings a minute or more of decoding, on the same interpreter
lock as the ingest) calls ``give_way`` often: it returns at once unless a job of the first
turn is queued or running, and waits until none is.

A job that waited longer than WAIT_LOGGED_S in the queue says so in the log before it runs,
and one that held the worker longer than HELD_LOGGED_S after it ran: a slow drop → first
call shows what it waited behind.

An APScheduler executor (``apscheduler.executors.base``): the scheduler still decides when a
job is due, coalesces it and counts its instances; this only orders the due ones.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from enum import IntEnum
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job

logger = logging.getLogger(__name__)

# Long enough not to log the ordinary short waits behind a slice; a tenth of the one-second
# goal from drop to first call.
WAIT_LOGGED_S = 0.1
# A job that held the worker this long says so: what the jobs queued behind it waited for.
HELD_LOGGED_S = 0.5


class Turn(IntEnum):
    """Which queued job the store worker takes next: the lowest turn, then the oldest."""

    FIRST = 0  # what a dropped file waits for: its ingest and the sync pass after it
    NORMAL = 1
    LAST = 2  # background work in short jobs: reconcile slices, the status book's writes


class StoreQueueExecutor(BaseExecutor):  # type: ignore[misc]  # apscheduler is untyped
    """One worker thread taking due jobs by ``turn_of(job)``, then by arrival."""

    def __init__(self, turn_of: Callable[[Any], Turn]) -> None:
        super().__init__()
        self._turn_of = turn_of
        self._ready = threading.Condition()
        # (turn, arrival number, when queued, job, its run times): heapq keeps the least first
        self._queue: list[tuple[int, int, float, Any, list[datetime]]] = []
        self._arrivals = itertools.count()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._firsts = 0  # jobs of the first turn queued or running
        self._no_first = threading.Event()
        self._no_first.set()

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._thread = threading.Thread(target=self._work, name=f"syncd-{alias}", daemon=True)
        self._thread.start()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        entry = (self._turn_of(job), next(self._arrivals), time.monotonic(), job, run_times)
        with self._ready:
            if entry[0] == Turn.FIRST:
                self._firsts += 1
                self._no_first.clear()
            heapq.heappush(self._queue, entry)
            self._ready.notify()

    def give_way(self, stop: Callable[[], bool], check_s: float = 0.5) -> None:
        """Wait while a job of the first turn is queued or running (at once when none is),
        checking ``stop()`` every ``check_s``. On the worker itself, at once: it would wait
        for itself."""
        if threading.current_thread() is self._thread:
            return
        while not self._no_first.wait(check_s):
            if stop():
                return

    def waiting(self) -> list[str]:
        """The names of the jobs queued, in the order they will run."""
        with self._ready:
            return [entry[3].name for entry in sorted(self._queue)]

    def shutdown(self, wait: bool = True) -> None:
        """The jobs already queued still run (someone may wait for one); with ``wait``,
        returns when they have."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return  # stopping, and nothing left to run
                turn, _, queued, job, run_times = heapq.heappop(self._queue)
            waited_s = time.monotonic() - queued
            if waited_s > WAIT_LOGGED_S:
                logger.info(
                    "store worker: %s waited %.2fs in the queue (turn %s)",
                    job.name,
                    waited_s,
                    Turn(turn).name.lower(),
                )
            started, cpu_started = time.monotonic(), time.thread_time()
            try:
                events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
            except BaseException as error:
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, events)
            finally:
                held_s = time.monotonic() - started
                if held_s > HELD_LOGGED_S:
                    # Its CPU beside its time: the rest it waited for the CPU (other
                    # processes, or a thread of this one holding the interpreter lock).
                    logger.info(
                        "store worker: %s held it %.2fs (%.2fs CPU)",
                        job.name,
                        held_s,
                        time.thread_time() - cpu_started,
                    )
                if turn == Turn.FIRST:
                    with self._ready:
                        self._firsts -= 1
                        if not self._firsts:
                            self._no_first.set()
