"""Reconcile's reading of Hemnet's list, beside the store worker, waits while a dropped
file's ingest (or the pass after it) is queued or running, on the real scheduler and
sandbox: it shares the interpreter and the request budget with them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from syncd.runtime.daemon.reconcile_slices import ReconcileSlices
from syncd.runtime.scheduler import Scheduler
from syncd.runtime.services import build_services
from syncd.runtime.store_queue import Turn
from syncd.sandbox.testing import SandboxHandle
from tests.fakes.readback_world import MovableClock, World, a_listing
from tests.integration.apply_env import open_state, write_config
from tests.integration.scheduler_support import hold_worker

SANDBOX_PER_TEST = True


def test_reconciles_begin_waits_for_an_ingest_on_the_store_worker(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text(sandbox.token + "\n", encoding="utf-8")
    token.chmod(0o600)
    config = write_config(tmp_path, sandbox.base_url, hemnet={"token_file": str(token)})
    store = open_state(config)
    scheduler = Scheduler()
    order: list[str] = []
    try:
        with build_services(config, store) as services:
            world = World(sandbox, store, services.client, config, MovableClock(datetime.now(UTC)))
            for key in ("G1", "G2"):
                world.put_on_hemnet(a_listing(key, images=0))
            slices = ReconcileSlices(
                store, scheduler, lambda: services, lambda: datetime.now(UTC), lambda: None
            )
            scheduler.start()
            release, done = hold_worker(
                scheduler,
                "ingest export.csv",
                turn=Turn.FIRST,
                then=lambda: order.append("ingest done"),
            )

            def begin() -> None:
                slices.begin()
                order.append("begun")

            beside = threading.Thread(target=begin)
            beside.start()
            release.set()
            done.result(timeout=5)
            beside.join(30)
            assert order == ["ingest done", "begun"]
            assert slices.running
    finally:
        scheduler.shutdown(wait=True)
        store.close()
