"""XML exports read from real files: OpenImmo and Kyero fixtures, streaming, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.core.domain import HousingForm, ListingStatus
from syncd.core.errors import ParseError
from syncd.formats import load_mapping, parse_file
from syncd.formats.xml_reader import XmlSource

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


def test_openimmo_fixture() -> None:
    result = parse_file(FIXTURES / "openimmo-small.xml", load_mapping("openimmo"))
    assert result.full is False  # umfang="TEIL"
    records = list(result.records)
    assert [(r.listing_key, r.line) for r in records] == [("OI-1", 7), ("OI-2", 23), ("OI-3", 30)]
    first = records[0].listing
    assert first is not None, records[0].problems
    assert first.agency_key == "BYRA77"
    assert first.address.street == "Götgatan 12"
    assert first.housing_form is HousingForm.APARTMENT
    assert first.asking_price == 3_495_000
    assert str(first.living_area) == "72.5"
    assert first.description == "Fin lägenhet.\nMed balkong."
    assert [(i.caption, i.is_floor_plan) for i in first.images] == [
        ("Vardagsrum", False),
        ("Planritning", True),
    ]  # the PDF document is not an image
    assert first.broker is not None and first.broker.name == "Anna Mäklare"
    assert records[1].listing is not None
    assert records[1].listing.status is ListingStatus.WITHDRAWN  # aktion DELETE
    assert records[2].listing is None
    assert records[2].errors[0].field == "asking_price"
    assert result.agency_keys == {"BYRA77"}


def test_kyero_fixture_spaces_in_image_urls_and_empty_coordinates() -> None:
    result = parse_file(FIXTURES / "kyero-small.xml", load_mapping("kyero"))
    records = list(result.records)
    first, second = (r.listing for r in records)
    assert first is not None and second is not None
    assert first.images[0].url == "http://img.example.es/uploads/K1/01%20fachada.jpg"
    assert any("percent-encoded" in p.reason for p in records[0].problems)
    assert first.images[1].is_floor_plan is True
    assert first.coordinates is None
    assert first.plot_area is None  # "---"
    assert first.energy_class is None  # "X" (exempt) maps to nothing
    assert second.coordinates is not None and second.coordinates.longitude == -0.64888
    assert second.description == "Havsutsikt."  # Swedish text first
    assert second.new_construction is True
    assert result.agency_keys == {"AG1"}


def test_malformed_xml_is_a_parse_error_with_line_and_column() -> None:
    # Where the error surfaces (opening the file or reading records) depends on how much
    # lxml reads ahead; what the user sees is the same either way.
    with pytest.raises(ParseError) as caught:
        list(parse_file(FIXTURES / "malformed.xml", load_mapping("openimmo")).records)
    assert (caught.value.line, caught.value.column) == (6, 40)
    assert "not well-formed" in str(caught.value)


def test_mislabelled_encoding_is_flagged() -> None:
    result = parse_file(FIXTURES / "mislabelled.xml", load_mapping("openimmo"))
    assert result.warnings
    assert "declared iso-8859-1 but the bytes look like UTF-8" in result.warnings[0]
    assert "EF BF BD" in result.warnings[0]


def test_a_latin1_file_that_says_so_is_read_correctly(tmp_path: Path) -> None:
    path = tmp_path / "latin1.xml"
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<openimmo><anbieter><immobilie>'
        "<geo><strasse>Schöne Straße</strasse></geo><verwaltung_techn><objektnr_extern>L1"
        "</objektnr_extern></verwaltung_techn></immobilie></anbieter></openimmo>"
    )
    path.write_bytes(text.encode("iso-8859-1"))
    result = parse_file(path, load_mapping("openimmo"))
    (record,) = list(result.records)
    assert result.warnings == []
    assert record.listing is not None
    assert record.listing.address.street == "Schöne Straße"


def test_a_utf8_file_declared_utf8_with_latin1_bytes_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<a><immobilie>Sch\xf6n</immobilie></a>'
    )
    with pytest.raises(ParseError, match="declared utf-8 but the bytes look like ISO-8859-1"):
        list(parse_file(path, load_mapping("openimmo")).records)


def test_records_are_freed_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "many.xml"
    body = "".join(
        f"<immobilie><geo><strasse>G {i}</strasse></geo></immobilie>" for i in range(2000)
    )
    path.write_text(
        f"<openimmo><anbieter><openimmo_anid>A</openimmo_anid>{body}</anbieter></openimmo>",
        encoding="utf-8",
    )
    source = XmlSource(path, load_mapping("openimmo"))
    count = 0
    for record, _line in source.records():
        count += 1
        earlier = list(record.element.itersiblings(preceding=True))
        # at most the last record is left, emptied; what came before the records stays
        assert [e.tag for e in earlier][-1] == "openimmo_anid"
        assert len(earlier) <= 2 and all(len(e) == 0 for e in earlier)
        assert record.values("ancestor::anbieter/openimmo_anid") == ["A"]
    assert count == 2000


def test_namespaced_records(tmp_path: Path) -> None:
    path = tmp_path / "ns.xml"
    path.write_text(
        '<feed xmlns="urn:x"><item><id>N1</id><street>Gata 1</street></item></feed>',
        encoding="utf-8",
    )
    data = {
        "mapping": {"format": "xml", "record": "//x:item", "namespaces": {"x": "urn:x"}},
        "fields": {
            "listing_key": "x:id",
            "agency_key": {"value": "a"},
            "status": {"value": "for_sale"},
            "address.street": "x:street",
        },
    }
    from syncd.formats.mapping_file import mapping_from_dict

    (record,) = list(parse_file(path, mapping_from_dict(data, "ns", "ns")).records)
    assert record.listing is not None and record.listing.address.street == "Gata 1"


def test_an_empty_export_whose_mode_comes_from_records_is_not_full(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text('<openimmo><uebertragung umfang="VOLL"/><anbieter/></openimmo>')
    result = parse_file(path, load_mapping("openimmo"))
    assert list(result.records) == []
    assert result.full is False
    assert "export mode could not be read" in result.warnings[0]
