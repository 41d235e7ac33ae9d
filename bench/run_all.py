"""Run every benchmark, print their figures, and write them to docs/benchmarks.md.

Each benchmark runs as its own process (one failing does not stop the others). The
results section of docs/benchmarks.md (below its "## Results" heading) is replaced with
this run's date, machine, commands and output; the text above it is kept.

    .venv/bin/python bench/run_all.py [--quick] [--only ingest_speed,plan_speed] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import machine

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"
RESULTS = "## Results"
BENCHMARKS = (
    ("ingest_speed", "1. Ingest of generated exports (time, peak RSS, ratio to bare)"),
    ("redrop", "2. Re-drop of an unchanged export (API calls must be 0)"),
    ("latency", "3. Drop-to-call and drop-to-visible latency (daemon as a process)"),
    ("initial_sync", "4. Initial sync against a rate-limited sandbox"),
    ("plan_speed", "5. plan() over 10,000 listings"),
    ("startup", "6. Command-line start-up beside a bare import click"),
    ("mapping_draft", "7. Mapping drafts against the hand-written mappings"),
)


def run(name: str, quick: bool) -> tuple[str, str, float]:
    command = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if quick else [])]
    shown = f"python bench/{name}.py" + (" --quick" if quick else "")
    print(f"\n== {shown}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line != machine.describe()]
    if done.returncode != 0:
        lines.append(f"FAILED (exit {done.returncode}): " + done.stderr.strip()[-1500:])
    output = "\n".join(lines).rstrip()
    print(output, flush=True)
    return shown, output, seconds


def _commit() -> str:
    """The commit measured (and whether the tree had changes), or "unknown" outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes" if dirty else "")


def write_doc(sections: list[tuple[str, str, str, float]], quick: bool) -> None:
    head = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n\n"
    head = head.split(RESULTS, 1)[0].rstrip() + "\n\n"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parts = [
        head,
        f"{RESULTS}\n\n",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {_commit()} with "
        f"`python bench/run_all.py{' --quick' if quick else ''}` on {machine.describe()}; "
        "load average "
        f"{load:.2f} at the end (other work on the machine makes the ratios noisy).\n",
    ]
    for title, shown, output, seconds in sections:
        parts.append(f"\n### {title}\n\n`{shown}` ({seconds:.0f}s)\n\n```\n{output}\n```\n")
    DOC.write_text("".join(parts), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    print(machine.describe())
    sections: list[tuple[str, str, str, float]] = []
    for name, title in BENCHMARKS:
        if wanted is None or name in wanted:
            shown, output, seconds = run(name, args.quick)
            sections.append((title, shown, output, seconds))
    if not args.no_write:
        write_doc(sections, args.quick)
        print(f"\nwritten to {DOC}")


if __name__ == "__main__":
    main()
