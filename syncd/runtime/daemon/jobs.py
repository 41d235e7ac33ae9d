"""The daemon's jobs: ingest of a ready file, sync, poll, reconcile, the key and health checks,
alerts, and the status files and line that follow them; all on the scheduler's store worker.

Decides nothing about listings (the use cases do) and schedules nothing itself
(``lifecycle`` registers the jobs); never serves operators' requests (``operator_requests``).
The status files are written on the scheduler's side worker, reconcile in slices
(``reconcile_slices``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path

from syncd.config import Config
from syncd.runtime import systemd
from syncd.runtime.alerts import AlertBoard, alerts_for, gather_facts
from syncd.runtime.daemon.heap import give_back_freed
from syncd.runtime.daemon.reconcile_slices import RECONCILE_SLICE, ReconcileSlices
from syncd.runtime.fleet import Fleet
from syncd.runtime.health import HealthBoard, HemnetProbe, JobGuard, Problem, probe_paid
from syncd.runtime.scheduler import Scheduler
from syncd.runtime.services import Services, build_services
from syncd.runtime.store_queue import Turn
from syncd.runtime.watch import InboxWatcher
from syncd.status import STATUS_CSV, STATUS_JSON, StatusBook, StatusRow, stage_summary
from syncd.store.blocked import SendingBlocked, set_sending_blocked
from syncd.store.engine import Store
from syncd.usecases.apply import ApplyReport
from syncd.usecases.ingest import IngestResult, ingest_file

# The daemon's name, as its log lines have always shown.
logger = logging.getLogger("syncd.runtime.daemon")

# Job names, as they show in logs.
SYNC, POLL, RECONCILE, KEY_CHECK, ALERTS = "sync", "poll", "reconcile", "key-check", "alerts"
STATUS, HEALTH = "status", "health"

# ASSUMED: a sync pass runs after every ingest, at every retry time, when a removal's grace
# ends and after an operator's request anyway; this slow interval only catches what nothing
# else asked for (say, a state changed by hand). Those passes plan the dirty set (what
# changed, and what is due); the sync-full job, at start and this often, plans every
# listing: the safety net for a change that no write marked.
SYNC_SAFETY_INTERVAL_S = 600.0
SYNC_FULL = "sync-full"
KEY_CHECK_INTERVAL_S = 86400.0
ALERTS_INTERVAL_S = 60.0
# ASSUMED: the first full comparison a minute after start, not at once: the first sync
# pass settles what a crash left open before reconcile reads everything back.
FIRST_RECONCILE_AFTER_S = 60.0
# Status files and the systemd status line follow the other jobs as a job of their own,
# coalesced, on the side worker (it reads; the entries and stages it built are stored by
# small jobs on the store worker): written on the store worker after every job, it stood
# between a dropped file and the pass that sends it. A burst of jobs gets one write
# STATUS_DELAY_S after the first; writing takes at most STATUS_SHARE of the time (it
# still shares the CPU with the store worker).
STATUS_DELAY_S = 0.5
STATUS_SHARE = 0.25
# A refresh with nothing else happening: waiting times grow, and a file may be deleted.
STATUS_INTERVAL_S = 60.0
# How often a status refresh waiting for its writes on the store worker checks for a stop.
STATUS_WAIT_S = 0.5
# A refresh that built more listings than this (a first build: every listing marked) gives
# the heap it freed back (``heap``); the few a change marks are not worth the walk.
STATUS_GIVE_BACK_AFTER = 10_000


def build_checked(config: Config, store: Store, fleet: Fleet | None = None) -> Services:
    if fleet is not None:
        # The work goes through the fenced store, within the instance's share of the budget.
        store = fleet.store
    services = build_services(
        config,
        store,
        budget=None if fleet is None else fleet.budget,
        may_send=None if fleet is None else fleet.fence.may_call,
    )
    services.keys.token()  # no token at all is a configuration error: refuse to start
    return services


def status_line(rows: Sequence[StatusRow], alerts: int = 0, problems: Sequence[str] = ()) -> str:
    """The one line ``systemctl status`` shows: "12 listings: 9 visible, 2 awaiting approval"."""
    return summary_line(len(rows), stage_summary(rows), alerts, problems)


def summary_line(
    total: int, summary: Mapping[str, int], alerts: int = 0, problems: Sequence[str] = ()
) -> str:
    """``status_line`` from the listings per stage (``stage_summary``, lifecycle order)."""
    if not total:
        text = "0 listings: waiting for the first export file"
    else:
        counts = sorted(summary.items(), key=lambda item: -item[1])
        parts = ", ".join(f"{n} {stage.replace('_', ' ')}" for stage, n in counts)
        text = f"{total} listing{'s' if total != 1 else ''}: {parts}"
    if alerts:
        text += f"; {alerts} alert{'s' if alerts != 1 else ''} (see the log)"
    if problems:
        text += f"; NOT READY: {', '.join(p.replace('_', ' ') for p in problems)} (see /healthz)"
    return text


class DaemonJobs:
    """The jobs of one running syncd; ``Daemon`` sets their state up and runs them."""

    # Set by ``Daemon.__init__``; declared here for the jobs that use them.
    _store: Store
    _fleet: Fleet | None
    _clock: Callable[[], datetime]
    _services: Services
    _started_at: datetime
    _scheduler: Scheduler
    _alerts: AlertBoard
    _board: HealthBoard
    _guard: JobGuard
    _probe: HemnetProbe
    _published_block: SendingBlocked | None
    _block_published: bool
    _problems_shown: tuple[Problem, ...]
    _key_expires_at: datetime | None
    _last_sync_ok_at: datetime | None
    _status_text: str | None
    _status_book: StatusBook
    _status_unwritten: bool  # the files may not show the stored entries yet
    _reconciles: ReconcileSlices
    _status_not_before: float

    @property
    def config(self) -> Config:
        return self._services.config

    # --- jobs (all run on the scheduler's single store worker) ----------------------------

    def _make_watcher(self, config: Config) -> InboxWatcher:
        paths = config.paths
        for folder in (paths.inbox, paths.archive, paths.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        return InboxWatcher(
            paths.inbox,
            self._on_ready,
            settle_s=config.watch.settle_s,
            rescan_interval_s=config.watch.rescan_interval_s,
            done_marker=config.watch.done_marker,
            ignore=config.watch.ignore,
        )

    def _on_ready(self, path: Path) -> Path | None:
        # Runs on the watcher's thread: the ingest itself goes to the single store worker,
        # and the watcher waits so that it sees the file gone before its next look. Where
        # the file went is the watcher's to watch, in case its writer was not done.
        # First in the worker's queue: ahead of reconcile slices and status writes.
        ingest = lambda: self._guard.once("ingest", lambda: self._ingest(path))  # noqa: E731
        future = self._scheduler.submit(f"ingest {path.name}", ingest, turn=Turn.FIRST)
        return future.result().moved_to

    def _ingest(self, path: Path) -> IngestResult:
        # The watcher hands over inbox files, and taken files that changed where they went
        # (its inbox is this one: [paths] changes wait for a restart).
        read_again = path.parent != Path(os.path.abspath(self.config.paths.inbox))
        if self._fleet is not None:
            # Several instances watch one inbox: one ingests the file, the others skip it.
            with self._fleet.claimed(path):
                return self._ingested(path, read_again)
        return self._ingested(path, read_again)

    def _ingested(self, path: Path, read_again: bool) -> IngestResult:
        result = ingest_file(self._store, self.config, path, self._clock(), read_again=read_again)
        if result.outcome in ("accepted", "held"):
            self._scheduler.kick(SYNC)
        self._after_job("ingest")
        return result

    def _sync(self) -> datetime | None:
        return self._sync_pass().next_retry_at

    def _sync_full(self) -> None:
        """The safety net: a pass that plans every listing. Its retry time is the sync job's
        (a dirty pass plans the listings with open ops)."""
        report = self._sync_pass(full=True)
        if report.next_retry_at is not None:
            self._scheduler.kick(SYNC, report.next_retry_at)

    def _sync_pass(self, *, full: bool = False) -> ApplyReport:
        """A dirty pass (what changed, and what is due), or with ``full`` every listing."""
        report = self._services.applier.run_pass(full=full)
        if report.ops_retry == 0 and report.ops_unknown == 0 and not report.stopped:
            self._last_sync_ok_at = self._clock()
        if report.ops_succeeded:
            self._scheduler.kick(POLL)  # new images and publications: follow them now
        if report.ops_succeeded or report.ops_failed:
            # Outcomes mark their listings: planned again now, not by the pass a later
            # change asks for (that one stays the size of its change).
            self._scheduler.kick(SYNC)
        return report

    def _poll(self) -> datetime | None:
        report = self._services.poller.poll_due()
        if report.changed:
            self._scheduler.kick(SYNC)  # e.g. images completed: now it can be published
        return report.next_due_at

    def _poll_listing(self, listing_key: str) -> None:
        """A webhook named this listing: read it back on the store worker, soon."""

        def poll_one() -> None:
            self._services.poller.poll_listing(listing_key)
            self._scheduler.kick(SYNC)
            self._after_job("webhook")

        future = self._scheduler.submit(f"webhook poll {listing_key}", poll_one)
        future.add_done_callback(lambda done: log_failure(done, f"poll of {listing_key}"))

    def _reconcile(self) -> None:
        self._reconciles.begin()  # beside the store worker; slices follow on it

    def _check_key(self) -> None:
        status = self._services.keys.check(self._services.client)
        self._key_expires_at = status.expires_at
        logger.log(
            logging.WARNING if status.failed else logging.INFO, "key check: %s", status.message
        )

    def _check_health(self) -> None:
        """Read Hemnet once; the listings waiting to be sent say why when nothing can be."""
        if probe_paid(self._services.budget, lambda: self._scheduler.closing, time.monotonic):
            self._probe.probe(self._services.client)
        blocked = self._board.sending_blocked()
        if blocked != self._published_block or not self._block_published:
            with self._store.transaction() as session:
                set_sending_blocked(session, blocked)
            self._published_block, self._block_published = blocked, True
            self._scheduler.kick(STATUS)
        problems = tuple(p.problem for p in self._board.problems())
        if problems != self._problems_shown:
            self._problems_shown = problems
            self._scheduler.kick(STATUS)  # the systemd status line says NOT READY

    def _check_alerts(self) -> None:
        now = self._clock()
        facts = gather_facts(
            self._store,
            now,
            watching_since=self._started_at,
            key_expires_at=self._key_expires_at,
            answer_problems=self._services.client.problems.current(),
        )
        self._alerts.update(alerts_for(facts, self.config.alerts, now))

    def _after_job(self, job: str) -> None:
        """After a job that may have changed listings: status files soon (see STATUS_DELAY_S)."""
        if job in (STATUS, HEALTH, RECONCILE, RECONCILE_SLICE):
            # The health check kicks a status write itself when something changed; a
            # reconcile that found something kicks a sync pass, and a write follows that.
            return
        delay_s = max(STATUS_DELAY_S, self._status_not_before - time.monotonic())
        self._scheduler.kick(STATUS, self._clock() + timedelta(seconds=delay_s))

    def _final_status(self) -> None:
        try:
            self._write_status(worker_running=False)
        except Exception:
            # Stopping goes on: the next start writes them again.
            logger.exception("stopping: the status files could not be written")

    def _write_status(self, *, worker_running: bool = True) -> None:
        """Status files and the systemd status line, from the status book (the listings
        whose inputs were written since are built again; their entries are stored on the
        store worker)."""
        # The CPU this thread spent: waiting for the store worker to take the entries is
        # not a share of the machine the throttle below must make up for.
        started = time.thread_time()
        now = self._clock()
        write = self._on_store_worker if worker_running else None
        # In a fleet each instance builds the listings of the agencies it holds (the fenced
        # store's scope); the files, the line and the page show every agency's entries.
        building = self._store if self._fleet is None else self._fleet.store
        try:
            update = self._status_book.refresh(building, now, write or _run_here)
        except StatusEntriesNotStored:
            # Not a failure: the marks stay, and the final write (or the next start) builds
            # those listings again.
            logger.info("stopping: status entries left for the final write")
            return
        if update.rebuilt > STATUS_GIVE_BACK_AFTER:
            give_back_freed()
        if update.moved:
            logger.debug("status: %d listing stage(s) changed", len(update.moved))
        summary, total = update.summary, update.total
        if building is not self._store:
            summary, total = self._status_book.summary(self._store, now)
        problems = [p.problem.value for p in self._board.problems()]
        text = summary_line(total, summary, len(self._alerts.active), problems)
        if text != self._status_text:
            self._status_text = text
            systemd.status(text)
            logger.debug("status: %s", text)
        # After the line: a disk that refuses the files must not hide the problem there.
        inbox = self.config.paths.inbox
        if update.changed or self._status_unwritten or not _status_files_exist(inbox):
            self._status_unwritten = True  # until written: a write that fails is tried again
            self._status_book.write_files(self._store, inbox)
            self._status_unwritten = False
        took_s = time.thread_time() - started
        self._status_not_before = time.monotonic() + took_s * (1 / STATUS_SHARE - 1)

    def _on_store_worker(self, job: Callable[[], None]) -> None:
        """Run the status book's writes on the store worker, the single writer, and wait."""
        store_status_entries(self._scheduler, job)


