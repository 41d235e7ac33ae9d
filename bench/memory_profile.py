"""Where the daemon's memory goes at N listings: each big step measured alone, in one process.

Seeds N listings in step (``seed.py``, as latency.py does), then runs, one after the other:

- ``read_listing_states``: every listing's state, decoded and kept (the pass's peak);
- ``full pass``: ``prepare_pass(full=True)`` (read every listing's state, plan, commit), the
  listing cache emptied first, as in a daemon's first pass;
- ``listing cache``: what ``LISTINGS`` still holds after that pass (retained, not a peak);
- ``status book``: ``StatusBook.refresh`` and ``write_files`` (status.json, status.csv),
  first over every listing (all marked after seeding), then with one listing changed;
- ``ingest``: ``ingest_file`` of the same N-listing export with one listing changed;
- ``reconcile begin``: ``ReconcileRun.begin`` against the seeded sandbox (Hemnet's list
  of every listing and which listing syncd follows for each);
- ``reconcile run held``: what a run still holds between its slices (retained RSS, not a
  peak), after its begin and its first 1,000 listings;
- ``bare parse``: ``csv.reader`` over the export, the floor latency.py names at 100,000.

Per step: the peak RSS above the RSS before it (VmHWM, reset through
``/proc/self/clear_refs``), the peak and the retained size tracemalloc saw, and the top
allocation sites of what the step still holds when it ends (by file:line, and by
module). tracemalloc's own bookkeeping inflates RSS (about 2x); the RSS column of a run
with ``--no-trace`` is the daemon's.

    python bench/memory_profile.py [--listings 100000] [--no-trace]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ctypes
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import exports
from sandbox_process import SandboxProcess, free_port
from seed import seed
from sync_driver import open_config, write_config

from syncd.config import Config
from syncd.core.clock import utc_now
from syncd.hemnet.client import HemnetClient
from syncd.status.book import StatusBook
from syncd.store.engine import Store
from syncd.store.listing_states import LISTINGS, ListingCache, read_listing_states
from syncd.store.listings import record_failure
from syncd.store.status_entries import stored_listing_keys
from syncd.usecases.apply.passplan import prepare_pass
from syncd.usecases.apply.report import Tally
from syncd.usecases.ingest import ingest_file
from syncd.usecases.reconcile import ReconcileRun

MB = 1024 * 1024
TOP = 5


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """VmHWM back to the current RSS (Linux: writing 5 to clear_refs); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


@dataclass
class Step:
    name: str
    rss_before_mb: float
    rss_peak_mb: float  # VmHWM during the step (process-wide if the reset was refused)
    traced_peak_mb: float
    traced_kept_mb: float
    sites: list[tuple[str, float]]
    modules: list[tuple[str, float]]


def _sites(snapshot: tracemalloc.Snapshot) -> tuple[list[tuple[str, float]], list[str]]:
    stats = snapshot.statistics("lineno")
    sites = [
        (f"{_short(s.traceback[0].filename)}:{s.traceback[0].lineno}", s.size / MB)
        for s in stats[:TOP]
    ]
    return sites, [s.traceback[0].filename for s in stats]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/syncd/", "/bench/"):
        if marker in filename:
            cut = filename.rindex(marker) + len(marker)
            return ("syncd/" if marker == "/syncd/" else "") + filename[cut:]
    if "/lib/python" in filename:  # the standard library: lib/python3.X/json/decoder.py
        return filename[filename.index("/", filename.rindex("/lib/python") + 5) + 1 :]
    return filename


def _modules(snapshot: tracemalloc.Snapshot) -> list[tuple[str, float]]:
    by: dict[str, float] = {}
    for stat in snapshot.statistics("filename"):
        name = _short(stat.traceback[0].filename)
        module = name.split("/")[0] if not name.startswith("syncd/") else name
        by[module] = by.get(module, 0.0) + stat.size / MB
    return sorted(by.items(), key=lambda kv: -kv[1])[:TOP]


