"""Benchmark 5: a pass over 10,000 listings: ``plan()`` alone, and the real pass.

``plan()`` (pure, in this process) against three states of Hemnet: all in step (the plan is
empty), 1% of listings changed, and nothing known yet (the initial sync). What Hemnet is
known to hold is built from a second parse of the export: equal objects, never the same
ones, as when the store decodes them. Baseline: a loop computing ``Hashes.of`` for the same
listings, the least any comparison by content hash must do.

The real pass (``time_pass``: the daemon's dirty pass up to its first call: read the
store, plan, commit the intents) on a store in step (``seed.py``) after the real
``ingest_file`` of an export in which one listing changed, and after one in which nothing
did. The goal's figure is ``pass_speed.py``'s.

Every figure is the median of the repeats. Not a timed test.

    .venv/bin/python bench/plan_speed.py [--quick] [--listings 10000]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import exports
import machine
from seed import seed
from sync_driver import open_config, write_config

from syncd.config import Config
from syncd.core.clock import utc_now
from syncd.core.domain import (
    Agency,
    Desired,
    Hashes,
    ImageState,
    KnownAgency,
    KnownImage,
    KnownListing,
    Listing,
    MarketState,
)
from syncd.core.plan import PlanPolicy, plan
from syncd.formats import load_mapping, parse_file
from syncd.store.engine import Store
from syncd.usecases.apply.passplan import prepare_pass
from syncd.usecases.apply.report import Tally
from syncd.usecases.ingest import ingest_file

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def listings(count: int) -> list[Listing]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "plan.csv"
        exports.write_csv(path, count)
        found = [r.listing for r in parse_file(path, load_mapping("generic-csv")).records]
    return [listing for listing in found if listing is not None]


def in_step(listing: Listing, n: int) -> KnownListing:
    """What Hemnet has once the listing was sent, its images processed, and it is visible."""
    return KnownListing(
        listing_key=listing.listing_key,
        hemnet_id=str(100_000 + n),
        sent=listing,
        images=tuple(
            KnownImage(
                url=img.url,
                image_id=f"{n}-{img.order}",
                state=ImageState.COMPLETED,
                order=img.order,
                caption=img.caption,
                revision=img.revision,
            )
            for img in listing.images
        ),
        is_published=True,
        is_approved=True,
        market_state=MarketState.FOR_SALE,
        allowed_market_states=frozenset(MarketState),
    )


def median_of(repeats: int, action: Callable[[], object]) -> tuple[float, float, object]:
    """(median, spread max - min) seconds of ``repeats`` runs, and the last result."""
    times: list[float] = []
    result: object = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times) - min(times), result


def time_pass(store: Store, config: Config) -> tuple[float, int]:
    """The daemon's pass up to its first call: read the store, plan, commit the intents
    (``prepare_pass`` as a dirty pass, in its own write transaction). (seconds, ops).

    The one place this benchmark (and latency.py's profile) says what "a pass" is: when the
    daemon's pass changes its entry point, change it here and every figure follows.
    """
    started = time.perf_counter()
    with store.transaction() as session:
        prepared = prepare_pass(session, config, utc_now(), Tally(), set(), full=False)
    return time.perf_counter() - started, len(prepared.jobs)


def measure_plan(count: int, repeats: int) -> tuple[list[str], float]:
    """The table's lines, and plan()'s median with everything in step."""
    wanted = listings(count)
    # The known state from a second parse: equal to what is wanted, not the same objects
    # (comparing an object with itself is the one shortcut a real pass never gets).
    sent = listings(count)
    assert sent == wanted and all(a is not b for a, b in zip(sent, wanted, strict=True))
    agency = wanted[0].agency_key
    agencies = {agency: Agency(agency, "Bench Mäkleri AB")}
    known_agencies = {agency: KnownAgency(agency, "9001")}
    synced = {listing.listing_key: in_step(listing, n) for n, listing in enumerate(sent)}
    changed = dict(synced)
    for n, listing in enumerate(sent[: max(1, count // 100)]):
        changed[listing.listing_key] = dataclasses.replace(
            synced[listing.listing_key],
            sent=dataclasses.replace(listing, title=f"Gammal rubrik {n}"),
        )
    desired = Desired(listings={w.listing_key: w for w in wanted}, agencies=agencies)
    policy = PlanPolicy()
    base, base_spread, _ = median_of(repeats, lambda: [Hashes.of(w) for w in wanted])
    lines = [
        f"plan() over {len(wanted):,} listings, median of {repeats}",
        f"{'case':40} {'median s':>9} {'spread s':>9} {'µs/listing':>11} {'ops':>7} {'ratio':>7}",
        f"{'baseline: Hashes.of per listing':40} {base:>9.3f} {base_spread:>9.3f} "
        f"{base / len(wanted) * 1e6:>11.1f} {'-':>7} {1.0:>6.1f}x",
    ]
    cases: tuple[tuple[str, Mapping[str, KnownListing], Mapping[str, KnownAgency]], ...] = (
        ("all in step (empty plan)", synced, known_agencies),
        ("1% changed (title)", changed, known_agencies),
        ("nothing known (initial sync)", {}, {}),
    )
    in_step_s = 0.0
    for name, known, agency_state in cases:
        median, spread, result = median_of(
            repeats, partial(plan, desired, known, agency_state, policy, NOW)
        )
        in_step_s = in_step_s or median
        ops = len(getattr(result, "ops", ()))
        lines.append(
            f"{name:40} {median:>9.3f} {spread:>9.3f} {median / len(wanted) * 1e6:>11.1f} "
            f"{ops:>7,} {median / base:>6.1f}x"
        )
    return lines, in_step_s


def measure_pass(count: int, repeats: int, plan_alone_s: float) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as scratch_name:
        scratch = Path(scratch_name)
        config, store = open_config(write_config(scratch, "http://127.0.0.1:9/v1"))
        with store:
            export = scratch / "seed.csv"
            exports.write_csv(export, count, images=1)
            seed(store, config, export, scratch / "world.json", "http://127.0.0.1:9")
            idle = [time_pass(store, config)[0] for _ in range(repeats)]
            one: list[float] = []
            ingest: list[float] = []
            ops: set[int] = set()
            for n in range(1, repeats + 1):
                # Listing n changed, n - 1 back as Hemnet has it: one listing to send.
                path = config.paths.inbox / f"change-{n}.csv"
                exports.write_csv(path, count, images=1, changed=range(n, n + 1))
                started = time.perf_counter()
                ingest_file(store, config, path, utc_now())
                ingest.append(time.perf_counter() - started)
                seconds, op_count = time_pass(store, config)
                one.append(seconds)
                ops.add(op_count)
    median = statistics.median(one)
    # The goal's figure is pass_speed.py's (the same pass, its own runs): not judged twice.
    return [
        f"the real pass at {count:,} listings (store read + plan + intents, time_pass), "
        f"median of {repeats}; plan() alone in step {plan_alone_s:.3f}s",
        f"  nothing changed:                        {statistics.median(idle):.3f}s",
        f"  one listing changed (after its ingest): {median:.3f}s  ops {sorted(ops)}; "
        f"the ingest before it {statistics.median(ingest):.2f}s",
    ]


def measure(count: int, repeats: int = 5) -> list[str]:
    lines, plan_alone = measure_plan(count, repeats)
    return lines + measure_pass(count, repeats, plan_alone)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 listings, 3 repeats")
    parser.add_argument("--listings", type=int)
    args = parser.parse_args()
    count = args.listings or (2_000 if args.quick else 10_000)
    print(machine.describe())
    print("\n".join(measure(count, 3 if args.quick else 5)))


if __name__ == "__main__":
    main()
