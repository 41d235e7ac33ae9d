"""When the daemon's jobs run: APScheduler 3 with ONE worker for everything that uses the store.

Knows job names, intervals and "run this sooner"; what a job does is the daemon's business.
Never touches the store or Hemnet itself, and never runs two store jobs at once (SQLite has
one writer).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncd.core.clock import utc_now
from syncd.core.errors import SyncdError
from syncd.runtime.store_queue import StoreQueueExecutor, Turn

logger = logging.getLogger(__name__)

T = TypeVar("T")

STORE_EXECUTOR = "store"
# Workers for jobs that only read the store (status files, reading Hemnet's list for
# reconcile): they must not stand between a dropped file and the pass that sends it. Two,
# so that a long read of Hemnet's list does not hold up the status files either.
SIDE_EXECUTOR = "side"
SIDE_WORKERS = 2
KICK_SUFFIX = ":kick"  # the extra run of a periodic job asked for by ``kick``
ONCE_PREFIX = "once:"  # the id of a one-off run asked for by ``submit``
# A job that waited this long behind others in the one-worker queue still runs: skipping it
# would only postpone the work to its next interval.
DEFAULT_MISFIRE_GRACE_S = 3600.0

# A periodic job returns when it wants to run again sooner than its interval, or None.
PeriodicJob = Callable[[], datetime | None]


class _CoalescedKicks(logging.Filter):
    """Drops APScheduler's warning that a kicked job is already queued.

    A kicked run that finds another run of the same job waiting in the one-worker queue
    is skipped: the waiting run will see everything the kick was about, so the skip is
    expected, not a problem.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


_APS_LOGGER = logging.getLogger(__name__ + ".apscheduler")
_APS_LOGGER.addFilter(_CoalescedKicks())


