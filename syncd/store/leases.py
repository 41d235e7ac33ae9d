"""The fleet's rows: instances' heartbeats and the leases, taken, renewed and released by
conditional updates so that two instances racing for one lease cannot both win.

Applies no rule (core/lease.py decides what to take or release; runtime/fleet.py when).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syncd.core.lease import Lease
from syncd.store.engine import Store
from syncd.store.tables import AgencyRow, InstanceRow, LeaseRow, ListingRow


def beat(session: Session, instance_id: str, now: datetime, ttl_s: float) -> None:
    """This instance is alive until ``now + ttl_s``; registers it at its first beat."""
    expires = now + timedelta(seconds=ttl_s)
    row = session.get(InstanceRow, instance_id)
    if row is None:
        session.add(
            InstanceRow(id=instance_id, started_at=now, heartbeat_at=now, expires_at=expires)
        )
    else:
        row.heartbeat_at, row.expires_at = now, expires
    session.flush()


def leave(session: Session, instance_id: str, now: datetime) -> None:
    """A clean stop: its leases free at once, its instance row gone."""
    session.execute(
        update(LeaseRow)
        .where(LeaseRow.holder == instance_id)
        .values(holder=None, expires_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(InstanceRow).where(InstanceRow.id == instance_id))


def live_instances(session: Session, now: datetime) -> list[str]:
    query = select(InstanceRow.id).where(InstanceRow.expires_at > now).order_by(InstanceRow.id)
    return list(session.scalars(query))


def forget_dead(session: Session, now: datetime, after_s: float) -> int:
    """Instance rows whose heartbeat ended ``after_s`` ago go (they only fill the views)."""
    result = session.execute(
        delete(InstanceRow).where(InstanceRow.expires_at < now - timedelta(seconds=after_s))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def read_leases(session: Session) -> list[Lease]:
    rows = session.execute(
        select(LeaseRow.name, LeaseRow.holder, LeaseRow.token, LeaseRow.expires_at).order_by(
            LeaseRow.name
        )
    )
    return [Lease(name, holder, token, expires) for name, holder, token, expires in rows]


def agency_keys(session: Session) -> list[str]:
    """Every agency the store knows: from the agencies table and the listings' keys."""
    keys = set(session.scalars(select(AgencyRow.key)))
    keys.update(session.scalars(select(ListingRow.agency_key).distinct()))
    return sorted(keys)


def take(
    session: Session, lease: Lease | None, name: str, me: str, now: datetime, *, ttl_s: float
) -> int | None:
    """Take the lease ``name`` as last read (``lease``; None: no row yet) if it is still as
    read and free; its new fencing token, or None when another instance got in first."""
    expires = now + timedelta(seconds=ttl_s)
    if lease is None:
        if session.get(LeaseRow, name) is not None:
            return None
        try:
            # A savepoint: another instance creating the row at the same moment makes this
            # take lose, not the whole heartbeat's transaction.
            with session.begin_nested():
                session.add(
                    LeaseRow(
                        name=name,
                        holder=me,
                        token=1,
                        expires_at=expires,
                        taken_at=now,
                        renewed_at=now,
                    )
                )
        except IntegrityError:
            return None
        return 1
    result = session.execute(
        update(LeaseRow)
        .where(
            LeaseRow.name == name,
            LeaseRow.token == lease.token,
            or_(
                LeaseRow.holder.is_(None),
                LeaseRow.expires_at.is_(None),
                LeaseRow.expires_at <= now,
            ),
        )
        .values(
            holder=me, token=LeaseRow.token + 1, expires_at=expires, taken_at=now, renewed_at=now
        )
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    return lease.token + 1


def renew(session: Session, lease: Lease, me: str, now: datetime, ttl_s: float) -> bool:
    """Extend a lease this instance holds; False when its token changed (taken over)."""
    result = session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == lease.name, LeaseRow.holder == me, LeaseRow.token == lease.token)
        .values(expires_at=now + timedelta(seconds=ttl_s), renewed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def release(session: Session, lease: Lease, me: str, now: datetime) -> bool:
    """Give a lease up (free at once); the next take bumps its token."""
    result = session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == lease.name, LeaseRow.holder == me, LeaseRow.token == lease.token)
        .values(holder=None, expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def taken_at(session: Session, names: Sequence[str]) -> dict[str, datetime | None]:
    if not names:
        return {}
    rows = session.execute(
        select(LeaseRow.name, LeaseRow.taken_at).where(LeaseRow.name.in_(list(names)))
    )
    return {name: at for name, at in rows}


def work_marker(session: Session, agencies: Sequence[str]) -> tuple[object, ...]:
    """Changes when these agencies' listings change (an ingest by another instance, a
    poll's answer): the keeper then asks for a sync pass."""
    if not agencies:
        return ()
    row = session.execute(
        select(func.max(ListingRow.updated_at), func.count()).where(
            ListingRow.agency_key.in_(list(agencies))
        )
    ).one()
    return tuple(row)


def end_idle_transactions_after(store: Store, seconds: float) -> None:
    """On PostgreSQL: the server ends any transaction of this process left idle for
    ``seconds``. A paused instance (stopped, frozen VM) must not hold the store's write
    lock past its leases: the others could then neither write nor take its agencies over.
    Nothing on SQLite, where one daemon runs alone."""
    engine = store.engine
    if engine.dialect.name != "postgresql":
        return
    milliseconds = max(1, int(seconds * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.execute(f"SET idle_in_transaction_session_timeout = {milliseconds}")
        dbapi_connection.commit()

    engine.dispose()  # connections opened before this get it too
