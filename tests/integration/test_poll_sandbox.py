"""Poller against the real sandbox and a real SQLite file: images, approval, visibility."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd import metrics
from syncd.config import load_config
from syncd.core.ops import PublishListing
from syncd.core.stages import FAST_APPROVAL_WINDOW
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle
from syncd.store import events, listings
from syncd.store.engine import Store
from syncd.usecases.poll import Poller
from tests.fakes.readback_world import MovableClock, World, a_listing, with_sync

FAST_S = 5.0
SLOW_S = 300.0
UNREACHABLE = "https://unreachable.example.test/front.jpg"


# Slow enough that the first poll still sees images in progress.
SANDBOX_OPTIONS = {"image_delay_s": 0.4}


@pytest.fixture
def world(sandbox: SandboxHandle, store: Store, config_file: Path) -> Iterator[World]:
    config = with_sync(
        load_config(config_file), poll_interval_fast_s=FAST_S, poll_interval_slow_s=SLOW_S
    )
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    with HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10) as client:
        yield World(sandbox, store, client, config, clock)


def poller(world: World) -> Poller:
    return Poller(world.store, world.client, world.config, clock=world.clock)


def kinds(world: World, key: str) -> list[str]:
    with world.store.read() as session:
        return [e.kind for e in reversed(events.events_of_listing(session, key))]


def test_images_in_progress_are_followed_until_completed(world: World) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("P1", images=2))
    assert {img.state for img in world.images("P1")} == {"in_progress"}
    start = world.clock()

    first = poller(world).poll_due()  # nothing scheduled it: found as unscheduled follow-up
    assert first.polled == 1
    assert world.row("P1").next_poll_at == start + timedelta(seconds=FAST_S)
    assert first.next_due_at == start + timedelta(seconds=FAST_S)

    world.wait_for_images(hemnet_id)
    assert poller(world).poll_due().polled == 0  # not due yet on syncd's clock
    world.clock.advance(FAST_S)
    second = poller(world).poll_due()

    assert (second.polled, second.changed) == (1, 1)
    assert [img.state for img in world.images("P1")] == ["completed", "completed"]
    row = world.row("P1")
    assert row.next_poll_at is None and second.next_due_at is None  # nothing left to follow
    assert row.stage == "ready_to_publish"
    assert kinds(world, "P1") == ["images_processed"]
    # What is known now lets the next plan publish.
    assert any(isinstance(op, PublishListing) for op in world.plan().ops)


def test_a_failed_image_gets_its_message_once(
    world: World, sandbox: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("P2", images=1, urls=(UNREACHABLE,)))
    world.wait_for_images(hemnet_id)
    sandbox.reset_stats()
    with caplog.at_level(logging.WARNING, logger="syncd.usecases.poll"):
        poller(world).poll_due()
        poller(world).poll_listing("P2")  # a webhook later: nothing new to say

    by_url = {img.url: img for img in world.images("P2")}
    failed = by_url[UNREACHABLE]
    assert failed.state == "failed"
    assert failed.state_message == "Could not download the image: the host is unreachable"
    assert by_url[a_listing("P2").images[0].url].state == "completed"
    assert kinds(world, "P2") == ["image_failed", "images_processed"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "image 2 of P2 failed: Could not download the image: the host is unreachable"
    ]
    single_reads = [k for k in sandbox.stats()["requests"] if "/images/{image_id}" in k]
    assert sum(sandbox.stats()["requests"][k] for k in single_reads) == 1
    assert world.row("P2").stage == "image_failed"


def test_published_listing_awaits_approval_then_turns_visible(
    world: World, sandbox: SandboxHandle
) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("P3"))
    world.wait_for_images(hemnet_id)
    poller(world).poll_listing("P3")
    published = world.client.publish(hemnet_id)
    assert published.is_published and not published.is_approved
    published_at = world.clock.advance(60)
    with world.store.transaction() as session:  # what apply records from the publish answer
        listings.record_remote_state(
            session, "P3", published_at, is_published=True, is_approved=False
        )

    poller(world).poll_due()  # unscheduled, published and not approved: followed
    row = world.row("P3")
    assert row.stage == "awaiting_approval"
    assert row.approval_url and row.approval_url.endswith(f"/portal/listings/{hemnet_id}/approve")
    assert row.published_at == published_at
    assert row.next_poll_at == published_at + timedelta(seconds=FAST_S)

    world.clock.advance(FAST_APPROVAL_WINDOW.total_seconds() + 1)
    poller(world).poll_due()
    waited = (world.clock() - published_at).total_seconds()
    assert metrics.REGISTRY.get_sample_value("syncd_oldest_awaiting_approval_seconds") == waited
    assert world.row("P3").next_poll_at == world.clock() + timedelta(seconds=SLOW_S)

    drops_before = metrics.REGISTRY.get_sample_value("syncd_drop_to_visible_seconds_count") or 0
    sandbox.approve(hemnet_id)
    visible_at = world.clock.advance(SLOW_S)
    report = poller(world).poll_due()

    row = world.row("P3")
    assert report.changed == 1
    assert row.is_published and row.is_approved and row.visible_at == visible_at
    assert row.public_url and row.stage == "visible" and row.next_poll_at is None
    assert kinds(world, "P3") == ["images_processed", "visible"]  # publishing was apply's
    drops = metrics.REGISTRY.get_sample_value("syncd_drop_to_visible_seconds_count")
    assert drops == drops_before + 1
    assert metrics.REGISTRY.get_sample_value("syncd_oldest_awaiting_approval_seconds") == 0


def test_webhook_ids_lead_to_the_listing(world: World) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("P4"))
    world.wait_for_images(hemnet_id)
    p = poller(world)
    assert p.poll_event("no-such-id", "P4") is None  # an id we do not know: not trusted
    assert world.images("P4")[0].state == "in_progress"
    assert p.poll_event(hemnet_id, None) == "P4"
    assert world.images("P4")[0].state == "completed"


def test_a_failing_read_is_retried_soon_and_others_go_on(
    world: World, sandbox: SandboxHandle
) -> None:
    world.put_on_hemnet(a_listing("P5"))
    sandbox.set_faults(fault_503=1.0)
    try:
        report = poller(world).poll_due()
    finally:
        sandbox.set_faults(fault_503=0.0)
    assert report.polled == 0
    assert world.row("P5").next_poll_at == world.clock() + timedelta(seconds=FAST_S)
    assert world.images("P5")[0].state == "in_progress"


def test_a_listing_without_a_hemnet_id_is_not_polled(world: World) -> None:
    world.want(a_listing("P6"))
    with world.store.transaction() as session:
        listings.set_next_poll_at(session, "P6", world.clock(), world.clock())
    assert poller(world).poll_due().polled == 0
    assert world.row("P6").next_poll_at is None


def test_an_image_known_by_another_id_is_matched_by_its_url(world: World) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("P7", images=2))
    world.wait_for_images(hemnet_id)
    real_ids = {img.url: img.image_id for img in world.client.list_images(hemnet_id)}
    first_url = a_listing("P7", images=2).images[0].url
    with world.store.transaction() as session:
        row = listings.known_images(session, "P7")[0]
        row.hemnet_image_id = "stale-id"

    poller(world).poll_listing("P7")

    images = world.images("P7")
    assert {img.url: img.hemnet_image_id for img in images} == real_ids
    assert images[0].url == first_url and images[0].state == "completed"
    assert "image_missing" not in kinds(world, "P7")


def test_an_image_gone_from_hemnet_is_forgotten(world: World) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("P8", images=2))
    world.wait_for_images(hemnet_id)
    gone = world.images("P8")[1]
    world.client.delete_image(hemnet_id, str(gone.hemnet_image_id))

    poller(world).poll_listing("P8")

    assert [img.url for img in world.images("P8")] == [a_listing("P8", images=2).images[0].url]
    assert "image_missing" in kinds(world, "P8")
    assert [type(op).__name__ for op in world.plan().ops if op.listing_key == "P8"] == ["AddImage"]