def _trim() -> None:
    """Give the heap freed so far back to the system (glibc), so a step's RSS starts from
    what is still held, not from what an earlier step freed."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(name: str, work: Callable[[], object], trace: bool) -> Step:
    """Run ``work`` alone; what it returns stays alive through the snapshot, then goes."""
    _trim()
    before = _status_kb("VmRSS") / 1024
    reset = _reset_peak()
    if trace:
        tracemalloc.start(1)
    started = time.perf_counter()
    kept = work()
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM") / 1024
    traced_peak = traced_kept = 0.0
    sites: list[tuple[str, float]] = []
    modules: list[tuple[str, float]] = []
    if trace:
        traced_kept, traced_peak = (v / MB for v in tracemalloc.get_traced_memory())
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        tracemalloc.stop()
        sites, _ = _sites(snapshot)
        modules = _modules(snapshot)
    step = Step(
        name + ("" if reset else " (peak: whole process)"),
        before,
        peak,
        traced_peak,
        traced_kept,
        sites,
        modules,
    )
    print(
        f"{step.name}: {seconds:.1f}s, RSS {before:.0f} -> peak {peak:.0f} MiB "
        f"(+{peak - before:.0f}); traced peak {traced_peak:.0f} MiB, kept {traced_kept:.0f} MiB",
        flush=True,
    )
    del kept
    return step


def _bare_parse(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as file:
        return sum(1 for _ in csv.reader(file))


def seed_into(scratch: Path, count: int, port: int) -> None:
    """The seeded store and world under ``scratch`` (run in a child process: building the
    sandbox's world takes gigabytes at 100,000 that the measuring process must not hold)."""
    config_path = write_config(scratch / "run", f"http://127.0.0.1:{port}/v1")
    config, store = open_config(config_path)
    export = scratch / "seed.csv"
    exports.write_csv(export, count, images=1)
    started = time.perf_counter()
    with store:
        seeded = seed(store, config, export, scratch / "world.json", f"http://127.0.0.1:{port}")
    print(f"seeded {seeded.listings:,} listings in {time.perf_counter() - started:.0f}s")


def run(count: int, trace: bool) -> list[Step]:
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="syncd-mem-") as scratch_name:
        scratch = Path(scratch_name)
        port = free_port()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--seed-into",
                str(scratch),
                "--listings",
                str(count),
                "--port",
                str(port),
            ],
            check=True,
        )
        config, store = open_config(scratch / "run" / "syncd.toml")
        world = scratch / "world.json"
        _trim()
        print(f"measuring from RSS {_status_kb('VmRSS') / 1024:.0f} MiB", flush=True)
        # The seeded export, archived by ingest: the floor latency.py names is its bare parse.
        bare = next(config.paths.archive.rglob("seed*"))
        steps.append(measure("bare parse (csv.reader)", lambda: _bare_parse(bare), trace))

        def states() -> object:
            with store.read() as session:
                return read_listing_states(session, ListingCache())

        # What the pass holds at its peak: every listing's state, decoded.
        step = measure("read_listing_states (states kept)", states, trace)
        steps.append(step)

        def full_pass() -> object:
            with store.transaction() as session:
                return prepare_pass(session, config, utc_now(), Tally(), set(), full=True)

        step = measure("full pass (prepare_pass full=True)", full_pass, trace)
        steps.append(step)
        # What the pass left in the cache: measured as what dropping it gives back.
        cache_rss = _status_kb("VmRSS") / 1024
        held = len(LISTINGS._decoded)
        LISTINGS._keep({})
        gc.collect()
        freed = cache_rss - _status_kb("VmRSS") / 1024
        print(f"listing cache: {held:,} decoded listings; dropping them frees {freed:.0f} MiB RSS")

        book = StatusBook()

        def status_write() -> object:
            book.refresh(store, utc_now())
            book.write_files(store, config.paths.state_dir)
            return None

        # The seeded listings are all marked (a store's first refresh builds every one).
        step = measure("status book, first (refresh all + write_files)", status_write, trace)
        steps.append(step)
        LISTINGS._keep({})
        with store.read() as session:
            key = next(stored_listing_keys(session))
        with store.transaction() as session:
            record_failure(session, key, "refused (bench)", utc_now(), None)
        step = measure("status book, 1 changed (refresh + write_files)", status_write, trace)
        steps.append(step)

        changed = scratch / "changed.csv"
        exports.write_csv(changed, count, images=1, changed=range(0, 1))
        taken = config.paths.inbox / changed.name
        changed.rename(taken)
        step = measure(
            "ingest (ingest_file, 1 changed)",
            lambda: ingest_file(store, config, taken, utc_now()),
            trace,
        )
        steps.append(step)
        LISTINGS._keep({})

        with (
            store,
            SandboxProcess(world=world, port=port) as sandbox,
            HemnetClient(sandbox.base_url, lambda: sandbox.token) as client,
        ):
            step = measure(
                "reconcile begin (ReconcileRun.begin)",
                lambda: ReconcileRun.begin(store, client, config, utc_now()),
                trace,
            )
            steps.append(step)
            steps.append(_reconcile_held(store, client, config))

    return steps


