"""A poll with many listings awaiting approval reads Hemnet's list of listings once, and
stores byte for byte what reading each listing on its own stores."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.hemnet import HemnetClient
from syncd.hemnet.models import RemoteListing
from syncd.sandbox.testing import SandboxHandle
from syncd.store import listings, migrate
from syncd.store.engine import Store, open_store
from syncd.usecases.poll import Poller
from tests.fakes.readback_world import MovableClock, World, a_listing, with_sync

FAST_S = 5.0
KEYS = ("E1", "E2", "E3", "E4")
SANDBOX_PER_TEST = True


class OneByOne(Poller):
    """The poll as it was: every listing read on its own."""

    def _enumerate(self, awaiting: int, on_hemnet: int) -> Mapping[str, RemoteListing]:
        return {}


@pytest.fixture
def world(sandbox: SandboxHandle, tmp_path: Path, config_file: Path) -> Iterator[World]:
    config = with_sync(load_config(config_file), poll_interval_fast_s=FAST_S)
    path = tmp_path / "a" / "syncd.db"
    migrate.upgrade(path)
    store = open_store(path)
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    with HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10) as client:
        yield World(sandbox, store, client, config, clock)
    store.close()


def published_awaiting_approval(world: World) -> None:
    """Each listing published on Hemnet, as apply records the publish answer; two of them
    approved by the broker since."""
    for key in KEYS:
        hemnet_id = world.put_on_hemnet(a_listing(key))
        world.wait_for_images(hemnet_id)
        Poller(world.store, world.client, world.config, clock=world.clock).poll_listing(key)
        world.client.publish(hemnet_id)
        with world.store.transaction() as session:
            listings.record_remote_state(
                session, key, world.clock(), is_published=True, is_approved=False
            )
    for key in KEYS[:2]:
        world.sandbox.approve(world.created[key])
    world.clock.advance(FAST_S)


def api_calls(sandbox: SandboxHandle) -> dict[str, int]:
    counts: dict[str, int] = sandbox.stats()["requests"]
    return {route: n for route, n in counts.items() if " /v1/" in route}


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def test_one_list_stores_what_one_read_per_listing_stores(
    world: World, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    published_awaiting_approval(world)
    copy = tmp_path / "b" / "syncd.db"
    copy.parent.mkdir()
    with sqlite3.connect(tmp_path / "a" / "syncd.db") as a, sqlite3.connect(copy) as b:
        a.backup(b)
    copy.chmod(0o600)
    other: Store = open_store(copy)
    try:
        sandbox.reset_stats()
        listed = Poller(world.store, world.client, world.config, clock=world.clock).poll_due()
        assert api_calls(sandbox) == {"GET /v1/listings 200": 1}  # four listings, one page
        sandbox.reset_stats()
        one_by_one = OneByOne(other, world.client, world.config, clock=world.clock).poll_due()
        assert api_calls(sandbox) == {"GET /v1/listings/{listing_id} 200": 4}
    finally:
        other.close()

    assert (listed.polled, listed.changed) == (one_by_one.polled, one_by_one.changed)
    assert listed.polled == len(KEYS)
    assert dump(tmp_path / "a" / "syncd.db") == dump(copy)
    for key in KEYS:
        row = world.row(key)
        assert row.is_approved == (key in KEYS[:2])
        assert row.approval_url and row.approval_url.endswith("/approve")
        if not row.is_approved:
            assert row.next_poll_at == world.clock() + timedelta(seconds=FAST_S)


def test_a_few_listings_are_read_one_by_one(world: World, sandbox: SandboxHandle) -> None:
    hemnet_id = world.put_on_hemnet(a_listing("F1"))
    world.wait_for_images(hemnet_id)
    poller = Poller(world.store, world.client, world.config, clock=world.clock)
    poller.poll_listing("F1")
    world.client.publish(hemnet_id)
    with world.store.transaction() as session:
        listings.record_remote_state(
            session, "F1", world.clock(), is_published=True, is_approved=False
        )
    sandbox.reset_stats()
    poller.poll_due()
    # One listing: a page of the list would cost as much as reading it.
    assert api_calls(sandbox) == {"GET /v1/listings/{listing_id} 200": 1}
