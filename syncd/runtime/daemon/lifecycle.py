"""The running daemon's life: start-up order, the main loop (signals, operators' requests,
systemd's watchdog), reload, the HTTP endpoints and a bounded, clean shutdown.

Decides nothing about listings; the jobs are ``jobs``', the requests ``operator_requests``'.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn

from syncd import metrics
from syncd.config import Config, http_access_problems, load_config
from syncd.core.clock import utc_now
from syncd.core.errors import ConfigError
from syncd.runtime import systemd
from syncd.runtime.alerts import AlertBoard
from syncd.runtime.daemon.fleet_jobs import FleetJobs, fleet_for, fleet_health
from syncd.runtime.daemon.jobs import (
    ALERTS,
    ALERTS_INTERVAL_S,
    FIRST_RECONCILE_AFTER_S,
    HEALTH,
    KEY_CHECK,
    KEY_CHECK_INTERVAL_S,
    POLL,
    RECONCILE,
    STATUS,
    STATUS_INTERVAL_S,
    SYNC,
    SYNC_FULL,
    SYNC_SAFETY_INTERVAL_S,
    build_checked,
)
from syncd.runtime.daemon.operator_requests import REQUEST_CHECK_S, DaemonRequests
from syncd.runtime.daemon.reconcile_slices import (
    RECONCILE_SLICE,
    SLICE_INTERVAL_S,
    ReconcileSlices,
)
from syncd.runtime.daemon.signals import ALL_SIGNALS, STOP_SIGNALS, SignalPipe
from syncd.runtime.health import HealthBoard, HemnetProbe, JobGuard, Problem
from syncd.runtime.httpserver import HealthInfo, create_http_app
from syncd.runtime.listen import listening_socket
from syncd.runtime.scheduler import Scheduler
from syncd.runtime.store_queue import Turn
from syncd.status import StatusBook
from syncd.status.view import BookView
from syncd.store.blocked import SendingBlocked
from syncd.store.engine import Store

# The daemon's name, as its log lines have always shown.
logger = logging.getLogger("syncd.runtime.daemon")

# systemd waits TimeoutStopSec; syncd promises to be gone well within 10 s of SIGTERM.
STOP_DEADLINE_S = 9.0
HTTP_START_TIMEOUT_S = 10.0
# How often the main loop wakes up when there is no watchdog to feed.
IDLE_TICK_S = 5.0


class Daemon(DaemonRequests, FleetJobs):
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
        self._fleet = fleet_for(store, config, on_change=self._fleet_changed, clock=clock)
        self._services = build_checked(config, store, self._fleet)
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
        self._status_book = StatusBook()
        self._status_unwritten = True  # written at start whatever the entries
        self._reconciles = ReconcileSlices(
            store,
            self._scheduler,
            lambda: self._services,
            clock,
            lambda: self._scheduler.kick(SYNC),
            job=RECONCILE,
            answer=self._answer_reconcile,
        )
        self._status_not_before = time.monotonic()
        self._http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._ready = False
        self._unhealthy_logged = False
        self._requests_queued = threading.Event()

    # --- start and the main loop ---------------------------------------------------------

    def run(self) -> int:
        """Serve until asked to stop; the exit code (0 after a clean stop)."""
        signals = SignalPipe(ALL_SIGNALS)
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
        # In a fleet, one instance (the coordinator) runs what reads every listing.
        only_one = self._coordinated
        self._scheduler.every(
            KEY_CHECK,
            guard(KEY_CHECK, only_one(self._check_key)),
            KEY_CHECK_INTERVAL_S,
            first_at=now,
        )
        self._scheduler.every(
            HEALTH,
            guard(HEALTH, self._check_health),
            config.sync.health_check_interval_s,
            first_at=now,
        )
        # The dirty pass sends what an ingest stored: first in the worker's queue, like the
        # ingest; reconcile slices and status writes last (``store_queue``).
        self._scheduler.every(
            SYNC, guard(SYNC, self._fenced(self._sync)), SYNC_SAFETY_INTERVAL_S, turn=Turn.FIRST
        )
        full = guard(SYNC, self._fenced(self._sync_full))
        self._scheduler.every(SYNC_FULL, full, SYNC_SAFETY_INTERVAL_S, first_at=now)
        self._scheduler.every(
            POLL, guard(POLL, self._poll), config.sync.poll_interval_slow_s, first_at=now
        )
        # Hemnet's list is read beside the store worker; the comparisons follow in slices.
        self._scheduler.every(
            RECONCILE,
            guard(RECONCILE, only_one(self._reconcile)),
            config.sync.reconcile_interval_s,
            first_at=later,
            reads_only=True,
        )
        self._scheduler.every(
            RECONCILE_SLICE,
            guard(RECONCILE, self._reconciles.slice),
            SLICE_INTERVAL_S,
            turn=Turn.LAST,
        )
        # Alerts read every listing and write nothing: beside the store worker.
        self._scheduler.every(
            ALERTS, guard(ALERTS, self._check_alerts), ALERTS_INTERVAL_S, reads_only=True
        )
        write_status = guard(STATUS, self._write_status)
        self._scheduler.every(STATUS, write_status, STATUS_INTERVAL_S, reads_only=True)
        # Status files and line before READY, while no job can write yet (on a full disk:
        # the problem is reported and syncd starts not ready, rather than not at all).
        guard(STATUS, lambda: self._write_status(worker_running=False))()
        try:
            self._start_http(config)
            if self._fleet is not None:
                self._fleet.start()
            self._scheduler.start()
            self._watcher.start()
        except BaseException:
            self._scheduler.shutdown(wait=False)
            if self._fleet is not None:
                self._fleet.stop()
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

    def _loop(self, signals: SignalPipe) -> int:
        watchdog_s = systemd.watchdog_interval_s()
        # Half the timeout (sd_watchdog_enabled(3)): one late beat must not be fatal.
        beat_s = watchdog_s / 2 if watchdog_s else None
        next_beat = time.monotonic()
        next_request_check = time.monotonic()
        while True:
            timeout = IDLE_TICK_S if beat_s is None else next_beat - time.monotonic()
            timeout = min(timeout, next_request_check - time.monotonic())
            for signum in signals.wait(timeout):
                if signum in STOP_SIGNALS:
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
            "fleet": self._fleet is None or self._fleet.alive,
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

    def _stop(self, signals: SignalPipe, name: str) -> int:
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
            again = [s for s in signals.wait(0) if s in STOP_SIGNALS]
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
            ("fleet leave", self._leave_fleet),
            # The last jobs' status write may have been waiting for its turn: write it now.
            ("status files", self._final_status),
            ("http stop", self._stop_http),
            ("client close", self._services.close),
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
        self._services = build_checked(config, self._store, self._fleet)
        old.close()
        self._scheduler.set_interval(POLL, config.sync.poll_interval_slow_s)
        self._scheduler.set_interval(RECONCILE, config.sync.reconcile_interval_s)
        self._scheduler.set_interval(HEALTH, config.sync.health_check_interval_s)
        # The planner's policy may have changed, which no write marks: every listing next.
        self._scheduler.kick(SYNC_FULL)

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
            **fleet_health(self._fleet),
        )

    def _start_http(self, config: Config) -> None:
        address = config.http.listen_address
        if address is None:
            return
        refused = http_access_problems(config)
        if refused:
            raise ConfigError(refused)
        app = create_http_app(
            lambda: self._store,
            config,
            poll_listing=self._poll_listing,
            health=self._health,
            status_view=BookView(self._status_book),
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
