"""Benchmark 3: drop-to-call and drop-to-visible latency with the real daemon.

``syncd run`` and ``syncd sandbox`` (auto-approve at 0) run as processes. After the initial
sync of the export, 20 times: one listing's title changes and the export is renamed into
the inbox; the time until the sandbox holds the new title is drop-to-call. Then 20 times
a new listing is added; the time until syncd's state shows it visible is drop-to-visible.
Prints p50 and p95, and the write calls the sandbox answered in the runs (one PATCH per
changed listing; create, image and publish per new one). Then, with the daemon stopped,
the same runs through a bare loop on the same sandbox (``latency_floor.py``) as the
same-run baseline. Not a timed test.

    .venv/bin/python bench/latency.py [--quick] [--listings 10000] [--runs 20]

Each figure is printed as soon as it is measured (a long run that is stopped keeps what it
had). Most of the time is the initial sync before the measurement; --quick uses 200
listings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import exports
import machine
from latency_floor import floor
from sandbox_process import SandboxProcess
from sqlalchemy import func, select
from sync_driver import write_config

from syncd.config import load_config
from syncd.hemnet import HemnetClient
from syncd.store import migrate
from syncd.store.engine import Store, open_store
from syncd.store.listings import get_listing
from syncd.store.tables import ListingRow

POLL_S = 0.02


def _drop(config_inbox: Path, scratch: Path, count: int, changed: range, n: int) -> float:
    """Write the export beside the inbox, rename it in; the time it became complete."""
    staging = scratch / f"export-{n}.csv"
    exports.write_csv(staging, count, images=1, changed=changed)
    target = config_inbox / staging.name
    os.rename(staging, target)
    return time.monotonic()


def _wait(check: Callable[[], bool], timeout_s: float, what: str, poll_s: float = POLL_S) -> float:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not seen within {timeout_s:.0f}s")
        time.sleep(poll_s)
    return time.monotonic()


def _visible_count(store: Store) -> int:
    # A count, not every row: the wait must not compete with the daemon for the CPU.
    with store.read() as session:
        query = select(func.count()).where(ListingRow.visible_at.is_not(None))
        return int(session.scalar(query) or 0)


def _writes(sandbox: SandboxProcess) -> Counter[str]:
    """API calls other than reads since the last reset (the bench's own polling is GETs)."""
    return Counter({k: n for k, n in sandbox.calls().items() if not k.startswith("GET ")})


def _visible(store: Store, key: str) -> bool:
    """syncd has seen Hemnet show the listing (published, approved, isVisible read back)."""
    with store.read() as session:
        row = get_listing(session, key)
        return row is not None and row.visible_at is not None


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered):.2f}s  p95 {p95:.2f}s  "
        f"min {ordered[0]:.2f}s  max {ordered[-1]:.2f}s  (n={len(ordered)})"
    )


def _say(line: str) -> None:
    print(line, flush=True)


def measure(count: int, runs: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="syncd-bench-") as scratch_name,
        SandboxProcess("--auto-approve-after", "0", "--image-delay", "0.05") as sandbox,
    ):
        scratch = Path(scratch_name)
        config_path = write_config(scratch / "run", sandbox.base_url, fast_poll_s=0.5)
        config = load_config(config_path)
        migrate.upgrade(config.paths.database)
        env = {**os.environ, "SYNCD_HEMNET_TOKEN": sandbox.token}
        log = (scratch / "daemon.log").open("wb")
        syncd = Path(sys.executable).with_name("syncd")
        daemon = subprocess.Popen(
            [str(syncd), "--config", str(config_path), "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            with (
                open_store(config.paths.database) as store,
                HemnetClient(sandbox.base_url, lambda: sandbox.token) as client,
            ):
                started = time.monotonic()
                _drop(config.paths.inbox, scratch, count, range(0), 0)
                _wait(
                    lambda: _visible_count(store) == count,
                    timeout_s=max(600, count * 1.0),
                    what="initial sync",
                    poll_s=1.0,
                )
                _say(
                    f"initial sync through the daemon: {count:,} listings (1 image each) "
                    f"visible after {time.monotonic() - started:.1f}s"
                )
                to_call: list[float] = []
                writes: Counter[str] = Counter()
                for n in range(1, runs + 1):
                    key = f"C{n}"
                    with store.read() as session:
                        row = get_listing(session, key)
                        assert row is not None and row.hemnet_id is not None
                        hemnet_id = row.hemnet_id
                    wanted = f"Lägenhet {n} (ändrad 1)"
                    sandbox.reset()
                    dropped = _drop(config.paths.inbox, scratch, count, range(1, n + 1), n)
                    seen = _wait(
                        lambda h=hemnet_id, w=wanted: w in str(client.get_listing(h).raw),
                        timeout_s=120,
                        what=f"update of {key}",
                    )
                    to_call.append(seen - dropped)
                    writes += _writes(sandbox)
                    _say(f"  drop-to-call run {n}: {seen - dropped:.2f}s")
                _say(f"drop-to-call (one changed listing):  {_percentiles(to_call)}")
                _say(f"  writes sent in the {runs} runs: {dict(writes)}")
                to_visible: list[float] = []
                writes = Counter()
                for n in range(1, runs + 1):
                    key = f"C{count + n - 1}"
                    sandbox.reset()
                    dropped = _drop(
                        config.paths.inbox, scratch, count + n, range(1, runs + 1), runs + n
                    )
                    seen = _wait(
                        lambda k=key: _visible(store, k),
                        timeout_s=120,
                        what=f"{key} visible",
                    )
                    to_visible.append(seen - dropped)
                    writes += _writes(sandbox)
                    _say(f"  drop-to-visible run {n}: {seen - dropped:.2f}s")
                _say(f"drop-to-visible (one new listing):   {_percentiles(to_visible)}")
                _say(f"  writes sent in the {runs} runs: {dict(writes)}")
                with store.read() as session:
                    template = get_listing(session, "C0")
                    assert template is not None and template.hemnet_id is not None
                daemon.terminate()
                daemon.wait(timeout=30)
                bare_call, bare_visible = floor(client, scratch, count, runs, template.hemnet_id)
                _say(
                    "baseline, same run and sandbox, daemon stopped (bench/latency_floor.py: "
                    "watchdog + csv.reader diff + direct httpx calls, nothing stored; it takes "
                    "the file at its rename event, where syncd first waits for size and mtime "
                    "to stand still for watch.settle_s, 0.2 s here):"
                )
                _say(f"  bare drop-to-call:     {_percentiles(bare_call)}")
                _say(f"  bare drop-to-visible:  {_percentiles(bare_visible)}")
                _say(
                    f"syncd / bare at p50: drop-to-call "
                    f"{statistics.median(to_call) / statistics.median(bare_call):.1f}x, "
                    f"drop-to-visible "
                    f"{statistics.median(to_visible) / statistics.median(bare_visible):.1f}x"
                )
        finally:
            if daemon.poll() is None:
                daemon.terminate()
                daemon.wait(timeout=30)
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 listings, 5 runs")
    parser.add_argument("--listings", type=int)
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    count = args.listings or (200 if args.quick else 10_000)
    runs = args.runs or (5 if args.quick else 20)
    _say(machine.describe())
    _say(
        "settings: watch settle_s 0.2, rescan 1 s, poll_interval_fast_s 0.5; sandbox "
        "image delay 0.05 s, auto-approve after 0 s; changes seen by polling every 20 ms; "
        "visible = syncd has read back isVisible (visible_at set)"
    )
    measure(count, runs)


if __name__ == "__main__":
    main()
