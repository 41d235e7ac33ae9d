"""reconcile against the real sandbox and a real SQLite file: adopt, recreate, drift."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.core.domain import LISTING_FIELDS, Address, ImageState, KnownImage, Listing
from syncd.core.ops import AddImage, CreateListing, PublishListing, UpdateListing
from syncd.hemnet import HemnetClient
from syncd.hemnet.payload import listing_body
from syncd.sandbox.testing import SandboxHandle
from syncd.store import events, listings
from syncd.store.engine import Store
from syncd.usecases.reconcile import Drift, drift_of, reconcile
from tests.fakes.readback_world import MovableClock, World, a_listing

# One sandbox per test: reconcile compares everything Hemnet has.
SANDBOX_OPTIONS = {"image_delay_s": 0.02}
SANDBOX_PER_TEST = True


@pytest.fixture
def world(sandbox: SandboxHandle, store: Store, config_file: Path) -> Iterator[World]:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    with HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10) as client:
        yield World(sandbox, store, client, load_config(config_file), clock)


def kinds(world: World, key: str) -> list[str]:
    with world.store.read() as session:
        return [e.kind for e in reversed(events.events_of_listing(session, key))]


def ops_for(world: World, key: str) -> list[object]:
    return [op for op in world.plan().ops if op.listing_key == key]


def test_a_lost_create_is_adopted_not_duplicated(world: World) -> None:
    listing = a_listing("R1", images=3)
    world.want(listing)
    hemnet_id = world.put_on_hemnet(listing, record=False)  # the answer never reached us
    world.wait_for_images(hemnet_id)
    assert any(isinstance(op, CreateListing) for op in ops_for(world, "R1"))

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.adopted == ["R1"] and report.recreated == [] and report.drift == []
    row = world.row("R1")
    assert row.hemnet_id == hemnet_id
    images = world.images("R1")
    assert [img.url for img in images] == [img.url for img in listing.images]
    assert all(img.hemnet_image_id and img.state == "completed" for img in images)
    assert kinds(world, "R1") == ["adopted"]
    # Nothing is created, uploaded or updated again: Hemnet's body already matches the CRM.
    assert [type(op) for op in ops_for(world, "R1")] == [PublishListing]
    assert len(world.client.list_listings(external_id="R1")) == 1


def test_two_listings_with_our_key_keep_the_oldest_and_report(world: World) -> None:
    listing = a_listing("R2", images=0)
    world.want(listing)
    first = world.put_on_hemnet(listing, record=False)
    second = world.put_on_hemnet(listing, record=False)

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.adopted == ["R2"] and world.row("R2").hemnet_id == first
    assert [(d.listing_key, d.kept, d.others) for d in report.duplicates] == [
        ("R2", first, (second,))
    ]
    assert kinds(world, "R2") == ["adopted", "duplicate_on_hemnet"]
    # Never deleted automatically: Hemnet still has both.
    assert {r.hemnet_id for r in world.client.list_listings(external_id="R2")} == {first, second}


def test_a_listing_unknown_here_is_reported_and_left_alone(world: World) -> None:
    stranger = a_listing("NOT-OURS", images=0)
    hemnet_id = world.client.create_listing(listing_body(stranger, world.agency_id())).hemnet_id

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.unknown_on_hemnet == [hemnet_id]
    assert world.row("NOT-OURS") is None
    assert world.client.get_listing(hemnet_id).external_id == "NOT-OURS"


def believe_on_hemnet(world: World, listing: Listing, hemnet_id: str) -> None:
    """The store says Hemnet has the listing under ``hemnet_id``; Hemnet does not."""
    world.want(listing)
    with world.store.transaction() as session:
        listings.record_sent(
            session, listing.listing_key, world.clock(), hemnet_id=hemnet_id, sent=listing
        )
        for img in listing.images:
            known = KnownImage(img.url, f"img-{img.order}", ImageState.COMPLETED, img.order)
            listings.save_known_image(
                session, listing.listing_key, known, world.clock(), is_floor_plan=False
            )
        listings.record_remote_state(
            session, listing.listing_key, world.clock(), is_published=True, is_approved=True
        )


def test_a_listing_gone_from_hemnet_is_created_again(world: World) -> None:
    believe_on_hemnet(world, a_listing("R3", images=1), "987654")
    assert not any(isinstance(op, CreateListing) for op in ops_for(world, "R3"))

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.recreated == ["R3"] and report.adopted == []
    row = world.row("R3")
    assert row.hemnet_id is None and row.sent_json is None and not row.is_published
    assert world.images("R3") == []
    assert kinds(world, "R3")[-1] == "recreate"
    planned = ops_for(world, "R3")
    assert isinstance(planned[0], CreateListing)
    assert any(isinstance(op, AddImage) for op in planned)


def test_a_followed_listing_gone_while_another_has_our_key_is_adopted(world: World) -> None:
    listing = a_listing("R8", images=1)
    believe_on_hemnet(world, listing, "987654")
    other = world.put_on_hemnet(listing, record=False)

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.recreated == [] and report.adopted == ["R8"]
    assert world.row("R8").hemnet_id == other
    assert kinds(world, "R8")[-2:] == ["gone_from_hemnet", "adopted"]
    assert not any(isinstance(op, CreateListing) for op in ops_for(world, "R8"))


def test_drift_is_reported_three_ways_and_repaired(world: World) -> None:
    crm = a_listing("R4", images=1)
    hemnet_id = world.put_on_hemnet(crm)
    # The CRM moved on (a new price not sent yet) while someone edited Hemnet directly.
    world.want(dataclasses.replace(crm, asking_price=3_100_000))
    with world.sandbox.client() as http:
        http.patch(
            f"/listings/{hemnet_id}",
            json={"listing": {"title": "Ändrad på Hemnet", "askingPrice": 2_500_000}},
        ).raise_for_status()
    sent_before = world.row("R4").sent_json

    dry = reconcile(world.store, world.client, world.config, world.clock(), repair=False)
    assert dry.dry_run and world.row("R4").sent_json == sent_before and kinds(world, "R4") == []
    report = reconcile(world.store, world.client, world.config, world.clock())

    assert sorted(report.drift, key=lambda d: d.field) == [
        Drift("R4", "asking_price", crm=3_100_000, sent=3_000_000, hemnet=2_500_000),
        Drift("R4", "title", crm="Ljus trea", sent="Ljus trea", hemnet="Ändrad på Hemnet"),
    ]
    assert dry.drift == report.drift
    assert report.repaired == ["R4"]
    assert kinds(world, "R4") == ["drift"]
    updates = [op for op in ops_for(world, "R4") if isinstance(op, UpdateListing)]
    assert [sorted(op.changed) for op in updates] == [["asking_price", "title"]]
    assert updates[0].listing.title == "Ljus trea"

    # Once the update is through (as apply would record it), nothing drifts any more.
    world.client.update_listing(
        hemnet_id, {"listing": {"title": "Ljus trea", "askingPrice": 3_100_000}}
    )
    with world.store.transaction() as session:
        row = listings.get_listing(session, "R4")
        assert row is not None
        desired = listings.desired_listing(row)
        listings.record_sent(session, "R4", world.clock(), sent=desired)
    assert reconcile(world.store, world.client, world.config, world.clock()).drift == []
    assert not any(isinstance(op, UpdateListing) for op in ops_for(world, "R4"))


def test_publication_state_is_refreshed(world: World) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("R5", images=1))
    world.wait_for_images(hemnet_id)
    world.client.publish(hemnet_id)
    world.sandbox.approve(hemnet_id)

    reconcile(world.store, world.client, world.config, world.clock())

    row = world.row("R5")
    assert row.is_published and row.is_approved and row.visible_at == world.clock()
    assert row.stage == "visible"
    assert "visible" in kinds(world, "R5")


def test_a_dry_run_writes_nothing(world: World) -> None:
    listing = a_listing("R6", images=1)
    world.want(listing)
    world.put_on_hemnet(listing, record=False)
    believe_on_hemnet(world, a_listing("R7", images=0), "555555")

    report = reconcile(world.store, world.client, world.config, world.clock(), repair=False)

    assert (report.adopted, report.recreated) == (["R6"], ["R7"])
    assert world.row("R6").hemnet_id is None and world.row("R7").hemnet_id == "555555"
    assert kinds(world, "R6") == [] and kinds(world, "R7") == []


def test_drift_of_compares_with_what_was_sent() -> None:
    sent = {"asking_price": 1, "title": "a", "address": Address("X 1")}
    base = {name: None for name in LISTING_FIELDS if name not in sent}
    crm = {**base, **sent, "title": "b"}
    hemnet = {**base, **sent, "asking_price": 2, "living_area": Decimal("10.0")}
    found = drift_of("U", crm, {**base, **sent}, hemnet)
    assert [(d.field, d.crm, d.sent, d.hemnet) for d in found] == [
        ("asking_price", 1, 1, 2),
        ("living_area", None, None, Decimal("10.0")),
    ]
    # Nothing sent yet (adopted): compared with the CRM instead.
    assert [d.field for d in drift_of("U", crm, None, hemnet)] == [
        "asking_price",
        "living_area",
        "title",
    ]
    assert drift_of("U", None, None, hemnet) == []
