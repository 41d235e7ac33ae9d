"""The applier: runs the plan's ops against Hemnet through the outbox, each exactly once.

Intent committed, call, outcome committed with the known-state change; unknown outcomes
are settled by reading Hemnet back before anything new is sent. How each op kind is
called, settled and recorded is its handler's (``syncd.usecases.apply.handlers``); what follows a
failure is ``steps.next_step``'s. It never decides what to send (that is core/plan/) and
never polls for progress Hemnet makes on its own (poll.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from syncd import metrics
from syncd.config import Config
from syncd.core.clock import utc_now
from syncd.core.errors import (
    ApiError,
    AuthenticationApiError,
    ForbiddenApiError,
    RejectedApiError,
    RetryableApiError,
)
from syncd.hemnet import HemnetClient
from syncd.hemnet.budget import Backoff, TokenBucket
from syncd.store.engine import Store
from syncd.store.events import record_event
from syncd.store.listings import get_agency, get_listing
from syncd.store.outbox import mark_in_flight, operations_by_status, record_outcome
from syncd.store.tables import OperationRow, OpStatus
from syncd.usecases.apply import checkpoints
from syncd.usecases.apply.deadline import PassDeadline
from syncd.usecases.apply.handler import (
    Context,
    Done,
    Handler,
    NotReady,
    Reopen,
    Settled,
    Stopped,
    handled_kinds,
    handler_for,
)
from syncd.usecases.apply.lookup import CreateLookup
from syncd.usecases.apply.parallel import in_parallel
from syncd.usecases.apply.passplan import Job, prepare_pass
from syncd.usecases.apply.record import rejected
from syncd.usecases.apply.report import ApplyReport, Tally
from syncd.usecases.apply.steps import Step, next_step

if TYPE_CHECKING:
    # Type only: the store hands sessions out; apply never opens one itself.
    from syncd.store.engine import Session

log = logging.getLogger("syncd.usecases.apply")


class _HasId(Protocol):
    """A stored listing or agency, as far as its Hemnet id goes."""

    @property
    def hemnet_id(self) -> str | None: ...


# A pass stops starting new listings after this long and asks for the next pass at once,
# so that on the daemon's single worker a large initial sync does not keep polling (and so
# publishing) and the status files waiting until every image of every listing is sent.
DEFAULT_MAX_PASS_S = 20.0


class Applier:
    """Runs passes: settle unknown outcomes, plan, then execute the due ops.

    Ops of one listing run in plan order and a failure stops the rest of that listing's
    ops for the pass; listings run side by side on ``max_concurrency`` threads, all drawing
    on one request budget, with store writes serialised (SQLite has one writer).
    ``checkpoint`` is called at the named points of ``syncd.usecases.apply.checkpoints``.
    """

    def __init__(
        self,
        store: Store,
        client: HemnetClient,
        config: Config,
        *,
        clock: Callable[[], datetime] = utc_now,
        renew_key: Callable[[], bool] | None = None,
        budget: TokenBucket | None = None,
        backoff: Backoff | None = None,
        progress: Callable[[int, int], None] | None = None,
        max_pass_s: float | None = DEFAULT_MAX_PASS_S,
        checkpoint: checkpoints.Checkpoint = checkpoints.reached,
    ) -> None:
        self.store = store
        self.client = client
        self.config = config
        self.clock = clock
        self.renew_key = renew_key
        self.budget = budget or TokenBucket(config.hemnet.requests_per_second, config.hemnet.burst)
        self.backoff = backoff or Backoff()
        self.progress = progress
        self.checkpoint = checkpoint
        self._deadline = PassDeadline(max_pass_s)
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._auth_failed = threading.Event()
        self._done_lock = threading.Lock()
        self._done = 0
        self._total = 0
        rate = config.hemnet.requests_per_second
        self._lookup = CreateLookup(client, self._spend, rate, store)
        self._ctx = Context(
            client, self._hemnet_id, self._agency_id, self._spend, self._lookup.on_hemnet
        )

    # --- public ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish and record the call in flight, start nothing new; safe from a signal."""
        self._stop.set()

    def run_pass(self, *, full: bool = True) -> ApplyReport:
        """Settle, plan and execute. ``full``: plan every listing (the safety net, and what
        a command runs); otherwise only the dirty set (see ``passplan.dirty_keys``)."""
        started = time.perf_counter()
        self._deadline.start()
        self._auth_failed.clear()
        tally = Tally()
        blocked = self._settle(tally)
        prepared = None
        if not self._stop.is_set():
            with self._write() as session:
                prepared = prepare_pass(
                    session, self.config, self.clock(), tally, blocked, full=full
                )
            self._execute(prepared.jobs, tally)
        report = ApplyReport(
            ops_succeeded=tally.get("succeeded"),
            ops_failed=tally.get("failed"),
            ops_retry=tally.get("retry"),
            ops_unknown=tally.get("unknown"),
            holds=prepared.holds if prepared else 0,
            planned=prepared.planned if prepared else 0,
            full=prepared.full if prepared else full,
            next_retry_at=tally.next_retry_at,
            settled=tally.get("settled"),
            deferred=tally.get("deferred"),
            stopped=self._stop.is_set(),
        )
        if report.ops_retry == 0 and report.ops_unknown == 0 and not report.stopped:
            metrics.LAST_SUCCESSFUL_SYNC.set(time.time())
        metrics.PASS_PLANNED.labels("full" if report.full else "dirty").observe(report.planned)
        log.info(
            "apply pass: %d succeeded, %d failed, %d to retry, %d unknown, %d settled, "
            "%d hold(s), %d listing(s) deferred%s, %.2fs; %s, %d listing(s) planned",
            report.ops_succeeded,
            report.ops_failed,
            report.ops_retry,
            report.ops_unknown,
            report.settled,
            report.holds,
            report.deferred,
            " (stopped)" if report.stopped else "",
            time.perf_counter() - started,
            "full" if report.full else "dirty",
            report.planned,
        )
        return report

    # --- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[Session]:
        with self._write_lock, self.store.transaction(durable=durable) as session:
            yield session

    def _take_budget(self) -> bool:
        return self.budget.take(lambda: self._stop.is_set() or self._auth_failed.is_set())

    def _spend(self) -> None:
        if not self._take_budget():
            raise Stopped

    def _hemnet_id(self, listing_key: str) -> str:
        return self._known_id(get_listing, listing_key, f"listing {listing_key} has no Hemnet id")

    def _agency_id(self, agency_key: str) -> str:
        return self._known_id(get_agency, agency_key, f"agency {agency_key} has no Hemnet id yet")

    def _known_id(self, get: Callable[[Session, str], _HasId | None], key: str, why: str) -> str:
        with self.store.read() as session:
            row = get(session, key)
            hemnet_id = row.hemnet_id if row is not None else None
        if hemnet_id is None:
            raise NotReady(why)
        return hemnet_id

    def _in_parallel(self, sequences: list[list[Any]], run: Callable[[list[Any]], None]) -> None:
        in_parallel(self.config.hemnet.max_concurrency, sequences, run)

    # --- 1. settle -------------------------------------------------------------------------

    def _settle(self, tally: Tally) -> set[str]:
        """Resolve ops left in flight or unknown; returns listing keys still unresolved."""
        with self.store.read() as session:
            rows = operations_by_status(session, OpStatus.IN_FLIGHT, OpStatus.UNKNOWN)
        per_listing: dict[str, list[OperationRow]] = {}
        for row in rows:
            per_listing.setdefault(row.listing_key or "", []).append(row)
        blocked: set[str] = set()
        lock = threading.Lock()

        def settle_listing(sequence: list[OperationRow]) -> None:
            for row in sequence:
                if not self._settle_row(row, tally):
                    with lock:
                        blocked.add(row.listing_key or "")
                    return

        self._in_parallel(list(per_listing.values()), settle_listing)
        return blocked

    def _settle_row(self, row: OperationRow, tally: Tally) -> bool:
        """Settle one op; False when it is still unresolved (its listing waits)."""
        if self._stop.is_set() or self._auth_failed.is_set():
            return False
        try:
            # A kind this version does not run (an older or newer syncd's) is re-sent
            # only if a plan asks for it again: the base handler just reopens it.
            handler = handler_for(row.kind) if row.kind in handled_kinds() else Handler()
            found = handler.settle(row.listing_key, row.payload_json, self._ctx)
        except Stopped:
            return False
        except NotReady:
            with self._write() as session:
                record_outcome(
                    session,
                    row.id,
                    OpStatus.SUPERSEDED,
                    self.clock(),
                    error="the listing is no longer known on Hemnet",
                )
            return True
        except ApiError as exc:
            self._unsettled(row, exc, tally)
            return False
        self._settled(row, found)
        tally.add("settled")
        return True

    def _unsettled(self, row: OperationRow, exc: ApiError, tally: Tally) -> None:
        log.warning("could not settle op=%s listing_key=%s yet: %s", row.kind, row.listing_key, exc)
        if isinstance(exc, AuthenticationApiError):
            self._auth_failed.set()
        retry_after_s = exc.retry_after_s if isinstance(exc, RetryableApiError) else None
        if retry_after_s:
            self.budget.pause(retry_after_s)
        tally.add("unknown")
        # Still unknown: ask for another pass, or nothing brings the daemon back to it.
        delay_s = self.backoff.delay_s(row.attempts, retry_after_s)
        tally.retry_at(self.clock() + timedelta(seconds=delay_s))

    def _settled(self, row: OperationRow, found: Settled | Reopen) -> None:
        if isinstance(found, Reopen):
            log.info("settled op=%s listing_key=%s: %s", row.kind, row.listing_key, found.why)
            with self._write() as session:
                record_outcome(session, row.id, OpStatus.INTENT, self.clock(), error=row.error)
            return
        log.info(
            "settled op=%s listing_key=%s hemnet_id=%s: Hemnet has it, not sent again",
            row.kind,
            row.listing_key,
            found.hemnet_id,
        )
        now = self.clock()
        with self._write() as session:
            found.record(session, now)
            record_outcome(session, row.id, OpStatus.SUCCEEDED, now, outcome={"settled": True})
            record_event(
                session,
                "settled",
                f"{row.kind} found done on Hemnet after an unknown outcome",
                now,
                listing_key=row.listing_key,
            )

    # --- 2. execute ------------------------------------------------------------------------

    def _execute(self, jobs: list[Job], tally: Tally) -> None:
        self._total = len(jobs)
        self._done = 0
        self._lookup.begin([job.op for job in jobs])
        agency_jobs = [j for j in jobs if j.op.listing_key is None]
        per_listing: dict[str, list[Job]] = {}
        for job in jobs:
            if job.op.listing_key is not None:
                per_listing.setdefault(job.op.listing_key, []).append(job)
        self._run_sequence(agency_jobs, tally, stop_on_failure=False)
        self._in_parallel(list(per_listing.values()), lambda seq: self._run_sequence(seq, tally))

    def _run_sequence(
        self, sequence: list[Job], tally: Tally, *, stop_on_failure: bool = True
    ) -> None:
        for job in sequence:
            if self._stop.is_set() or self._auth_failed.is_set():
                return
            if self._deadline.passed():
                # The rest waits for the next pass, which comes at once (retry now): in
                # between, the daemon's single worker polls and writes the status files.
                tally.add("deferred")
                tally.retry_at(self.clock())
                return
            outcome = self._run_job(job, tally)
            if outcome not in ("waiting", "stopped"):  # it called Hemnet
                self._deadline.job_done()
            self._tick()
            if outcome != "succeeded" and stop_on_failure:
                return

    def _tick(self) -> None:
        if self.progress is None:
            return
        with self._done_lock:
            self._done += 1
            done = self._done
        self.progress(done, self._total)

    def _run_job(self, job: Job, tally: Tally) -> str:
        op = job.op
        try:
            return self._attempt(job, tally)
        except Stopped:
            return "stopped"
        except NotReady as exc:
            log.info("op=%s listing_key=%s waits: %s", op.kind, op.listing_key, exc)
            return "waiting"

    def _attempt(self, job: Job, tally: Tally) -> str:
        op = job.op
        handler = handler_for(op.kind)
        call = handler.prepare(op, self._ctx)  # NotReady before any marking
        # Durable: after a power loss the op must still read "in flight", so that it is
        # settled by reading Hemnet back instead of being planned and sent afresh.
        with self._write(durable=True) as session:
            row = mark_in_flight(session, job.op_id, self.clock())
            attempts = row.attempts
            before = (row.http_status, row.request_id, row.error)
        # The token is taken after that commit, right before the call: a commit waiting
        # for the write lock between the two made Hemnet see calls bunched and answer 429.
        if not handler.spends_own and not self._take_budget():
            self._nothing_sent(job.op_id, before)
            raise Stopped
        self.checkpoint(f"{op.kind}:before_call")
        started = time.perf_counter()
        try:
            try:
                done = call()
            except Stopped:
                # Raised only before a write (a create after its lookup): nothing to settle.
                self._nothing_sent(job.op_id, before)
                raise
            except ApiError as exc:
                if next_step(op, exc) is not Step.RENEW_KEY or not self._renewed(job):
                    raise
                done = call()
        except ApiError as exc:
            return self._failed(job, exc, attempts, time.perf_counter() - started, tally)
        seconds = time.perf_counter() - started
        self.checkpoint(f"{op.kind}:after_call")
        return self._succeeded(job, done, seconds, tally)

    def _renewed(self, job: Job) -> bool:
        """401: the key may be renewed; the request was not acted on, so one retry."""
        if self.renew_key is None or not self.renew_key():
            return False
        log.info("op=%s listing_key=%s: key renewed, once more", job.op.kind, job.op.listing_key)
        return handler_for(job.op.kind).spends_own or self._take_budget()

    def _succeeded(self, job: Job, done: Done, seconds: float, tally: Tally) -> str:
        op = job.op
        now = self.clock()
        with self._write(durable=done.durable) as session:
            done.record(session, now)
            record_outcome(session, job.op_id, OpStatus.SUCCEEDED, now, outcome=done.data)
            record_event(session, op.kind, op.describe(), now, listing_key=op.listing_key)
        log.info(
            "op=%s listing_key=%s hemnet_id=%s outcome=succeeded %.2fs",
            op.kind,
            op.listing_key or "-",
            done.hemnet_id or "-",
            seconds,
        )
        metrics.OPERATIONS.labels(op.kind, "succeeded").inc()
        tally.add("succeeded")
        if done.replan:
            tally.retry_at(now)
            return "replan"
        return "succeeded"

    def _nothing_sent(self, op_id: int, before: tuple[int | None, str | None, str | None]) -> None:
        """Stopped before anything was written: the op is an intent again, due at once."""
        status, request_id, error = before
        with self._write() as session:
            record_outcome(
                session,
                op_id,
                OpStatus.INTENT,
                self.clock(),
                http_status=status,
                request_id=request_id,
                error=error,
            )

    # --- 3. failures: the step next_step chose ---------------------------------------------

    def _failed(self, job: Job, exc: ApiError, attempts: int, seconds: float, tally: Tally) -> str:
        op = job.op
        status = exc.context.status
        log.info(
            "op=%s listing_key=%s status=%s outcome=%s %.2fs: %s",
            op.kind,
            op.listing_key or "-",
            status if status is not None else "none",
            type(exc).__name__,
            seconds,
            exc,
        )
        step = next_step(op, exc)
        common: dict[str, Any] = {
            "http_status": status,
            "request_id": exc.context.request_id,
            "error": str(exc)[:2000],
        }
        now = self.clock()
        if isinstance(exc, RetryableApiError) and exc.retry_after_s:
            self.budget.pause(exc.retry_after_s)
        if step is Step.DONE:  # already gone: what the op wanted
            with self._write() as session:
                handler_for(op.kind).when_gone(op)(session, now)
                record_outcome(session, job.op_id, OpStatus.SUCCEEDED, now, **common)
            return self._count(op.kind, "succeeded", "succeeded", tally)
        if step is Step.SETTLE:
            with self._write() as session:
                record_outcome(session, job.op_id, OpStatus.UNKNOWN, now, **common)
            tally.retry_at(now)  # settled by reading back at the next pass: soon
            return self._count(op.kind, "unknown", "unknown", tally)
        if step is Step.RETRY or step is Step.RENEW_KEY:
            retry_after_s = exc.retry_after_s if isinstance(exc, RetryableApiError) else None
            retry_at = now + timedelta(seconds=self.backoff.delay_s(attempts, retry_after_s))
            if step is Step.RENEW_KEY:
                self._auth_failed.set()
            with self._write() as session:
                record_outcome(
                    session, job.op_id, OpStatus.INTENT, now, next_attempt_at=retry_at, **common
                )
            if step is Step.RENEW_KEY:
                log.warning("Hemnet refused the key; no more calls this pass: %s", exc.remedy)
            tally.retry_at(retry_at)
            return self._count(op.kind, "retry", "retry", tally)
        if step is Step.FORGET:
            return self._forget(job, common, now, tally)
        self._fail_listing(job, exc, common, now)
        return self._count(op.kind, "rejected", "failed", tally)

    def _count(self, kind: str, metric: str, outcome: str, tally: Tally) -> str:
        metrics.OPERATIONS.labels(kind, metric).inc()
        tally.add(outcome)
        return outcome

    def _forget(self, job: Job, common: dict[str, Any], now: datetime, tally: Tally) -> str:
        """Hemnet no longer has what the op addressed: forgotten, so the plan sends it again."""
        op = job.op
        assert op.listing_key is not None
        gone = handler_for(op.kind).drifted(op, op.listing_key)
        with self._write() as session:
            gone.record(session, now)
            record_outcome(session, job.op_id, OpStatus.FAILED, now, **common)
            record_event(session, "drift", gone.message, now, listing_key=op.listing_key)
        log.warning("listing_key=%s: %s", op.listing_key, gone.message)
        return self._count(op.kind, "retry", "retry", tally)

    def _fail_listing(self, job: Job, exc: ApiError, common: dict[str, Any], now: datetime) -> None:
        """Rejected (400/422), forbidden (403) or a state conflict (409): not retried until
        the listing changes or an operator runs 'syncd retry KEY'."""
        op = job.op
        with self._write() as session:
            record_outcome(session, job.op_id, OpStatus.FAILED, now, **common)
            rejected(op, exc)(session, now)
        if isinstance(exc, ForbiddenApiError):
            # 403: this resource is another account's; the key is fine and stays in use.
            log.warning("listing_key=%s: %s", op.listing_key, exc.remedy)
        elif not isinstance(exc, RejectedApiError):
            log.warning("listing_key=%s: conflict on Hemnet; reconcile it", op.listing_key)