class StatusEntriesNotStored(Exception):
    """The daemon began stopping while status entries waited for the store worker."""


def store_status_entries(scheduler: Scheduler, job: Callable[[], None]) -> None:
    """Run ``job`` (status entries to store) on the store worker and wait for it; raises
    StatusEntriesNotStored once the scheduler is closing and the job has not run."""
    if scheduler.closing:
        # Stopping (a refresh that was building when the stop came): the worker may be
        # shut already, and would fail the job. Its marks stay for the final write.
        raise StatusEntriesNotStored
    # Last in the worker's queue: a file's ingest and its pass do not wait for them.
    future = scheduler.submit("status entries", job, turn=Turn.LAST)
    while True:
        try:
            future.result(timeout=STATUS_WAIT_S)
        except TimeoutError:
            if scheduler.closing:
                # Stopping: the job may never run. Its marks stay for the next start.
                raise StatusEntriesNotStored from None
        else:
            # Building the next entries shares the interpreter with the store worker:
            # not while a dropped file's ingest or the pass after it waits or runs.
            scheduler.give_way()
            return


def _status_files_exist(directory: Path) -> bool:
    return all((directory / name).is_file() for name in (STATUS_JSON, STATUS_CSV))


def _run_here(job: Callable[[], None]) -> None:
    job()  # stopping or starting: the store worker is not running, nothing else writes


def log_failure(future: Future[None], what: str) -> None:
    error = future.exception()
    if error is not None:
        logger.error("%s failed: %s", what, error)
