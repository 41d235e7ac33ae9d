"""The status book: status files written from rows kept between writes are byte for byte
what a full write makes, and only the listings that changed are built again."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from syncd.core.domain import ImageState, KnownImage, ListingStatus, Sale
from syncd.core.stages import Stage
from syncd.status import STATUS_CSV, STATUS_JSON, StatusBook, status_rows, write_status_files
from syncd.store.blocked import SendingBlocked, set_sending_blocked
from syncd.store.engine import Store
from syncd.store.listings import record_remote_state, save_known_image
from tests.fakes.status_listings import A09_SALE, listing, seed_listings
from tests.fakes.store_state import save_desired


class Compared:
    """After each change: a full write and the book's write, side by side."""

    def __init__(self, store: Store, now: datetime, tmp_path: Path) -> None:
        self.store, self.now = store, now
        self.full, self.kept = tmp_path / "full", tmp_path / "kept"
        self.book = StatusBook()

    def rebuilt(self) -> int:
        """Writes both ways; the number of listings the book built again."""
        # The full write first: it stores the stages it computed, as the daemon then does.
        write_status_files(status_rows(self.store, self.now), self.full)
        update = self.book.refresh(self.store, self.now)
        self.book.write_files(self.kept)
        for name in (STATUS_JSON, STATUS_CSV):
            assert (self.kept / name).read_bytes() == (self.full / name).read_bytes(), name
        return update.rebuilt


def test_the_books_files_equal_a_full_write_after_each_change(
    store: Store, now: datetime, tmp_path: Path
) -> None:
    seeded = seed_listings(store, now)
    compared = Compared(store, now, tmp_path)
    assert compared.rebuilt() == len(seeded)
    assert compared.rebuilt() == 0  # nothing changed: nothing built again

    with store.transaction() as session:  # a new price from the CRM
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

    with store.transaction() as session:  # a listing gone from the store altogether
        session.execute(text("DELETE FROM images WHERE listing_key = 'A12'"))
        session.execute(text("DELETE FROM listings WHERE listing_key = 'A12'"))
    assert compared.rebuilt() == 0
    assert "A12" not in (tmp_path / "kept" / STATUS_CSV).read_text(encoding="utf-8")

    with store.transaction() as session:  # nothing can be sent: every listing says why
        set_sending_blocked(session, SendingBlocked("Hemnet is down", "wait", now))
    assert compared.rebuilt() == len(seeded) - 1


def test_the_approval_wait_follows_the_clock_without_building_again(
    store: Store, now: datetime
) -> None:
    seed_listings(store, now)
    book = StatusBook()
    first = {row.listing_key: row for row in book.refresh(store, now).rows}
    later = book.refresh(store, now + timedelta(hours=2))
    assert later.rebuilt == 0
    waited = {row.listing_key: row.awaiting_approval_s for row in later.rows}
    assert first["A07"].stage is Stage.AWAITING_APPROVAL
    assert first["A07"].awaiting_approval_s is not None
    assert waited["A07"] == first["A07"].awaiting_approval_s + 2 * 3600
    expected = [
        dataclasses.replace(r, awaiting_approval_s=waited[r.listing_key]) for r in first.values()
    ]
    assert later.rows == expected


def test_the_book_hands_back_the_stages_to_store_and_writes_none(
    store: Store, now: datetime
) -> None:
    seeded = seed_listings(store, now)
    book = StatusBook()
    update = book.refresh(store, now)
    assert update.moved == {key: stage.value for key, stage in seeded.items()}
    assert book.refresh(store, now).moved == update.moved  # still not stored: it only reads
    status_rows(store, now)  # stores them
    assert book.refresh(store, now).moved == {}
