"""Status rows over a real state database: stages, images, approval wait, written stage, gauges."""

from __future__ import annotations

from datetime import datetime, timedelta

from syncd import metrics
from syncd.core.stages import Stage, next_action
from syncd.status import (
    HOLD_ACTION,
    listing_detail,
    read_status_rows,
    stage_summary,
    status_rows,
)
from syncd.store.blocked import SendingBlocked, set_sending_blocked
from syncd.store.engine import Store
from syncd.store.listings import get_listing
from tests.fakes.status_listings import AWAITING_SINCE, IDENTITY_NUMBER, seed_listings


def test_each_seeded_listing_shows_its_stage(store: Store, now: datetime) -> None:
    expected = seed_listings(store, now)
    rows = status_rows(store, now)
    assert {row.listing_key: row.stage for row in rows} == expected
    assert [row.listing_key for row in rows] == sorted(expected)
    for row in rows:
        assert row.next_action == (HOLD_ACTION if row.held else next_action(row.stage))


def test_a_hold_shows_beside_the_stage_and_hides_no_fact(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    rows = {row.listing_key: row for row in status_rows(store, now)}
    held = rows["A11"]
    assert held.held and held.stage is Stage.MISSING  # still published: what Hemnet shows
    assert held.hemnet_url == "https://www.hemnet.example/bostad/H11"
    assert held.file_record()["held"] is True and held.file_record()["stage"] == "missing"
    assert [key for key, row in rows.items() if row.held] == ["A11"]


def test_waiting_changes_say_why_they_are_not_sent(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    assert all(row.not_sent is None for row in status_rows(store, now))
    since = now - timedelta(minutes=3)
    with store.transaction() as session:
        set_sending_blocked(
            session, SendingBlocked("Hemnet cannot be reached: refused", "wait it out", since)
        )
    rows = {row.listing_key: row for row in status_rows(store, now)}
    waiting = rows["A02"]  # a create is planned for it
    assert waiting.not_sent == "Hemnet cannot be reached: refused (since 2026-03-01 11:57 UTC)"
    assert waiting.next_action == "nothing can be sent now: wait it out"
    assert waiting.file_record()["not_sent"] == waiting.not_sent
    # Listings with nothing waiting have nothing to say about it.
    assert rows["A08"].not_sent is None and rows["A08"].next_action == next_action(Stage.VISIBLE)
    detail = listing_detail(store, "A02", now)
    assert detail is not None and detail.row.not_sent == waiting.not_sent
    assert detail.sending_remedy == "wait it out" and detail.open_ops == 1
    with store.transaction() as session:
        set_sending_blocked(session, None)
    assert all(row.not_sent is None for row in status_rows(store, now))


def test_images_are_counted_over_what_the_crm_wants(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    rows = {row.listing_key: row for row in status_rows(store, now)}
    processing, failed, visible, new = rows["A03"], rows["A04"], rows["A08"], rows["A01"]
    assert (processing.images_completed, processing.images_total) == (1, 2)
    assert (failed.images_completed, failed.images_total, failed.images_failed) == (1, 2, 1)
    assert (visible.images_completed, visible.images_total, visible.images_failed) == (2, 2, 0)
    assert (new.images_completed, new.images_total) == (0, 2)


def test_awaiting_approval_shows_url_and_how_long(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    rows = {row.listing_key: row for row in status_rows(store, now)}
    waiting = rows["A07"]
    assert waiting.approval_url == "https://portal.example/listings/H7/approve"
    assert waiting.awaiting_approval_s == AWAITING_SINCE.total_seconds()
    assert not waiting.visible
    visible = rows["A08"]
    assert visible.visible
    assert visible.awaiting_approval_s is None
    assert visible.hemnet_url == "https://www.hemnet.example/bostad/H8"


def test_failed_listing_carries_its_last_error(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    rows = {row.listing_key: row for row in status_rows(store, now)}
    assert rows["A10"].last_error is not None
    assert "livingArea" in rows["A10"].last_error
    assert rows["A05"].blockers == ("asking price is missing (required for for_sale)",)
    assert rows["A01"].address == "Götgatan 12, 11846 Stockholm"
    # a listing the CRM dropped still shows where it is, from what Hemnet was sent
    assert rows["A12"].address == "Parkgatan 15, 90326 Umeå"


def test_stage_is_written_back_and_read_rows_write_nothing(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    read_status_rows(store, now)
    with store.read() as session:
        assert get_listing(session, "A07").stage is None  # type: ignore[union-attr]
    status_rows(store, now)
    with store.read() as session:
        row = get_listing(session, "A07")
        assert row is not None
        assert row.stage == Stage.AWAITING_APPROVAL.value
        assert row.updated_at == now - AWAITING_SINCE  # a derived stage is not a new fact


def test_gauges_count_stages_and_the_oldest_approval_wait(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    status_rows(store, now + timedelta(hours=1))
    registry = metrics.REGISTRY
    assert registry.get_sample_value("syncd_listings", {"stage": "visible"}) == 1
    assert registry.get_sample_value("syncd_listings", {"stage": "new"}) == 1
    oldest = registry.get_sample_value("syncd_oldest_awaiting_approval_seconds")
    assert oldest == (AWAITING_SINCE + timedelta(hours=1)).total_seconds()


def test_stage_summary_keeps_lifecycle_order(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    summary = stage_summary(status_rows(store, now))
    assert list(summary)[:3] == ["new", "creating", "images_processing"]
    assert sum(summary.values()) == 13


def test_detail_merges_events_and_operations_newest_first(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    detail = listing_detail(store, "A10", now)
    assert detail is not None
    assert detail.row.stage is Stage.FAILED
    assert detail.history[0].source == "operation"
    assert detail.history[0].http_status == 422
    assert detail.remedy is not None and "correct the listing in the CRM" in detail.remedy
    waiting = listing_detail(store, "A07", now)
    assert waiting is not None
    assert sorted(h.source for h in waiting.history) == ["event", "operation"]
    assert waiting.desired is not None
    assert IDENTITY_NUMBER not in repr(waiting.desired)
    assert listing_detail(store, "NOPE", now) is None


def test_detail_lists_images_with_hemnet_messages(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    detail = listing_detail(store, "A04", now)
    assert detail is not None
    failed = [img for img in detail.images if img.state == "failed"]
    assert len(failed) == 1
    assert failed[0].state_message == "image could not be decoded (not a JPEG)"
    assert all(img.wanted for img in detail.images)
