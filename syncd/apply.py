"""Apply: runs the plan's ops against Hemnet through the outbox, each exactly once.

Intent committed, call, outcome committed with the known-state change; unknown outcomes
are settled by reading Hemnet back before anything new is sent. It never decides what to
send (that is plan.py) and never polls for progress Hemnet makes on its own (poll.py).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from syncd import metrics
from syncd.adopt import oldest, record_adoption
from syncd.budget import Backoff, TokenBucket
from syncd.clock import utc_now
from syncd.config import Config
from syncd.domain import (
    Image,
    KnownImage,
    Listing,
    Sale,
    billing_hash,
    listing_from_plain,
    seller_hash,
)
from syncd.errors import (
    ApiError,
    AuthenticationApiError,
    ForbiddenApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
    UnsafePlanError,
)
from syncd.hemnet import HemnetClient, RemoteImage, RemoteListing
from syncd.hemnet.payload import image_right_of, listing_body, update_body
from syncd.ops import (
    AddImage,
    Consequence,
    CreateListing,
    DeleteImage,
    DeleteImageRight,
    EnsureAgency,
    Hold,
    MarkSold,
    Op,
    Operation,
    Plan,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetImageRight,
    SetMarketState,
    UnpublishListing,
    UpdateImage,
    UpdateListing,
    Waiting,
)
from syncd.plan import REJECTED_REASON, plan
from syncd.store.engine import Store
from syncd.store.events import record_event
from syncd.store.holds import record_plan_holds
from syncd.store.listing_states import desired_of, known_of, read_listing_states
from syncd.store.listings import (
    delete_known_image,
    forget_remote,
    get_agency,
    get_listing,
    known_agencies,
    known_images,
    record_failure,
    record_image_right,
    record_sale_deleted,
    record_sent,
    record_sent_hashes,
    record_sold,
    save_known_image,
    set_agency_hemnet_id,
)
from syncd.store.outbox import (
    OpenOperation,
    add_operations,
    mark_in_flight,
    open_operations,
    operations_by_status,
    record_outcome,
    supersede_intents_except,
)
from syncd.store.remote import store_remote_state
from syncd.store.tables import OperationRow, OpStatus

if TYPE_CHECKING:
    # Type only: the store hands sessions out; apply never opens one itself.
    from syncd.store.engine import Session

log = logging.getLogger(__name__)

# Test hook (tests/system/test_crash*.py): "<op kind>:<before_call|after_call>" makes apply
# exit at once with status 137, as a SIGKILL would, at that point of that op kind.
CRASH_ENV = "SYNCD_CRASH_AT"

# A pass stops starting new listings after this long and asks for the next pass at once,
# so that on the daemon's single worker a large initial sync does not keep polling (and so
# publishing) and the status files waiting until every image of every listing is sent.
DEFAULT_MAX_PASS_S = 20.0
CRASH_EXIT = 137

# Ops that create something on Hemnet: repeating one after an unseen success duplicates,
# so an unknown outcome is settled by reading back. Every other op may simply be re-sent.
_READ_BACK = frozenset(
    {
        CreateListing.kind,
        AddImage.kind,
        MarkSold.kind,
        PublishListing.kind,
        UnpublishListing.kind,
        SetMarketState.kind,
    }
)


def current_plan(store: Store, config: Config, now: datetime) -> Plan:
    """What apply would do now (for 'syncd plan'); reads only, sends nothing."""
    with store.read() as session:
        return _plan_now(session, config, now)


def _plan_now(session: Session, config: Config, now: datetime) -> Plan:
    states = read_listing_states(session)
    the_plan = plan(
        desired_of(session, states),
        known_of(states),
        known_agencies(session),
        config.sync.policy,
        now,
    )
    # The planner sees a rejection only on listings Hemnet has (KnownListing); a create
    # Hemnet refused must wait for a change too, or it would be sent again every pass.
    refused = {state.listing_key for state in states if state.hemnet_id is None and state.refused}
    if not refused & {op.listing_key for op in the_plan.ops}:
        return the_plan
    return Plan(
        ops=tuple(op for op in the_plan.ops if op.listing_key not in refused),
        holds=the_plan.holds,
        waiting=(
            *(w for w in the_plan.waiting if w.listing_key not in refused),
            *(Waiting(key, REJECTED_REASON) for key in sorted(refused)),
        ),
    )


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
class _Tally:
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


@dataclass(frozen=True)
class _Job:
    op: Operation
    op_id: int


@dataclass(frozen=True)
class _Done:
    """A call's result: how to record it in the known state, and a word for the log."""

    record: Callable[[Session, datetime], None]
    hemnet_id: str | None = None
    data: dict[str, Any] | None = None
    durable: bool = False  # commit the outcome with a full sync
    # The listing's later ops of this pass were planned on what is no longer true (an
    # adoption brought Hemnet's images): they wait for the next plan, which comes at once.
    replan: bool = False


