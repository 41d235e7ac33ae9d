"""The loop with the real Applier: a lost create is adopted, never sent twice, then followed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle
from syncd.store.engine import Store
from syncd.usecases.apply import Applier
from syncd.usecases.poll import Poller
from syncd.usecases.reconcile import reconcile
from tests.fakes.readback_world import MovableClock, World, a_listing, with_sync

SANDBOX_OPTIONS = {"image_delay_s": 0.02}
SANDBOX_PER_TEST = True


@pytest.fixture
def world(sandbox: SandboxHandle, store: Store, config_file: Path) -> Iterator[World]:
    config = with_sync(load_config(config_file), poll_interval_fast_s=5.0)
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    with HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10) as client:
        yield World(sandbox, store, client, config, clock)


def creates(sandbox: SandboxHandle) -> int:
    """Listing and image creates the sandbox answered 201."""
    return sum(
        n
        for k, n in sandbox.stats()["requests"].items()
        if k.startswith("POST /v1/listings ")
        or k.startswith("POST /v1/listings/{listing_id}/images ")
    )


def test_a_lost_create_is_adopted_then_published_without_a_duplicate(world: World) -> None:
    listing = a_listing("E1", images=2)
    world.want(listing)
    hemnet_id = world.put_on_hemnet(listing, record=False)  # Hemnet has it; syncd never heard
    world.wait_for_images(hemnet_id)

    assert creates(world.sandbox) == 3  # the lost create and its two images
    assert reconcile(world.store, world.client, world.config, world.clock()).adopted == ["E1"]
    world.sandbox.reset_stats()
    Applier(world.store, world.client, world.config, clock=world.clock).run_pass()

    assert creates(world.sandbox) == 0  # neither the listing nor its images sent again
    assert [r.hemnet_id for r in world.client.list_listings(external_id="E1")] == [hemnet_id]
    row = world.row("E1")
    assert row.is_published and not row.is_approved  # apply published the adopted listing

    world.sandbox.approve(hemnet_id)
    world.clock.advance(5.0)
    Poller(world.store, world.client, world.config, clock=world.clock).poll_due()
    assert world.row("E1").stage == "visible"
    assert world.row("E1").visible_at == world.clock()
