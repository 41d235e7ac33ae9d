"""Benchmark 2: re-drop of an unchanged 10,000-listing export: API calls (must be 0), and one
price change (must be exactly 1 call).

Both sides start in step (``seed.py``; the sandbox as a process, auto-approve at 0), syncd
with its shipped defaults. Then, each on syncd's use cases in this process:

- the same bytes under a new name;
- other bytes with the same content (trailing blanks the canonical form strips);
- one listing's asking price raised.

Each is taken by the real ``ingest_file``; then apply passes and polls run at every time
something comes due on syncd's clock (a poll, a retry, a removal grace ending), the clock
moving straight to it, until the longest of those timers at the shipped defaults has
passed. The sandbox counts every call in that window. (Reconcile, the periodic full
comparison, is not run: it reads everything on its own schedule whether or not a file
was dropped.) Not a timed test.

    .venv/bin/python bench/redrop.py [--quick] [--listings 10000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import exports
import goals
import machine
from sandbox_process import SandboxProcess, free_port
from seed import seed
from sync_driver import open_config, write_config

from syncd.config import Config
from syncd.core.clock import utc_now
from syncd.hemnet import HemnetClient
from syncd.store.engine import Store
from syncd.usecases.apply import Applier
from syncd.usecases.ingest import ingest_file
from syncd.usecases.poll import Poller


class Clock:
    """syncd's clock for this run: real time until the benchmark moves it on."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def move_to(self, when: datetime) -> None:
        self.offset += max(when - self(), timedelta(0))


def horizon_s(config: Config) -> tuple[float, str]:
    """How long after a drop anything it set off can still come due, at these settings."""
    timers = {
        "removal grace": config.sync.policy.removal_grace_s,
        "slow poll": config.sync.poll_interval_slow_s,
        "fast poll": config.sync.poll_interval_fast_s,
    }
    name = max(timers, key=lambda k: timers[k])
    return timers[name] + 60.0, f"{name} {timers[name]:,.0f} s + 60 s"


def follow(store: Store, client: HemnetClient, config: Config, clock: Clock) -> tuple[int, float]:
    """Apply and poll at every due time up to the horizon; (passes, seconds of real time)."""
    applier = Applier(store, client, config, clock=clock)
    poller = Poller(store, client, config, clock=clock)
    started = time.perf_counter()
    end = clock() + timedelta(seconds=horizon_s(config)[0])
    passes = 0
    while True:
        report = applier.run_pass()
        polled = poller.poll_due()
        passes += 1
        if report.ops_total:
            continue  # it sent something: more may be due at once
        due = [t for t in (report.next_retry_at, polled.next_due_at) if t is not None]
        if clock() >= end:
            break
        # The next timer, or the end of the window: whatever is due by then runs there.
        clock.move_to(min([*due, end]) if due else end)
    return passes, time.perf_counter() - started


def measure(count: int) -> list[str]:
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as scratch:
        folder = Path(scratch)
        port = free_port()
        root_url = f"http://127.0.0.1:{port}"
        config, store = open_config(write_config(folder / "run", root_url + "/v1"))
        source = folder / "export.csv"
        exports.write_csv(source, count, images=1)
        seeded_from = folder / "seed.csv"
        shutil.copyfile(source, seeded_from)
        world = folder / "world.json"
        padded = folder / "export-padded.csv"
        exports.write_csv(padded, count, images=1, padded=True)
        raised = folder / "export-raised.csv"
        exports.write_csv(raised, count, images=1, raised=range(7, 8))
        with store:
            seeded = seed(store, config, seeded_from, world, root_url)
            with (
                SandboxProcess("--auto-approve-after", "0", world=world, port=port) as sandbox,
                HemnetClient(sandbox.base_url, lambda: sandbox.token) as client,
            ):
                clock = Clock()
                window, why = horizon_s(config)
                lines.append(
                    f"{count:,} listings in step "
                    f"(seeded in {seeded.ingest_s + seeded.seed_s:.1f}s); "
                    f"after each drop syncd's clock runs to +{window:,.0f} s ({why}: the longest "
                    "timer at the shipped defaults), stopping at every due time"
                )
                lines.append(
                    f"{'drop':44} {'outcome':>10} {'changed':>8} {'ingest s':>9} "
                    f"{'passes':>7} {'follow s':>9} {'API calls':>10}"
                )
                counted: dict[str, int] = {}
                for name, bytes_from in (
                    ("same bytes, new file name", source),
                    ("other bytes, same content (padded)", padded),
                    ("one listing's asking price raised", raised),
                ):
                    sandbox.reset()
                    dropped = config.paths.inbox / f"redrop-{time.monotonic_ns()}.csv"
                    shutil.copyfile(bytes_from, dropped)
                    started = time.perf_counter()
                    result = ingest_file(store, config, dropped, clock())
                    ingest_s = time.perf_counter() - started
                    passes, follow_s = follow(store, client, config, clock)
                    calls = sandbox.calls()
                    counted[name] = sum(calls.values())
                    lines.append(
                        f"{name:44} {result.outcome:>10} {len(result.changed_keys):>8,} "
                        f"{ingest_s:>9.2f} {passes:>7} {follow_s:>9.2f} {counted[name]:>10,}"
                        + (f"  {calls}" if calls else "")
                    )
    unchanged = counted["same bytes, new file name"] + counted["other bytes, same content (padded)"]
    goals.report(
        f"API calls on re-drop of an unchanged export, {count:,} listings (both kinds)",
        "0",
        f"{unchanged}",
        unchanged == 0,
    )
    price = counted["one listing's asking price raised"]
    goals.report(
        f"API calls for one price change, {count:,} listings",
        "exactly 1",
        f"{price}",
        price == 1,
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 listings")
    parser.add_argument("--listings", type=int)
    args = parser.parse_args()
    count = args.listings or (1_000 if args.quick else 10_000)
    print(machine.describe())
    print("\n".join(measure(count)), flush=True)


if __name__ == "__main__":
    main()
