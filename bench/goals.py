"""One line per goal of issue 16's "Must show", printed by the benchmark that measures it.

``run_all.py`` collects these lines into the goals table of docs/benchmarks.md; a missed
goal is a line like any other (benchmarks print it, they never fail on it).

    GOAL | what | goal | measured | met/MISSED
"""

from __future__ import annotations

PREFIX = "GOAL | "


def report(what: str, goal: str, measured: str, met: bool) -> None:
    print(f"{PREFIX}{what} | {goal} | {measured} | {'met' if met else 'MISSED'}", flush=True)


def parse(line: str) -> tuple[str, str, str, str] | None:
    """(what, goal, measured, verdict) of a GOAL line, else None."""
    if not line.startswith(PREFIX):
        return None
    parts = [part.strip() for part in line[len(PREFIX) :].split(" | ")]
    if len(parts) != 4:
        return None
    return parts[0], parts[1], parts[2], parts[3]
