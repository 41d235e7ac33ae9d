"""Benchmark: a real sync pass's planning (read the store, plan, record the plan) at 10,000
listings when one listing changed, as a dirty pass and as a full pass.

The state is built by production code: ``ingest_file`` takes a generated generic-csv full
export, and the store's recording of Hemnet's answers (``record_sent``, ``save_known_image``,
``record_remote_state``, as apply's handlers call them) makes every listing published,
visible and in step. Each run then ingests the export again with one listing's title
changed and times ``prepare_pass`` in its own write transaction, commit included: what the
daemon's pass does before its first call (the call itself is left out). Prints the median
of the runs; goal: the dirty pass ≤ 0.2 s. Not a timed test.

    .venv/bin/python bench/pass_speed.py [--quick] [--listings 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import exports
import goals
import machine

from syncd.config import Config, load_config
from syncd.core.domain import ImageState, KnownImage, MarketState
from syncd.store import migrate
from syncd.store.engine import Store, open_store
from syncd.store.listing_states import read_listing_states
from syncd.store.listings import record_remote_state, record_sent, save_known_image
from syncd.usecases.apply.passplan import Prepared, prepare_pass
from syncd.usecases.apply.report import Tally
from syncd.usecases.ingest import ingest_file

GOAL_S = 0.2
START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def write_config(folder: Path) -> Path:
    """Everything under ``folder``; Hemnet is never called (the pass's calls are left out)."""
    config = folder / "syncd.toml"
    config.write_text(
        '[paths]\ninbox = "inbox"\nstate_dir = "state"\n\n'
        '[hemnet]\nbase_url = "http://127.0.0.1:9/v1"\n\n'
        '[[formats]]\npattern = "*.csv"\nmapping = "generic-csv"\n',
        encoding="utf-8",
    )
    for name in ("inbox", "state"):
        (folder / name).mkdir(exist_ok=True)
    return config


def ingest(config: Config, store: Store, count: int, generation: int, now: datetime) -> None:
    """The full export again, listing 0's title that of ``generation``."""
    path = config.paths.inbox / f"export-{generation}.csv"
    exports.write_csv(path, count, changed={0}, generation=generation)
    result = ingest_file(store, config, path, now)
    if result.outcome != "accepted":
        raise SystemExit(f"ingest did not accept the export: {result.outcome} {result.reason}")


def in_step(store: Store, now: datetime) -> None:
    """Every listing created, its images processed, published and approved, as the handlers
    record Hemnet's answers."""
    with store.transaction() as session:
        for n, state in enumerate(read_listing_states(session)):
            listing = state.desired
            assert listing is not None
            key = listing.listing_key
            record_sent(session, key, now, hemnet_id=str(100_000 + n), sent=listing)
            for img in listing.images:
                known = KnownImage(
                    url=img.url,
                    image_id=f"{n}-{img.order}",
                    state=ImageState.COMPLETED,
                    order=img.order,
                    caption=img.caption,
                    revision=img.revision,
                )
                save_known_image(session, key, known, now, is_floor_plan=False)
            record_remote_state(
                session,
                key,
                now,
                is_published=True,
                is_approved=True,
                market_state=MarketState.FOR_SALE,
                allowed_market_states=frozenset(MarketState),
            )


def timed_pass(
    store: Store, config: Config, now: datetime, *, full: bool
) -> tuple[float, Prepared]:
    started = time.perf_counter()
    with store.transaction() as session:
        prepared = prepare_pass(session, config, now, Tally(), set(), full=full)
    return time.perf_counter() - started, prepared


def measure(count: int, runs: int) -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        config = load_config(write_config(Path(scratch)))
        migrate.upgrade(config.paths.database)
        with open_store(config.paths.database) as store:
            started = time.perf_counter()
            ingest(config, store, count, 1, START)
            in_step(store, START)
            built_s = time.perf_counter() - started
            timed_pass(store, config, START, full=True)  # plans what building marked
            times: dict[bool, list[float]] = {False: [], True: []}
            planned: dict[bool, int] = {}
            ops: dict[bool, int] = {}
            for run in range(runs):
                for full in (False, True):
                    now = START + timedelta(minutes=1 + 2 * run + full)
                    ingest(config, store, count, 2 + 2 * run + full, now)
                    took, prepared = timed_pass(store, config, now, full=full)
                    times[full].append(took)
                    planned[full], ops[full] = prepared.planned, len(prepared.jobs)
    lines = [
        f"a pass's planning (store read + plan + intents committed), {count:,} listings in "
        f"step, one listing changed; median of {runs} runs (state built in {built_s:.1f}s)",
        f"{'pass':28} {'median s':>9} {'min s':>7} {'max s':>7} {'planned':>8} {'ops':>4}",
    ]
    for full, name in ((False, "dirty (what changed, due)"), (True, "full (every listing)")):
        series = times[full]
        lines.append(
            f"{name:28} {statistics.median(series):>9.3f} {min(series):>7.3f} "
            f"{max(series):>7.3f} {planned[full]:>8,} {ops[full]:>4}"
        )
    median = statistics.median(times[False])
    verdict = "met" if median <= GOAL_S else "MISSED"
    if count != 10_000:
        verdict = f"not judged: the goal is for 10,000 listings, this ran {count:,}"
    lines.append(f"goal: dirty pass ≤ {GOAL_S} s at 10,000 listings: {verdict} ({median:.3f} s)")
    goals.report(
        f"a pass (store read + plan + intents) with one changed listing, {count:,} listings",
        f"≤ {GOAL_S} s",
        f"{median:.3f} s dirty ({statistics.median(times[True]):.3f} s full)",
        median <= GOAL_S,
    )
    return lines


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 listings, 3 runs")
    parser.add_argument("--listings", type=int)
    parser.add_argument("--runs", type=int)
    args = parser.parse_args(argv)
    count = args.listings or (2_000 if args.quick else 10_000)
    runs = args.runs or (3 if args.quick else 5)
    out(machine.describe())
    out("\n".join(measure(count, runs)))


if __name__ == "__main__":
    main()
