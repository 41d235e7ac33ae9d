"""The errors and warnings of one file: the first ones in memory, the rest spilled to disk.

It records what it is told; it judges no record and writes no receipt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from syncd.core.domain import Problem
from syncd.usecases.ingest.spill import Spill

# The database row keeps a bounded excerpt; the receipt beside the file keeps everything.
ROW_FINDINGS_MAX = 100


class Findings:
    """The errors (or warnings) of one file: the first ones in memory for the database row,
    the rest in a spill file for the receipt (a warning on every record must not cost RAM)."""

    def __init__(self, spill: Spill) -> None:
        self.head: list[dict[str, Any]] = []
        self.count = 0
        self._spill = spill
        self._rest: IO[str] | None = None

    def append(self, finding: dict[str, Any]) -> None:
        self.count += 1
        if len(self.head) < ROW_FINDINGS_MAX:
            self.head.append(finding)
            return
        if self._rest is None:
            self._rest = self._spill.text()
        self._rest.write(json_line(finding) + "\n")

    def texts(self) -> Iterator[str]:
        """Every finding, in order, as one line of JSON."""
        yield from (json_line(finding) for finding in self.head)
        if self._rest is not None:
            self._rest.flush()
            self._rest.seek(0)
            yield from (line.rstrip("\n") for line in self._rest)


def finding(problem: Problem) -> dict[str, Any]:
    """A record's problem as a finding, without where it stands."""
    # Personal identity numbers never leave the CRM's file: not in receipts, rows or logs.
    value = None if "identity_number" in problem.field else problem.value
    return {
        "severity": problem.severity,
        "field": problem.field,
        "value": value,
        "reason": problem.reason,
    }


# What json.dumps(value, ensure_ascii=False, default=str) writes, without making an encoder
# per call (a warning on every record is a line per record, in the spill and the receipt).
_LINE = json.JSONEncoder(ensure_ascii=False, default=str)


def json_line(value: Any) -> str:
    return _LINE.encode(value)
