"""The CPU of one re-dropped export at N listings, in one process: what the daemon's ingest
of a CRM's next export costs when one listing changed (the in-process line latency.py
prints at 100,000, repeated for a mean).

The first run fills a store in ``--dir`` (the real ``ingest_file`` of an N-listing
generic-csv or OpenImmo export into a freshly migrated store: about 12 s at 100,000 CSV);
later runs reuse it. Then ``--runs`` re-drops, each the same export with listing 0's title
changed once more, each timed (CPU and wall seconds of ``ingest_file``); ``--profile``
runs cProfile over the last one and prints its top self times.

A store belongs to the code that filled it: a record's fingerprint includes a digest of
syncd's code that shapes a stored listing (``fingerprint.code_digest``), so a store filled
by other code has every row read again on its first re-drop (printed as such). To compare
two versions, give each its own ``--dir`` and run them in turns.

    .venv/bin/python bench/redrop_cpu.py --dir /tmp/redrop-main [--listings 100000]
                                         [--format csv] [--runs 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import exports
import ingest_speed
import machine

from syncd.config import load_config
from syncd.store import migrate
from syncd.store.engine import open_store
from syncd.usecases.ingest import ingest_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="the store, kept between runs")
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "xml"), default="csv")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(machine.describe())
    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    config = load_config(ingest_speed.write_config(folder))
    fresh = not config.paths.database.exists()
    migrate.upgrade(config.paths.database)
    generation_file = folder / "generation"
    generation = int(generation_file.read_text()) if generation_file.exists() else 1
    seconds: list[float] = []
    with open_store(config.paths.database) as store:
        if fresh:
            path = config.paths.inbox / f"first.{args.format}"
            exports.write_export(args.format, path, args.listings)
            cpu = time.process_time()
            ingest_file(store, config, path, datetime.now(UTC))
            print(
                f"store filled: {args.listings:,} listings, {time.process_time() - cpu:.2f} CPU s"
            )
        for run in range(args.runs):
            generation += 1
            generation_file.write_text(str(generation))
            path = config.paths.inbox / f"again-{generation}.{args.format}"
            exports.write_export(
                args.format, path, args.listings, changed={0}, generation=generation
            )
            profiler = cProfile.Profile() if args.profile and run == args.runs - 1 else None
            started, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            result = ingest_file(store, config, path, datetime.now(UTC))
            if profiler is not None:
                profiler.disable()
            taken = time.process_time() - cpu
            read_again = result.unchanged == 0 and result.records > 1
            print(
                f"re-drop {run + 1}: {result.outcome}, {len(result.changed_keys)} changed, "
                f"{taken:.3f} CPU s, {time.perf_counter() - started:.3f} s"
                + (" (every row read again: a store filled by other code)" if read_again else "")
            )
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            elif not read_again:
                seconds.append(taken)
    if seconds:
        print(
            f"re-drop of {args.listings:,} ({args.format.upper()}, one changed): mean "
            f"{statistics.mean(seconds):.3f} CPU s, median {statistics.median(seconds):.3f} "
            f"over {len(seconds)} run(s) (profiled runs left out)"
        )


if __name__ == "__main__":
    main()