def _open_operation(row: OperationRow) -> OpenOperation:
    return OpenOperation(row.id, row.idempotency_key, row.status, row.next_attempt_at)


class _NotReady(Exception):
    """An op whose listing or agency has no Hemnet id yet: it waits for a later pass."""


class Applier:
    """Runs passes: settle unknown outcomes, plan, then execute the due ops.

    Ops of one listing run in plan order and a failure stops the rest of that listing's
    ops for the pass; listings run side by side on ``max_concurrency`` threads, all drawing
    on one request budget, with store writes serialised (SQLite has one writer).
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
    ) -> None:
        self.store = store
        self.client = client
        self.config = config
        self.clock = clock
        self.renew_key = renew_key
        self.budget = budget or TokenBucket(config.hemnet.requests_per_second, config.hemnet.burst)
        self.backoff = backoff or Backoff()
        self.progress = progress
        self.max_pass_s = max_pass_s
        self._deadline = float("inf")
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._auth_failed = threading.Event()
        self._crash_at = os.environ.get(CRASH_ENV)
        self._done_lock = threading.Lock()
        self._done = 0
        self._total = 0

    # --- public ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish and record the call in flight, start nothing new; safe from a signal."""
        self._stop.set()

    def run_pass(self) -> ApplyReport:
        started = time.perf_counter()
        self._deadline = (
            float("inf") if self.max_pass_s is None else time.monotonic() + self.max_pass_s
        )
        self._auth_failed.clear()
        tally = _Tally()
        blocked = self._settle(tally)
        holds = 0
        if not self._stop.is_set():
            jobs, holds = self._prepare_pass(tally, blocked)
            self._execute(jobs, tally)
        report = ApplyReport(
            ops_succeeded=tally.get("succeeded"),
            ops_failed=tally.get("failed"),
            ops_retry=tally.get("retry"),
            ops_unknown=tally.get("unknown"),
            holds=holds,
            next_retry_at=tally.next_retry_at,
            settled=tally.get("settled"),
            deferred=tally.get("deferred"),
            stopped=self._stop.is_set(),
        )
        if report.ops_retry == 0 and report.ops_unknown == 0 and not report.stopped:
            metrics.LAST_SUCCESSFUL_SYNC.set(time.time())
        log.info(
            "apply pass: %d succeeded, %d failed, %d to retry, %d unknown, %d settled, "
            "%d hold(s), %d listing(s) deferred%s, %.2fs",
            report.ops_succeeded,
            report.ops_failed,
            report.ops_retry,
            report.ops_unknown,
            report.settled,
            report.holds,
            report.deferred,
            " (stopped)" if report.stopped else "",
            time.perf_counter() - started,
        )
        return report

    # --- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[Session]:
        with self._write_lock, self.store.transaction(durable=durable) as session:
            yield session

    def _crash_point(self, kind: str, where: str) -> None:
        if self._crash_at == f"{kind}:{where}":
            log.warning("test hook %s=%s: exiting now", CRASH_ENV, self._crash_at)
            logging.shutdown()
            os._exit(CRASH_EXIT)

    def _take_budget(self) -> bool:
        return self.budget.take(lambda: self._stop.is_set() or self._auth_failed.is_set())

    # --- 1. settle -------------------------------------------------------------------------

    def _settle(self, tally: _Tally) -> set[str]:
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

    def _settle_row(self, row: OperationRow, tally: _Tally) -> bool:
        """Settle one op; False when it is still unresolved (its listing waits)."""
        if self._stop.is_set() or self._auth_failed.is_set():
            return False
        try:
            self._settle_one(row)
        except _Stopped:
            return False
        except _NotReady:
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
            log.warning(
                "could not settle op=%s listing_key=%s yet: %s", row.kind, row.listing_key, exc
            )
            if isinstance(exc, AuthenticationApiError):
                self._auth_failed.set()
            retry_after_s = exc.retry_after_s if isinstance(exc, RetryableApiError) else None
            if retry_after_s:
                self.budget.pause(retry_after_s)
            tally.add("unknown")
            # Still unknown: ask for another pass, or nothing brings the daemon back to it.
            delay_s = self.backoff.delay_s(row.attempts, retry_after_s)
            tally.retry_at(self.clock() + timedelta(seconds=delay_s))
            return False
        tally.add("settled")
        return True

    def _in_parallel(self, sequences: list[list[Any]], run: Callable[[list[Any]], None]) -> None:
        """``run`` each sequence, several at once (``max_concurrency``), each in order."""
        workers = max(1, self.config.hemnet.max_concurrency)
        if workers == 1 or len(sequences) <= 1:
            for sequence in sequences:
                run(sequence)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
            for future in [pool.submit(run, sequence) for sequence in sequences]:
                future.result()

    def _settle_one(self, row: OperationRow) -> None:
        """Read back what an op may have done; record success, or make it an intent again."""
        payload = row.payload_json
        key = row.listing_key
        if row.kind not in _READ_BACK or key is None:
            self._reopen(row, "re-sent: safe to repeat")
            return
        hemnet_id = self._hemnet_id(key) if row.kind != CreateListing.kind else None
        if not self._take_budget():
            raise _Stopped
        if row.kind == CreateListing.kind:
            found = self.client.list_listings(external_id=key)
            if not found:
                self._reopen(row, "not on Hemnet: safe to create")
                return
            if len(found) > 1:
                log.error(
                    "listing_key=%s has %d listings on Hemnet; adopting %s (reconcile to "
                    "remove the others)",
                    key,
                    len(found),
                    oldest(found).hemnet_id,
                )
            remote = oldest(found)
            sent = listing_from_plain(payload["listing"])
            images = self.client.list_images(remote.hemnet_id)
            self._settled(
                row,
                _adopted(key, sent, remote, images, "created earlier, answer lost"),
                remote.hemnet_id,
            )
            return
        assert hemnet_id is not None
        if row.kind == AddImage.kind:
            url = payload["image"]["url"]
            images = [img for img in self.client.list_images(hemnet_id) if img.url == url]
            if not images:
                self._reopen(row, "image not on Hemnet: safe to add")
                return
            image = _image_from_plain(payload["image"])
            self._settled(row, _image_added(key, image, images[0]), hemnet_id)
            return
        remote = self.client.get_listing(hemnet_id)
        done = _read_back_done(row, key, remote)
        if done is None:
            self._reopen(row, "Hemnet does not show it: safe to send again")
        else:
            self._settled(row, done, hemnet_id)

    def _reopen(self, row: OperationRow, why: str) -> None:
        log.info("settled op=%s listing_key=%s: %s", row.kind, row.listing_key, why)
        with self._write() as session:
            record_outcome(session, row.id, OpStatus.INTENT, self.clock(), error=row.error)

    def _settled(
        self, row: OperationRow, record: Callable[[Session, datetime], None], hid: str
    ) -> None:
        log.info(
            "settled op=%s listing_key=%s hemnet_id=%s: Hemnet has it, not sent again",
            row.kind,
            row.listing_key,
            hid,
        )
        now = self.clock()
        with self._write() as session:
            record(session, now)
            record_outcome(session, row.id, OpStatus.SUCCEEDED, now, outcome={"settled": True})
            record_event(
                session,
                "settled",
                f"{row.kind} found done on Hemnet after an unknown outcome",
                now,
                listing_key=row.listing_key,
            )

    def _hemnet_id(self, listing_key: str) -> str:
        with self.store.read() as session:
            row = get_listing(session, listing_key)
            hemnet_id = row.hemnet_id if row is not None else None
        if hemnet_id is None:
            raise _NotReady(f"listing {listing_key} has no Hemnet id")
        return hemnet_id

    # --- 2. plan ---------------------------------------------------------------------------

    def _prepare_pass(self, tally: _Tally, blocked: set[str]) -> tuple[list[_Job], int]:
        """Plan and commit the intents (reusing open ones); returns the due jobs."""
        now = self.clock()
        with self._write() as session:
            the_plan = _plan_now(session, self.config, now)
            # A grace period ending is a time to run a pass, like an op's retry time.
            tally.retry_at(the_plan.next_due_at)
            holds = self._record_holds(session, the_plan.holds, now)
            jobs: list[_Job] = []
            used: set[int] = set()
            stalled: set[str | None] = set(blocked)
            # One query instead of one per op: the newest open op per idempotency key.
            open_rows = {r.idempotency_key: r for r in open_operations(session)}
            reused: list[OpenOperation | None] = []
            for op in the_plan.ops:
                found = open_rows.get(op.idempotency_key)
                if found is None or found.id in used:
                    reused.append(None)
                else:
                    used.add(found.id)
                    reused.append(found)
            # The rest are recorded as intents together: one flush, not one per op.
            added = iter(
                add_operations(
                    session,
                    [op for op, r in zip(the_plan.ops, reused, strict=True) if r is None],
                    now,
                )
            )
            for op, found in zip(the_plan.ops, reused, strict=True):
                row = found or _open_operation(next(added))
                used.add(row.id)
                if op.listing_key in stalled:
                    continue
                due = row.next_attempt_at is None or row.next_attempt_at <= now
                if row.status != OpStatus.INTENT.value or not due:
                    # Backing off, or unresolved: later ops of this listing wait behind it.
                    stalled.add(op.listing_key)
                    if row.status == OpStatus.INTENT.value:
                        tally.retry_at(row.next_attempt_at)
                    continue
                jobs.append(_Job(op, row.id))
            superseded = supersede_intents_except(session, used, now)
        if superseded:
            log.info("%d intent(s) of earlier plans superseded", superseded)
        log.debug("pass planned %d ops, %d due now", len(the_plan.ops), len(jobs))
        return jobs, holds

    def _record_holds(self, session: Session, holds: tuple[Hold, ...], now: datetime) -> int:
        for row, hold in record_plan_holds(session, holds, now):
            log.warning(
                "hold %d: %s (%d listing(s)); release with 'syncd hold release %d'",
                row.id,
                hold.reason,
                len(hold.listing_keys),
                row.id,
            )
            for key in hold.listing_keys:
                record_event(
                    session,
                    "held",
                    f"removal held (hold {row.id}): {hold.reason}",
                    now,
                    listing_key=key,
                )
        return len(holds)

    # --- 3. execute ------------------------------------------------------------------------

    def _execute(self, jobs: list[_Job], tally: _Tally) -> None:
        self._total = len(jobs)
        self._done = 0
        agency_jobs = [j for j in jobs if j.op.listing_key is None]
        per_listing: dict[str, list[_Job]] = {}
        for job in jobs:
            if job.op.listing_key is not None:
                per_listing.setdefault(job.op.listing_key, []).append(job)
        self._run_sequence(agency_jobs, tally, stop_on_failure=False)
        self._in_parallel(list(per_listing.values()), lambda seq: self._run_sequence(seq, tally))

    def _run_sequence(
        self, sequence: list[_Job], tally: _Tally, *, stop_on_failure: bool = True
    ) -> None:
        for job in sequence:
            if self._stop.is_set() or self._auth_failed.is_set():
                return
            if time.monotonic() > self._deadline:
                # The rest waits for the next pass, which comes at once (retry now): in
                # between, the daemon's single worker polls and writes the status files.
                tally.add("deferred")
                tally.retry_at(self.clock())
                return
            outcome = self._run_job(job, tally)
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

    def _run_job(self, job: _Job, tally: _Tally) -> str:
        op = job.op
        try:
            return self._attempt(job, tally)
        except _Stopped:
            return "stopped"
        except _NotReady as exc:
            log.info("op=%s listing_key=%s waits: %s", op.kind, op.listing_key, exc)
            return "waiting"

    def _attempt(self, job: _Job, tally: _Tally) -> str:
        op = job.op
        call = self._call_for(op)  # raises _NotReady before anything is marked
        # Durable: after a power loss the op must still read "in flight", so that it is
        # settled by reading Hemnet back instead of being planned and sent afresh.
        with self._write(durable=True) as session:
            row = mark_in_flight(session, job.op_id, self.clock())
            attempts = row.attempts
            before = (row.http_status, row.request_id, row.error)
        # The token is taken after that commit, right before the call: a commit waiting
        # for the write lock between the two made Hemnet see calls bunched and answer 429.
        if not self._take_budget():
            self._nothing_sent(job.op_id, before)
            raise _Stopped
        self._crash_point(op.kind, "before_call")
        started = time.perf_counter()
        try:
            try:
                done = call()
            except _Stopped:
                # Raised only before a write (a create after its lookup): nothing to settle.
                self._nothing_sent(job.op_id, before)
                raise
            except AuthenticationApiError:
                # 401: the key may be renewed; the request was not acted on, so one retry.
                if self.renew_key is None or not self.renew_key():
                    raise
                log.info("op=%s listing_key=%s: key renewed, once more", op.kind, op.listing_key)
                if not self._take_budget():
                    raise
                done = call()
        except ApiError as exc:
            return self._failed(job, exc, attempts, time.perf_counter() - started, tally)
        seconds = time.perf_counter() - started
        self._crash_point(op.kind, "after_call")
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

    def _failed(
        self, job: _Job, exc: ApiError, attempts: int, seconds: float, tally: _Tally
    ) -> str:
        op = job.op
        now = self.clock()
        ctx = exc.context
        status = ctx.status
        log.info(
            "op=%s listing_key=%s status=%s outcome=%s %.2fs: %s",
            op.kind,
            op.listing_key or "-",
            status if status is not None else "none",
            type(exc).__name__,
            seconds,
            exc,
        )
        common: dict[str, Any] = {
            "http_status": status,
            "request_id": ctx.request_id,
            "error": str(exc)[:2000],
        }
        if (
            isinstance(exc, RemoteDriftError)
            and status == 404
            and isinstance(op, DeleteImage | DeleteImageRight)
        ):
            # Already gone: what the delete wanted.
            with self._write() as session:
                _deleted(op)(session, now)
                record_outcome(session, job.op_id, OpStatus.SUCCEEDED, now, **common)
            metrics.OPERATIONS.labels(op.kind, "succeeded").inc()
            tally.add("succeeded")
            return "succeeded"
        if isinstance(exc, RetryableApiError):
            if exc.retry_after_s:
                self.budget.pause(exc.retry_after_s)
            if exc.outcome_unknown and op.kind in _READ_BACK | {EnsureAgency.kind}:
                with self._write() as session:
                    record_outcome(session, job.op_id, OpStatus.UNKNOWN, now, **common)
                metrics.OPERATIONS.labels(op.kind, "unknown").inc()
                tally.add("unknown")
                tally.retry_at(now)  # settled by reading back at the next pass: soon
                return "unknown"
            retry_at = now + timedelta(seconds=self.backoff.delay_s(attempts, exc.retry_after_s))
            with self._write() as session:
                record_outcome(
                    session, job.op_id, OpStatus.INTENT, now, next_attempt_at=retry_at, **common
                )
            metrics.OPERATIONS.labels(op.kind, "retry").inc()
            tally.add("retry")
            tally.retry_at(retry_at)
            return "retry"
        if isinstance(exc, AuthenticationApiError):
            self._auth_failed.set()
            retry_at = now + timedelta(seconds=self.backoff.delay_s(attempts))
            with self._write() as session:
                record_outcome(
                    session, job.op_id, OpStatus.INTENT, now, next_attempt_at=retry_at, **common
                )
            log.warning("Hemnet refused the key; no more calls this pass: %s", exc.remedy)
            metrics.OPERATIONS.labels(op.kind, "retry").inc()
            tally.add("retry")
            tally.retry_at(retry_at)
            return "retry"
        if isinstance(exc, RemoteDriftError) and status in (404, 410) and op.listing_key:
            with self._write() as session:
                if isinstance(op, UpdateImage):
                    delete_known_image(session, op.listing_key, op.url)
                    message = f"image {op.url} is no longer on Hemnet; it is added again"
                else:
                    forget_remote(session, op.listing_key, now)
                    message = "Hemnet no longer has this listing; it is created again"
                record_outcome(session, job.op_id, OpStatus.FAILED, now, **common)
                record_event(session, "drift", message, now, listing_key=op.listing_key)
            log.warning("listing_key=%s: %s", op.listing_key, message)
            metrics.OPERATIONS.labels(op.kind, "retry").inc()
            tally.add("retry")
            return "retry"
        # Rejected (400/422) or a state conflict (409): not retried until the listing
        # changes or an operator runs 'syncd retry KEY'.
        text = "; ".join(exc.messages) or str(exc)
        with self._write() as session:
            record_outcome(session, job.op_id, OpStatus.FAILED, now, **common)
            if op.listing_key is not None:
                row = get_listing(session, op.listing_key)
                if row is not None:
                    record_failure(session, op.listing_key, text, now, row.content_hash)
                record_event(
                    session,
                    "rejected",
                    f"Hemnet refused {op.describe()}: {text}",
                    now,
                    listing_key=op.listing_key,
                    data={"kind": op.kind, "status": status, "request_id": ctx.request_id},
                )
        if isinstance(exc, ForbiddenApiError):
            # 403: this resource is another account's; the key is fine and stays in use.
            log.warning("listing_key=%s: %s", op.listing_key, exc.remedy)
        elif not isinstance(exc, RejectedApiError):
            log.warning("listing_key=%s: conflict on Hemnet; reconcile it", op.listing_key)
        metrics.OPERATIONS.labels(op.kind, "rejected").inc()
        tally.add("failed")
        return "failed"

    # --- one call per op kind ------------------------------------------------------------

    def _call_for(self, op: Operation) -> Callable[[], _Done]:
        """The call for ``op`` with the ids it needs looked up now (a listing created
        earlier in this pass has its id by the time its later ops run)."""
        c = self.client
        if isinstance(op, EnsureAgency):
            return lambda: self._ensure_agency(op)
        key = _key(op)
        if isinstance(op, CreateListing):
            agency_id = self._agency_id(op.listing.agency_key)
            body = listing_body(op.listing, agency_id)

            def create() -> _Done:
                # Hemnet has no DELETE for listings, so a duplicate is permanent: one it holds
                # under our key already (another integration's, or made before syncd ran)
                # is adopted. The lookup is a read, so repeating it after a crash is safe.
                adopted = self._adopt_existing(key, op.listing)
                if adopted is not None:
                    return adopted
                if not self._take_budget():
                    raise _Stopped
                remote = c.create_listing(body)
                return _Done(_created(key, op.listing, remote), remote.hemnet_id)

            return create
        hid = self._hemnet_id(key)
        if isinstance(op, UpdateListing):
            update = update_body(op.listing, op.changed)
            return lambda: _Done(_updated(op, c.update_listing(hid, update)), hid)
        if isinstance(op, SetMarketState):
            return lambda: _Done(_remote(key, c.update_market_state(hid, op.market_state)), hid)
        if isinstance(op, SendSellerInformation):

            def seller() -> _Done:
                c.put_seller_information(hid, op.seller)
                return _Done(_hashes(key, seller=seller_hash(op.seller)), hid)

            return seller
        if isinstance(op, SendBillingInformation):

            def billing() -> _Done:
                c.put_billing_information(hid, op.billing)
                return _Done(_hashes(key, billing=billing_hash(op.billing)), hid)

            return billing
        if isinstance(op, SetImageRight):

            def set_right() -> _Done:
                c.put_image_right(hid, image_right_of(op.image_right))
                return _Done(_image_right(key, op), hid)

            return set_right
        if isinstance(op, DeleteImageRight):

            def delete_right() -> _Done:
                c.delete_image_right(hid)
                return _Done(_image_right(key, op), hid)

            return delete_right
        if isinstance(op, AddImage):
            img = op.image

            def add() -> _Done:
                remote = c.add_image(hid, img.url, img.caption, img.order, img.is_floor_plan)
                return _Done(_image_added(key, img, remote), hid, {"image_id": remote.image_id})

            return add
        if isinstance(op, DeleteImage):

            def delete() -> _Done:
                c.delete_image(hid, op.image_id)
                return _Done(_image_deleted(op), hid)

            return delete
        if isinstance(op, UpdateImage):

            def move() -> _Done:
                remote = c.update_image(hid, op.image_id, op.order, op.caption)
                return _Done(_image_updated(key, op, remote), hid)

            return move
        if isinstance(op, PublishListing):
            auto = True if op.auto_approve else None  # the planner decided where it may
            deletes_sale = Consequence.DELETES_SALE in op.consequences

            def publish() -> _Done:
                remote = c.publish(hid, auto)
                return _Done(_published(key, remote, deletes_sale=deletes_sale), hid)

            return publish
        if isinstance(op, UnpublishListing):
            return lambda: _Done(_remote(key, c.unpublish(hid)), hid)
        if isinstance(op, MarkSold):
            sale = op.sale

            def sell() -> _Done:
                remote = c.mark_sold(hid, sale.price, sale.price_is_public, sale.sold_on)
                return _Done(_sold(key, sale), hid, {"sale_id": remote.sale_id})

            return sell
        raise AssertionError(f"apply does not know op kind {op.kind}")

    def _adopt_existing(self, key: str, want: Listing) -> _Done | None:
        """Hemnet's listing with our key as externalId, to be followed instead of created."""
        found = self.client.list_listings(external_id=key)
        if not found:
            return None
        remote = oldest(found)
        if len(found) > 1:
            log.error(
                "listing_key=%s has %d listings on Hemnet; adopting the oldest, %s "
                "(reconcile reports the others)",
                key,
                len(found),
                remote.hemnet_id,
            )
        if not self._take_budget():
            raise _Stopped
        images = self.client.list_images(remote.hemnet_id)
        log.warning(
            "listing_key=%s is already on Hemnet as %s: adopted, not created again",
            key,
            remote.hemnet_id,
        )
        # Durable: a lost adoption would be settled by reading back anyway, but an operator
        # who saw "adopted" must not find it undone after a power loss.
        return _Done(
            _adopted(key, want, remote, images, "already on Hemnet before syncd created it"),
            remote.hemnet_id,
            {"adopted": remote.hemnet_id},
            durable=True,
            replan=True,
        )

    def _agency_id(self, agency_key: str) -> str:
        with self.store.read() as session:
            row = get_agency(session, agency_key)
            hemnet_id = row.hemnet_id if row is not None else None
        if hemnet_id is None:
            raise _NotReady(f"agency {agency_key} has no Hemnet id yet")
        return hemnet_id

    def _ensure_agency(self, op: EnsureAgency) -> _Done:
        """Adopt the agency Hemnet already has (our key, org number or name), else create."""
        agency = op.agency
        found = None
        for remote in self.client.list_agencies():
            if (
                remote.external_id == agency.key
                or (
                    agency.organisation_number
                    and remote.organisation_number == agency.organisation_number
                )
                or remote.name.casefold() == agency.name.casefold()
            ):
                found = remote
                break
        if found is None:
            if not self._take_budget():
                raise _Stopped
            found = self.client.create_agency(agency.name, agency.organisation_number, agency.key)
        hemnet_id = found.hemnet_id

        def record(session: Session, now: datetime) -> None:
            set_agency_hemnet_id(session, agency.key, hemnet_id, now)

        return _Done(record, hemnet_id)


