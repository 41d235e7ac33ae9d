"""``syncd run``: wires the watcher, the scheduler's jobs and the HTTP endpoints, and lives
in a main loop that handles signals and feeds systemd's watchdog.

Decides nothing about listings (the use cases do); owns start-up order, the jobs' wiring,
reload and a bounded, clean shutdown.

- ``lifecycle``: ``Daemon``, its start-up, main loop, reload, HTTP endpoints and stop;
- ``jobs``: the jobs on the store worker and the status files and line after them;
- ``operator_requests``: what 'syncd retry', 'hold release', 'apply' and the like ask;
- ``signals``: signals as bytes for the main loop.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from syncd.config import Config, store_database
from syncd.runtime.daemon.jobs import status_line
from syncd.runtime.daemon.lifecycle import Daemon
from syncd.store.engine import open_store
from syncd.store.lock import DAEMON, take_lock

__all__ = ["Daemon", "run", "status_line"]


def _quiet_libraries() -> None:
    # The daemon logs at INFO; the scheduler's per-run lines would drown the useful ones.
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # httpx logs every request at INFO; apply and poll already log one line per change.
    for name in ("apscheduler", "syncd.runtime.scheduler.apscheduler", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run(config_path: Path, config: Config) -> int:
    """``syncd run``: refuses a state another syncd writes (AlreadyRunningError, exit 8) and
    an unmigrated database (StateError, exit 3) before anything."""
    _quiet_libraries()
    database = store_database(config)
    # A command's wake-up must not kill a daemon that has not set up its signals yet.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    store = open_store(database, config.paths.migrations_dir, command=DAEMON)
    try:
        with take_lock(database, DAEMON):
            daemon = Daemon(config_path, config, store)
            return daemon.run()
    finally:
        store.close()
