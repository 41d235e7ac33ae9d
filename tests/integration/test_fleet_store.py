"""The fleet's rows on a real migrated store: leases taken by conditional updates, the
fencing token refusing a stale holder's outbox writes, a fenced store's scope, file claims.

Two instances are two Store objects on one database, each with its own fence, as two
daemons on one PostgreSQL are (the daemon-level tests are in tests/system/test_fleet.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.core.lease import COORDINATOR, agency_lease
from syncd.core.ops import PublishListing
from syncd.status.fleet import fleet_lines
from syncd.store import claims, leases, outbox, plan_marks
from syncd.store.engine import Store, open_store
from syncd.store.fence import Fence, FencedOffError, Held
from syncd.store.listing_states import read_listing_states
from syncd.store.location import Database
from syncd.store.tables import ListingRow, OperationRow, OpStatus

TTL_S = 15.0


@pytest.fixture
def plain(database: Database, now: datetime) -> Iterator[Store]:
    opened = open_store(database)
    with opened.transaction() as session:
        for key, agency in (("X1", "x"), ("X2", "x"), ("Y1", "y")):
            session.add(
                ListingRow(listing_key=key, agency_key=agency, first_seen_at=now, updated_at=now)
            )
    try:
        yield opened
    finally:
        opened.close()


def instance(plain: Store, name: str, now: datetime) -> tuple[Store, Fence]:
    fence = Fence(name, clock=lambda: now)
    with plain.transaction() as session:
        leases.beat(session, name, now, TTL_S)
    return plain.fenced(fence), fence


def take(plain: Store, fence: Fence, agency: str, now: datetime, *, settle_s: float = 0) -> int:
    name = agency_lease(agency)
    with plain.transaction() as session:
        found = {lease.name: lease for lease in leases.read_leases(session)}.get(name)
        token = leases.take(session, found, name, fence.instance_id, now, ttl_s=TTL_S)
    assert token is not None
    held = fence.held()
    held[agency] = Held(token, now + timedelta(seconds=settle_s))
    fence.hold(held, float("inf"))
    return token


def test_a_paused_holder_cannot_write_the_outbox_after_a_takeover(
    plain: Store, now: datetime
) -> None:
    old, old_fence = instance(plain, "host:1:aaaa", now)
    assert take(plain, old_fence, "x", now) == 1
    with old.transaction() as session:
        op_id = outbox.add_operation(session, PublishListing("X1"), now).id
        outbox.mark_in_flight(session, op_id, now)
    # The old holder is paused past its lease; another instance takes the agency over.
    later = now + timedelta(seconds=TTL_S + 1)
    new, new_fence = instance(plain, "host:2:bbbb", later)
    assert take(plain, new_fence, "x", later, settle_s=30) == 2
    # The old holder resumes: its outcome and any new intent are refused, nothing written.
    with pytest.raises(FencedOffError, match="agency x"), old.transaction() as session:
        outbox.record_outcome(session, op_id, OpStatus.SUCCEEDED, later)
    with pytest.raises(FencedOffError), old.transaction() as session:
        outbox.add_operation(session, PublishListing("X2"), later)
    assert old_fence.agencies() == frozenset()
    with plain.read() as session:
        rows = session.query(OperationRow).all()
    assert [(r.id, r.status) for r in rows] == [(op_id, OpStatus.IN_FLIGHT.value)]
    # The new holder leaves the op in flight alone until the old call cannot be on its way.
    with new.read() as session:
        assert outbox.operations_by_status(session, OpStatus.IN_FLIGHT) == []
        assert [r.id for r in outbox.open_operations(session)] == [op_id]
    new_fence.hold({"x": Held(2, later)}, float("inf"))
    with new.transaction() as session:
        assert [r.id for r in outbox.operations_by_status(session, OpStatus.IN_FLIGHT)] == [op_id]
        outbox.record_outcome(session, op_id, OpStatus.SUCCEEDED, later)


def test_a_fenced_store_plans_and_supersedes_only_its_own_agencies(
    plain: Store, now: datetime
) -> None:
    mine, fence = instance(plain, "host:1:aaaa", now)
    take(plain, fence, "x", now)
    with plain.transaction() as session:
        other_intent = outbox.add_operation(session, PublishListing("Y1"), now).id
    with mine.transaction() as session:
        kept = outbox.add_operation(session, PublishListing("X1"), now).id
        assert [s.listing_key for s in read_listing_states(session)] == ["X1", "X2"]
        assert [r.id for r in outbox.open_operations(session)] == [kept]
        assert outbox.supersede_intents_except(session, [kept], now) == 0
        # An op for an agency it does not hold is refused, not written.
        with pytest.raises(FencedOffError, match="agency y"):
            outbox.add_operation(session, PublishListing("Y1"), now)
    with plain.read() as session:
        assert outbox.get_operation(session, other_intent).status == OpStatus.INTENT.value


def test_a_lease_goes_to_one_of_two_racing_instances_and_tokens_only_grow(
    plain: Store, now: datetime
) -> None:
    name = agency_lease("x")
    with plain.transaction() as session:
        assert leases.take(session, None, name, "a", now, ttl_s=TTL_S) == 1
    with plain.transaction() as session:
        # b read no row before a created it: its take loses.
        assert leases.take(session, None, name, "b", now, ttl_s=TTL_S) is None
        (seen,) = leases.read_leases(session)
        assert leases.take(session, seen, name, "b", now, ttl_s=TTL_S) is None  # not expired
    later = now + timedelta(seconds=TTL_S)
    with plain.transaction() as session:
        assert leases.take(session, seen, name, "b", later, ttl_s=TTL_S) == 2
        assert not leases.renew(session, seen, "a", later, TTL_S)  # a's token is stale
        (now_held,) = leases.read_leases(session)
        assert leases.take(session, seen, name, "c", later, ttl_s=TTL_S) is None  # stale read
        assert leases.release(session, now_held, "b", later)
        (free,) = leases.read_leases(session)
        assert free.holder is None and free.is_free(later)
        assert leases.take(session, free, name, "a", later, ttl_s=TTL_S) == 3


def test_a_clean_stop_frees_the_leases_and_leaves_the_live_list(
    plain: Store, now: datetime
) -> None:
    with plain.transaction() as session:
        leases.beat(session, "a", now, TTL_S)
        leases.beat(session, "b", now, TTL_S)
        leases.take(session, None, COORDINATOR, "a", now, ttl_s=TTL_S)
        leases.leave(session, "a", now)
        assert leases.live_instances(session, now) == ["b"]
        (coordinator,) = leases.read_leases(session)
        assert coordinator.is_free(now) and coordinator.token == 1
        assert leases.agency_keys(session) == ["x", "y"]


def test_a_file_is_claimed_once_until_its_holder_dies(
    plain: Store, now: datetime, tmp_path: Path
) -> None:
    export = tmp_path / "export.csv"
    export.write_text("id\n1\n", encoding="utf-8")
    identity = claims.file_identity(export)
    assert identity is not None
    with plain.transaction() as session:
        leases.beat(session, "a", now, TTL_S)
        leases.beat(session, "b", now, TTL_S)
        assert claims.claim(session, identity, export.name, "a", now)
    with plain.transaction() as session:
        assert not claims.claim(session, identity, export.name, "b", now)
        assert claims.claim(session, identity, export.name, "a", now)
    # a died mid-ingest (its heartbeat ended): b takes the file over
    later = now + timedelta(seconds=TTL_S + 1)
    with plain.transaction() as session:
        leases.beat(session, "b", later, TTL_S)
        assert claims.claim(session, identity, export.name, "b", later)
        claims.unclaim(session, identity, "b")
        assert claims.claim(session, identity, export.name, "a", later)
    # A file rewritten under the same name is another file.
    export.write_text("id\n1\n2\n", encoding="utf-8")
    assert claims.file_identity(export) != identity
    export.unlink()
    assert claims.file_identity(export) is None


def test_status_says_which_instance_holds_which_agencies(plain: Store, now: datetime) -> None:
    assert fleet_lines(plain, now) == []  # one daemon on its own keeps no leases
    with plain.transaction() as session:
        leases.beat(session, "host:1:aaaa", now, TTL_S)
        leases.beat(session, "host:2:bbbb", now, TTL_S)
        leases.take(session, None, agency_lease("x"), "host:2:bbbb", now, ttl_s=TTL_S)
        leases.take(session, None, COORDINATOR, "host:1:aaaa", now, ttl_s=TTL_S)
    assert fleet_lines(plain, now) == [
        "fleet: 2 live instance(s)",
        "  host:1:aaaa (coordinator): no agency",
        "  host:2:bbbb: x",
        "  not held (taken at the next heartbeat): y",
    ]


def test_a_dirty_pass_reads_and_clears_only_the_marks_of_its_own_agencies(
    plain: Store, now: datetime
) -> None:
    """Another agency's marks stay for its holder: a pass that read and cleared them would
    leave that agency's changes unplanned until the full pass."""
    mine, fence = instance(plain, "host:1:aaaa", now)
    take(plain, fence, "x", now)
    with plain.transaction() as session:
        plan_marks.mark_listings(session, ["X1", "Y1"], now)
    with mine.transaction() as session:
        marks = plan_marks.read_marks(session)
        assert marks.listing_keys == {"X1", "X2"}  # X2 marked when it was stored
        plan_marks.clear_marks(session, marks)
    with plain.read() as session:
        assert plan_marks.read_marks(session).listing_keys == {"Y1"}
