"""status.json and status.csv: what a CRM reads, written atomically beside the inbox."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from syncd.status import (
    STATUS_FILE_COLUMNS,
    spreadsheet_cell,
    status_rows,
    write_status_files,
)
from syncd.store.engine import Store
from tests.fakes.status_listings import EXPECTED_STAGES, seed_listings


def test_json_and_csv_carry_every_listing(store: Store, now: datetime, tmp_path: Path) -> None:
    seed_listings(store, now)
    out = tmp_path / "out"
    write_status_files(status_rows(store, now), out)

    document = json.loads((out / "status.json").read_text(encoding="utf-8"))
    assert document["columns"] == list(STATUS_FILE_COLUMNS)
    by_key = {item["listing_key"]: item for item in document["listings"]}
    assert {k: v["stage"] for k, v in by_key.items()} == {
        k: s.value for k, s in EXPECTED_STAGES.items()
    }
    assert by_key["A08"]["visible"] is True
    assert by_key["A08"]["hemnet_url"] == "https://www.hemnet.example/bostad/H8"
    assert by_key["A07"]["approval_url"] == "https://portal.example/listings/H7/approve"
    assert by_key["A07"]["awaiting_approval_since"] == "2026-02-28T06:00:00+00:00"
    assert by_key["A08"]["awaiting_approval_since"] is None
    assert "livingArea" in by_key["A10"]["last_error"]

    with (out / "status.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == STATUS_FILE_COLUMNS
        rows = {row["listing_key"]: row for row in reader}
    assert rows["A03"]["address"] == "Vasagatan 7, 41124 Göteborg"
    assert rows["A08"]["visible"] == "true"
    assert rows["A01"]["hemnet_id"] == ""
    assert rows["A04"]["images_failed"] == "1"
    assert rows["A10"]["last_error"] == by_key["A10"]["last_error"]


def test_rewrite_replaces_and_leaves_no_temporary_files(
    store: Store, now: datetime, tmp_path: Path
) -> None:
    seed_listings(store, now)
    rows = status_rows(store, now)
    write_status_files(rows, tmp_path)
    write_status_files(rows[:2], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("status")) == [
        "status.csv",
        "status.json",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    document = json.loads((tmp_path / "status.json").read_text(encoding="utf-8"))
    assert [item["listing_key"] for item in document["listings"]] == ["A01", "A02"]
    csv_lines = (tmp_path / "status.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 3


def test_no_listings_still_gives_files_with_headers(tmp_path: Path) -> None:
    write_status_files([], tmp_path)
    assert json.loads((tmp_path / "status.json").read_text())["listings"] == []
    header = (tmp_path / "status.csv").read_text(encoding="utf-8").splitlines()
    assert header == [",".join(STATUS_FILE_COLUMNS)]


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ('=HYPERLINK("http://evil.example","click")', "="),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "@"),
        ("+46 8 123", "+"),
        ("-2+3", "-"),
        ("\t=1+1", "tab"),
        ("\r=1+1", "CR"),
    ],
)
def test_csv_cells_that_would_be_formulas_are_text(
    store: Store, now: datetime, tmp_path: Path, text: str, trigger: str
) -> None:
    seed_listings(store, now)
    row = status_rows(store, now)[0]
    hostile = replace(row, listing_key=text, address=text, agency=text, last_error=text)
    write_status_files([hostile], tmp_path)
    with (tmp_path / "status.csv").open(encoding="utf-8", newline="") as handle:
        (cells,) = list(csv.DictReader(handle))
    for column in ("listing_key", "address", "agency", "last_error"):
        assert cells[column] == "'" + text, (column, trigger)
    listings = json.loads((tmp_path / "status.json").read_text(encoding="utf-8"))["listings"]
    assert listings[0]["listing_key"] == text  # JSON is data, not a sheet: left as it is
    assert cells["images_total"] == str(row.images_total)  # numbers are not touched


def test_ordinary_text_is_left_alone() -> None:
    assert [spreadsheet_cell(v) for v in ("A-12", "Storgatan 1", "", None, -5, True)] == [
        "A-12",
        "Storgatan 1",
        "",
        None,
        -5,
        "true",
    ]
