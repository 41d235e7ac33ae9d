"""Reconcile in slices, against the real sandbox: each slice reads its listings afresh,
every call takes its request from the budget apply uses, and on the daemon's real
scheduler a change stored meanwhile reaches Hemnet after one slice, not after the run."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.core.domain import Listing
from syncd.hemnet import HemnetClient
from syncd.runtime.daemon.reconcile_slices import RECONCILE_SLICE, ReconcileSlices
from syncd.runtime.scheduler import Scheduler
from syncd.runtime.services import Services, build_services
from syncd.sandbox.testing import SandboxHandle
from syncd.store import listings
from syncd.store.engine import Store
from syncd.usecases.reconcile import Drift, ReconcileRun, reconcile
from tests.fakes.readback_world import MovableClock, World, a_listing
from tests.integration.apply_env import open_state, write_config

SANDBOX_OPTIONS = {"image_delay_s": 0.02}
SANDBOX_PER_TEST = True


@pytest.fixture
def world(sandbox: SandboxHandle, store: Store, config_file: Path) -> Iterator[World]:
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
    with HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10) as client:
        yield World(sandbox, store, client, load_config(config_file), clock)


def one_listing() -> Callable[[], bool]:
    """A slice's ``may_call`` that lets one listing through."""
    allowed = iter([True])
    return lambda: next(allowed, False)


def test_a_run_in_slices_reads_each_listing_afresh_and_leaves_one_changed_meanwhile(
    world: World,
) -> None:
    for key in ("S1", "S2", "S3", "S4"):
        world.put_on_hemnet(a_listing(key, images=0))
    world.client.update_listing(world.created["S2"], {"listing": {"title": "Ändrad på Hemnet"}})
    started = world.clock()
    run = ReconcileRun.begin(world.store, world.client, world.config, started)
    steps = 0
    while True:
        steps += 1
        if run.step(may_call=one_listing()):
            break
        if steps == 2:
            # Between two slices, apply records a new title for S4 (it is on Hemnet now).
            world.client.update_listing(world.created["S4"], {"listing": {"title": "Ny"}})
            with world.store.transaction() as session:
                sent = dataclasses.replace(a_listing("S4", images=0), title="Ny")
                listings.record_sent(session, "S4", world.clock.advance(1), sent=sent)
    report = run.finish()
    assert steps == 4
    assert report.drift == [
        Drift("S2", "title", crm="Ljus trea", sent="Ljus trea", hemnet="Ändrad på Hemnet")
    ]
    # Hemnet's list, read before, still says the old title: S4 is left to the next run.
    assert report.changed_meanwhile == ["S4"]
    assert report.compared == 3


def test_every_call_of_a_reconcile_takes_a_request_from_the_budget(
    sandbox: SandboxHandle, store: Store, config_file: Path
) -> None:
    calls: list[str] = []
    spent: list[int] = []
    clock = MovableClock(datetime.now(UTC).replace(microsecond=0))

    def observe(method: str, template: str, status: int | None, seconds: float) -> None:
        calls.append(f"{method} {template}")

    with HemnetClient(
        sandbox.base_url, lambda: sandbox.token, timeout_s=10, observer=observe
    ) as client:
        world = World(sandbox, store, client, load_config(config_file), clock)
        for key in ("B1", "B2", "B3"):
            world.put_on_hemnet(a_listing(key, images=1))
        world.want(a_listing("B4", images=1))
        world.put_on_hemnet(a_listing("B4", images=1), record=False)  # adopted: more calls
        calls.clear()
        reconcile(store, client, world.config, clock(), spend=lambda: spent.append(1))
    assert len(calls) >= 5  # the list, the images of each listing, the adoption's
    assert len(spent) == len(calls)


def test_the_daemons_services_hand_reconcile_the_budget_apply_uses(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sandbox.base_url, hemnet=token_file(sandbox, tmp_path))
    store = open_state(config)
    try:
        with build_services(config, store) as services:
            assert services.applier.budget is services.budget
    finally:
        store.close()


