"""reconcile when Hemnet's enumeration cannot be trusted whole: one listing unreadable, or
another account's (403). That listing is left alone (never recreated, never forgotten),
the others are reconciled, and the pass does not fail. And poll, when a listing's images
cannot be read: that listing is read again slowly, the others go on.

The unreadable answer comes from the real sandbox, altered on its way in by a transport
(a real server does not send ``"isPublished": "false"`` by itself).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from syncd.config import load_config
from syncd.core.errors import UnreadableAnswerError
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle
from syncd.store.engine import Store
from syncd.usecases.poll import Poller
from syncd.usecases.reconcile import reconcile
from tests.fakes.readback_world import MovableClock, World, a_listing


class Spoil(httpx.BaseTransport):
    """Passes every call to the sandbox; spoils one listing in the listing enumeration
    (``spoiled``), and every image position in the image lists (``spoil_images``)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.spoiled: str | None = None
        self.spoil_images = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        path = request.url.path
        if self.spoiled is not None and path.endswith("/v1/listings"):
            data = json.loads(response.read())
            for item in data["listings"]:
                if item["id"] == self.spoiled:
                    item["publicationStatus"]["isPublished"] = "false"
            return httpx.Response(response.status_code, json=data)
        if self.spoil_images and path.endswith("/images"):
            data = json.loads(response.read())
            for item in data["images"]:
                item["position"] = "first"
            return httpx.Response(response.status_code, json=data)
        return response

    def close(self) -> None:
        self.inner.close()


SANDBOX_OPTIONS = {"image_delay_s": 0.02}
SANDBOX_PER_TEST = True


@pytest.fixture
def spoil() -> Spoil:
    return Spoil()


@pytest.fixture
def world(sandbox: SandboxHandle, store: Store, config_file: Path, spoil: Spoil) -> Iterator[World]:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    with HemnetClient(
        sandbox.base_url, lambda: sandbox.token, timeout_s=10, transport=spoil
    ) as client:
        yield World(sandbox, store, client, load_config(config_file), clock)


def listings_on_hemnet(sandbox: SandboxHandle) -> int:
    return len(sandbox.state()["listings"])


def test_an_unreadable_listing_is_left_alone_and_the_others_reconciled(
    world: World, spoil: Spoil
) -> None:
    bad = world.put_on_hemnet(a_listing("U1", images=0))
    world.put_on_hemnet(a_listing("U2", images=0))
    spoil.spoiled = bad
    before = listings_on_hemnet(world.sandbox)

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.skipped == ["U1"]
    assert report.recreated == [] and report.adopted == []
    assert report.compared == 1  # U2
    assert world.row("U1").hemnet_id == bad  # not forgotten
    assert listings_on_hemnet(world.sandbox) == before  # nothing created
    [problem] = world.client.problems.current()
    assert problem.skipped
    assert problem.field == f"listings[id={bad}].publicationStatus.isPublished"

    spoil.spoiled = None  # Hemnet's answer is normal again: all compared, problem cleared
    again = reconcile(world.store, world.client, world.config, world.clock())
    assert again.skipped == [] and again.compared == 2
    assert world.client.problems.current() == ()


def test_a_listing_of_another_account_is_left_alone_not_recreated(world: World) -> None:
    moved = world.put_on_hemnet(a_listing("F1", images=0))
    world.put_on_hemnet(a_listing("F2", images=0))
    account_b, _ = world.sandbox.create_account("Andra integratören")
    world.sandbox.move_listing(moved, account_b)
    before = listings_on_hemnet(world.sandbox)

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.skipped == ["F1"] and report.recreated == [] and report.compared == 1
    assert world.row("F1").hemnet_id == moved
    assert listings_on_hemnet(world.sandbox) == before


def test_poll_reads_an_unreadable_listing_again_slowly_and_the_others_go_on(
    world: World, spoil: Spoil
) -> None:
    world.put_on_hemnet(a_listing("P1", images=1))
    world.put_on_hemnet(a_listing("P2", images=0))
    spoil.spoil_images = True
    slow = timedelta(seconds=world.config.sync.poll_interval_slow_s)

    poller = Poller(world.store, world.client, world.config, clock=world.clock)
    report = poller.poll_due()

    assert report.polled == 0  # P1 failed; P2 has nothing in progress to follow
    assert world.row("P1").next_poll_at == world.clock() + slow
    assert world.images("P1")[0].state == "in_progress"  # nothing recorded from it
    with pytest.raises(UnreadableAnswerError) as info:
        poller.poll_listing("P1")
    assert info.value.field.endswith(".position") and "first" in str(info.value)