class _Stopped(Exception):
    """stop() was called before a write was sent (at most a read went out): nothing to
    settle. Raised nowhere after a write, so the op can simply be an intent again."""


# --- recording outcomes (each runs inside the outcome's transaction) ---------------------


def _key(op: Op) -> str:
    if op.listing_key is None:
        raise AssertionError(f"{op.kind} without a listing key")
    return op.listing_key


def _created(key: str, sent: Listing, remote: RemoteListing) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        record_sent(session, key, now, hemnet_id=remote.hemnet_id, sent=sent)
        store_remote_state(session, key, remote, now)

    return record


def _adopted(
    key: str, want: Listing, remote: RemoteListing, images: list[RemoteImage], why: str
) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        record_adoption(session, key, remote, desired=want, images=images, now=now, why=why)

    return record


def _updated(op: UpdateListing, remote: RemoteListing) -> Callable[[Session, datetime], None]:
    key = _key(op)

    def record(session: Session, now: datetime) -> None:
        row = get_listing(session, key)
        before = None if row is None or row.sent_json is None else listing_from_plain(row.sent_json)
        changed = {name: getattr(op.listing, name) for name in op.changed}
        sent = op.listing if before is None else dataclasses.replace(before, **changed)
        record_sent(session, key, now, sent=sent)
        store_remote_state(session, key, remote, now)

    return record