def token_file(sandbox: SandboxHandle, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "token"
    path.write_text(sandbox.token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return {"token_file": str(path)}


# Many listings, few requests a second: the whole run takes seconds.
LISTINGS = 40
RATE = 20.0
# What a store job queued meanwhile may wait: one slice and a request's turn, well inside
# the one-second goal from drop to first call, however many listings reconcile has left.
BOUND_S = 1.0


def patches(sandbox: SandboxHandle) -> int:
    counts: dict[str, int] = sandbox.stats()["requests"]
    return sum(n for name, n in counts.items() if name.startswith("PATCH "))


def test_a_change_stored_during_a_reconcile_reaches_hemnet_within_the_bound(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    hemnet = {"requests_per_second": RATE, "burst": 3, **token_file(sandbox, tmp_path)}
    config = write_config(tmp_path, sandbox.base_url, hemnet=hemnet)
    store = open_state(config)
    scheduler = Scheduler()
    services: Services = build_services(config, store)
    try:
        world = World(sandbox, store, services.client, config, MovableClock(datetime.now(UTC)))
        for n in range(LISTINGS):
            world.put_on_hemnet(a_listing(f"L{n:03}", images=0))
        assert services.applier.run_pass().ops_succeeded == 0  # Hemnet has what syncd wants
        slices = ReconcileSlices(
            store, scheduler, lambda: services, lambda: datetime.now(UTC), lambda: None
        )
        scheduler.every(RECONCILE_SLICE, slices.slice, 3600.0)
        scheduler.start()
        began = time.monotonic()
        slices.begin()
        waits: list[float] = []
        for n in (LISTINGS - 1, LISTINGS - 2):
            before = patches(sandbox)
            changed = a_listing(f"L{n:03}", images=0, asking_price=3_100_000 + n)
            dropped = time.monotonic()

            def ingest_and_pass(changed: Listing = changed) -> None:
                # What the daemon's ingest of a dropped file and the pass after it do, on
                # the store worker, queued behind the slice that is running.
                world.want(changed)
                services.applier.run_pass()

            scheduler.submit("ingest and its pass", ingest_and_pass)
            deadline = time.monotonic() + 10
            while patches(sandbox) == before:
                assert time.monotonic() < deadline, "the change never reached Hemnet"
                time.sleep(0.01)
            waits.append(time.monotonic() - dropped)
            assert slices.running  # it went between two slices, not after the run
        deadline = time.monotonic() + 30
        while slices.running:
            assert time.monotonic() < deadline, "reconcile did not finish"
            time.sleep(0.05)
        whole_s = time.monotonic() - began
        assert whole_s > 2 * BOUND_S  # the run is long...
        assert max(waits) < BOUND_S  # ...and a change stored meanwhile does not wait for it
    finally:
        scheduler.shutdown(wait=True)
        services.close()
        store.close()


def test_a_slice_ends_when_the_budget_has_no_request_free(world: World) -> None:
    for key in ("T1", "T2", "T3"):
        world.put_on_hemnet(a_listing(key, images=0))
    run = ReconcileRun.begin(world.store, world.client, world.config, world.clock())
    assert not run.step(may_call=lambda: False)  # no token: no listing looked at
    assert run.remaining == 3
    assert run.step(until=time.monotonic() + timedelta(seconds=10).total_seconds())
    assert run.finish().compared == 3


def test_a_reconcile_waiting_for_a_request_gives_up_when_the_daemon_stops(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # One request every ten seconds, and none free: begin would wait that long for it.
    hemnet = {"requests_per_second": 0.1, "burst": 1, **token_file(sandbox, tmp_path)}
    config = write_config(tmp_path, sandbox.base_url, hemnet=hemnet)
    store = open_state(config)
    scheduler = Scheduler()
    try:
        with build_services(config, store) as services:
            assert services.budget.try_take()
            slices = ReconcileSlices(
                store, scheduler, lambda: services, lambda: datetime.now(UTC), lambda: None
            )
            scheduler.pause()  # stopping
            started = time.monotonic()
            slices.begin()
            assert time.monotonic() - started < 5
            assert not slices.running
    finally:
        store.close()


def test_an_operators_reconcile_is_answered_when_its_run_ends(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sandbox.base_url, hemnet=token_file(sandbox, tmp_path))
    store = open_state(config)
    scheduler = Scheduler()
    answers: list[tuple[int, int | None, str | None]] = []
    try:
        with build_services(config, store) as services:
            world = World(sandbox, store, services.client, config, MovableClock(datetime.now(UTC)))
            for key in ("Q1", "Q2"):
                world.put_on_hemnet(a_listing(key, images=0))
            slices = ReconcileSlices(
                store,
                scheduler,
                lambda: services,
                lambda: datetime.now(UTC),
                lambda: None,
                job="reconcile",
                answer=lambda rid, report, why: answers.append(
                    (rid, None if report is None else report.compared, why)
                ),
            )
            scheduler.every("reconcile", slices.begin, 3600.0, reads_only=True)
            scheduler.every(RECONCILE_SLICE, slices.slice, 3600.0)
            scheduler.start()
            slices.answer_when_done(7)
            deadline = time.monotonic() + 10
            while not answers:
                assert time.monotonic() < deadline, "never answered"
                time.sleep(0.02)
            assert answers == [(7, 2, None)]
            assert slices.awaited() == set()

            sandbox.set_faults(fault_500=1.0)  # Hemnet's list cannot be read
            slices.answer_when_done(8)
            deadline = time.monotonic() + 10
            while len(answers) < 2:
                assert time.monotonic() < deadline, "a failed run was never answered"
                time.sleep(0.02)
            rid, compared, why = answers[1]
            assert (rid, compared) == (8, None) and why
    finally:
        sandbox.set_faults(fault_500=0.0)
        scheduler.shutdown(wait=True)
        store.close()
