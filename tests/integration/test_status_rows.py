"""Status rows over a real state database: stages, images, approval wait, written stage, gauges."""

from __future__ import annotations

from datetime import datetime, timedelta

from syncd import metrics
from syncd.progress import Stage, next_action
from syncd.status import listing_detail, read_status_rows, stage_summary, status_rows
from syncd.store.engine import Store
from syncd.store.listings import get_listing
from tests.fakes.status_listings import AWAITING_SINCE, IDENTITY_NUMBER, seed_listings


def test_each_seeded_listing_shows_its_stage(store: Store, now: datetime) -> None:
    expected = seed_listings(store, now)
    rows = status_rows(store, now)
    assert {row.listing_key: row.stage for row in rows} == expected
    assert [row.listing_key for row in rows] == sorted(expected)
    for row in rows:
        assert row.next_action == next_action(row.stage)


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
