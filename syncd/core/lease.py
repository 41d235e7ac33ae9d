"""The rules of the fleet's leases: who may take an agency's lease when, how long a holder
may act on it, and how many each live instance should hold.

Pure: ``now`` is given, nothing is read or written (the store keeps the leases, the
runtime's keeper applies these rules at every heartbeat). Why the timings cannot let two
instances act for one agency at once is told at ``LeaseTimings``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

# The lease of the fleet-wide jobs (reconcile, poll, the key check): one instance runs
# them. Not an agency key: those come from the CRM and are taken as "agency:KEY".
COORDINATOR = "fleet:coordinator"
AGENCY_PREFIX = "agency:"


def agency_lease(agency_key: str) -> str:
    return AGENCY_PREFIX + agency_key


def lease_agency(name: str) -> str | None:
    """The agency key of an agency's lease; None for another lease (the coordinator's)."""
    return name.removeprefix(AGENCY_PREFIX) if name.startswith(AGENCY_PREFIX) else None


@dataclass(frozen=True)
class LeaseTimings:
    """How long a lease lasts, how often it is renewed, and when its holder stops acting.

    A renewal that starts at local time t writes ``expires_at = t + ttl_s`` (wall clock);
    the holder acts (plans, writes the outbox, calls Hemnet) only until ``t + act_s`` by
    its own monotonic clock, ``margin_s`` before the expiry. Another instance takes the
    lease only once its wall clock is past ``expires_at``. So the old holder has stopped
    ``margin_s`` before anyone may take over, as long as the hosts' clocks differ by less
    than ``margin_s``; and the fencing token, checked in the same transaction as every
    outbox write, refuses a holder that missed all of this (paused, clock jumped): after a
    takeover the token has changed and nothing the old holder writes is committed.

    What no token can fence is a call already on its way to Hemnet when the holder
    stopped. It started before ``t + act_s`` and lasts at most ``call_bound_s`` (the
    client's connect and read timeouts), so the new holder leaves the ops it finds in
    flight alone for ``settle_delay_s`` after taking over before reading them back.

    A dead holder's agencies are taken at the taker's first heartbeat after the expiry:
    at most ``ttl_s + renew_s`` after its last renewal.
    """

    ttl_s: float = 15.0
    renew_s: float = 3.0
    margin_s: float = 5.0
    call_bound_s: float = 35.0

    def __post_init__(self) -> None:
        if self.renew_s <= 0 or self.margin_s <= 0:
            raise ValueError("renew_s and margin_s must be positive")
        if self.ttl_s - self.margin_s <= self.renew_s:
            # The holder must be able to renew at least once while it may still act, or
            # every heartbeat would start with the lease already unusable.
            raise ValueError("ttl_s - margin_s must be longer than renew_s")

    @property
    def act_s(self) -> float:
        """How long after a renewal started its holder may act on the lease."""
        return self.ttl_s - self.margin_s

    @property
    def settle_delay_s(self) -> float:
        """How long a new holder leaves ops found in flight alone after a takeover."""
        return max(0.0, self.call_bound_s - self.margin_s)

    @property
    def takeover_within_s(self) -> float:
        """The longest a dead holder's lease stays untaken after its last renewal."""
        return self.ttl_s + self.renew_s


@dataclass(frozen=True)
class Lease:
    """One lease as the store has it: its holder (None: released) and fencing token."""

    name: str
    holder: str | None
    token: int
    expires_at: datetime | None

    def is_free(self, now: datetime) -> bool:
        """Nobody holds it: released, or its holder let it expire."""
        return self.holder is None or self.expires_at is None or self.expires_at <= now


@dataclass(frozen=True)
class Moves:
    """What one instance does at a heartbeat: renew what it holds, take, release."""

    renew: tuple[Lease, ...]
    take: tuple[str, ...]  # lease names; a missing row is created by taking it
    release: tuple[Lease, ...]


def fair_share(agencies: int, instances: int) -> int:
    """The most agencies one of ``instances`` live instances should hold (M/N, rounded up)."""
    return math.ceil(agencies / instances) if instances > 0 else agencies


def moves(
    me: str,
    leases: Iterable[Lease],
    agencies: Iterable[str],
    live: Sequence[str],
    now: datetime,
) -> Moves:
    """This heartbeat's moves for instance ``me``.

    ``agencies``: every agency key the store knows (a lease row may not exist yet);
    ``live``: the instances whose heartbeat has not expired, ``me`` among them.
    Each instance holds at most its fair share; one over its share releases the surplus
    (another takes it); a free lease goes to the least-loaded, so the agencies spread.
    The coordinator's lease is taken by whoever finds it free, outside the shares.
    """
    by_name = {lease.name: lease for lease in leases}
    names = sorted({agency_lease(key) for key in agencies})
    instances = sorted(set(live) | {me})
    # A lease whose holder let it expire (dead, or paused) is free; until someone takes
    # it, renewing it is safe for its old holder: its token has not changed.
    mine = sorted(
        (lease for lease in by_name.values() if lease.holder == me),
        key=lambda lease: lease.name,
    )
    mine_agencies = [lease for lease in mine if lease.name != COORDINATOR]
    share = fair_share(len(names), len(instances))
    keep = mine_agencies[:share]
    release = tuple(mine_agencies[share:])
    renew = [*keep, *(lease for lease in mine if lease.name == COORDINATOR)]
    loads = _loads(by_name.values(), instances, now)
    loads[me] = len(keep)
    take: list[str] = []
    for name in names:
        lease = by_name.get(name)
        if lease is not None and (lease.holder == me or not lease.is_free(now)):
            continue
        if loads[me] >= share or loads[me] > min(loads.values()):
            break
        take.append(name)
        loads[me] += 1
    coordinator = by_name.get(COORDINATOR)
    if coordinator is None or (coordinator.holder != me and coordinator.is_free(now)):
        take.append(COORDINATOR)
    return Moves(tuple(renew), tuple(take), release)


def _loads(leases: Iterable[Lease], instances: Sequence[str], now: datetime) -> dict[str, int]:
    """Agency leases held (not expired) per live instance."""
    loads = dict.fromkeys(instances, 0)
    for lease in leases:
        if lease.name == COORDINATOR or lease.is_free(now) or lease.holder not in loads:
            continue
        loads[lease.holder] += 1
    return loads


def holders(leases: Iterable[Lease], now: datetime) -> Mapping[str, tuple[str, ...]]:
    """Instance -> the agency keys it holds now (for /healthz and 'syncd status')."""
    held: dict[str, list[str]] = {}
    for lease in leases:
        agency = lease_agency(lease.name)
        if agency is None or lease.holder is None or lease.is_free(now):
            continue
        held.setdefault(lease.holder, []).append(agency)
    return {holder: tuple(sorted(keys)) for holder, keys in sorted(held.items())}
