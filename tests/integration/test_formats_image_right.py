"""The image right (bildrätt) read from generic-csv files: columns, enums, validation."""

from __future__ import annotations

from pathlib import Path

from syncd.domain import ImageRight, ImageRightTerms, PhotoAgency
from syncd.formats import load_mapping, parse_file
from syncd.formats.parse import RecordResult

HEADER = "objektnummer;status;gatuadress;bildratt_villkor;fotobyra;fotobyra_namn;fotograf\n"


def parse(tmp_path: Path, *rows: str) -> list[RecordResult]:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return list(parse_file(path, load_mapping("generic-csv")).records)


def test_the_four_columns_make_the_listings_image_right(tmp_path: Path) -> None:
    (record,) = parse(tmp_path, "K1;till salu;Åsgatan 1;6 månader;Frilans; Foto  Fia ;Fia Ek")
    assert record.listing is not None
    assert record.listing.image_right == ImageRight(
        ImageRightTerms.SIX_MONTHS_LICENSE, PhotoAgency.FREELANCE, "Foto Fia", "Fia Ek"
    )
    assert not record.errors


def test_empty_columns_give_no_image_right_and_one_column_gives_a_partial_one(
    tmp_path: Path,
) -> None:
    empty, terms_only = parse(
        tmp_path, "K1;till salu;Åsgatan 1;;;;", "K2;till salu;Åsgatan 2;INDEFINITE_LICENSE;;;"
    )
    assert empty.listing is not None and empty.listing.image_right is None
    assert terms_only.listing is not None
    assert terms_only.listing.image_right == ImageRight(ImageRightTerms.INDEFINITE_LICENSE)


def test_an_unknown_value_is_a_record_problem_naming_the_field(tmp_path: Path) -> None:
    bad_terms, bad_agency = parse(
        tmp_path,
        "K1;till salu;Åsgatan 1;för evigt;Diakrit;;",
        "K2;till salu;Åsgatan 2;ingen licens;Fotograf Nilsson AB;;",
    )
    assert bad_terms.listing is None
    assert [(p.field, p.value) for p in bad_terms.errors] == [("image_right.terms", "för evigt")]
    assert "not in the map" in bad_terms.errors[0].reason
    assert bad_agency.listing is None
    assert [p.field for p in bad_agency.errors] == ["image_right.photo_agency"]


def test_freelance_without_the_photographers_name_is_an_error(tmp_path: Path) -> None:
    (record,) = parse(tmp_path, "K1;till salu;Åsgatan 1;ingen licens;frilans;;Fia Ek")
    assert record.listing is None
    (problem,) = record.errors
    assert problem.field == "image_right.photo_agency_name"
    assert "FREELANCE" in problem.reason
