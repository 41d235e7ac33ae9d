"""Receipts: what became of a file, written as JSON beside it and (bounded) on its row.

It writes receipt files only; it moves no export file and decides no outcome.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from syncd.store.tables import FileOutcome
from syncd.usecases.ingest.desired import Applied
from syncd.usecases.ingest.export import Take
from syncd.usecases.ingest.findings import ROW_FINDINGS_MAX, Findings, json_line
from syncd.usecases.ingest.parse import Parsed

RESULT_SUFFIX = ".result.json"
ERROR_SUFFIX = ".error.json"


def receipt(take: Take, parsed: Parsed, outcome: FileOutcome, applied: Applied) -> dict[str, Any]:
    """An accepted (or held) file's receipt; its findings stay ``Findings`` until written."""
    return {
        "file": take.name,
        "sha256": take.sha256,
        "received_at": take.now.isoformat(),
        "outcome": outcome.value,
        "summary": summary(outcome, parsed.skipped),
        "read_again_from": str(take.path) if take.reread else None,
        "reason": applied.hold_reason,
        "mapping": parsed.mapping.name,
        "format": parsed.mapping.format,
        "encoding": parsed.encoding,
        "export_mode": "full" if parsed.full else "incremental",
        "agencies": sorted(parsed.agency_keys),
        "records": parsed.records,
        "accepted": parsed.accepted,
        "skipped": parsed.skipped,
        "ignored": parsed.ignored,
        "listings": len(parsed.agency_of),
        "changed_keys": applied.changed,
        "missing_keys": applied.missing,
        "reappeared_keys": applied.reappeared,
        "held_keys": applied.held,
        "errors": parsed.errors,
        "warnings": parsed.warnings,
    }


def summary(outcome: FileOutcome, skipped: int) -> str:
    return f"{outcome.value}, {skipped} skipped" if skipped else outcome.value


def bounded(receipt: dict[str, Any]) -> dict[str, Any]:
    """The receipt as the file's row keeps it: the first findings and how many more."""
    out = dict(receipt)
    for key in ("errors", "warnings"):
        findings: Findings = receipt[key]
        out[key] = findings.head
        if findings.count > ROW_FINDINGS_MAX:
            out[f"{key}_not_shown"] = findings.count - ROW_FINDINGS_MAX
    return out


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)


def write_receipt(path: Path, receipt: dict[str, Any]) -> None:
    """``write_json`` for an accepted file's receipt, written as it goes: one line per list
    item or finding, so 100,000 keys or warnings never become one string in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        separator = "{"
        for key, value in receipt.items():
            out.write(f"{separator}\n  {json.dumps(key)}: ")
            separator = ","
            if isinstance(value, Findings | list):
                texts = value.texts() if isinstance(value, Findings) else map(json_line, value)
                opening = "["
                for text in texts:
                    out.write(f"{opening}\n    {text}")
                    opening = ","
                out.write("[]" if opening == "[" else "\n  ]")
            else:
                out.write(json_line(value))
        out.write("\n}\n")
    os.replace(temporary, path)
