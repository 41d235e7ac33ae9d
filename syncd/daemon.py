"""``syncd run``: wires the watcher, the scheduler's jobs and the HTTP endpoints, and lives
in a main loop that handles signals and feeds systemd's watchdog.

Decides nothing about listings (the use cases do); owns start-up order, the jobs' wiring,
reload and a bounded, clean shutdown.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

import uvicorn

from syncd import metrics, systemd
from syncd.alerts import AlertBoard, alerts_for, gather_facts
from syncd.apply import ApplyReport, current_plan
from syncd.clock import utc_now
from syncd.config import Config, http_access_problems, load_config
from syncd.errors import ConfigError, SyncdError
from syncd.health import HealthBoard, HemnetProbe, JobGuard, Problem
from syncd.httpserver import HealthInfo, create_http_app
from syncd.ingest import IngestResult, ingest_file
from syncd.listen import listening_socket
from syncd.reconcile import ReconcileReport, reconcile
from syncd.scheduler import Scheduler
from syncd.services import Services, build_services
from syncd.status import StatusRow, stage_summary, status_rows, write_status_files
from syncd.store import requests
from syncd.store.blocked import SendingBlocked, set_sending_blocked
from syncd.store.engine import Store, open_store
from syncd.store.holds import release_summary, require_released
from syncd.store.lock import DAEMON, take_lock
from syncd.store.tables import RequestRow
from syncd.watch import InboxWatcher

logger = logging.getLogger(__name__)

# Job names, as they show in logs.
SYNC, POLL, RECONCILE, KEY_CHECK, ALERTS = "sync", "poll", "reconcile", "key-check", "alerts"
STATUS, HEALTH = "status", "health"

# ASSUMED: a sync pass runs after every ingest, at every retry time, when a removal's grace
# ends and after an operator's request anyway; this slow interval only catches what nothing
# else asked for (say, a state changed by hand).
SYNC_SAFETY_INTERVAL_S = 600.0
KEY_CHECK_INTERVAL_S = 86400.0
ALERTS_INTERVAL_S = 60.0
# ASSUMED: the first full comparison a minute after start, not at once: the first sync
# pass settles what a crash left open before reconcile reads everything back.
FIRST_RECONCILE_AFTER_S = 60.0
# systemd waits TimeoutStopSec; syncd promises to be gone well within 10 s of SIGTERM.
STOP_DEADLINE_S = 9.0
HTTP_START_TIMEOUT_S = 10.0
# Status files and the systemd status line follow the other jobs as a job of their own,
# coalesced: at 10,000 listings one write costs about a second, and written after every
# job it stood between a dropped file and the pass that sends it. A burst of jobs gets one
# write STATUS_DELAY_S after the first; writing takes at most STATUS_SHARE of the worker.
STATUS_DELAY_S = 0.5
STATUS_SHARE = 0.25
# A refresh with nothing else happening: waiting times grow, and a file may be deleted.
STATUS_INTERVAL_S = 60.0
# How often the main loop wakes up when there is no watchdog to feed.
IDLE_TICK_S = 5.0
# How often the main loop looks for requests from 'syncd retry', 'hold release', 'apply' and
# 'reconcile'; the command also sends SIGUSR1, so this only matters when that cannot arrive.
REQUEST_CHECK_S = 1.0

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_ALL_SIGNALS = (*_STOP_SIGNALS, signal.SIGHUP, signal.SIGUSR1)


class _SignalPipe:
    """Signals as bytes on a socketpair (``signal.set_wakeup_fd``), read by the main loop.

    The Python-level handlers do nothing: all the work happens in the loop, never inside a
    handler, so no lock or file can be caught half-way.
    """

    def __init__(self, signums: Sequence[signal.Signals]) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._old_handlers = {signum: signal.signal(signum, _ignore) for signum in signums}

    def wait(self, timeout_s: float) -> list[int]:
        """The signals received, waiting up to ``timeout_s`` for the first one."""
        ready, _, _ = select.select([self._read], [], [], max(timeout_s, 0.0))
        if not ready:
            return []
        try:
            return list(self._read.recv(256))
        except BlockingIOError:
            return []

    def close(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._old_fd)
        self._read.close()
        self._write.close()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The wakeup fd already carries the signal to the main loop."""


