"""The status book: status files streamed from the stored entries are byte for byte what a
full write makes, only the listings whose inputs were written are built again, and a
refresh cut short loses nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from syncd.core.domain import ImageState, KnownImage, ListingStatus, Sale
from syncd.core.ops import PublishListing
from syncd.runtime.httpserver import ATTENTION_ORDER
from syncd.status import (
    STATUS_CSV,
    STATUS_JSON,
    StatusBook,
    book_rows,
    read_status_rows,
    status_rows,
    write_status_files,
)
from syncd.status import view as view_module
from syncd.status.view import BookView, FullView
from syncd.store.blocked import SendingBlocked, set_sending_blocked
from syncd.store.checks import save_checks
from syncd.store.engine import Store
from syncd.store.holds import add_hold, open_holds, release_hold
from syncd.store.listings import record_remote_state, record_stages, save_known_image
from syncd.store.outbox import add_operation, open_operation_counts, record_outcome
from syncd.store.skipped import record_skipped
from syncd.store.tables import ListingRow, OpStatus, StatusMarkRow
from tests.fakes.status_listings import A09_SALE, AGENCY, listing, seed_listings
from tests.fakes.store_state import mark_missing, save_desired


class Compared:
    """After each change: a full write and the book's write, side by side."""

    def __init__(self, store: Store, now: datetime, tmp_path: Path, book: StatusBook) -> None:
        self.store, self.now = store, now
        self.full, self.kept = tmp_path / "full", tmp_path / "kept"
        self.book = book

    def rebuilt(self) -> int:
        """Writes both ways; the number of listings the book built again."""
        update = self.book.refresh(self.store, self.now)
        self.book.write_files(self.store, self.kept)
        write_status_files(read_status_rows(self.store, self.now), self.full)
        for name in (STATUS_JSON, STATUS_CSV):
            assert (self.kept / name).read_bytes() == (self.full / name).read_bytes(), name
        return update.rebuilt


def test_the_books_files_equal_a_full_write_after_each_change(
    store: Store, now: datetime, tmp_path: Path
) -> None:
    seeded = seed_listings(store, now)
    compared = Compared(store, now, tmp_path, StatusBook(chunk=5))  # several chunks
    assert compared.rebuilt() == len(seeded)
    assert compared.rebuilt() == 0  # nothing changed: nothing built again

    with store.transaction() as session:  # a new price from the CRM (ingest's executemany)
        save_desired(session, listing("A06", asking_price=4_250_000), now)
    assert compared.rebuilt() == 1

    with store.transaction() as session:  # sold in the CRM, and on Hemnet
        sale = Sale(price=5_000_000, price_is_public=False, sold_on=A09_SALE.sold_on)
        save_desired(session, listing("A08", status=ListingStatus.SOLD, sale=sale), now)
        record_remote_state(session, "A08", now, is_published=False, is_approved=True, sold=sale)
    assert compared.rebuilt() == 1

    with store.transaction() as session:  # withdrawn in the CRM
        save_desired(session, listing("A05", status=ListingStatus.WITHDRAWN), now)
    assert compared.rebuilt() == 1

    with store.transaction() as session:  # Hemnet finished an image
        image = KnownImage(
            url="https://crm.example/A03/1.jpg",
            image_id="H3-img1",
            state=ImageState.COMPLETED,
            order=1,
        )
        save_known_image(session, "A03", image, now, is_floor_plan=False)
    assert compared.rebuilt() == 1

    with store.transaction() as session:  # Hemnet's checks read: completeness
        save_checks(session, "A06", errors=[], warnings=["few images"], read_for="x", now=now)
    assert compared.rebuilt() == 1

    with store.transaction() as session:  # a change planned, then sent (the outbox)
        op = add_operation(session, PublishListing("A06"), now)
    assert compared.rebuilt() == 1
    with store.transaction() as session:
        record_outcome(session, op.id, OpStatus.SUCCEEDED, now, http_status=200)
    assert compared.rebuilt() == 1

    with store.transaction() as session:  # the last export skipped a record (plain UPDATE)
        record_skipped(session, {"A01": "skipped: price is not a number"}, now)
    assert compared.rebuilt() == 1

    with store.transaction() as session:  # missing from a full export, and held
        mark_missing(session, ["A13"], now)
        add_hold(session, AGENCY.key, "an export would remove everything", ["A13"], now)
    assert compared.rebuilt() == 1
    with store.transaction() as session:  # the operator releases the holds
        for hold in open_holds(session):
            release_hold(session, hold.id, "operator", now)
    assert compared.rebuilt() == 2  # A11 and A13

    with store.transaction() as session:  # only the stored stage: no input of a row
        record_stages(session, {"A01": "sold"})
    assert compared.rebuilt() == 0

    with store.transaction() as session:  # a listing gone from the store altogether
        session.execute(text("DELETE FROM images WHERE listing_key = 'A12'"))
        session.execute(text("DELETE FROM listings WHERE listing_key = 'A12'"))
    assert compared.rebuilt() == 0
    assert "A12" not in (tmp_path / "kept" / STATUS_CSV).read_text(encoding="utf-8")

    with store.read() as session:
        waiting = open_operation_counts(session)
    assert waiting  # else the next step would show nothing
    with store.transaction() as session:  # nothing can be sent: each listing waiting says why
        set_sending_blocked(session, SendingBlocked("Hemnet is down", "wait", now))
    assert compared.rebuilt() == len(waiting)
    with store.transaction() as session:
        set_sending_blocked(session, None)
    assert compared.rebuilt() == len(waiting)
    assert compared.rebuilt() == 0


