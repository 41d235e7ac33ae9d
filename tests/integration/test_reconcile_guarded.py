"""reconcile when Hemnet's enumeration cannot be trusted whole: one listing unreadable, or
another account's (403). That listing is left alone (never recreated, never forgotten),
the others are reconciled, and the pass does not fail.

The unreadable answer comes from the real sandbox, altered on its way in by a transport
(a real server does not send ``"isPublished": "false"`` by itself).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from syncd.config import load_config
from syncd.hemnet import HemnetClient
from syncd.reconcile import reconcile
from syncd.sandbox.testing import SandboxHandle, serve_sandbox
from syncd.store.engine import Store
from tests.fakes.readback_world import MovableClock, World, a_listing


class Spoil(httpx.BaseTransport):
    """Passes every call to the sandbox; in the listing enumeration, spoils one listing."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.spoiled: str | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.spoiled is None or not request.url.path.endswith("/v1/listings"):
            return response
        data = json.loads(response.read())
        for item in data["listings"]:
            if item["id"] == self.spoiled:
                item["publicationStatus"]["isPublished"] = "false"
        return httpx.Response(response.status_code, json=data)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with serve_sandbox(image_delay_s=0.02) as handle:
        yield handle


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
