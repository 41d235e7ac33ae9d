"""A reconcile run keeps only a glimpse of each listing of Hemnet's list, and finds exactly
what it found when it kept the whole list: against the real sandbox and a real store (both
engines), with drift, a lost create, a listing gone and a stranger planted at known places
among a few thousand listings in step; the stored outcome equal to reading every listing
whole; and a run that goes on while Hemnet's list changes under it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.core.domain import Listing
from syncd.hemnet import HemnetClient, wire
from syncd.hemnet.payload import listing_body
from syncd.sandbox.testing import SandboxHandle
from syncd.store import listings
from syncd.store.engine import Store, open_store
from syncd.store.location import Database
from syncd.usecases import reconcile as reconcile_package
from syncd.usecases.reconcile import Drift, ReconcileRun, reconcile
from tests.fakes.readback_world import AGENCY, MovableClock, World, a_listing
from tests.fakes.store_state import save_desired

SANDBOX_PER_TEST = True

# Pages of Hemnet's list (100 a page), and the findings planted among the first 300. (Each
# listing costs a create and an image list: 1,000 took half a minute an engine on the
# loaded machine.)
MANY = 400
TITLE_AT, PRICE_AT, AREA_AT = "P0007", "P0134", "P0299"
LOST_CREATE, GONE = "P0199", "P0250"


class Calls:
    """The client's calls, as (method, path template)."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    def __call__(self, method: str, template: str, status: int | None, seconds: float) -> None:
        self.made.append((method, template))

    def count(self, method: str, template: str) -> int:
        return self.made.count((method, template))


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def world(sandbox: SandboxHandle, store: Store, config_file: Path, calls: Calls) -> Iterator[World]:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    with HemnetClient(
        sandbox.base_url, lambda: sandbox.token, timeout_s=10, observer=calls
    ) as client:
        yield World(sandbox, store, client, load_config(config_file), clock)


def key(n: int) -> str:
    return f"P{n:04d}"


def put_many(world: World, wanted: list[Listing], *, record: bool = True) -> dict[str, str]:
    """Create the listings on the sandbox, recording them as apply would (one transaction
    for all: a few thousand listings in seconds)."""
    agency = world.agency_id()
    created = {
        listing.listing_key: world.client.create_listing(listing_body(listing, agency)).hemnet_id
        for listing in wanted
    }
    world.created.update(created)
    now = world.clock()
    with world.store.transaction() as session:
        listings.save_agency(session, AGENCY, now)
        for listing in wanted:
            save_desired(session, listing, now)
            if record:
                hemnet_id = created[listing.listing_key]
                listings.record_sent(
                    session, listing.listing_key, now, hemnet_id=hemnet_id, sent=listing
                )
    return created


def plant(world: World, count: int) -> str:
    """``count`` listings in step on both sides but for the planted findings; the stranger's
    Hemnet id."""
    wanted = [a_listing(key(n), images=0) for n in range(count)]
    in_step = [w for w in wanted if w.listing_key not in {LOST_CREATE, GONE}]
    put_many(world, in_step)
    put_many(world, [w for w in wanted if w.listing_key == LOST_CREATE], record=False)
    gone = next(w for w in wanted if w.listing_key == GONE)
    world.want(gone)
    with world.store.transaction() as session:
        # The store follows a Hemnet listing that Hemnet does not have.
        listings.record_sent(session, GONE, world.clock(), hemnet_id="987654321", sent=gone)
    update = world.client.update_listing
    update(world.created[TITLE_AT], {"listing": {"title": "Ändrad på Hemnet"}})
    update(world.created[PRICE_AT], {"listing": {"askingPrice": 2_500_000}})
    update(world.created[AREA_AT], {"listing": {"livingArea": 80}})
    stranger = a_listing("NOT-OURS", images=0)
    return world.client.create_listing(listing_body(stranger, world.agency_id())).hemnet_id


