"""``check_report``: counts, coverage and every finding, as text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from syncd.formats import check_report, load_mapping

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


def test_report_counts_coverage_and_findings() -> None:
    report = check_report(FIXTURES / "generic.csv", load_mapping("generic-csv"))
    assert (report.record_count, report.usable_count) == (6, 4)
    assert report.coverage["listing_key"] == 1.0
    assert report.coverage["sale.price"] == 1 / 6
    assert report.coverage["images"] == 2 / 6
    errors = [f for f in report.findings if f.severity == "error"]
    assert [(f.record, f.line, f.listing_key, f.field) for f in errors] == [
        (4, 6, "A400", "status"),
        (5, 7, "A500", "address.street"),
    ]
    text = report.to_text()
    assert "6 record(s), 4 usable, 2 skipped" in text
    assert "ERROR   record 4, line 6, key A400: status = 'Okänd status'" in text
    assert "19800101" not in text and "19800101" not in report.to_json()
    data = json.loads(report.to_json())
    assert data["ok"] is False
    assert data["coverage"]["address.street"] == 5 / 6


def test_a_broken_file_is_reported_not_raised() -> None:
    report = check_report(FIXTURES / "malformed.xml", load_mapping("openimmo"))
    assert report.fatal is not None and "line 6, column 40" in report.fatal
    # Rejected whole: nothing counts as read, whatever the parser's buffer got through.
    assert (report.record_count, report.usable_count) == (0, 0)
    assert report.ok is False
    text = report.to_text()
    assert "FILE REJECTED" in text and "line 6, column 40" in text
    assert "usable" not in text


def test_hostile_file_is_reported() -> None:
    report = check_report(FIXTURES / "xxe.xml", load_mapping("openimmo"))
    assert report.fatal is not None and "entities" in report.fatal
    assert json.loads(report.to_json())["ok"] is False
