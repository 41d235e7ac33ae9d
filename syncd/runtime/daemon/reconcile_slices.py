"""The daemon's periodic reconcile in slices, so that it never holds the store worker long.

A whole reconcile at 10,000 listings held the one store worker for about ten seconds (and
its image audit asks Hemnet once per unsold listing): a file dropped meanwhile waited for
all of it. Here Hemnet's list is read beside the store worker (calls and reads, no write);
then each slice, a job of its own on the store worker, looks at the next listings for at
most SLICE_S and only while the request budget has a token free; the next slice is queued
behind whatever came meanwhile. Every call takes its request from the budget apply uses.

An operator's 'syncd reconcile' handed to the daemon runs the same way and is answered
when the run ends (``answer_when_done``): run whole on the store worker, a reconcile
drawing on the request budget held it for minutes at 10,000 listings.

Decides nothing about listings (``usecases.reconcile`` does); the cursor is in memory: a
run cut short by a stop or a reload is begun again by the next periodic reconcile (or at
once, when an operator awaits it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from syncd.runtime.daemon.heap import give_back_freed
from syncd.runtime.scheduler import Scheduler
from syncd.runtime.services import Services
from syncd.store.engine import Store
from syncd.usecases.reconcile import ReconcileReport, ReconcileRun

logger = logging.getLogger("syncd.runtime.daemon")

RECONCILE_SLICE = "reconcile-slice"
# An awaited run's answer: (request id, the report, or None and why it failed).
Answer = Callable[[int, ReconcileReport | None, str | None], None]
# ASSUMED: a tenth of the one-second goal from drop to first call: what a dropped file's
# ingest, or the pass after it, may wait behind a slice already running.
SLICE_S = 0.1
# Slices are kicked one after the other; this interval only restarts a lost chain.
SLICE_INTERVAL_S = 300.0


class _Stopping(Exception):
    """The daemon is stopping: a reconcile waiting for a request gives up."""


def findings(report: ReconcileReport) -> int:
    """Findings the next sync pass acts on."""
    return (
        len(report.adopted) + len(report.recreated) + len(report.drift) + len(report.extra_images)
    )


class ReconcileSlices:
    """One reconcile run at a time, begun by ``begin`` and carried on by ``slice``."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        services: Callable[[], Services],
        clock: Callable[[], datetime],
        on_findings: Callable[[], None],
        *,
        job: str = "reconcile",
        answer: Answer | None = None,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._services = services
        self._clock = clock
        self._on_findings = on_findings
        self._job = job  # the periodic job that begins a run (``begin``)
        self._answer = answer
        self._awaited: set[int] = set()  # operators' requests answered when the run ends
        self._lock = threading.Lock()
        self._run: ReconcileRun | None = None
        self._run_services: Services | None = None
        self._started = 0.0

    @property
    def running(self) -> bool:
        with self._lock:
            return self._run is not None

    def awaited(self) -> set[int]:
        """The operators' requests waiting for the run to end."""
        with self._lock:
            return set(self._awaited)

    def answer_when_done(self, request_id: int) -> None:
        """An operator asked for a reconcile: begin one now (or let the one going answer)."""
        with self._lock:
            self._awaited.add(request_id)
        self._scheduler.kick(self._job)

    def begin(self) -> None:
        """The periodic reconcile job: read Hemnet's list (beside the store worker), then
        queue the first slice. Nothing when a run is still going."""
        if self.running:
            return
        services = self._services()
        started = time.monotonic()
        try:
            run = ReconcileRun.begin(
                self._store,
                services.client,
                services.config,
                self._clock(),
                spend=self._spender(services),
                # Decoding Hemnet's list shares the interpreter with the store worker: it
                # pauses while a dropped file's ingest or the pass after it waits or runs.
                give_way=self._scheduler.give_way,
            )
        except _Stopping:
            return
        except Exception as error:
            self._answer_all(None, str(error))
            raise
        finally:
            # What the begin held only while it read (the pages decoded, the paging guard's
            # ids, the index of externalIds) is free now, in this side worker's arena.
            give_back_freed()
        with self._lock:
            self._run, self._run_services, self._started = run, services, started
        logger.info(
            "reconcile: Hemnet's list read (%d page(s)); comparing %d listing(s) in slices",
            run.pages,
            run.remaining,
        )
        self._scheduler.kick(RECONCILE_SLICE)

    def slice(self) -> datetime | None:
        """One slice on the store worker; when the next one is wanted (None: done)."""
        with self._lock:
            run, services = self._run, self._run_services
        if run is None or services is None:
            return None
        if services is not self._services():
            # Reloaded: the run's client is closed. The next run begins afresh: now, when an
            # operator awaits it.
            logger.info("reconcile: configuration reloaded; the run in progress is dropped")
            self._end()
            if self.awaited():
                self._scheduler.kick(self._job)
            return None
        before = findings(run.report)
        budget = services.budget
        try:
            done = run.step(until=time.monotonic() + SLICE_S, may_call=lambda: budget.wait_s() == 0)
        except _Stopping:
            self._end()
            return None
        if findings(run.report) != before:
            self._on_findings()
        if not done:
            return self._clock() + timedelta(seconds=budget.wait_s())
        report = run.finish()
        self._end()
        self._answer_all(report, None)
        logger.info(
            "reconcile: %d listing(s) compared in %.1f s%s",
            report.compared,
            time.monotonic() - self._started,
            f"; {len(report.changed_meanwhile)} changed meanwhile, compared next time"
            if report.changed_meanwhile
            else "",
        )
        return None

    def _spender(self, services: Services) -> Callable[[], None]:
        """A request from the budget apply uses, waiting for it unless the daemon stops."""

        def spend() -> None:
            # Not while a dropped file's ingest or its pass waits or runs: the pass's first
            # call then finds the budget's tokens unspent (reading Hemnet's list takes one
            # per page, a thousand at 100,000 listings, as fast as the budget lends them).
            self._scheduler.give_way()
            if not services.budget.take(lambda: self._scheduler.closing):
                raise _Stopping

        return spend

    def _answer_all(self, report: ReconcileReport | None, failure: str | None) -> None:
        with self._lock:
            awaited, self._awaited = sorted(self._awaited), set()
        for request_id in awaited:
            if self._answer is not None:
                self._answer(request_id, report, failure)

    def _end(self) -> None:
        with self._lock:
            self._run, self._run_services = None, None
