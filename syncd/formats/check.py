"""``syncd check``: what a mapping makes of an export file, without storing anything.

Counts records, measures how often each canonical field is filled, and lists every
problem with its location, as text or JSON. Changes no state and sends nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from syncd.core.errors import ParseError
from syncd.core.limits import FEW_IMAGES
from syncd.formats.image_hosts import HostCheck, ImageHosts
from syncd.formats.mapping import FIELD_KINDS, Mapping
from syncd.formats.parse import parse_file

COVERAGE_FIELDS: tuple[str, ...] = (*FIELD_KINDS, "images", "viewings")


@dataclass(frozen=True)
class Finding:
    """One problem of one record (or of the file, when ``record`` is None)."""

    severity: str
    reason: str
    record: int | None = None
    line: int | None = None
    listing_key: str | None = None
    field: str | None = None
    value: str | None = None

    def text(self) -> str:
        where = []
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.listing_key:
            where.append(f"key {self.listing_key}")
        parts = [f"{self.severity.upper():7} {', '.join(where) or 'file'}"]
        if self.field or self.value is not None:
            what = self.field or "value"
            parts.append(f"{what} = {self.value!r}" if self.value is not None else what)
        return ": ".join([*parts, self.reason])


@dataclass
class CheckReport:
    path: str
    mapping: str
    format: str
    encoding: str | None = None
    full: bool | None = None
    record_count: int = 0
    usable_count: int = 0
    partial_count: int = 0  # usable records that carry only some fields (merged at ingest)
    ignored_count: int = 0  # records the mapping ignores on purpose (not errors)
    record_types: dict[str, int] = field(default_factory=dict)  # [types.ELEMENT] -> records
    agency_keys: list[str] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)  # field -> share 0..1
    findings: list[Finding] = field(default_factory=list)
    fatal: str | None = None  # the file cannot be used at all (ParseError)
    # Usable records Hemnet's checks would warn about (advice: they are published anyway).
    completeness: dict[str, int] = field(
        default_factory=lambda: {"no_description": 0, "few_images": 0}
    )

    @property
    def ok(self) -> bool:
        return self.fatal is None and self.usable_count + self.ignored_count == self.record_count

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["ok"] = self.ok
        return json.dumps(data, ensure_ascii=False, indent=2)

    def to_text(self) -> str:
        mode = "full" if self.full else "incremental" if self.full is not None else "?"
        lines = [
            f"{self.path}: {self.format} via mapping {self.mapping}",
            f"  encoding {self.encoding or '?'}, {mode} export, "
            f"agencies: {', '.join(self.agency_keys) or '-'}",
        ]
        if self.fatal:
            lines.append(f"  FILE REJECTED: {self.fatal}")
            lines.append("  no record of this file is used; listings stay as they were")
        else:
            partial = f" ({self.partial_count} partial)" if self.partial_count else ""
            ignored = f", {self.ignored_count} ignored" if self.ignored_count else ""
            skipped = self.record_count - self.usable_count - self.ignored_count
            lines.append(
                f"  {self.record_count} record(s), {self.usable_count} usable{partial}"
                f"{ignored}, {skipped} skipped"
            )
            if self.record_types:
                kinds = ", ".join(f"{t} {n}" for t, n in sorted(self.record_types.items()))
                lines.append(f"  records by type: {kinds}")
            lines.append(
                f"  completeness (Hemnet's checks would warn): "
                f"{self.completeness['no_description']} without a description, "
                f"{self.completeness['few_images']} with fewer than {FEW_IMAGES} images"
            )
        lines.append("  field coverage (share of records whose own data gives a value):")
        for name in COVERAGE_FIELDS:
            share = self.coverage.get(name, 0.0)
            lines.append(f"    {name:28} {share:6.1%}")
        counts = Counter(f.severity for f in self.findings)
        lines.append(
            f"  {counts.get('error', 0)} error(s), {counts.get('warning', 0)} warning(s)"
            + (":" if self.findings else "")
        )
        lines.extend(f"    {finding.text()}" for finding in self.findings)
        return "\n".join(lines)


def check_report(path: str | Path, mapping: Mapping, hosts: HostCheck | None = None) -> CheckReport:
    """Parse ``path`` with ``mapping`` and report; a broken file is reported, not raised.

    With ``hosts``, image hosts Hemnet cannot fetch from are warned about, as ingest does.
    """
    report = CheckReport(path=str(path), mapping=mapping.name, format=mapping.format)
    filled: Counter[str] = Counter()
    image_hosts = ImageHosts()
    try:
        result = parse_file(path, mapping, coverage=True)
        report.encoding, report.full = result.encoding, result.full
        for record in result.records:
            report.record_count += 1
            report.usable_count += record.listing is not None or record.patch is not None
            report.partial_count += record.patch is not None
            report.ignored_count += record.ignored is not None
            if mapping.types and record.record_type is not None:
                types = report.record_types
                types[record.record_type] = types.get(record.record_type, 0) + 1
            filled.update(record.filled)
            if record.listing is not None:
                report.completeness["no_description"] += not record.listing.description
                report.completeness["few_images"] += len(record.listing.images) < FEW_IMAGES
            if hosts is not None and record.listing is not None:
                for image in record.listing.images:
                    image_hosts.add(image.url, record.index, record.line, record.listing_key)
            report.findings.extend(
                Finding(
                    p.severity,
                    p.reason,
                    record.index,
                    record.line,
                    record.listing_key,
                    p.field,
                    p.value,
                )
                for p in record.problems
            )
        report.findings[:0] = [Finding("warning", w) for w in result.warnings]
        report.findings.extend(Finding("warning", w) for w in result.closing_warnings())
        if hosts is not None:
            report.findings.extend(
                Finding(
                    "warning",
                    found["reason"],
                    found["record"],
                    found["line"],
                    found["listing_key"],
                    found["field"],
                    found["value"],
                )
                for found in image_hosts.findings(hosts)
            )
        report.agency_keys = sorted(result.agency_keys)
    except ParseError as exc:
        # A file that is not well-formed is rejected whole, so nothing read before the break
        # counts: how far the parser got depends on its buffer size, not on the file.
        report.fatal = str(exc)
        report.record_count = report.usable_count = 0
        report.completeness = {"no_description": 0, "few_images": 0}
        filled.clear()
        report.findings = [Finding("error", exc.reason, line=exc.line)]
    total = report.record_count or 1
    report.coverage = {name: filled[name] / total for name in COVERAGE_FIELDS}
    return report
