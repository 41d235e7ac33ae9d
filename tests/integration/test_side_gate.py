"""The daemon's gate between its big side jobs (``runtime.daemon.side_gate``): the status
book holds it while it builds many listings, not for the few a change marks; reconcile's
reading of Hemnet's list waits while it is held, on the real sandbox and scheduler, and
builds the same run once it is free."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from syncd.runtime.daemon.reconcile_slices import ReconcileSlices
from syncd.runtime.daemon.side_gate import SideGate
from syncd.runtime.scheduler import Scheduler
from syncd.runtime.services import build_services
from syncd.sandbox.testing import SandboxHandle
from syncd.status import StatusBook
from syncd.store.engine import Store
from syncd.store.listings import record_failure
from tests.fakes.readback_world import MovableClock, World, a_listing
from tests.fakes.status_listings import seed_listings
from tests.integration.apply_env import open_state, write_config
from tests.integration.scheduler_support import wait_for

SANDBOX_PER_TEST = True


def test_the_book_holds_the_gate_while_it_builds_many_listings_only(
    store: Store, now: datetime
) -> None:
    seeded = seed_listings(store, now)
    gate = SideGate()
    built_while_held: list[int] = []
    book = StatusBook(chunk=2, big=len(seeded) - 1)

    @contextmanager
    def holding() -> Iterator[None]:
        with gate.holding():
            assert not gate.free
            yield
        built_while_held.append(len(seeded))

    first = book.refresh(store, now, gate=holding)
    assert first.rebuilt == len(seeded)
    assert built_while_held == [len(seeded)] and gate.free
    key = sorted(seeded)[0]
    with store.transaction() as session:
        record_failure(session, key, "refused (test)", now, None)
    again = book.refresh(store, now, gate=holding)
    assert again.rebuilt == 1
    assert built_while_held == [len(seeded)]  # one listing: not held


def test_reconciles_begin_waits_while_a_big_build_holds_the_gate(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(sandbox.token + "\n", encoding="utf-8")
    token.chmod(0o600)
    config = write_config(tmp_path, sandbox.base_url, hemnet={"token_file": str(token)})
    store = open_state(config)
    scheduler = Scheduler()
    gate = SideGate()
    order: list[str] = []
    try:
        with build_services(config, store) as services:
            world = World(sandbox, store, services.client, config, MovableClock(datetime.now(UTC)))
            for key in ("G1", "G2"):
                world.put_on_hemnet(a_listing(key, images=0))
            slices = ReconcileSlices(
                store,
                scheduler,
                lambda: services,
                lambda: datetime.now(UTC),
                lambda: None,
                gate=gate,
            )
            scheduler.start()

            def begin() -> None:
                slices.begin()
                order.append("begun")

            sandbox.reset_stats()
            with gate.holding():
                beside = threading.Thread(target=begin)
                beside.start()
                # Hemnet's list read: the begin now waits before keeping its first listing.
                wait_for(lambda: sandbox.stats()["total"] > 0, timeout_s=10)
                order.append("built")
            beside.join(30)
            assert order == ["built", "begun"]
            assert slices.running
    finally:
        scheduler.shutdown(wait=True)
        store.close()
