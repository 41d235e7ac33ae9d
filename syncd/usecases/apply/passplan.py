"""A pass's plan: what apply would send now, and the intents it commits before sending.

Decides nothing itself: the ops and the refused creates are ``plan()``'s, the order and
the backoff of open ops are the outbox's.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.config import Config
from syncd.core.domain import KnownAgency
from syncd.core.ops import Hold, Operation, Plan
from syncd.core.plan import UNKNOWN_AGENCY, RemovalCounts, plan
from syncd.store.engine import Store
from syncd.store.events import record_event
from syncd.store.holds import record_plan_holds
from syncd.store.listing_states import (
    SENT_AS_WANTED,
    DesiredContext,
    ListingState,
    desired_context,
    desired_of,
    known_of,
    listing_key_chunks,
    read_listing_states,
)
from syncd.store.listings import known_agencies
from syncd.store.outbox import (
    OpenOperation,
    add_operations,
    open_operations,
    supersede_intents_except,
)
from syncd.store.plan_marks import (
    Marks,
    clear_marks,
    due_listing_keys,
    live_by_agency,
    read_marks,
)
from syncd.store.removal_counts import guard_counts
from syncd.store.tables import OperationRow, OpStatus
from syncd.usecases.apply.merge import merge_plans
from syncd.usecases.apply.report import Tally

if TYPE_CHECKING:
    # Type only: the store hands sessions out; apply never opens one itself.
    from syncd.store.engine import Session

log = logging.getLogger("syncd.usecases.apply")

# Listings whose states a full pass holds decoded at once: about 4 MB at 4 KB a listing,
# and few enough statements (two per 500 keys) that chunking costs little time.
CHUNK_LISTINGS = 1_000


@dataclass(frozen=True)
class Job:
    op: Operation
    op_id: int


@dataclass(frozen=True)
class Prepared:
    """What a pass planned: the due jobs, the count of holds, and how much it read."""

    jobs: list[Job]
    holds: int
    planned: int  # listings read and planned
    full: bool  # every listing (the safety net), or the dirty set and the due ones


def current_plan(store: Store, config: Config, now: datetime) -> Plan:
    """What apply would do now (for 'syncd plan'); reads only, sends nothing."""
    with store.read() as session:
        return plan_now(session, config, now)


def plan_now(
    session: Session, config: Config, now: datetime, keys: Collection[str] | None = None
) -> Plan:
    """The plan of every listing, or of ``keys`` only (a dirty pass: the marked listings
    and those ``due_listing_keys`` names; the plan of any other is what it was)."""
    return _plan_read(session, config, now, keys)[0]


def _plan_read(
    session: Session,
    config: Config,
    now: datetime,
    keys: Collection[str] | None,
    chunk: int | None = CHUNK_LISTINGS,
) -> tuple[Plan, int]:
    """The plan, and how many listings it read."""
    if keys is None:
        return plan_in_chunks(session, config, now, chunk)
    states = read_listing_states(session, keys=keys)
    return _plan_states(session, config, now, states, live=_live(session, states)), len(states)


def plan_in_chunks(
    session: Session, config: Config, now: datetime, chunk: int | None = CHUNK_LISTINGS
) -> tuple[Plan, int]:
    """The plan of every listing, reading at most ``chunk`` listings' states at a time (all
    at once if None), and how many listings it read.

    The mass-removal guard judges an agency's removals together: each chunk's plan is
    given the whole store's counts of live listings and of removals asked for (one narrow
    read before the first chunk), so it judges as a plan of every listing does. The
    chunks' plans merge into the plan of one read of every listing (``merge_plans``).
    """
    if chunk is None:
        states = read_listing_states(session)
        return _plan_states(session, config, now, states), len(states)
    context = desired_context(session)
    agencies = known_agencies(session)
    counts = guard_counts(session, context.released_removals)
    parts: list[Plan] = []
    planned = 0
    SENT_AS_WANTED.begin()
    for keys in listing_key_chunks(session, chunk):
        states = read_listing_states(session, keys=keys)
        parts.append(
            _plan_states(
                session,
                config,
                now,
                states,
                context=context,
                agencies=agencies,
                live=counts.live,
                removals=counts.removals,
            )
        )
        planned += len(states)
    SENT_AS_WANTED.end()
    return merge_plans(parts), planned


def _plan_states(
    session: Session,
    config: Config,
    now: datetime,
    states: list[ListingState],
    *,
    context: DesiredContext | None = None,
    agencies: Mapping[str, KnownAgency] | None = None,
    live: Mapping[str, int] | None = None,
    removals: Mapping[str, RemovalCounts] | None = None,
) -> Plan:
    return plan(
        desired_of(session, states, context),
        known_of(states),
        known_agencies(session) if agencies is None else agencies,
        config.sync.policy,
        now,
        refused={s.listing_key for s in states if s.hemnet_id is None and s.refused},
        live=live,
        removals=removals,
    )


def dirty_keys(session: Session, marks: Marks) -> set[str]:
    """What a dirty pass plans: the marked listings, and those due whether marked or not."""
    return set(marks.listing_keys) | due_listing_keys(session)


def _live(session: Session, states: list[ListingState]) -> dict[str, int] | None:
    """Live listings by agency for the mass-removal guard, when a removal is asked for."""
    if not any(s.desired is None and s.missing_since is not None for s in states):
        return None  # no removal asked for: nothing for the guard to count
    return {
        UNKNOWN_AGENCY if agency is None else agency: count
        for agency, count in live_by_agency(session).items()
    }


def prepare_pass(
    session: Session,
    config: Config,
    now: datetime,
    tally: Tally,
    blocked: set[str],
    *,
    full: bool = True,
    chunk: int | None = CHUNK_LISTINGS,
) -> Prepared:
    """Plan and commit the intents (reusing open ones) and clear the plan marks read.

    Ops of a listing in ``blocked`` (unsettled) or behind one backing off wait. A pass
    that is not ``full`` plans the dirty set only (``dirty_keys``).
    """
    marks = read_marks(session)
    keys = None if full else dirty_keys(session, marks)
    the_plan, planned = _plan_read(session, config, now, keys, chunk)
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
    superseded = supersede_intents_except(session, used, now, listing_keys=keys)
    if superseded:
        log.info("%d intent(s) of earlier plans superseded", superseded)
    # In the transaction that records the plan: a crash before the commit keeps the marks.
    clear_marks(session, marks)
    log.debug("pass planned %d ops, %d due now", len(the_plan.ops), len(jobs))
    return Prepared(jobs, holds, planned, full)


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
