"""Rightmove BLM files read from disk: declared separators, multi-line fields, images."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.core.errors import ParseError
from syncd.formats import load_mapping, parse_file

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


def test_blm_fixture_with_its_own_separators() -> None:
    result = parse_file(FIXTURES / "small.blm", load_mapping("rightmove-blm"))
    records = list(result.records)
    assert [(r.listing_key, r.line) for r in records] == [("B1", 10), ("B2", 12)]
    first, second = records[0].listing, records[1].listing
    assert first is not None and second is not None
    assert first.asking_price == 159_950  # thousands comma
    assert second.asking_price == 1_250_000
    assert first.description == "Hall\nTwo lines\nof text & more"
    assert [(i.url, i.caption, i.is_floor_plan) for i in first.images] == [
        ("https://img.example.uk/b1/0.jpg", "Front", False),
        ("https://img.example.uk/b1/fp.jpg", None, True),
    ]
    assert result.agency_keys == {"2559"}
    assert result.full is True


def test_a_record_with_the_wrong_field_count_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "short.blm"
    path.write_text(
        "#HEADER#\nEOF : '|'\nEOR : '~'\n#DEFINITION#\nAGENT_REF|BRANCH_ID|ADDRESS_1|~\n"
        "#DATA#\nR1|B|Road 1|~\nR2|B|~\n#END#\n",
        encoding="utf-8",
    )
    records = list(parse_file(path, load_mapping("rightmove-blm")).records)
    assert [r.listing_key for r in records] == ["R1", "R2"]
    assert any("2 fields where #DEFINITION# declares 3" in p.reason for p in records[1].problems)


def test_not_a_blm_file_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "x.blm"
    path.write_text('<?xml version="1.0"?>\n<clients/>\n', encoding="utf-8")
    with pytest.raises(ParseError, match="must start with #HEADER#"):
        parse_file(path, load_mapping("rightmove-blm"))
