"""Benchmark 2: re-drop of an unchanged 10,000-listing export: API calls (must be 0) and time.

Initial sync first (ingest, then apply and poll until every listing is visible, against
``syncd sandbox`` with auto-approve at 0). Then the same export is dropped twice more:
the same bytes under a new name, and different bytes with the same content (trailing
blanks the canonical form strips). Each re-drop is ingested and followed by one apply pass
and one poll; the sandbox counts the calls. Not a timed test.

    .venv/bin/python bench/redrop.py [--quick] [--listings 10000]

Most of the time is the initial sync before the measurement (about 10 minutes for 10,000
listings on 2 cores); --quick uses 200 listings.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import exports
import machine
from sandbox_process import SandboxProcess
from sync_driver import open_config, sync_until_settled, write_config

from syncd.core.clock import utc_now
from syncd.hemnet import HemnetClient
from syncd.usecases.apply import Applier
from syncd.usecases.ingest import ingest_file
from syncd.usecases.poll import Poller


def measure(count: int) -> list[str]:
    lines: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="syncd-bench-") as scratch,
        SandboxProcess("--auto-approve-after", "0", "--image-delay", "0.05") as sandbox,
    ):
        folder = Path(scratch)
        config, store = open_config(write_config(folder, sandbox.base_url))
        source = folder / "export.csv"
        exports.write_csv(source, count, images=1)
        padded = folder / "export-padded.csv"
        exports.write_csv(padded, count, images=1, padded=True)
        with store, HemnetClient(sandbox.base_url, lambda: sandbox.token) as client:
            first = config.paths.inbox / "export-1.csv"
            shutil.copyfile(source, first)
            started = time.perf_counter()
            taken = ingest_file(store, config, first, utc_now())
            ingest_s = time.perf_counter() - started
            settled = sync_until_settled(store, client, config, timeout_s=3600)
            lines.append(
                f"initial sync of {count:,} listings (1 image each): ingest {ingest_s:.1f}s "
                f"({taken.outcome}, {taken.accepted:,} accepted), apply+poll "
                f"{settled.seconds:.1f}s, {sandbox.total():,} API calls, stages {settled.stages}"
            )
            lines.append(
                f"{'re-drop':44} {'outcome':>10} {'changed':>8} {'ingest s':>9} "
                f"{'pass s':>7} {'API calls':>10}"
            )
            for name, bytes_from in (
                ("same bytes, new file name", source),
                ("other bytes, same content (padded)", padded),
            ):
                sandbox.reset()
                dropped = config.paths.inbox / f"redrop-{time.monotonic_ns()}.csv"
                shutil.copyfile(bytes_from, dropped)
                started = time.perf_counter()
                result = ingest_file(store, config, dropped, utc_now())
                ingest_s = time.perf_counter() - started
                started = time.perf_counter()
                Applier(store, client, config).run_pass()
                Poller(store, client, config).poll_due()
                pass_s = time.perf_counter() - started
                calls = sandbox.calls()
                lines.append(
                    f"{name:44} {result.outcome:>10} {len(result.changed_keys):>8,} "
                    f"{ingest_s:>9.2f} {pass_s:>7.2f} {sum(calls.values()):>10,}"
                    + (f"  {calls}" if calls else "")
                )
    verdict = "PASS" if all(line.rstrip().endswith(" 0") for line in lines[2:]) else "FAIL"
    lines.append(f"goal: 0 API calls for an unchanged export: {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 listings")
    parser.add_argument("--listings", type=int)
    args = parser.parse_args()
    count = args.listings or (200 if args.quick else 10_000)
    print(machine.describe())
    print("\n".join(measure(count)))


if __name__ == "__main__":
    main()