# Listings a held run compares before its retained size is read: its slices read each
# listing afresh and keep only findings, so this many show whether that grows.
HELD_COMPARED = 1000


def _reconcile_held(store: Store, client: HemnetClient, config: Config) -> Step:
    """What a reconcile run holds between its slices (for its whole length, hours at
    100,000 listings and 10 requests/s): RSS retained after begin and HELD_COMPARED
    listings compared, the run alive; a retained size in the peak column, not a peak."""
    _trim()
    before = _status_kb("VmRSS") / 1024
    run = ReconcileRun.begin(store, client, config, utc_now())
    total = run.remaining
    while not run.done and total - run.remaining < HELD_COMPARED:
        run.step()
    _trim()
    held = _status_kb("VmRSS") / 1024
    looked_at = total - run.remaining
    del run
    _trim()
    # What dropping the run gives back: the RSS before it may still hold the heap an
    # earlier step left fragmented, which the run then reuses.
    freed = held - _status_kb("VmRSS") / 1024
    name = f"reconcile run held (begin + {looked_at:,} looked at; retained, not a peak)"
    print(
        f"{name}: RSS {before:.0f} -> {held:.0f} MiB (+{held - before:.0f}); "
        f"dropping the run frees {freed:.0f} MiB",
        flush=True,
    )
    return Step(name, before, held, 0.0, 0.0, [], [])


def table(steps: list[Step]) -> str:
    lines = [
        "| step | RSS before (MiB) | RSS peak (MiB) | peak - before | traced peak | traced kept |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.name} | {s.rss_before_mb:.0f} | {s.rss_peak_mb:.0f} | "
        f"{s.rss_peak_mb - s.rss_before_mb:.0f} | {s.traced_peak_mb:.0f} | "
        f"{s.traced_kept_mb:.0f} |"
        for s in steps
    ]
    for s in steps:
        if s.sites:
            lines.append(f"\n{s.name}: kept at its end, top sites (MiB)")
            lines += [f"  {size:7.1f}  {site}" for site, size in s.sites]
            lines.append("  by module: " + ", ".join(f"{m} {v:.1f}" for m, v in s.modules))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--no-trace", action="store_true", help="RSS only (no tracemalloc)")
    parser.add_argument("--seed-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_into is not None:
        seed_into(args.seed_into, args.listings, args.port)
        return
    print(f"pid {os.getpid()}, {args.listings:,} listings")
    print(table(run(args.listings, trace=not args.no_trace)))


if __name__ == "__main__":
    main()
