"""One instance of a fleet of daemons sharing a PostgreSQL store: its identity, the lease
keeper (a heartbeat thread applying core/lease.py's rules), its share of the request
budget, and the claim it takes on an export file before ingesting it.

Decides nothing about listings; the work on the agencies held goes through the fenced
store (store/fence.py) it hands the daemon's services.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from syncd import metrics
from syncd.config import Config
from syncd.core.clock import utc_now
from syncd.core.errors import SyncdError
from syncd.core.lease import COORDINATOR, Lease, LeaseTimings, holders, lease_agency, moves
from syncd.hemnet.budget import SharedBucket
from syncd.store import claims, leases
from syncd.store.engine import Session, Store
from syncd.store.fence import Fence, Held

logger = logging.getLogger("syncd.runtime.fleet")

# Instance rows whose heartbeat ended this long ago are deleted (they only fill the views).
FORGET_DEAD_AFTER_S = 3600.0


def new_instance_id() -> str:
    """hostname:pid:random: unique across hosts and restarts, readable in logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def timings_of(config: Config) -> LeaseTimings:
    fleet, hemnet = config.fleet, config.hemnet
    return LeaseTimings(
        ttl_s=fleet.lease_ttl_s,
        renew_s=fleet.lease_renew_s,
        margin_s=fleet.lease_margin_s,
        # How long a call already sent may still reach Hemnet (ASSUMED: one read).
        call_bound_s=hemnet.connect_timeout_s + hemnet.read_timeout_s,
    )


class FileClaimedError(SyncdError):
    """Another live instance is ingesting this file, or it is gone: this one leaves it."""

    remedy = "nothing to do: the instance that claimed the file ingests it"


@dataclass(frozen=True)
class FleetView:
    """Who holds what, for /healthz and the status: instance -> its agency keys."""

    instance_id: str
    coordinator: str | None
    held: Mapping[str, tuple[str, ...]]
    live: tuple[str, ...]


