"""Benchmark 6: how fast the command line starts, beside a bare ``import click``.

Runs each command as a fresh process, interleaved round by round so that machine load
falls on all of them alike, and prints the median of the runs and its ratio to the
baseline. Goal (issue 11): ``syncd --version`` and ``syncd status --help`` within 2x the
baseline. Not a timed test.

    .venv/bin/python bench/startup.py [--quick] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import machine

BIN = Path(sys.executable).parent
BASELINE = ("python -c 'import click'", [sys.executable, "-c", "import click"])
COMMANDS = (
    ("syncd --version", [str(BIN / "syncd"), "--version"]),
    ("syncd status --help", [str(BIN / "syncd"), "status", "--help"]),
    ("syncd --help", [str(BIN / "syncd"), "--help"]),
)
GOAL = 2.0


def _seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    print(machine.describe())
    cases = (BASELINE, *COMMANDS)
    for _, argv in cases:  # warm the page cache and .pyc files; not counted
        _seconds(argv)
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(runs):
        for name, argv in cases:
            times[name].append(_seconds(argv))
    base = statistics.median(times[BASELINE[0]])
    print(f"median of {runs} runs each, interleaved; goal: within {GOAL:g}x the baseline")
    print(f"  {BASELINE[0]:<28} {base * 1000:7.0f} ms  (baseline)")
    for name, _ in COMMANDS:
        median = statistics.median(times[name])
        ratio = median / base
        goal = "" if name == "syncd --help" else ("  met" if ratio <= GOAL else "  MISSED")
        print(f"  {name:<28} {median * 1000:7.0f} ms  {ratio:4.1f}x{goal}")


if __name__ == "__main__":
    main()
