"""Benchmark 4: initial sync of 300 listings × 10 images against a sandbox limited to R/s.

syncd's budget is set to the same R (the one setting changed: Hemnet's limit is what the
operator configures); everything else is the shipped default. Reports the achieved request
rate against R (goal ≥ 0.9), 429 answers, and the total calls against the minimum needed:
one create per listing, one per image, one publish per listing (goal ≤ 1.2×; polling is the
difference). Not a timed test.

    .venv/bin/python bench/initial_sync.py [--quick] [--listings 300] [--images 10] [--rate 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import exports
import goals
import machine
from sandbox_process import SandboxProcess
from sync_driver import open_config, sync_until_settled, write_config

from syncd.core.clock import utc_now
from syncd.hemnet import HemnetClient
from syncd.usecases.ingest import ingest_file


def measure(count: int, images: int, rate: float) -> list[str]:
    burst = max(1, int(rate // 5))
    with (
        tempfile.TemporaryDirectory(prefix="syncd-bench-") as scratch,
        SandboxProcess(
            "--rate",
            str(rate),
            "--burst",
            str(burst),
            "--auto-approve-after",
            "0",
            "--image-delay",
            "0.5",
        ) as sandbox,
    ):
        folder = Path(scratch)
        limits = {"hemnet": {"requests_per_second": rate, "burst": burst}}
        config, store = open_config(write_config(folder, sandbox.base_url, settings=limits))
        export = config.paths.inbox / "initial.xml"
        exports.write_xml(export, count, images=images)
        with store, HemnetClient(sandbox.base_url, lambda: sandbox.token) as client:
            taken = ingest_file(store, config, export, utc_now())
            sandbox.reset()
            started = time.perf_counter()
            settled = sync_until_settled(store, client, config, timeout_s=3600)
            seconds = time.perf_counter() - started
            calls = sandbox.calls()
    total = sum(calls.values())
    limited = sum(n for key, n in calls.items() if key.endswith(" 429"))
    minimum = count * (images + 2) + 1  # creates, images, publishes; the agency once
    # Without webhooks a listing needs at least one read of its images (processed?) and
    # one of itself (approved and visible?).
    polled_minimum = minimum + 2 * count
    achieved = total / seconds
    verdict = "meets" if achieved / rate >= 0.9 else "MISSES"
    goals.report(
        f"initial sync: share of the rate limit, {count:,} × {images} images at R = {rate:g}/s",
        "≥ 0.9",
        f"{achieved / rate:.2f} ({achieved:.1f}/s, {limited:,} answered 429)",
        achieved / rate >= 0.9,
    )
    goals.report(
        "initial sync: calls against the minimum (create + images + publish)",
        "≤ 1.2×",
        f"{total / minimum:.2f}× ({total:,} vs {minimum:,})",
        total / minimum <= 1.2,
    )
    by_route: dict[str, int] = {}
    for key, n in calls.items():
        route = key.rsplit(" ", 1)[0]
        by_route[route] = by_route.get(route, 0) + n
    return [
        f"initial sync: {count:,} listings × {images} images ({taken.accepted:,} accepted), "
        f"sandbox and syncd limited to R={rate:g} requests/s (burst {burst})",
        f"time {seconds:.1f}s, {total:,} API calls, achieved {achieved:.1f}/s = "
        f"{achieved / rate:.2f} of R ({verdict} the 0.9 goal), {limited:,} answered 429",
        f"calls {total:,} vs minimum {minimum:,} ({total / minimum:.2f}x; polling and "
        f"retries are the rest), stages {settled.stages}",
        f"vs the minimum with the least polling, one image list and one listing read per "
        f"listing ({polled_minimum:,}): {total / polled_minimum:.3f}x",
        "calls by route: " + ", ".join(f"{k} {n:,}" for k, n in sorted(by_route.items())),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 listings")
    parser.add_argument("--listings", type=int)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    count = args.listings or (50 if args.quick else 300)
    print(machine.describe())
    print("\n".join(measure(count, args.images, args.rate)))


if __name__ == "__main__":
    main()