class Fleet:
    """This instance's membership: heartbeats on a thread of its own, so that a long sync
    pass on the store worker never lets its leases lapse."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
        instance_id: str | None = None,
    ) -> None:
        self.instance_id = instance_id or new_instance_id()
        self.timings = timings_of(config)
        self._plain = store
        leases.end_idle_transactions_after(store, self.timings.ttl_s)
        self._clock = clock
        self._on_change = on_change
        self.fence = Fence(self.instance_id, clock=clock)
        self.store = store.fenced(self.fence)
        self.budget = SharedBucket(
            config.hemnet.requests_per_second, config.hemnet.burst, may_spend=self.fence.acting
        )
        self._coordinator = False
        self._registered = False
        self._marker: tuple[object, ...] | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life ------------------------------------------------------------------------------

    def start(self) -> None:
        logger.info(
            "fleet: instance %s joins (leases of %gs, renewed every %gs)",
            self.instance_id,
            self.timings.ttl_s,
            self.timings.renew_s,
        )
        self._beat_logged()
        self._thread = threading.Thread(target=self._run, name="syncd-fleet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """A clean stop: the leases are freed at once, so others take over without waiting."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timings.renew_s + 5)
        self.fence.hold({}, float("-inf"))
        try:
            with self._plain.transaction() as session:
                leases.leave(session, self.instance_id, self._clock())
        except Exception:
            logger.exception("fleet: could not free the leases; they expire on their own")
        logger.info("fleet: instance %s left", self.instance_id)

    @property
    def alive(self) -> bool:
        return self._thread is None or self._thread.is_alive()

    def coordinates(self) -> bool:
        """Does this instance run the fleet-wide jobs (reconcile, the key check, requests)?"""
        return self._coordinator and self.fence.acting()

    def _run(self) -> None:
        while not self._stopping.wait(self.timings.renew_s):
            self._beat_logged()

    def _beat_logged(self) -> None:
        try:
            self.heartbeat()
        except Exception:
            # The leases lapse on their own (the fence stops this instance acting in time).
            logger.exception("fleet: heartbeat failed; trying again in %gs", self.timings.renew_s)

    # --- the heartbeat ---------------------------------------------------------------------

    def heartbeat(self) -> None:
        """Renew, release and take leases by the rules; then the fence and budget follow."""
        started = time.monotonic()
        now = self._clock()
        timings = self.timings
        before = self.fence.held()
        held: dict[str, Held] = {}
        coordinator = False
        with self._plain.transaction() as session:
            leases.beat(session, self.instance_id, now, timings.ttl_s)
            live = leases.live_instances(session, now)
            if not self._registered:
                # The first beat only registers: the others see this instance at their next
                # beat and shrink their budget shares before it spends (SharedBucket).
                self._registered = True
                self.budget.share(len(live))
                return
            current = {lease.name: lease for lease in leases.read_leases(session)}
            found = moves(
                self.instance_id, current.values(), leases.agency_keys(session), live, now
            )
            for lease in found.renew:
                if leases.renew(session, lease, self.instance_id, now, timings.ttl_s):
                    coordinator |= self._keep(held, lease, before, now)
                else:
                    logger.warning("fleet: the lease %s was taken over", lease.name)
            for lease in found.release:
                if leases.release(session, lease, self.instance_id, now):
                    logger.info("fleet: released %s (over this instance's share)", lease.name)
            for name in found.take:
                coordinator |= self._take(session, held, current.get(name), name, now)
            leases.forget_dead(session, now, FORGET_DEAD_AFTER_S)
            marker = leases.work_marker(session, sorted(held))
        self.budget.share(len(live))
        self.fence.hold(held, started + timings.act_s)
        self._coordinator = coordinator
        metrics.FLEET_AGENCIES.set(len(held))
        metrics.FLEET_INSTANCES.set(len(live))
        if set(held) != set(before) or marker != self._marker:
            self._marker = marker
            self._on_change()

    def _keep(
        self, held: dict[str, Held], lease: Lease, before: Mapping[str, Held], now: datetime
    ) -> bool:
        agency = lease_agency(lease.name)
        if agency is None:
            return lease.name == COORDINATOR
        held[agency] = before.get(agency) or Held(lease.token, now)
        return False

    def _take(
        self,
        session: Session,
        held: dict[str, Held],
        lease: Lease | None,
        name: str,
        now: datetime,
    ) -> bool:
        token = leases.take(session, lease, name, self.instance_id, now, ttl_s=self.timings.ttl_s)
        if token is None:
            return False
        previous = lease.holder if lease is not None else None
        agency = lease_agency(name)
        logger.info(
            "fleet: took %s (token %d)%s",
            name,
            token,
            f" over from {previous}" if previous and previous != self.instance_id else "",
        )
        if agency is None:
            return name == COORDINATOR
        # Held before by another instance (or released by one, which a rebalance does while
        # its call may be on its way to Hemnet): the ops found in flight are read back only
        # after that call's longest time.
        delay_s = (
            0.0 if lease is None or previous == self.instance_id else self.timings.settle_delay_s
        )
        held[agency] = Held(token, now + timedelta(seconds=delay_s))
        metrics.FLEET_TAKEOVERS.inc()
        return False

    # --- views -----------------------------------------------------------------------------

    def view(self) -> FleetView:
        return read_view(self._plain, self.instance_id, self._clock())

    # --- file claims -----------------------------------------------------------------------

    @contextmanager
    def claimed(self, path: Path) -> Iterator[None]:
        """Ingest ``path`` only under this instance's claim; FileClaimedError when another
        live instance holds it or the file is gone already (ingested by another)."""
        identity = claims.file_identity(path)
        if identity is None:
            raise FileClaimedError(f"{path.name} is gone (another instance took it)")
        with self._plain.transaction() as session:
            taken = claims.claim(session, identity, path.name, self.instance_id, self._clock())
        if not taken:
            raise FileClaimedError(f"{path.name} is being ingested by another instance")
        try:
            # Claimed after another instance ingested and moved it: nothing left to read.
            if claims.file_identity(path) != identity:
                raise FileClaimedError(f"{path.name} is gone (another instance took it)")
            yield
        finally:
            with self._plain.transaction() as session:
                claims.unclaim(session, identity, self.instance_id)


def read_view(store: Store, instance_id: str, now: datetime) -> FleetView:
    with store.read() as session:
        current = leases.read_leases(session)
        live = leases.live_instances(session, now)
    coordinator = next(
        (x.holder for x in current if x.name == COORDINATOR and not x.is_free(now)), None
    )
    return FleetView(instance_id, coordinator, holders(current, now), tuple(live))