def _remote(key: str, remote: RemoteListing) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        store_remote_state(session, key, remote, now)

    return record


def _published(
    key: str, remote: RemoteListing, *, deletes_sale: bool
) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        store_remote_state(session, key, remote, now)
        if deletes_sale:  # a sold listing published again: Hemnet deleted the sale
            record_sale_deleted(session, key, now)

    return record


def _hashes(
    key: str, *, seller: str | None = None, billing: str | None = None
) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        record_sent_hashes(session, key, now, seller_hash=seller, billing_hash=billing)

    return record


def _image_right(
    key: str, op: SetImageRight | DeleteImageRight
) -> Callable[[Session, datetime], None]:
    # What was sent, not Hemnet's answer: Hemnet may override the terms (DOC), and the
    # planner compares the CRM's right with what syncd last asked for.
    right = op.image_right if isinstance(op, SetImageRight) else None

    def record(session: Session, now: datetime) -> None:
        record_image_right(session, key, right, now)

    return record


def _deleted(op: DeleteImage | DeleteImageRight) -> Callable[[Session, datetime], None]:
    if isinstance(op, DeleteImage):
        return _image_deleted(op)
    return _image_right(_key(op), op)


def _image_from_plain(data: dict[str, Any]) -> Image:
    return Image(**data)