class Scheduler:
    """Periodic and one-off jobs on a single store worker (coalesced, one instance each);
    jobs that only read the store may run on a side worker beside it.

    ``every`` adds a periodic job; ``kick`` asks for a run sooner (and is what a job's
    return value does); ``submit`` runs a one-off function on the store worker and hands
    back a Future. ``after_job`` runs on the worker after each periodic job (status files).
    The store worker takes its queued jobs by their ``Turn`` (``store_queue``), then in the
    order they came.
    """

    def __init__(
        self,
        *,
        misfire_grace_s: float = DEFAULT_MISFIRE_GRACE_S,
        after_job: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._clock = clock
        self._after_job = after_job
        self._store_queue = StoreQueueExecutor(self._turn_of)
        self._scheduler = BackgroundScheduler(
            executors={
                STORE_EXECUTOR: self._store_queue,
                SIDE_EXECUTOR: ThreadPoolExecutor(max_workers=SIDE_WORKERS),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(misfire_grace_s),
            },
            timezone=UTC,
            logger=_APS_LOGGER,
        )
        self._lock = threading.Lock()
        self._jobs: dict[str, PeriodicJob] = {}
        self._executors: dict[str, str] = {}  # job id -> the worker it runs on
        self._turns: dict[str, Turn] = {}  # periodic job id, or a one-off's run id -> turn
        self._once_ids = itertools.count()
        self._turns_lock = threading.Lock()  # apart: asked on APScheduler's thread
        # One run of a job at a time, also on the side workers (a kicked run may be queued
        # while one runs, and there are two side workers): the second waits for the first.
        self._one_at_a_time: dict[str, threading.Lock] = {}
        # job id -> the time of a kicked run that has not started yet
        self._kicked: dict[str, datetime] = {}
        self._closing = threading.Event()  # periodic jobs stop; one-offs still run
        self._shut = threading.Event()

    # --- jobs ------------------------------------------------------------------------------

    def every(
        self,
        job_id: str,
        func: PeriodicJob,
        interval_s: float,
        *,
        first_at: datetime | None = None,
        reads_only: bool = False,
        turn: Turn = Turn.NORMAL,
    ) -> None:
        """Run ``func`` every ``interval_s`` (first at ``first_at``, default one interval on).

        ``reads_only``: ``func`` writes nothing to the store (it may ``submit`` a write):
        it runs on a worker of its own, beside the store worker, never holding it up.
        ``turn``: where its runs go in the store worker's queue.
        """
        self._jobs[job_id] = func
        self._turns[job_id] = turn
        self._executors[job_id] = SIDE_EXECUTOR if reads_only else STORE_EXECUTOR
        self._one_at_a_time[job_id] = threading.Lock()
        self._add_periodic(
            job_id,
            job_id,
            IntervalTrigger(seconds=interval_s, timezone=UTC),
            next_run_time=first_at or (self._clock() + timedelta(seconds=interval_s)),
        )

    def set_interval(self, job_id: str, interval_s: float) -> None:
        """A new interval for a periodic job (configuration reload), counted from now."""
        job = self._scheduler.get_job(job_id)
        if job is None:
            return
        trigger = job.trigger
        if isinstance(trigger, IntervalTrigger) and trigger.interval == timedelta(
            seconds=interval_s
        ):
            return
        self._scheduler.reschedule_job(job_id, trigger="interval", seconds=interval_s)

    def next_run_at(self, job_id: str) -> datetime | None:
        job = self._scheduler.get_job(job_id)
        next_run: datetime | None = None if job is None else job.next_run_time
        return next_run

    def kick(self, job_id: str, at: datetime | None = None) -> None:
        """Run periodic job ``job_id`` at ``at`` (default now) as well as on its interval.

        Safe from any thread, the job itself included. Kicks coalesce: one extra run is
        kept, at the earliest time asked for, so a burst of requests costs one run.
        """
        when = at or self._clock()
        if self._closing.is_set() or job_id not in self._jobs:
            return
        kick_id = job_id + KICK_SUFFIX
        with self._lock:
            waiting = self._kicked.get(job_id)
            if waiting is not None and waiting <= when:
                return  # a run that has not started yet is due by then: it covers this one
            self._kicked[job_id] = when
            self._add_periodic(
                job_id,
                kick_id,
                DateTrigger(run_date=when, timezone=UTC),
                # One kicked run may be going while the next waits (e.g. a kick from inside
                # the job): the single worker still runs them one after the other.
                max_instances=2,
                misfire_grace_time=None,
            )

    def _add_periodic(self, job_id: str, run_id: str, trigger: Any, **options: Any) -> None:
        """Schedule a run of periodic job ``job_id`` on the store worker, as ``run_id``."""
        self._scheduler.add_job(
            self._run_periodic,
            trigger,
            args=[job_id],
            id=run_id,
            name=run_id,
            executor=self._executors[job_id],
            replace_existing=True,
            **options,
        )

    def submit(self, name: str, func: Callable[[], T], *, turn: Turn = Turn.NORMAL) -> Future[T]:
        """Run ``func`` once on the store worker, after the store job in progress and the
        queued ones of the same or an earlier ``turn``."""
        future: Future[T] = Future()
        if self._shut.is_set():
            future.set_exception(RuntimeError("the scheduler has shut down"))
            return future
        run_id = f"{ONCE_PREFIX}{next(self._once_ids)}"
        with self._turns_lock:
            self._turns[run_id] = turn
        self._scheduler.add_job(
            self._run_once,
            args=[future, func],
            id=run_id,
            name=name,
            executor=STORE_EXECUTOR,
            # However late it starts, it must run: someone waits for its Future.
            misfire_grace_time=None,
        )
        return future

    # --- running ---------------------------------------------------------------------------

    def _turn_of(self, job: Any) -> Turn:
        """A due job's turn in the store worker's queue (asked once per run)."""
        run_id: str = job.id
        with self._turns_lock:
            if run_id.startswith(ONCE_PREFIX):
                return self._turns.pop(run_id, Turn.NORMAL)
            return self._turns.get(run_id.removesuffix(KICK_SUFFIX), Turn.NORMAL)

    def _run_periodic(self, job_id: str) -> None:
        with self._one_at_a_time[job_id]:
            self._run_periodic_alone(job_id)

    def _run_periodic_alone(self, job_id: str) -> None:
        if self._closing.is_set():
            return
        with self._lock:
            waiting = self._kicked.get(job_id)
            if waiting is not None and waiting <= self._clock():
                del self._kicked[job_id]  # this run is the one the kick asked for
        func = self._jobs[job_id]
        try:
            wanted = func()
        except SyncdError as error:
            # Expected failures (Hemnet down, key refused) are one line with their remedy.
            logger.error("job %s: %s; remedy: %s", job_id, error, error.remedy)
        except Exception:
            # One failed run must not end the schedule; the next interval tries again.
            logger.exception("job %s failed; it runs again at its next interval", job_id)
        else:
            if wanted is not None:
                self.kick(job_id, wanted)
        self._after(job_id)

    def _run_once(self, future: Future[Any], func: Callable[[], Any]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = func()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _after(self, job_id: str) -> None:
        if self._after_job is None or self._closing.is_set():
            return
        try:
            self._after_job(job_id)
        except Exception:
            logger.exception("after-job step failed after %s", job_id)

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._scheduler.start()

    def pause(self) -> None:
        """Run no more periodic jobs and ignore kicks; the job running finishes.

        One-off jobs (``submit``) still run until ``shutdown``: the watcher may be waiting
        for the ingest of a file it handed over, and stopping it must not deadlock.
        """
        self._closing.set()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the scheduler; with ``wait``, after the job running (and queued ones) return."""
        self._closing.set()
        self._shut.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def give_way(self) -> None:
        """For work beside the store worker: wait while a job of the first turn (a dropped
        file's ingest, the pass after it) is queued or running on it; not once stopping."""
        self._store_queue.give_way(self._closing.is_set)

    def waiting(self) -> list[str]:
        """The names of the jobs due and queued for the store worker, in the order they
        will run (the log and tests; a kicked run shows once it is due)."""
        return self._store_queue.waiting()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    @property
    def alive(self) -> bool:
        """True while the scheduling thread runs (the daemon feeds the watchdog on it)."""
        # BackgroundScheduler has no public liveness check; its thread is the thing to watch.
        thread = getattr(self._scheduler, "_thread", None)
        return bool(self._scheduler.running and thread is not None and thread.is_alive())
