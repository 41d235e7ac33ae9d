"""The image right (bildrätt) read from generic-csv files: columns, enums, validation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from syncd.core.domain import ImageRight, ImageRightTerms, PhotoAgency
from syncd.formats import load_mapping, parse_file
from syncd.formats.canonical import merge_partial
from syncd.formats.mapping_file import mapping_from_dict
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


def test_the_worked_example_of_docs_mappings_md(tmp_path: Path) -> None:
    mapping = mapping_from_dict(
        {
            "mapping": {"name": "photo-credits", "format": "csv", "delimiter": ";"},
            "fields": {
                "listing_key": "Ref",
                "agency_key": {"value": "acme"},
                "status": {"value": "for_sale"},
                "address.street": "Street",
                "image_right.terms": {
                    "expr": "Photo terms",
                    "map": {
                        "6m": "SIX_MONTHS_LICENSE",
                        "forever": "INDEFINITE_LICENSE",
                        "none": "NO_LICENSE",
                    },
                },
                "image_right.photo_agency": {
                    "expr": "Photo firm",
                    "map": {"diakrit": "DIAKRIT", "se360": "SE360", "frilans": "FREELANCE"},
                },
                "image_right.photo_agency_name": "Photographer",
                "image_right.photographer": "Photographer",
            },
        },
        "photo-credits.toml",
        "photo-credits",
    )
    path = tmp_path / "credits.csv"
    path.write_text(
        "Ref;Street;Photo terms;Photo firm;Photographer\n"
        "R1;Gatan 1;6m;Frilans;Fia Ek\n"
        "R2;Gatan 2;forever;SE360;\n"
        "R3;Gatan 3;;;\n"
        "R4;Gatan 4;6m;Acme Foto;\n"
        "R5;Gatan 5;6m;Frilans;\n",
        encoding="utf-8",
    )
    r1, r2, r3, r4, r5 = parse_file(path, mapping).records
    assert r1.listing is not None and r1.listing.image_right == ImageRight(
        ImageRightTerms.SIX_MONTHS_LICENSE, PhotoAgency.FREELANCE, "Fia Ek", "Fia Ek"
    )
    assert r2.listing is not None
    assert r2.listing.image_right == ImageRight(
        ImageRightTerms.INDEFINITE_LICENSE, PhotoAgency.SE360
    )
    assert r3.listing is not None and r3.listing.image_right is None
    assert r4.listing is None and [p.field for p in r4.errors] == ["image_right.photo_agency"]
    assert r5.listing is None
    assert [p.field for p in r5.errors] == ["image_right.photo_agency_name"]


def test_a_partial_record_keeps_the_stored_right_or_changes_only_what_it_carries(
    tmp_path: Path,
) -> None:
    (record,) = parse(tmp_path, "K1;till salu;Åsgatan 1;6 månader;frilans;Foto Fia;Fia Ek")
    stored = record.listing
    assert stored is not None
    priced, problems = merge_partial(stored, "K1", {"asking_price": 2_500_000})
    assert not problems and priced is not None
    assert priced.image_right == stored.image_right
    terms, problems = merge_partial(stored, "K1", {"image_right.terms": "NO_LICENSE"})
    assert not problems and terms is not None and stored.image_right is not None
    assert terms.image_right == replace(stored.image_right, terms=ImageRightTerms.NO_LICENSE)
