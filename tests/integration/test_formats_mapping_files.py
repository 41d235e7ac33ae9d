"""Mapping files on disk: the worked example of docs/mappings.md, and broken files."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from syncd.core.domain import ListingStatus
from syncd.core.errors import MappingError
from syncd.formats import load_mapping, parse_file
from syncd.formats.mapping import FIELD_KINDS
from syncd.formats.mapping_file import bundled_mappings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "mappings.md"


def _worked_example() -> str:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Worked example", 1)[1]
    found = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_documented_worked_example_works(tmp_path: Path) -> None:
    mapping_path = tmp_path / "acme-crm.toml"
    mapping_path.write_text(_worked_example(), encoding="utf-8")
    export = tmp_path / "acme.csv"
    export.write_bytes(
        "Ref|State|Street|No|Price|Area|Pic1|Pic2|Shown\n"
        "12|active|Sjövägen|4|2.950.000|72,5|12/front.jpg||06.12.2026 13:00\n"
        "13|gone|Sjövägen|6|1.000.000|50|||\n".encode("iso-8859-1")
    )
    mapping = load_mapping(mapping_path)
    assert mapping.name == "acme-crm"
    result = parse_file(export, mapping)
    assert result.full is False
    first, second = list(result.records)
    assert first.listing is not None, first.problems
    assert first.listing.status is ListingStatus.FOR_SALE
    assert first.listing.address.street == "Sjövägen 4"
    assert first.listing.asking_price == 2_950_000
    assert first.listing.living_area == Decimal("72.5")
    assert first.listing.images[0].url == "https://media.acme-crm.example/photos/12/front.jpg"
    assert first.listing.viewings[0].starts_at == datetime(2026, 12, 6, 13, 0)
    assert second.listing is None and second.errors[0].field == "status"


def test_a_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[mapping\nformat = 'csv'\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"bad\.toml"):
        load_mapping(path)


def test_a_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="does not exist"):
        load_mapping(tmp_path / "nope.toml")


def test_every_bundled_mapping_loads() -> None:
    names = bundled_mappings()
    assert {"generic-csv", "openimmo", "kyero", "rightmove-blm"} <= set(names)
    for name in names:
        mapping = load_mapping(name)
        assert mapping.name == name
        assert "listing_key" in mapping.fields


def test_generic_csv_maps_every_canonical_field() -> None:
    mapping = load_mapping("generic-csv")
    assert set(mapping.fields) == set(FIELD_KINDS)
    assert mapping.images and mapping.viewings


def test_an_unknown_bundled_name_lists_the_bundled_ones() -> None:
    with pytest.raises(MappingError, match="generic-csv"):
        load_mapping("no-such-format")
