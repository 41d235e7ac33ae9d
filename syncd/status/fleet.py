"""Which instance of a fleet holds which agencies, in lines for 'syncd status'.

Reads the leases and heartbeats only; empty for one daemon on SQLite, which keeps none.
"""

from __future__ import annotations

from datetime import datetime

from syncd.core.lease import COORDINATOR, agency_lease, holders
from syncd.store.engine import Store
from syncd.store.leases import agency_keys, live_instances, read_leases


def fleet_lines(store: Store, now: datetime) -> list[str]:
    with store.read() as session:
        leases = read_leases(session)
        live = live_instances(session, now)
        agencies = agency_keys(session)
    if not leases and not live:
        return []
    held = holders(leases, now)
    coordinator = next(
        (x.holder for x in leases if x.name == COORDINATOR and not x.is_free(now)), None
    )
    lines = [f"fleet: {len(live)} live instance(s)"]
    for instance in live:
        role = " (coordinator)" if instance == coordinator else ""
        keys = ", ".join(held.get(instance, ())) or "no agency"
        lines.append(f"  {instance}{role}: {keys}")
    taken = {agency_lease(key) for keys in held.values() for key in keys}
    free = [key for key in agencies if agency_lease(key) not in taken]
    if free:
        lines.append(f"  not held (taken at the next heartbeat): {', '.join(free)}")
    return lines
