"""The outbox: one operations row per op, committed before the call and after its outcome.

Records what apply did and learned; never calls Hemnet and never decides on retries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from syncd.core.domain import to_plain
from syncd.core.errors import StateError
from syncd.core.ops import Op
from syncd.store.fence import check_fence, scope_of
from syncd.store.outbox_scope import agencies_of_ops, agency_of_row, in_scope
from syncd.store.tables import OperationRow, OpStatus

OPEN_STATUSES = (OpStatus.INTENT, OpStatus.IN_FLIGHT, OpStatus.UNKNOWN)


def op_payload(op: Op) -> dict[str, Any]:
    """The op as JSON: its kind and every field (what apply needs to run it again)."""
    fields: dict[str, Any] = {"kind": op.kind}
    for f in dataclasses.fields(op):
        value = getattr(op, f.name)
        # sets have no JSON form and no order: store them sorted
        if isinstance(value, frozenset | set):
            fields[f.name] = sorted(to_plain(v) for v in value)
        else:
            fields[f.name] = to_plain(value)
    return fields


def add_operation(session: Session, op: Op, now: datetime) -> OperationRow:
    """Record the intent to run ``op`` (status intent); commit before calling Hemnet."""
    check_fence(session, agencies_of_ops(session, [op]))
    row = _intent_row(op, now)
    session.add(row)
    session.flush()
    return row


def add_operations(session: Session, ops: Sequence[Op], now: datetime) -> list[OperationRow]:
    """``add_operation`` for many ops, in their order, with one flush: an initial sync plans
    thousands, and a flush per op would repeat the session's bookkeeping for each."""
    check_fence(session, agencies_of_ops(session, ops))
    rows = [_intent_row(op, now) for op in ops]
    session.add_all(rows)
    session.flush()
    return rows


