"""A pass's plan: what apply would send now, and the intents it commits before sending.

Decides nothing itself: the ops and the refused creates are ``plan()``'s, the order and
the backoff of open ops are the outbox's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.config import Config
from syncd.core.ops import Hold, Operation, Plan
from syncd.core.plan import plan
from syncd.store.engine import Store
from syncd.store.events import record_event
from syncd.store.holds import record_plan_holds
from syncd.store.listing_states import desired_of, known_of, read_listing_states
from syncd.store.listings import known_agencies
from syncd.store.outbox import (
    OpenOperation,
    add_operations,
    open_operations,
    supersede_intents_except,
)
from syncd.store.tables import OperationRow, OpStatus
from syncd.usecases.apply.report import Tally

if TYPE_CHECKING:
    # Type only: the store hands sessions out; apply never opens one itself.
    from syncd.store.engine import Session

log = logging.getLogger("syncd.usecases.apply")


@dataclass(frozen=True)
class Job:
    op: Operation
    op_id: int


def current_plan(store: Store, config: Config, now: datetime) -> Plan:
    """What apply would do now (for 'syncd plan'); reads only, sends nothing."""
    with store.read() as session:
        return plan_now(session, config, now)


def plan_now(session: Session, config: Config, now: datetime) -> Plan:
    states = read_listing_states(session)
    return plan(
        desired_of(session, states),
        known_of(states),
        known_agencies(session),
        config.sync.policy,
        now,
        refused={s.listing_key for s in states if s.hemnet_id is None and s.refused},
    )


def prepare_pass(
    session: Session, config: Config, now: datetime, tally: Tally, blocked: set[str]
) -> tuple[list[Job], int]:
    """Plan and commit the intents (reusing open ones); returns the due jobs and the count
    of holds. Ops of a listing in ``blocked`` (unsettled) or behind one backing off wait."""
    the_plan = plan_now(session, config, now)
    # A grace period ending is a time to run a pass, like an op's retry time.
    tally.retry_at(the_plan.next_due_at)
    holds = _record_holds(session, the_plan.holds, now)
    jobs: list[Job] = []
    used: set[int] = set()
    stalled: set[str | None] = set(blocked)
    reused = _reused(session, the_plan, used)
    # The rest are recorded as intents together: one flush, not one per op.
    added = iter(
        add_operations(
            session, [op for op, r in zip(the_plan.ops, reused, strict=True) if r is None], now
        )
    )
    for op, found in zip(the_plan.ops, reused, strict=True):
        row = found or _open_operation(next(added))
        used.add(row.id)
        if op.listing_key in stalled:
            continue
        due = row.next_attempt_at is None or row.next_attempt_at <= now
        if row.status != OpStatus.INTENT.value or not due:
            # Backing off, or unresolved: later ops of this listing wait behind it.
            stalled.add(op.listing_key)
            if row.status == OpStatus.INTENT.value:
                tally.retry_at(row.next_attempt_at)
            continue
        jobs.append(Job(op, row.id))
    superseded = supersede_intents_except(session, used, now)
    if superseded:
        log.info("%d intent(s) of earlier plans superseded", superseded)
    log.debug("pass planned %d ops, %d due now", len(the_plan.ops), len(jobs))
    return jobs, holds


def _reused(session: Session, the_plan: Plan, used: set[int]) -> list[OpenOperation | None]:
    """The open op each planned op continues (by idempotency key), or None: a new intent."""
    # One query instead of one per op: the newest open op per idempotency key.
    open_rows = {r.idempotency_key: r for r in open_operations(session)}
    reused: list[OpenOperation | None] = []
    for op in the_plan.ops:
        found = open_rows.get(op.idempotency_key)
        if found is None or found.id in used:
            reused.append(None)
        else:
            used.add(found.id)
            reused.append(found)
    return reused


def _open_operation(row: OperationRow) -> OpenOperation:
    return OpenOperation(row.id, row.idempotency_key, row.status, row.next_attempt_at)


def _record_holds(session: Session, holds: tuple[Hold, ...], now: datetime) -> int:
    for row, hold in record_plan_holds(session, holds, now):
        log.warning(
            "hold %d: %s (%d listing(s)); release with 'syncd hold release %d'",
            row.id,
            hold.reason,
            len(hold.listing_keys),
            row.id,
        )
        for key in hold.listing_keys:
            record_event(
                session,
                "held",
                f"removal held (hold {row.id}): {hold.reason}",
                now,
                listing_key=key,
            )
    return len(holds)