def test_rows_follow_the_clock_without_building_again(store: Store, now: datetime) -> None:
    """The page's rows from the entries are the rows of a full read, approval wait included."""
    seed_listings(store, now)
    book = StatusBook()
    book.refresh(store, now)
    later = now + timedelta(hours=2)
    assert book.refresh(store, later).rebuilt == 0
    rows = book.rows(store, later, ATTENTION_ORDER)
    assert sorted(rows, key=lambda row: row.listing_key) == read_status_rows(store, later)
    held_first = [row.listing_key for row in rows if row.held]
    assert [row.listing_key for row in rows[: len(held_first)]] == held_first == ["A11"]
    failed = book.rows(store, later, ATTENTION_ORDER, stage="failed", limit=5)
    assert [row.listing_key for row in failed] == ["A10"]


def test_the_book_stores_the_stages_it_computed(store: Store, now: datetime) -> None:
    seeded = seed_listings(store, now)
    book = StatusBook()
    update = book.refresh(store, now)
    assert update.moved == {key: stage.value for key, stage in seeded.items()}
    assert update.summary == {s: n for s, n in update.summary.items() if n}
    assert update.total == len(seeded)
    with store.read() as session:
        stored = dict(session.execute(select(ListingRow.listing_key, ListingRow.stage)).all())
        marks = session.scalar(select(func.count()).select_from(StatusMarkRow))
    assert stored == update.moved
    assert marks == 0  # the stages it stored mark nothing, the marks it read are gone
    again = book.refresh(store, now)
    assert (again.moved, again.rebuilt) == ({}, 0)
    # A status write elsewhere finds the stages stored.
    assert {row.listing_key: row.stage.value for row in status_rows(store, now)} == stored


class Crash(Exception):
    pass


def test_a_refresh_cut_short_loses_nothing(store: Store, now: datetime, tmp_path: Path) -> None:
    """Killed between its writes (after one chunk, before the marks are cleared), the next
    process's book builds what the first one did not finish."""
    seeded = seed_listings(store, now)
    StatusBook().refresh(store, now)
    with store.transaction() as session:
        for key in ("A01", "A06", "A08"):
            save_desired(session, listing(key, asking_price=5_000_000), now)
    writes: list[object] = []

    def dying(job: object) -> None:
        if writes:
            raise Crash
        writes.append(job)
        job()  # type: ignore[operator]

    with pytest.raises(Crash):
        StatusBook(chunk=2).refresh(store, now, dying)  # stored A01 and A06, not A08
    compared = Compared(store, now, tmp_path, StatusBook())
    assert compared.rebuilt() == 3  # its marks were still there: all three again
    assert compared.rebuilt() == 0
    assert len(seeded) == 13


def test_the_page_reads_the_same_rows_from_the_book_as_from_a_full_read(
    store: Store, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_listings(store, now)
    book = StatusBook()
    book.refresh(store, now)
    views = (BookView(book), FullView())
    pages = [view.page(store, now, ATTENTION_ORDER, "") for view in views]
    assert pages[0] == pages[1]
    assert pages[0].complete and pages[0].total == len(seeded)
    assert pages[0].rows[0].listing_key == "A11"  # held first
    assert pages[0].rows[1].stage.value == "failed"  # then those that need the operator

    monkeypatch.setattr(view_module, "PAGE_ROWS", 3)  # beyond it: the first rows, by stage
    pages = [view.page(store, now, ATTENTION_ORDER, "") for view in views]
    assert pages[0] == pages[1]
    assert [row.listing_key for row in pages[0].rows] == ["A11", "A10", "A04"]
    assert not pages[0].complete and pages[0].total == len(seeded)
    pages = [view.page(store, now, ATTENTION_ORDER, "missing") for view in views]
    assert pages[0] == pages[1]
    assert [row.listing_key for row in pages[0].rows] == ["A11", "A12"]


def test_syncd_status_reads_the_entries_and_builds_what_changed_since(
    store: Store, now: datetime
) -> None:
    seed_listings(store, now)
    assert book_rows(store, now) == read_status_rows(store, now)  # nothing refreshed yet
    StatusBook().refresh(store, now)
    with store.transaction() as session:  # changes no refresh has seen
        save_desired(session, listing("A06", asking_price=4_250_000), now)
        session.execute(text("DELETE FROM images WHERE listing_key = 'A12'"))
        session.execute(text("DELETE FROM listings WHERE listing_key = 'A12'"))
        set_sending_blocked(session, SendingBlocked("Hemnet is down", "wait", now))
    later = now + timedelta(hours=1)
    assert book_rows(store, later) == read_status_rows(store, later)


def test_a_new_book_builds_a_listing_that_has_no_entry_even_unmarked(
    store: Store, now: datetime, tmp_path: Path
) -> None:
    seed_listings(store, now)
    StatusBook().refresh(store, now)
    with store.transaction() as session:  # as if a mark had been lost
        session.execute(text("DELETE FROM status_entries WHERE listing_key = 'A03'"))
    compared = Compared(store, now, tmp_path, StatusBook())
    assert compared.rebuilt() == 1
    assert compared.rebuilt() == 0