def _intent_row(op: Op, now: datetime) -> OperationRow:
    return OperationRow(
        idempotency_key=op.idempotency_key,
        listing_key=op.listing_key,
        kind=op.kind,
        payload_json=op_payload(op),
        status=OpStatus.INTENT.value,
        attempts=0,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class OpenOperation:
    """What a pass needs of an open op to schedule it; no payload (a pass reads them all)."""

    id: int
    idempotency_key: str
    status: str
    next_attempt_at: datetime | None


def open_operations(session: Session) -> list[OpenOperation]:
    """Every op planned, in flight or of unknown outcome, oldest first."""
    query = (
        select(
            OperationRow.id,
            OperationRow.idempotency_key,
            OperationRow.status,
            OperationRow.next_attempt_at,
        )
        .where(
            OperationRow.status.in_([s.value for s in OPEN_STATUSES]),
            in_scope(session, scope_of(session)),
        )
        .order_by(OperationRow.id)
    )
    return [OpenOperation(*row) for row in session.execute(query)]


def get_operation(session: Session, op_id: int) -> OperationRow:
    row = session.get(OperationRow, op_id)
    if row is None:
        raise StateError(f"operation {op_id} is not in the state database")
    return row


def find_open_operation(session: Session, idempotency_key: str) -> OperationRow | None:
    """An op with this key that was recorded but not finished (after a crash, say)."""
    query = (
        select(OperationRow)
        .where(
            OperationRow.idempotency_key == idempotency_key,
            OperationRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(OperationRow.id.desc())
    )
    return session.scalars(query).first()


def mark_in_flight(session: Session, op_id: int, now: datetime) -> OperationRow:
    """The call is about to be made: one more attempt."""
    row = get_operation(session, op_id)
    check_fence(session, [agency_of_row(session, row)], calling=True)
    row.status = OpStatus.IN_FLIGHT.value
    row.attempts += 1
    row.updated_at = now
    session.flush()
    return row


def record_outcome(
    session: Session,
    op_id: int,
    status: OpStatus,
    now: datetime,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
    error: str | None = None,
    outcome: dict[str, Any] | None = None,
    next_attempt_at: datetime | None = None,
) -> OperationRow:
    """What came of the call: succeeded, failed, unknown, or intent again with a retry time."""
    row = get_operation(session, op_id)
    check_fence(session, [agency_of_row(session, row)], calling=False)
    row.status = status.value
    row.http_status = http_status
    row.request_id = request_id
    row.error = error
    row.outcome_json = outcome
    row.next_attempt_at = next_attempt_at
    row.updated_at = now
    session.flush()
    return row


def operations_by_status(session: Session, *statuses: OpStatus) -> list[OperationRow]:
    """In a fenced session, only the held agencies' ops; ops in flight only once they may
    be read back (a takeover waits out the old holder's last call, core/lease.py)."""
    scope = scope_of(session)
    settling = scope_of(session, settling=True)
    in_flight = OperationRow.status == OpStatus.IN_FLIGHT.value
    query = (
        select(OperationRow)
        .where(
            OperationRow.status.in_([s.value for s in statuses]),
            in_scope(session, scope),
            or_(~in_flight, in_scope(session, settling)),
        )
        .order_by(OperationRow.id)
    )
    return list(session.scalars(query))


def due_operations(session: Session, now: datetime) -> list[OperationRow]:
    """Intents ready to run now, oldest first (per listing order is creation order)."""
    query = (
        select(OperationRow)
        .where(
            OperationRow.status == OpStatus.INTENT.value,
            or_(OperationRow.next_attempt_at.is_(None), OperationRow.next_attempt_at <= now),
            in_scope(session, scope_of(session)),
        )
        .order_by(OperationRow.id)
    )
    return list(session.scalars(query))


def operations_of_listing(
    session: Session, listing_key: str, limit: int = 50
) -> list[OperationRow]:
    query = (
        select(OperationRow)
        .where(OperationRow.listing_key == listing_key)
        .order_by(OperationRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def supersede_intents(session: Session, listing_keys: Iterable[str], now: datetime) -> int:
    """A new plan replaces intents never sent for these listings; returns how many."""
    keys = list(listing_keys)
    if not keys:
        return 0
    result = session.execute(
        update(OperationRow)
        .where(
            OperationRow.listing_key.in_(keys),
            OperationRow.status == OpStatus.INTENT.value,
            OperationRow.attempts == 0,
            in_scope(session, scope_of(session)),
        )
        .values(status=OpStatus.SUPERSEDED.value, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- views ---------------------------------------------------------------------------------


def open_operation_counts(session: Session, listing_key: str | None = None) -> dict[str, int]:
    """listing_key -> ops planned, in flight or of unknown outcome (status views);
    with ``listing_key``, that listing's count only (a poll must not count them all)."""
    query = (
        select(OperationRow.listing_key, func.count())
        .where(
            OperationRow.listing_key.is_not(None)
            if listing_key is None
            else OperationRow.listing_key == listing_key,
            OperationRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .group_by(OperationRow.listing_key)
    )
    return {str(key): int(count) for key, count in session.execute(query)}


# Ids bound in one statement, well under SQLite's limit on variables.
_IDS_PER_STATEMENT = 500


def supersede_intents_except(
    session: Session,
    keep_ids: Iterable[int],
    now: datetime,
    *,
    listing_keys: Collection[str] | None = None,
) -> int:
    """Intents the current plan no longer asks for become superseded; returns how many.

    Only plain intents: in-flight and unknown ops must be settled, never dropped. With
    ``listing_keys`` (a plan of those listings only), only their intents.
    """
    # The difference is taken here, not in SQL: a NOT IN of every kept id is one bound
    # variable per op, and a first plan over 11,000 listings passes SQLite's 32,766.
    keep = set(keep_ids)
    # In a fenced session, only the held agencies' intents: another instance's plan
    # asks for the others. A dirty pass (``listing_keys``) drops only its listings' intents.
    scope = scope_of(session)
    intents = session.execute(
        select(OperationRow.id, OperationRow.listing_key).where(
            OperationRow.status == OpStatus.INTENT.value, in_scope(session, scope)
        )
    )
    dropped = sorted(
        op_id
        for op_id, key in intents
        if op_id not in keep and (listing_keys is None or key in listing_keys)
    )
    if dropped and scope is not None:
        check_fence(session, scope)
    for start in range(0, len(dropped), _IDS_PER_STATEMENT):
        session.execute(
            update(OperationRow)
            .where(OperationRow.id.in_(dropped[start : start + _IDS_PER_STATEMENT]))
            .values(status=OpStatus.SUPERSEDED.value, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
    return len(dropped)


def make_due_now(session: Session, listing_key: str, now: datetime) -> int:
    """Intents of one listing waiting out a backoff may run at once ('syncd retry KEY')."""
    result = session.execute(
        update(OperationRow)
        .where(
            OperationRow.listing_key == listing_key,
            OperationRow.status == OpStatus.INTENT.value,
        )
        .values(next_attempt_at=None, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
