"""CSV exports read from real files: encodings, delimiters, headers, quoted newlines."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.core.domain import ListingStatus
from syncd.core.errors import ParseError
from syncd.formats import load_mapping, parse_file
from syncd.formats.mapping_file import mapping_from_dict
from tests.reference.snapshot import snapshot

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


def test_generic_csv_fixture_parses_with_locations_and_problems() -> None:
    result = parse_file(FIXTURES / "generic.csv", load_mapping("generic-csv"))
    assert result.encoding == "utf-8-sig"
    assert result.full is True
    records = list(result.records)
    assert [r.listing_key for r in records] == ["A100", "A200", "A300", "A400", "A500", "A300"]
    # the quoted description spans two lines, so A200 starts on line 4
    assert [r.line for r in records] == [2, 4, 5, 6, 7, 8]
    first = records[0].listing
    assert first is not None
    assert first.description == "Fin lägenhet.\nMed balkong mot gården."
    assert first.asking_price == 3_495_000
    assert first.seller is not None and first.seller.identity_number == "19800101-1234"
    assert [r.listing is None for r in records] == [False, False, False, True, True, False]
    assert records[3].errors[0].field == "status"
    assert records[4].errors[0].field == "address.street"
    sold = records[1].listing
    assert sold is not None and sold.sale is not None and sold.sale.price_is_public is True
    assert result.duplicates == {"A300": [3, 6]}
    assert result.agency_keys == {"byra-1", "byra-2"}


def test_snapshot_keeps_the_last_duplicate() -> None:
    whole, rejected = snapshot(parse_file(FIXTURES / "generic.csv", load_mapping("generic-csv")))
    by_key = {listing.listing_key: listing for listing in whole.listings}
    assert by_key["A300"].status is ListingStatus.WITHDRAWN
    assert len(whole.listings) == 3
    assert [r.listing_key for r in rejected] == ["A400", "A500"]


HEADER = "objektnummer{d}status{d}gatuadress{d}ort{d}beskrivning\n"
ROW = 'K1{d}Till salu{d}Åsgatan 1{d}Malmö{d}"Två\nrader; med | avgränsare, i"\n'


@pytest.mark.parametrize("delimiter", [";", ",", "|", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "iso-8859-1"])
def test_delimiters_and_encodings_are_detected(
    tmp_path: Path, delimiter: str, encoding: str
) -> None:
    path = tmp_path / "export.csv"
    text = (HEADER + ROW).format(d=delimiter)
    if encoding == "cp1252":
        text = text.replace("Två", "Två “citat”")  # curly quotes exist only in cp1252
    path.write_bytes(text.encode(encoding))
    result = parse_file(path, load_mapping("generic-csv"))
    (record,) = list(result.records)
    assert record.listing is not None, record.problems
    assert record.listing.address.street == "Åsgatan 1"
    assert record.listing.address.city == "Malmö"
    assert record.listing.description is not None
    assert record.listing.description.endswith("rader; med | avgränsare, i")
    expected = {
        "utf-8": "utf-8",
        "utf-8-sig": "utf-8-sig",
        "cp1252": "cp1252",
        "iso-8859-1": "iso-8859-1",
    }[encoding]
    assert result.encoding == expected
    if encoding in ("cp1252", "iso-8859-1"):
        assert any("not UTF-8" in w for w in result.warnings)


def test_without_header_columns_are_positions(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("X9;1;Byvägen 2;42,5\nX10;0;Byvägen 4;60\n", encoding="utf-8")
    data = {
        "mapping": {"format": "csv", "header": False},
        "fields": {
            "listing_key": 1,
            "agency_key": {"value": "a"},
            "status": {"expr": 2, "map": {"1": "for_sale", "0": "withdrawn"}},
            "address.street": 3,
            "living_area": 4,
        },
    }
    mapping = mapping_from_dict(data, "inline", "inline")
    records = list(parse_file(path, mapping).records)
    assert [(r.listing_key, r.line) for r in records] == [("X9", 1), ("X10", 2)]
    assert records[1].listing is not None
    assert records[1].listing.status is ListingStatus.WITHDRAWN
    assert str(records[0].listing and records[0].listing.living_area) == "42.5"


def test_a_missing_required_column_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id;status\n1;Till salu\n", encoding="utf-8")
    result = parse_file(path, load_mapping("generic-csv"))
    assert any("'objektnummer'" in w for w in result.warnings)
    (record,) = list(result.records)
    assert record.listing is None


def test_a_forced_wrong_encoding_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("objektnummer;gatuadress\n1;Åsgatan\n".encode("cp1252"))
    data = {
        "mapping": {"format": "csv", "encoding": "utf-8"},
        "fields": {
            "listing_key": "objektnummer",
            "agency_key": {"value": "a"},
            "status": {"value": "for_sale"},
            "address.street": "gatuadress",
        },
    }
    with pytest.raises(ParseError, match="not utf-8") as caught:
        list(parse_file(path, mapping_from_dict(data, "inline", "inline")).records)
    assert caught.value.line is not None


def test_an_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = parse_file(path, load_mapping("generic-csv"))
    assert list(result.records) == []
    assert result.full is True