def test_a_run_over_pages_of_listings_finds_exactly_what_was_planted(
    world: World, calls: Calls
) -> None:
    stranger = plant(world, MANY)
    calls.made.clear()

    report = reconcile(world.store, world.client, world.config, world.clock())

    assert report.drift == [
        Drift(TITLE_AT, "title", crm="Ljus trea", sent="Ljus trea", hemnet="Ändrad på Hemnet"),
        Drift(PRICE_AT, "asking_price", crm=3_000_000, sent=3_000_000, hemnet=2_500_000),
        Drift(
            AREA_AT,
            "living_area",
            crm=Decimal("72.5"),
            sent=Decimal("72.5"),
            hemnet=Decimal("80.0"),
        ),
    ]
    assert report.repaired == [TITLE_AT, PRICE_AT, AREA_AT]
    assert report.adopted == [LOST_CREATE]
    assert report.recreated == [GONE]
    assert report.unknown_on_hemnet == [stranger]
    assert (report.duplicates, report.conflicts, report.skipped) == ([], [], [])
    assert report.compared == MANY - 2  # the lost create is adopted, the gone one forgotten
    # Only what the glimpses could not settle is read whole: the three drifted listings,
    # the one missing from the list (confirmed gone) and the one adopted.
    assert calls.count("GET", wire.LISTING) == 5


def test_a_run_stores_what_reading_every_listing_whole_stores(
    world: World, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not isinstance(database, Path):
        pytest.skip("the stored rows are compared as SQLite files")
    plant(world, 300)
    copy = tmp_path / "whole.db"
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    now = world.clock.advance(60)

    glimpsed = reconcile(world.store, world.client, world.config, now)
    monkeypatch.setattr(reconcile_package, "is_in_step", lambda *_: False)
    whole_store = open_store(copy)
    try:
        whole = reconcile(whole_store, world.client, world.config, now)
    finally:
        whole_store.close()

    assert glimpsed == whole
    assert glimpsed.drift and glimpsed.adopted and glimpsed.recreated
    assert _rows(database) == _rows(copy)


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def test_a_run_goes_on_while_hemnets_list_changes_under_it(
    world: World, sandbox: SandboxHandle, calls: Calls
) -> None:
    count = 250  # three pages
    put_many(world, [a_listing(key(n), images=0) for n in range(count)])
    world.client.update_listing(world.created[key(200)], {"listing": {"title": "Ändrad"}})
    other_account, _ = sandbox.create_account("Another integrator")
    changed: list[str] = []

    def change_once(method: str, template: str, status: int | None, seconds: float) -> None:
        calls(method, template, status, seconds)
        if (method, template) == ("GET", wire.LISTINGS) and not changed:
            # After the first page: a listing on it leaves the account (every one after it
            # moves up a place, so the next page starts one listing later), and a new one
            # is created.
            changed.append("moved")
            sandbox.move_listing(world.created[key(5)], other_account)
            stranger = a_listing("NEW-1", images=0)
            changed.append(
                world.client.create_listing(listing_body(stranger, world.agency_id())).hemnet_id
            )

    with HemnetClient(
        sandbox.base_url, lambda: sandbox.token, timeout_s=10, observer=change_once
    ) as client:
        run = ReconcileRun.begin(world.store, client, world.config, world.clock())
        _finish(run, sandbox, world.created[key(200)], other_account)
    report = run.finish()

    # Nothing believed gone that Hemnet still has: the listing the shifted page left out
    # was asked for by id; the two that left the account are left alone, not recreated.
    assert report.recreated == [] and report.adopted == []
    assert report.skipped == [key(5), key(200)]
    assert report.drift == []
    assert report.compared == count - 2
    assert set(report.unknown_on_hemnet) <= {changed[1]}
    # Read whole: the listing the shifted page left out (found, so compared) and the
    # drifted one (another account's by then).
    assert calls.count("GET", wire.LISTING) == 2

    again = reconcile(world.store, world.client, world.config, world.clock())
    assert again.unknown_on_hemnet == [changed[1]]
    assert again.skipped == [key(5), key(200)] and again.recreated == []


def _finish(run: ReconcileRun, sandbox: SandboxHandle, moved: str, account: str) -> None:
    """The run's slices; between two, a drifted listing leaves the account too."""
    assert not run.step(may_call=lambda: run.remaining > 50)
    sandbox.move_listing(moved, account)
    while not run.step():
        pass
