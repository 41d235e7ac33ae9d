"""A field's conversions are kept by text (field_plan._remembered): a repeated text gives
the same value, and a repeated bad text the same problem on every record, each under the
name of the field or group member that read it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from syncd.formats import load_mapping, parse_file
from syncd.formats.field_plan import REMEMBERED
from syncd.formats.parse import RecordResult
from syncd.formats.transforms import parse_int

HEADER = "objektnummer;status;gatuadress;antal_rum;utgangspris;visning_1;visning_2\n"


def _records(tmp_path: Path, rows: list[str]) -> list[RecordResult]:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return list(parse_file(path, load_mapping("generic-csv")).records)


def test_a_repeated_bad_text_is_reported_on_every_record_that_has_it(tmp_path: Path) -> None:
    rows = [f"K{i};Till salu;Gatan 1;tre;1000;i morgon;2026-12-10 17:00" for i in range(3)]
    rows.append("K9;Till salu;Gatan 1;3;1000;2026-12-10 17:00;i morgon")
    records = _records(tmp_path, rows)
    for record in records[:3]:
        said = {(p.field, p.value, p.reason) for p in record.problems if p.severity == "error"}
        assert ("rooms", "tre", "no number in 'tre'") in said
        assert any(field == "viewings[0].starts_at" for field, _value, _reason in said)
        assert record.listing is None
    # The same bad text in another member's column is named after that member.
    last = {p.field for p in records[3].problems if p.severity == "error"}
    assert "viewings[1].starts_at" in last
    assert "rooms" not in last


def test_a_repeated_good_text_gives_the_same_value(tmp_path: Path) -> None:
    records = _records(tmp_path, [f"K{i};Till salu;Gatan 1;2,5;1000;;" for i in range(3)])
    listings = [r.listing for r in records]
    assert all(listing is not None for listing in listings)
    assert {listing.rooms for listing in listings if listing} == {Decimal("2.5")}


def test_more_distinct_texts_than_are_kept_still_convert_each_as_its_own(tmp_path: Path) -> None:
    count = REMEMBERED + 100
    prices = [f"{i + 1} {i % 1000:03d} kr" for i in range(count)]
    records = _records(tmp_path, [f"K{i};Till salu;Gatan 1;3;{prices[i]};;" for i in range(count)])
    got = [r.listing.asking_price for r in records if r.listing]
    assert got == [parse_int(price) for price in prices]
