"""Benchmark 5: ``plan()`` over 10,000 listings (pure, in this process).

Three states of Hemnet: all in step (the plan is empty), 1% of listings changed, and nothing
known yet (the initial sync). Baseline: a loop computing ``Hashes.of`` for the same listings,
the least any comparison by content hash must do. Not a timed test.

    .venv/bin/python bench/plan_speed.py [--quick] [--listings 10000]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import exports
import machine

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


def best_of(repeats: int, action: Callable[[], object]) -> tuple[float, float, object]:
    """(fastest, median) seconds of ``repeats`` runs, and the last result."""
    times: list[float] = []
    result: object = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def measure(count: int, repeats: int = 5) -> list[str]:
    wanted = listings(count)
    agency = wanted[0].agency_key
    agencies = {agency: Agency(agency, "Bench Mäkleri AB")}
    known_agencies = {agency: KnownAgency(agency, "9001")}
    synced = {listing.listing_key: in_step(listing, n) for n, listing in enumerate(wanted)}
    changed = dict(synced)
    for n, listing in enumerate(wanted[: max(1, count // 100)]):
        changed[listing.listing_key] = dataclasses.replace(
            synced[listing.listing_key],
            sent=dataclasses.replace(listing, title=f"Gammal rubrik {n}"),
        )
    desired = Desired(listings={w.listing_key: w for w in wanted}, agencies=agencies)
    policy = PlanPolicy()
    base_best, base_median, _ = best_of(repeats, lambda: [Hashes.of(w) for w in wanted])
    lines = [
        f"plan() over {len(wanted):,} listings, best of {repeats} (median in brackets)",
        f"{'case':40} {'time s':>8} {'median':>8} {'µs/listing':>11} {'ops':>7} {'ratio':>7}",
        f"{'baseline: Hashes.of per listing':40} {base_best:>8.3f} {base_median:>8.3f} "
        f"{base_best / len(wanted) * 1e6:>11.1f} {'-':>7} {1.0:>6.1f}x",
    ]
    cases = (
        ("all in step (empty plan)", synced, known_agencies),
        ("1% changed (title)", changed, known_agencies),
        ("nothing known (initial sync)", {}, {}),
    )
    for name, known, agency_state in cases:
        best, median, result = best_of(
            repeats, lambda k=known, a=agency_state: plan(desired, k, a, policy, NOW)
        )
        ops = len(getattr(result, "ops", ()))
        lines.append(
            f"{name:40} {best:>8.3f} {median:>8.3f} {best / len(wanted) * 1e6:>11.1f} "
            f"{ops:>7,} {best / base_best:>6.1f}x"
        )
    return lines


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