def _image_added(
    key: str, image: Image, remote: RemoteImage
) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        known = KnownImage(
            url=image.url,
            image_id=remote.image_id,
            state=remote.state,
            order=image.order,
            caption=image.caption,
            revision=image.revision,
            state_message=remote.state_message,
        )
        save_known_image(session, key, known, now, is_floor_plan=image.is_floor_plan)

    return record


def _image_deleted(op: DeleteImage) -> Callable[[Session, datetime], None]:
    key = _key(op)

    def record(session: Session, now: datetime) -> None:
        # Only the row of this image: a duplicate with the same URL is not the one we track.
        for row in known_images(session, key):
            if row.url == op.url and row.hemnet_image_id == op.image_id:
                delete_known_image(session, key, op.url)

    return record


def _image_updated(
    key: str, op: UpdateImage, remote: RemoteImage
) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        for row in known_images(session, key):
            if row.url == op.url:
                known = KnownImage(
                    url=op.url,
                    image_id=op.image_id,
                    state=remote.state,
                    order=op.order,
                    caption=op.caption,
                    revision=row.revision,
                    state_message=row.state_message,
                )
                save_known_image(session, key, known, now, is_floor_plan=row.is_floor_plan)

    return record


def _sold(key: str, sale: Sale) -> Callable[[Session, datetime], None]:
    def record(session: Session, now: datetime) -> None:
        record_sold(session, key, sale, now)

    return record


def _read_back_done(
    row: OperationRow, key: str, remote: RemoteListing
) -> Callable[[Session, datetime], None] | None:
    """The recording of an op whose effect the listing read back shows; None if it does not."""
    kind = row.kind
    if kind == MarkSold.kind:
        if remote.sale is None:
            return None
        data = row.payload_json["sale"]
        sale = Sale(
            int(data["price"]), bool(data["price_is_public"]), date.fromisoformat(data["sold_on"])
        )

        def record(session: Session, now: datetime) -> None:
            store_remote_state(session, key, remote, now)
            record_sold(session, key, sale, now)

        return record
    shown = {
        PublishListing.kind: remote.is_published,
        UnpublishListing.kind: not remote.is_published,
        SetMarketState.kind: remote.market_state is not None
        and remote.market_state.value == row.payload_json.get("market_state"),
    }.get(kind, False)
    return _remote(key, remote) if shown else None