def _build(config: Config, store: Store) -> Services:
    services = build_services(config, store)
    services.keys.token()  # no token at all is a configuration error: refuse to start
    return services


def status_line(rows: Sequence[StatusRow], alerts: int = 0, problems: Sequence[str] = ()) -> str:
    """The one line ``systemctl status`` shows: "12 listings: 9 visible, 2 awaiting approval"."""
    if not rows:
        text = "0 listings: waiting for the first export file"
    else:
        counts = sorted(stage_summary(rows).items(), key=lambda item: -item[1])
        parts = ", ".join(f"{n} {stage.replace('_', ' ')}" for stage, n in counts)
        text = f"{len(rows)} listing{'s' if len(rows) != 1 else ''}: {parts}"
    if alerts:
        text += f"; {alerts} alert{'s' if alerts != 1 else ''} (see the log)"
    if problems:
        text += f"; NOT READY: {', '.join(p.replace('_', ' ') for p in problems)} (see /healthz)"
    return text


class Daemon:
    """One running syncd: start, loop until SIGTERM/SIGINT, reload on SIGHUP."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._config_path = config_path
        self._store = store
        self._clock = clock
        self._services = _build(config, store)
        self._started_at = clock()
        self._scheduler = Scheduler(after_job=self._after_job, clock=clock)
        self._watcher = self._make_watcher(config)
        self._alerts = AlertBoard()
        self._board = HealthBoard(clock)
        paths = config.paths
        self._guard = JobGuard(
            self._board, clock, (("state_dir", paths.state_dir), ("the inbox", paths.inbox))
        )
        self._probe = HemnetProbe(self._board)
        # What the store says stops sending; unknown until the first probe writes it (a
        # record left by a daemon that was killed must not outlive this start).
        self._published_block: SendingBlocked | None = None
        self._block_published = False
        self._problems_shown: tuple[Problem, ...] = ()
        self._key_expires_at = self._services.keys.known_expiry()
        if self._key_expires_at is not None:
            metrics.KEY_EXPIRY.set(self._key_expires_at.timestamp())
        self._last_sync_ok_at: datetime | None = None
        self._status_text: str | None = None
        self._status_not_before = time.monotonic()
        self._http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._ready = False
        self._unhealthy_logged = False
        self._requests_queued = threading.Event()

    @property
    def config(self) -> Config:
        return self._services.config

    # --- start and the main loop ---------------------------------------------------------

    def run(self) -> int:
        """Serve until asked to stop; the exit code (0 after a clean stop)."""
        signals = _SignalPipe(_ALL_SIGNALS)
        try:
            self._start()
            return self._loop(signals)
        finally:
            signals.close()

    def _start(self) -> None:
        config = self.config
        now = self._clock()
        # An operator who asks for a shorter interval wants the first comparison as soon.
        first_s = min(FIRST_RECONCILE_AFTER_S, config.sync.reconcile_interval_s)
        later = now + timedelta(seconds=first_s)
        # Every job through the guard: a full disk or a refused key is one ERROR with its
        # remedy and quiet, backed-off retries, not a traceback per run.
        guard = self._guard.periodic
        self._scheduler.every(
            KEY_CHECK, guard(KEY_CHECK, self._check_key), KEY_CHECK_INTERVAL_S, first_at=now
        )
        self._scheduler.every(
            HEALTH,
            guard(HEALTH, self._check_health),
            config.sync.health_check_interval_s,
            first_at=now,
        )
        self._scheduler.every(SYNC, guard(SYNC, self._sync), SYNC_SAFETY_INTERVAL_S, first_at=now)
        self._scheduler.every(
            POLL, guard(POLL, self._poll), config.sync.poll_interval_slow_s, first_at=now
        )
        self._scheduler.every(
            RECONCILE,
            guard(RECONCILE, self._reconcile),
            config.sync.reconcile_interval_s,
            first_at=later,
        )
        self._scheduler.every(ALERTS, guard(ALERTS, self._check_alerts), ALERTS_INTERVAL_S)
        write_status = guard(STATUS, self._write_status)
        self._scheduler.every(STATUS, write_status, STATUS_INTERVAL_S)
        # Status files and line before READY, while no job can write yet (on a full disk:
        # the problem is reported and syncd starts not ready, rather than not at all).
        write_status()
        try:
            self._start_http(config)
            self._scheduler.start()
            self._watcher.start()
        except BaseException:
            self._scheduler.shutdown(wait=False)
            self._stop_http()
            raise
        self._ready = True
        systemd.ready(self._status_text or "started")
        logger.info(
            "syncd running: inbox %s, Hemnet %s%s",
            config.paths.inbox,
            config.hemnet.base_url,
            f", http on {config.http.listen}" if config.http.listen else "",
        )

    def _loop(self, signals: _SignalPipe) -> int:
        watchdog_s = systemd.watchdog_interval_s()
        # Half the timeout (sd_watchdog_enabled(3)): one late beat must not be fatal.
        beat_s = watchdog_s / 2 if watchdog_s else None
        next_beat = time.monotonic()
        next_request_check = time.monotonic()
        while True:
            timeout = IDLE_TICK_S if beat_s is None else next_beat - time.monotonic()
            timeout = min(timeout, next_request_check - time.monotonic())
            for signum in signals.wait(timeout):
                if signum in _STOP_SIGNALS:
                    return self._stop(signals, signal.Signals(signum).name)
                if signum == signal.SIGHUP:
                    self._reload()
                if signum == signal.SIGUSR1:
                    next_request_check = time.monotonic()
            if time.monotonic() >= next_request_check:
                self._check_requests()
                next_request_check = time.monotonic() + REQUEST_CHECK_S
            healthy = self._healthy()
            if beat_s is not None and time.monotonic() >= next_beat:
                if healthy:
                    systemd.watchdog_ping()
                next_beat = time.monotonic() + beat_s

    def _healthy(self) -> bool:
        """Feed the watchdog only while the threads that do the work are alive."""
        parts = {
            "watcher": self._watcher.alive,
            "scheduler": self._scheduler.alive,
            "http": self._http_thread is None or self._http_thread.is_alive(),
        }
        dead = [name for name, alive in parts.items() if not alive]
        if dead and not self._unhealthy_logged:
            logger.error(
                "the %s thread has stopped: no more watchdog pings, systemd restarts syncd",
                " and ".join(dead),
            )
            self._unhealthy_logged = True
        return not dead

    # --- stop ------------------------------------------------------------------------------

    def _stop(self, signals: _SignalPipe, name: str) -> int:
        logger.info("%s: stopping (finishing the call in flight)", name)
        systemd.stopping()
        self._ready = False
        deadline = time.monotonic() + STOP_DEADLINE_S
        finished = threading.Event()
        worker = threading.Thread(
            target=self._shut_down, args=(finished,), name="syncd-stop", daemon=True
        )
        worker.start()
        while not finished.wait(0.1):
            again = [s for s in signals.wait(0) if s in _STOP_SIGNALS]
            if again or time.monotonic() > deadline:
                why = "asked again" if again else f"not done within {STOP_DEADLINE_S:g} s"
                logger.error(
                    "stopping: %s; exiting now, work in flight is settled at the next start",
                    why,
                )
                logging.shutdown()
                os._exit(1)
        logger.info("syncd stopped")
        return 0

    def _shut_down(self, finished: threading.Event) -> None:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("scheduler pause", self._scheduler.pause),
            ("apply stop", self._services.applier.stop),
            # The watcher may be waiting for the ingest of a file it handed over: that
            # ingest still runs (one-offs are not paused) and then the watcher returns.
            ("watcher stop", self._watcher.stop),
            ("scheduler shutdown", self._scheduler.shutdown),
            # The last jobs' status write may have been waiting for its turn: write it now.
            ("status files", self._final_status),
            ("http stop", self._stop_http),
            ("client close", self._services.client.close),
        ]
        try:
            for name, step in steps:
                started = time.monotonic()
                step()
                logger.debug("stopping: %s took %.2fs", name, time.monotonic() - started)
        except Exception:
            logger.exception("stopping: a part did not stop cleanly")
        finally:
            finished.set()

    # --- reload ----------------------------------------------------------------------------

    def _reload(self) -> None:
        systemd.reloading()
        logger.info("SIGHUP: reloading configuration from %s", self._config_path)
        try:
            config = load_config(self._config_path)
        except ConfigError as error:
            logger.error("reload: %s; keeping the configuration in use", error)
            systemd.ready(self._status_text or "running")
            return
        self._warn_restart_needed(self.config, config)
        # Swapped on the store worker, between two jobs: no job sees half of each.
        future = self._scheduler.submit("reload", lambda: self._swap(config))
        future.add_done_callback(self._reloaded)

    def _swap(self, config: Config) -> None:
        old = self._services
        self._services = _build(config, self._store)
        old.client.close()
        self._scheduler.set_interval(POLL, config.sync.poll_interval_slow_s)
        self._scheduler.set_interval(RECONCILE, config.sync.reconcile_interval_s)
        self._scheduler.set_interval(HEALTH, config.sync.health_check_interval_s)

    def _reloaded(self, future: Future[None]) -> None:
        error = future.exception()
        if error is not None:
            logger.error("reload: %s; keeping the configuration in use", error)
        else:
            logger.info("reload: configuration and mappings in use; rescanning the inbox")
            self._watcher.rescan()
        systemd.ready(self._status_text or "running")

    def _warn_restart_needed(self, old: Config, new: Config) -> None:
        for section in ("paths", "watch", "http"):
            if getattr(old, section) != getattr(new, section):
                logger.warning(
                    "reload: [%s] changed; it takes effect when syncd is restarted", section
                )

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
        ingest = lambda: self._guard.once("ingest", lambda: self._ingest(path))  # noqa: E731
        return self._scheduler.submit(f"ingest {path.name}", ingest).result().moved_to

    def _ingest(self, path: Path) -> IngestResult:
        # The watcher hands over inbox files, and taken files that changed where they went
        # (its inbox is this one: [paths] changes wait for a restart).
        read_again = path.parent != Path(os.path.abspath(self.config.paths.inbox))
        result = ingest_file(self._store, self.config, path, self._clock(), read_again=read_again)
        if result.outcome in ("accepted", "held"):
            self._scheduler.kick(SYNC)
        self._after_job("ingest")
        return result

    def _sync(self) -> datetime | None:
        return self._sync_pass().next_retry_at

    def _sync_pass(self) -> ApplyReport:
        report = self._services.applier.run_pass()
        if report.ops_retry == 0 and report.ops_unknown == 0 and not report.stopped:
            self._last_sync_ok_at = self._clock()
        if report.ops_succeeded:
            self._scheduler.kick(POLL)  # new images and publications: follow them now
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
        future.add_done_callback(lambda done: _log_failure(done, f"poll of {listing_key}"))

    def _reconcile(self) -> None:
        self._reconcile_pass()

    def _reconcile_pass(self) -> ReconcileReport:
        services = self._services
        report = reconcile(self._store, services.client, services.config, self._clock())
        if report.adopted or report.recreated or report.drift or report.extra_images:
            self._scheduler.kick(SYNC)
        return report

    # --- operators' requests (syncd retry, hold release, apply, reconcile) ----------------

    def _check_requests(self) -> None:
        """On the main loop: hand waiting requests to the store worker, once."""
        if self._requests_queued.is_set() or self._scheduler.closing:
            return
        try:
            with self._store.read() as session:
                waiting = requests.has_pending(session)
        except Exception:
            logger.exception("requests: could not look for operators' requests")
            return
        if not waiting:
            return
        self._requests_queued.set()
        future = self._scheduler.submit("requests", self._serve_requests)
        future.add_done_callback(self._requests_served)

    def _requests_served(self, future: Future[None]) -> None:
        self._requests_queued.clear()
        _log_failure(future, "operators' requests")

    def _serve_requests(self) -> None:
        with self._store.read() as session:
            waiting = requests.pending_requests(session)
        for request in waiting:
            exit_code, answer = self._carry_out(request)
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
        self._after_job("requests")

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
                report = self._sync_pass()
                if report.next_retry_at is not None:
                    self._scheduler.kick(SYNC, report.next_retry_at)
                lines = report.summary_lines()
                if report.deferred:
                    lines.append(f"{report.deferred} listing(s) left to the daemon's next pass")
                return report.exit_code, "\n".join(lines)
            if request.kind == requests.RECONCILE:
                return 0, _reconcile_answer(self._reconcile_pass())
            if request.kind == requests.SYNC:
                self._scheduler.kick(SYNC)
                return 0, "a sync pass runs now"
            return 1, f"unknown request {request.kind!r}"
        except SyncdError as error:
            return error.exit_code, f"error: {error}\nremedy: {error.remedy}"
        except Exception:
            logger.exception("request %d (%s) failed", request.id, request.kind)
            return 1, "error: failed inside the daemon\nremedy: see the daemon's log"

    def _check_key(self) -> None:
        status = self._services.keys.check(self._services.client)
        self._key_expires_at = status.expires_at
        logger.log(
            logging.WARNING if status.failed else logging.INFO, "key check: %s", status.message
        )

    def _check_health(self) -> None:
        """Read Hemnet once; the listings waiting to be sent say why when nothing can be."""
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
        if job in (STATUS, HEALTH):
            return  # the health check kicks a status write itself when something changed
        delay_s = max(STATUS_DELAY_S, self._status_not_before - time.monotonic())
        self._scheduler.kick(STATUS, self._clock() + timedelta(seconds=delay_s))

    def _final_status(self) -> None:
        try:
            self._write_status()
        except Exception:
            # Stopping goes on: the next start writes them again.
            logger.exception("stopping: the status files could not be written")

    def _write_status(self) -> None:
        """Status files and the systemd status line, from one read of every listing."""
        started = time.monotonic()
        rows = status_rows(self._store, self._clock())
        problems = [p.problem.value for p in self._board.problems()]
        text = status_line(rows, len(self._alerts.active), problems)
        if text != self._status_text:
            self._status_text = text
            systemd.status(text)
            logger.debug("status: %s", text)
        # After the line: a disk that refuses the files must not hide the problem there.
        write_status_files(rows, self.config.paths.inbox)
        took_s = time.monotonic() - started
        self._status_not_before = time.monotonic() + took_s * (1 / STATUS_SHARE - 1)

    # --- HTTP ------------------------------------------------------------------------------

    def _health(self) -> HealthInfo:
        running = self._ready and self._watcher.alive and self._scheduler.alive
        problems = self._board.problems()
        ready = running and not problems
        details = [f"{p.detail}; remedy: {p.remedy}" for p in problems]
        if not running:
            details.insert(0, "starting, stopping, or a worker thread has stopped")
        return HealthInfo(
            ready=ready,
            last_successful_sync_at=self._last_sync_ok_at,
            detail=" | ".join(details) or None,
        )

    def _start_http(self, config: Config) -> None:
        address = config.http.listen_address
        if address is None:
            return
        refused = http_access_problems(config)
        if refused:
            raise ConfigError(refused)
        app = create_http_app(
            lambda: self._store, config, poll_listing=self._poll_listing, health=self._health
        )
        host, port = address
        try:
            sock = listening_socket(host, port)
        except OSError as error:
            problem = f"http.listen: cannot listen on {config.http.listen}: {error}"
            raise ConfigError([problem]) from None
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="syncd-http", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + HTTP_START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError([f"http.listen: cannot listen on {config.http.listen}"])
            time.sleep(0.02)
        self._http, self._http_thread = server, thread
        logger.info("http: status page, /healthz, /metrics and /webhook on %s", config.http.listen)

    def _stop_http(self) -> None:
        if self._http is None or self._http_thread is None:
            return
        self._http.should_exit = True
        self._http_thread.join(timeout=3)


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


def _log_failure(future: Future[None], what: str) -> None:
    error = future.exception()
    if error is not None:
        logger.error("%s failed: %s", what, error)


def _quiet_libraries() -> None:
    # The daemon logs at INFO; the scheduler's per-run lines would drown the useful ones.
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # httpx logs every request at INFO; apply and poll already log one line per change.
    for name in ("apscheduler", "syncd.scheduler.apscheduler", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run(config_path: Path, config: Config) -> int:
    """``syncd run``: refuses a state another syncd writes (AlreadyRunningError, exit 8) and
    an unmigrated database (StateError, exit 3) before anything."""
    _quiet_libraries()
    paths = config.paths
    # A command's wake-up must not kill a daemon that has not set up its signals yet.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    store = open_store(paths.database, paths.migrations_dir)
    try:
        with take_lock(paths.database, DAEMON):
            daemon = Daemon(config_path, config, store)
            return daemon.run()
    finally:
        store.close()
