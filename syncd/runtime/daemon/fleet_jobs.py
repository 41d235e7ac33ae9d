"""The daemon's part in a fleet (several daemons on one PostgreSQL store): which jobs only
the coordinator runs, what a change of leases wakes, what /healthz says of the fleet.

On SQLite there is no fleet (one daemon, the state lock) and all of this stands aside.
Keeps no lease itself (runtime/fleet.py does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from syncd.config import Config
from syncd.runtime.daemon.jobs import POLL, SYNC
from syncd.runtime.fleet import Fleet
from syncd.runtime.scheduler import Scheduler
from syncd.store.engine import Store
from syncd.store.fence import FencedOffError

logger = logging.getLogger("syncd.runtime.daemon")

T = TypeVar("T")


def fleet_for(
    store: Store,
    config: Config,
    *,
    on_change: Callable[[], None],
    clock: Callable[[], datetime],
) -> Fleet | None:
    """This daemon's membership of the fleet sharing ``store``; None on SQLite (one daemon:
    the state lock already keeps any other out)."""
    if store.engine.dialect.name == "sqlite":
        return None
    return Fleet(store, config, on_change=on_change, clock=clock)


def fleet_health(fleet: Fleet | None) -> dict[str, Any]:
    """/healthz's fleet fields: this instance, the coordinator, who holds which agencies."""
    if fleet is None:
        return {}
    try:
        view = fleet.view()
    except Exception as error:  # the store unreachable: /healthz still answers
        return {"instance": fleet.instance_id, "fleet": {"error": str(error)}}
    return {
        "instance": view.instance_id,
        "fleet": {
            "coordinator": view.coordinator,
            "live": list(view.live),
            "agencies": {holder: list(keys) for holder, keys in view.held.items()},
        },
    }


class FleetJobs:
    """Mixed into ``Daemon``: its fleet-dependent job wrappers."""

    _fleet: Fleet | None
    _scheduler: Scheduler
    _clock: Callable[[], datetime]

    def _coordinated(self, job: Callable[[], T]) -> Callable[[], T | None]:
        """``job`` on the coordinator only: reconcile and the key check read every listing
        (or the one key); run by each instance, they would repeat every request. (The poll
        runs everywhere: each instance follows its own agencies' listings.)"""

        def run() -> T | None:
            if self._fleet is not None and not self._fleet.coordinates():
                return None
            return job()

        return run

    def _fenced(self, job: Callable[[], datetime | None]) -> Callable[[], datetime | None]:
        """A sync pass whose outbox write the fence refused (the lease was lost mid-pass)
        ends with one line; the next pass, at once, plans for the agencies still held."""

        def run() -> datetime | None:
            try:
                return job()
            except FencedOffError as error:
                logger.warning("sync: %s; the pass stops here", error)
                return self._clock()

        return run

    def _fleet_changed(self) -> None:
        """Leases gained or lost, or another instance changed a held agency's listings."""
        self._scheduler.kick(SYNC)
        self._scheduler.kick(POLL)

    def _leave_fleet(self) -> None:
        if self._fleet is not None:
            self._fleet.stop()
