"""The state store on a real SQLite file: round trips, guards and transactions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from syncd.core.domain import (
    Address,
    Agency,
    Image,
    ImageState,
    KnownImage,
    Listing,
    ListingStatus,
    MarketState,
    Sale,
    content_hash,
    normalise,
)
from syncd.core.errors import StateError
from syncd.core.ops import AddImage, Hold, PublishListing, UpdateListing
from syncd.store import events, files, holds, listings, meta, outbox
from syncd.store.engine import Store, open_store
from syncd.store.tables import FileOutcome, ImageRow, OpStatus
from tests.fakes.store_state import load_desired, load_known, mark_missing, save_desired


def a_listing(key: str = "A1", price: int = 2_000_000) -> Listing:
    return normalise(
        Listing(
            listing_key=key,
            agency_key="ag",
            status=ListingStatus.FOR_SALE,
            address=Address("Storgatan 1", "11122", "Stockholm"),
            asking_price=price,
            living_area=Decimal("72.5"),
            images=(Image("https://img.example/1.jpg", "Hall", 0),),
        )
    )


def test_desired_listing_round_trips_with_its_hashes(store: Store, now: datetime) -> None:
    listing = a_listing()
    with store.transaction() as session:
        save_desired(session, listing, now)
    with store.read() as session:
        row = listings.get_listing(session, "A1")
        assert row is not None
        assert listings.desired_listing(row) == listing
        assert row.content_hash == content_hash(listing)
        assert row.desired_status == "for_sale"
        assert row.first_seen_at == now
        assert row.first_seen_at.tzinfo is not None
        assert row.stage is None and row.hemnet_id is None


def test_missing_listings_keep_their_first_absence(store: Store, now: datetime) -> None:
    later = now + timedelta(hours=5)
    with store.transaction() as session:
        save_desired(session, a_listing("A1"), now)
        save_desired(session, a_listing("A2"), now)
    with store.transaction() as session:
        assert mark_missing(session, ["A1", "unknown"], now) == ["A1"]
    with store.transaction() as session:
        mark_missing(session, ["A1"], later)
    with store.read() as session:
        desired = load_desired(session)
    assert set(desired.listings) == {"A2"}
    assert desired.missing_since == {"A1": now}
    with store.transaction() as session:
        save_desired(session, a_listing("A1"), later)
        desired = load_desired(session)
    assert set(desired.listings) == {"A1", "A2"} and desired.missing_since == {}


def test_known_side_becomes_a_known_listing(store: Store, now: datetime) -> None:
    listing = a_listing()
    with store.transaction() as session:
        listings.save_agency(session, Agency("ag", "Mäklarna AB"), now)
        listings.set_agency_hemnet_id(session, "ag", "h-ag", now)
        save_desired(session, listing, now)
        assert load_known(session) == {}
        listings.record_sent(session, "A1", now, hemnet_id="987", sent=listing)
        listings.save_known_image(
            session,
            "A1",
            KnownImage("https://img.example/1.jpg", "img-1", ImageState.COMPLETED, 0, "Hall"),
            now,
            is_floor_plan=False,
        )
        listings.record_remote_state(
            session,
            "A1",
            now,
            is_published=True,
            is_approved=False,
            market_state=MarketState.FOR_SALE,
            allowed_market_states=[MarketState.UPCOMING, MarketState.FOR_SALE],
            approval_url="http://portal/approve/987",
            sold=Sale(1_900_000, True, now.date()),
        )
    with store.read() as session:
        known = load_known(session)["A1"]
        row = listings.get_listing_by_hemnet_id(session, "987")
        agencies = load_desired(session).agencies
    assert known.hemnet_id == "987"
    assert known.sent == listing
    assert [(i.image_id, i.state) for i in known.images] == [("img-1", ImageState.COMPLETED)]
    assert known.is_published and not known.is_visible
    assert known.allowed_market_states == {MarketState.UPCOMING, MarketState.FOR_SALE}
    assert known.sold == Sale(1_900_000, True, now.date())
    assert row is not None and row.applied_hash == content_hash(listing)
    assert row.published_at == now and row.visible_at is None
    assert agencies == {"ag": Agency("ag", "Mäklarna AB")}


def test_a_rejected_listing_remembers_the_hash_until_sent(store: Store, now: datetime) -> None:
    listing = a_listing()
    with store.transaction() as session:
        save_desired(session, listing, now)
        listings.record_sent(session, "A1", now, hemnet_id="1")
        listings.record_failure(session, "A1", "ChecksError: no image", now, content_hash(listing))
        assert load_known(session)["A1"].rejected_hash == content_hash(listing)
        listings.record_sent(session, "A1", now, sent=listing)
        assert load_known(session)["A1"].rejected_hash is None
    with store.transaction() as session, pytest.raises(StateError, match="not in the state"):
        listings.record_failure(session, "nope", "x", now, None)


def test_stages_and_polls(store: Store, now: datetime) -> None:
    with store.transaction() as session:
        for key in ("A1", "A2", "A3"):
            save_desired(session, a_listing(key), now)
        listings.set_stage(session, "A1", "awaiting_approval", now, now + timedelta(minutes=5))
        listings.set_stage(session, "A2", "awaiting_approval", now, now - timedelta(minutes=1))
        listings.set_stage(session, "A3", "visible", now)
    with store.read() as session:
        waiting = listings.listings_by_stage(session, "awaiting_approval")
        due = listings.keys_due_for_poll(session, now)
    assert [r.listing_key for r in waiting] == ["A1", "A2"]
    assert due == ["A2"]


def test_images_need_their_listing_and_are_unique_per_url(store: Store, now: datetime) -> None:
    image = KnownImage("https://img.example/1.jpg", "i1", ImageState.IN_PROGRESS)
    with (
        pytest.raises(IntegrityError, match=r"(?i)foreign key"),
        store.transaction() as session,
    ):
        listings.save_known_image(session, "ghost", image, now, is_floor_plan=False)
    with store.transaction() as session:
        save_desired(session, a_listing(), now)
        listings.save_known_image(session, "A1", image, now, is_floor_plan=False)
        failed = KnownImage(image.url, "i1", ImageState.FAILED, state_message="too small")
        listings.save_known_image(session, "A1", failed, now, is_floor_plan=True)
        rows = listings.known_images(session, "A1")
        assert [(r.state, r.state_message, r.is_floor_plan) for r in rows] == [
            ("failed", "too small", True)
        ]
        with pytest.raises(IntegrityError, match=r"(?i)unique"), session.begin_nested():
            session.add(ImageRow(listing_key="A1", url=image.url, updated_at=now))
            session.flush()
        assert listings.delete_known_image(session, "A1", image.url)
        assert not listings.delete_known_image(session, "A1", image.url)


def test_outbox_records_intent_attempts_and_outcome(store: Store, now: datetime) -> None:
    listing = a_listing()
    op = UpdateListing("A1", listing=listing, changed=("asking_price",), old_price=1)
    with store.transaction() as session:
        row = outbox.add_operation(session, op, now)
        op_id = row.id
    assert row.status == "intent" and row.idempotency_key == op.idempotency_key
    assert row.payload_json["kind"] == "update_listing"
    assert row.payload_json["changed"] == ["asking_price"]
    assert row.payload_json["listing"]["asking_price"] == 2_000_000
    with store.transaction() as session:
        assert outbox.find_open_operation(session, op.idempotency_key) is not None
        assert outbox.mark_in_flight(session, op_id, now).attempts == 1
    with store.transaction() as session:
        outbox.record_outcome(
            session, op_id, OpStatus.SUCCEEDED, now, http_status=200, request_id="r-1"
        )
    with store.read() as session:
        done = outbox.get_operation(session, op_id)
        assert (done.status, done.http_status, done.request_id) == ("succeeded", 200, "r-1")
        assert outbox.find_open_operation(session, op.idempotency_key) is None
        assert [r.id for r in outbox.operations_of_listing(session, "A1")] == [op_id]
    with store.read() as session, pytest.raises(StateError):
        outbox.get_operation(session, 999)


def test_due_operations_honour_retry_times_and_supersede(store: Store, now: datetime) -> None:
    image = Image("https://img.example/2.jpg")
    with store.transaction() as session:
        first = outbox.add_operation(session, PublishListing("A1"), now).id
        retry = outbox.add_operation(session, AddImage("A2", image=image), now).id
        outbox.mark_in_flight(session, retry, now)
        outbox.record_outcome(
            session, retry, OpStatus.INTENT, now, next_attempt_at=now + timedelta(seconds=30)
        )
    with store.read() as session:
        assert [r.id for r in outbox.due_operations(session, now)] == [first]
        later = now + timedelta(seconds=31)
        assert [r.id for r in outbox.due_operations(session, later)] == [first, retry]
    with store.transaction() as session:
        # only intents never attempted are replaced: a tried one may have reached Hemnet
        assert outbox.supersede_intents(session, ["A1", "A2"], now) == 1
        statuses = {r.id: r.status for r in outbox.operations_by_status(session, *OpStatus)}
    assert statuses == {first: "superseded", retry: "intent"}


def test_export_files_are_found_by_content(store: Store, now: datetime) -> None:
    with store.transaction() as session:
        assert files.last_export_at(session) is None
        row = files.record_export_file(
            session,
            name="export.csv",
            sha256="ab" * 32,
            size_bytes=10,
            received_at=now,
            outcome=FileOutcome.ACCEPTED,
            mapping="generic-csv",
            records=3,
            accepted=2,
            skipped=1,
            result={"skipped": [{"key": "X", "reason": "no street"}]},
        )
    with store.read() as session:
        found = files.find_export_file(session, "ab" * 32)
        assert found is not None and found.id == row.id
        assert found.result_json == {"skipped": [{"key": "X", "reason": "no street"}]}
        assert files.find_export_file(session, "cd" * 32) is None
        assert files.last_export_at(session) == now
        assert [f.name for f in files.recent_export_files(session)] == ["export.csv"]
        first = files.latest_copy_of(session, "ab" * 32)
        assert first is not None and first.id == found.id and first.name == "export.csv"
        assert first.result == {"skipped": [{"key": "X", "reason": "no street"}]}
    with store.transaction() as session:
        other = files.record_export_file(
            session,
            name="other.csv",
            sha256="cd" * 32,
            size_bytes=10,
            received_at=now,
            outcome=FileOutcome.ACCEPTED,
            mapping="generic-csv",
        )
        # Only the latest export of a source is a duplicate's original.
        assert _id(files.latest_copy_of(session, "cd" * 32)) == other.id
        assert files.latest_copy_of(session, "ab" * 32) is None
        again = files.record_export_file(
            session,
            name="again.csv",
            sha256="ab" * 32,
            size_bytes=10,
            received_at=now,
            outcome=FileOutcome.ACCEPTED,
            mapping="generic-csv",
        )
        assert files.find_export_file(session, "ab" * 32) == again
        assert _id(files.latest_copy_of(session, "ab" * 32)) == again.id


def _id(taken: files.TakenFile | None) -> int | None:
    return None if taken is None else taken.id


def test_holds_release_once_and_feed_the_planner(store: Store, now: datetime) -> None:
    gone = now - timedelta(hours=1)
    with store.transaction() as session:
        for key in ("A", "B"):
            save_desired(session, a_listing(key), gone)
        mark_missing(session, ["A", "B"], gone)
        stopped = Hold("ag", "2 of 2 live listings would go", ("A", "B"), (gone, gone))
        [(hold, _)] = holds.record_plan_holds(session, [stopped], now)
        assert [h.id for h in holds.open_holds(session)] == [hold.id]
        assert holds.released_removals(session) == {}
        # The same hold planned again is the same hold: its id is what the operator saw.
        assert holds.record_plan_holds(session, [stopped], now) == []
        released = holds.release_hold(session, hold.id, "anna", now)
        assert released.listing_keys == ("A", "B")
        assert holds.open_holds(session) == []
        assert load_desired(session).released_removals == {"A": gone, "B": gone}
        with pytest.raises(StateError, match="already released by anna"):
            holds.release_hold(session, hold.id, "bob", now)
        with pytest.raises(StateError, match="no hold 42"):
            holds.release_hold(session, 42, "bob", now)


def test_a_release_covers_the_absence_it_held_and_not_a_later_one(
    store: Store, now: datetime
) -> None:
    first = now - timedelta(days=30)
    with store.transaction() as session:
        save_desired(session, a_listing("A"), first)
        mark_missing(session, ["A"], first)
        [(hold, _)] = holds.record_plan_holds(session, [Hold("ag", "r", ("A",), (first,))], now)
        holds.release_hold(session, hold.id, "anna", now)
        # Back in the next full export, then missing again weeks later: a new absence.
        save_desired(session, a_listing("A"), first + timedelta(days=1))
        assert load_desired(session).released_removals == {"A": first}
        mark_missing(session, ["A"], now)
        desired = load_desired(session)
        assert desired.missing_since["A"] == now
        assert desired.released_removals["A"] != desired.missing_since["A"]


def test_a_hold_whose_listings_came_back_is_superseded(store: Store, now: datetime) -> None:
    gone = now - timedelta(hours=1)
    with store.transaction() as session:
        save_desired(session, a_listing("A"), gone)
        mark_missing(session, ["A"], gone)
        [(old, _)] = holds.record_plan_holds(session, [Hold("ag", "r", ("A",), (gone,))], now)
        save_desired(session, a_listing("A"), now)  # a correct export came again
        # Released before any pass noticed: nothing is left to release, and it says so.
        released = holds.release_hold(session, old.id, "anna", now)
        assert released.listing_keys == ()
        assert released.why_nothing is not None and "came back" in released.why_nothing
        assert holds.open_holds(session) == []
        assert holds.released_removals(session) == {}
        with pytest.raises(StateError, match="superseded"):
            holds.release_hold(session, old.id, "anna", now)
        # A hold the plan stops asking for is closed by the next pass.
        mark_missing(session, ["A"], now)
        [(again, _)] = holds.record_plan_holds(session, [Hold("ag", "r", ("A",), (now,))], now)
        assert again.id != old.id
        assert holds.record_plan_holds(session, [], now) == []
        assert holds.open_holds(session) == []


def test_an_empty_exports_hold_released_marks_its_listings_missing(
    store: Store, now: datetime
) -> None:
    held_at = now - timedelta(hours=2)
    with store.transaction() as session:
        for key in ("A", "B"):
            save_desired(session, a_listing(key), held_at)
        export = files.record_export_file(
            session,
            name="empty.csv",
            sha256="ee" * 32,
            size_bytes=1,
            received_at=held_at,
            outcome=FileOutcome.HELD,
            mapping="generic-csv",
            export_mode="full",
        )
        hold = holds.add_hold(session, "ag", "empty", ["A", "B"], held_at, export_file_id=export.id)
        released = holds.release_hold(session, hold.id, "anna", now)
        assert released.listing_keys == ("A", "B")
        desired = load_desired(session)
        assert desired.listings == {}
        assert desired.missing_since == {"A": held_at, "B": held_at}
        assert desired.released_removals == {"A": held_at, "B": held_at}


def test_an_empty_exports_hold_ends_with_a_later_full_export(store: Store, now: datetime) -> None:
    with store.transaction() as session:
        save_desired(session, a_listing("A"), now)
        export = files.record_export_file(
            session,
            name="empty.csv",
            sha256="ee" * 32,
            size_bytes=1,
            received_at=now,
            outcome=FileOutcome.HELD,
            mapping="generic-csv",
            export_mode="full",
        )
        hold = holds.add_hold(session, "ag", "empty", ["A"], now, export_file_id=export.id)
        files.record_export_file(
            session,
            name="full.csv",
            sha256="ff" * 32,
            size_bytes=1,
            received_at=now,
            outcome=FileOutcome.ACCEPTED,
            mapping="generic-csv",
            export_mode="full",
            result={"agencies": ["ag"]},
        )
        released = holds.release_hold(session, hold.id, "anna", now)
        assert released.listing_keys == ()
        assert released.why_nothing == "full export full.csv came later"
        assert load_desired(session).listings.keys() == {"A"}


def test_events_newest_first_and_meta(store: Store, now: datetime) -> None:
    with store.transaction() as session:
        events.record_event(session, "created", "created on Hemnet", now, listing_key="A1")
        events.record_event(
            session, "published", "published", now + timedelta(seconds=1), listing_key="A1"
        )
        events.record_event(session, "export", "file taken", now, data={"file": "x.csv"})
        meta.set_meta(session, "hemnet_key_id", "k1")
        meta.set_meta(session, "hemnet_key_id", "k2")
    with store.transaction() as session:
        kinds = [e.kind for e in events.events_of_listing(session, "A1")]
        assert kinds == ["published", "created"]
        assert len(events.recent_events(session)) == 3
        assert meta.get_meta(session, "hemnet_key_id") == "k2"
        meta.delete_meta(session, "hemnet_key_id")
        assert meta.get_meta(session, "hemnet_key_id") is None


def test_a_failed_transaction_leaves_nothing_behind(store: Store, now: datetime) -> None:
    with pytest.raises(RuntimeError), store.transaction() as session:
        save_desired(session, a_listing(), now)
        raise RuntimeError("crash half-way")
    with store.read() as session:
        assert listings.all_listings(session) == []


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.transaction() as session:
        save_desired(session, a_listing(), datetime(2026, 1, 1))


def test_readers_do_not_wait_for_the_writer(db_path: Path, now: datetime) -> None:
    with open_store(db_path) as writer, open_store(db_path) as reader:
        with writer.transaction() as session:
            save_desired(session, a_listing("A1"), now)
        seen: list[int] = []
        with writer.transaction() as session:
            save_desired(session, a_listing("A2"), now)
            # WAL: another connection reads the last committed state while this one writes

            def read() -> None:
                with reader.read() as other:
                    seen.append(len(listings.all_listings(other)))

            thread = threading.Thread(target=read)
            thread.start()
            thread.join(timeout=5)
        assert seen == [1]
        with reader.read() as other:
            assert len(listings.all_listings(other)) == 2


def test_datetimes_come_back_in_utc(store: Store) -> None:
    stockholm = datetime(2026, 6, 1, 14, 0, tzinfo=UTC).astimezone()
    with store.transaction() as session:
        save_desired(session, a_listing(), stockholm)
    with store.read() as session:
        row = listings.get_listing(session, "A1")
    assert row is not None
    assert row.desired_at == stockholm and row.desired_at.tzinfo == UTC
