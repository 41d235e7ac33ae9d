"""Operators' requests to the running daemon ('syncd retry', 'hold release', 'apply',
'reconcile', 'sync'): found in the store, carried out on the store worker, answered there.

Decides nothing the command would not have decided itself; the jobs it runs are the
daemon's own (``jobs``).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

from syncd.core.errors import SyncdError
from syncd.runtime.daemon.jobs import SYNC, DaemonJobs, log_failure
from syncd.store import requests
from syncd.store.holds import release_summary, require_released
from syncd.store.tables import RequestRow
from syncd.usecases.apply import current_plan
from syncd.usecases.reconcile import ReconcileReport

# The daemon's name, as its log lines have always shown.
logger = logging.getLogger("syncd.runtime.daemon")

# How often the main loop looks for requests from 'syncd retry', 'hold release', 'apply' and
# 'reconcile'; the command also sends SIGUSR1, so this only matters when that cannot arrive.
REQUEST_CHECK_S = 1.0


class DaemonRequests(DaemonJobs):
    """Serving operators' requests; ``Daemon`` sets ``_requests_queued`` up."""

    _requests_queued: threading.Event

    # --- operators' requests (syncd retry, hold release, apply, reconcile) ----------------

    def _check_requests(self) -> None:
        """On the main loop: hand waiting requests to the store worker, once."""
        if self._requests_queued.is_set() or self._scheduler.closing:
            return
        if self._fleet is not None and not self._fleet.coordinates():
            return  # in a fleet, one instance carries requests out, each once
        try:
            with self._store.read() as session:
                waiting = {row.id for row in requests.pending_requests(session)}
        except Exception:
            logger.exception("requests: could not look for operators' requests")
            return
        if not waiting - self._reconciles.awaited():
            return  # none, or only reconciles answered when their run ends
        self._requests_queued.set()
        future = self._scheduler.submit("requests", self._serve_requests)
        future.add_done_callback(self._requests_served)

    def _requests_served(self, future: Future[None]) -> None:
        self._requests_queued.clear()
        log_failure(future, "operators' requests")

    def _serve_requests(self) -> None:
        with self._store.read() as session:
            waiting = requests.pending_requests(session)
        awaited = self._reconciles.awaited()
        for request in waiting:
            if request.id in awaited:
                continue
            if request.kind == requests.RECONCILE:
                # In slices, like the periodic one: answered when the run ends.
                self._reconciles.answer_when_done(request.id)
                logger.info(
                    "request %d from %s: reconcile: runs now in slices; answered when done",
                    request.id,
                    request.requested_by,
                )
                continue
            exit_code, answer = self._carry_out(request)
            self._finish(request, exit_code, answer)
        self._after_job("requests")

    def _answer_reconcile(
        self, request_id: int, report: ReconcileReport | None, failure: str | None
    ) -> None:
        """A reconcile an operator asked for has ended (on the store worker, or beside it
        when it failed before its first slice)."""
        if report is not None:
            exit_code, answer = 0, _reconcile_answer(report)
            if report.adopted or report.recreated or report.drift or report.extra_images:
                self._scheduler.kick(SYNC)
        else:
            exit_code = 1
            answer = f"error: {failure}\nremedy: see the daemon's log; it tries again later"
        with self._store.read() as session:
            request = requests.get_request(session, request_id)
        if request is not None:
            self._finish(request, exit_code, answer)

    def _finish(self, request: RequestRow, exit_code: int, answer: str) -> None:
        with self._store.transaction() as session:
            requests.finish_request(session, request.id, exit_code, answer, self._clock())
        logger.info(
            "request %d from %s: %s %s: %s",
            request.id,
            request.requested_by,
            request.kind,
            request.argument or "",
            answer.replace("\n", "; "),
        )

    def _carry_out(self, request: RequestRow) -> tuple[int, str]:
        """What the command would have done itself; (exit code, answer for the operator)."""
        now = self._clock()
        try:
            if request.kind == requests.RETRY:
                with self._store.transaction() as session:
                    answer = requests.retry_listing(session, request.argument or "", now)
                self._scheduler.kick(SYNC)
                return 0, f"{answer}; the daemon sends them now"
            if request.kind == requests.HOLD_RELEASE:
                hold_id = int(request.argument or "0")
                with self._store.transaction() as session:
                    released = requests.release(session, hold_id, request.requested_by, now)
                require_released(released)  # after the commit: a superseded hold stays closed
                lines = release_summary(released, current_plan(self._store, self.config, now))
                self._scheduler.kick(SYNC)
                return 0, "\n".join([*lines, "the daemon's pass makes them now"])
            if request.kind == requests.APPLY:
                report = self._sync_pass(full=True)  # as 'syncd apply' without a daemon
                if report.next_retry_at is not None:
                    self._scheduler.kick(SYNC, report.next_retry_at)
                lines = report.summary_lines()
                if report.deferred:
                    lines.append(f"{report.deferred} listing(s) left to the daemon's next pass")
                return report.exit_code, "\n".join(lines)
            if request.kind == requests.SYNC:
                self._scheduler.kick(SYNC)
                return 0, "a sync pass runs now"
            return 1, f"unknown request {request.kind!r}"
        except SyncdError as error:
            return error.exit_code, f"error: {error}\nremedy: {error.remedy}"
        except Exception:
            logger.exception("request %d (%s) failed", request.id, request.kind)
            return 1, "error: failed inside the daemon\nremedy: see the daemon's log"


def _reconcile_answer(report: ReconcileReport) -> str:
    lines = [f"{report.compared} listing(s) compared with Hemnet"]
    for label, keys in (
        ("adopted (already on Hemnet)", report.adopted),
        ("created again (gone from Hemnet)", report.recreated),
        ("drift, sent again", sorted({d.listing_key for d in report.drift})),
        ("duplicates on Hemnet (remove by hand)", [d.listing_key for d in report.duplicates]),
        ("unknown on Hemnet (left alone)", report.unknown_on_hemnet),
    ):
        if keys:
            lines.append(f"{label}: {', '.join(keys)}")
    return "\n".join(lines)
