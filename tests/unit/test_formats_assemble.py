"""Assembling one record into a Listing: maps, defaults, required fields, groups, problems."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from syncd.core.domain import HousingForm, ListingStatus
from syncd.formats.assemble import Assembler
from syncd.formats.mapping import Expr
from syncd.formats.mapping_file import mapping_from_dict


class FakeRecord:
    """A row as a dict of column name -> text (what the CSV reader gives, minus the file)."""

    def __init__(self, **cells: str) -> None:
        self.cells = cells

    def values(self, expr: Expr) -> list[str]:
        value = self.cells.get(str(expr))
        return [] if value is None else [value]

    def each(self, expr: str) -> Sequence[FakeRecord]:
        return []


def _assembler(**fields: Any) -> Assembler:
    base: dict[str, Any] = {
        "listing_key": {"expr": "id", "required": True},
        "agency_key": {"value": "byra"},
        "status": {"expr": "status", "map": {"Till salu": "for_sale", "Såld": "sold"}},
        "address.street": "gata",
    }
    base.update(fields)
    images = [
        {"repeat": 3, "url": "bild_{n}", "caption": "text_{n}"},
        {"url": "plan", "floor_plan": True},
    ]
    viewings = [{"repeat": 2, "starts_at": "visning_{n}", "ends_at": "slut_{n}"}]
    data = {
        "mapping": {"format": "csv", "base_url": "https://cdn.example/x/"},
        "fields": base,
        "images": images,
        "viewings": viewings,
    }
    return Assembler(mapping_from_dict(data, "test.toml", "test"))


def test_a_full_row_becomes_a_normalised_listing() -> None:
    built = _assembler(
        living_area="boarea",
        asking_price="pris",
        housing_form={"expr": "typ", "map": {"villa": "house"}},
        new_construction="ny",
    ).assemble(
        FakeRecord(
            id=" A1 ",
            status="till salu",
            gata="Storgatan  3",
            boarea="72,5 m²",
            pris="3 495 000 kr",
            typ="Villa",
            ny="J",
            bild_1="1.jpg",
            text_1="Fasad",
            bild_3="https://o.example/3.jpg",
            plan="plan.png",
            visning_1="2026-12-06 13:00",
            slut_1="14:00",
        )
    )
    listing = built.listing
    assert listing is not None, built.problems
    assert listing.listing_key == "A1"
    assert listing.status is ListingStatus.FOR_SALE
    assert listing.address.street == "Storgatan 3"
    assert listing.living_area == Decimal("72.5")
    assert listing.asking_price == 3_495_000
    assert listing.housing_form is HousingForm.HOUSE
    assert listing.new_construction is True
    assert [(i.url, i.caption, i.is_floor_plan) for i in listing.images] == [
        ("https://cdn.example/x/1.jpg", "Fasad", False),
        ("https://o.example/3.jpg", None, False),
        ("https://cdn.example/x/plan.png", None, True),
    ]
    assert listing.viewings[0].ends_at == datetime(2026, 12, 6, 14, 0)
    assert {"listing_key", "living_area", "images", "viewings"} <= built.filled


def test_an_unmapped_enum_value_is_a_clear_error_and_skips_the_record() -> None:
    built = _assembler().assemble(FakeRecord(id="A2", status="Vilande", gata="G 1"))
    assert built.listing is None
    assert built.listing_key == "A2"
    (problem,) = built.problems
    assert problem.field == "status" and problem.value == "Vilande"
    assert "not in the map" in problem.reason and "till salu" in problem.reason


def test_map_default_catches_unknown_values() -> None:
    assembler = _assembler(
        status={"expr": "status", "map": {"x": "sold"}, "map_default": "for_sale"}
    )
    built = assembler.assemble(FakeRecord(id="A3", status="whatever", gata="G 1"))
    assert built.listing is not None
    assert built.listing.status is ListingStatus.FOR_SALE


def test_defaults_fill_empty_values_and_required_fields_must_be_there() -> None:
    assembler = _assembler(
        rooms={"expr": "rum", "default": 1}, title={"expr": "t", "required": True}
    )
    built = assembler.assemble(FakeRecord(id="A4", status="Till salu", gata="G 1", rum=" "))
    assert built.listing is None
    assert [p.field for p in built.problems] == ["title"]
    assert "rooms" in built.filled
    # Coverage (syncd check) counts what the record gives: not a value only a default filled.
    exact = Assembler(assembler.mapping, exact_filled=True)
    defaulted = exact.assemble(FakeRecord(id="A4", status="Till salu", gata="G 1", rum=" "))
    assert "rooms" not in defaulted.filled
    carried = exact.assemble(FakeRecord(id="A5", status="Till salu", gata="G 1", rum="3"))
    assert "rooms" in carried.filled


def test_template_and_concat_skip_empty_parts() -> None:
    assembler = _assembler(
        **{
            "address.street": {"template": "{gata} {nr}"},
            "title": {"concat": ["a", "b", "c"], "separator": " - "},
        }
    )
    built = assembler.assemble(
        FakeRecord(id="A5", status="Till salu", gata="Storgatan", a="Villa", c="Uppsala")
    )
    assert built.listing is not None
    assert built.listing.address.street == "Storgatan"
    assert built.listing.title == "Villa - Uppsala"


def test_sold_needs_price_and_date_and_sale_defaults_to_a_private_price() -> None:
    assembler = _assembler(
        **{"sale.price": "slutpris", "sale.sold_on": "datum", "sale.price_is_public": "publik"}
    )
    unpriced = assembler.assemble(FakeRecord(id="S1", status="Såld", gata="G 1"))
    assert unpriced.listing is None
    assert any(p.field == "sale" for p in unpriced.problems)
    sold = assembler.assemble(
        FakeRecord(id="S2", status="Såld", gata="G 1", slutpris="5 350 000", datum="2026-11-02")
    )
    assert sold.listing is not None and sold.listing.sale is not None
    assert (
        sold.listing.sale.price,
        sold.listing.sale.price_is_public,
        sold.listing.sale.sold_on,
    ) == (5_350_000, False, date(2026, 11, 2))


def test_a_sale_price_without_sold_status_sends_no_sale() -> None:
    assembler = _assembler(**{"sale.price": "slutpris", "sale.sold_on": "datum"})
    built = assembler.assemble(
        FakeRecord(id="S3", status="Till salu", gata="G 1", slutpris="1", datum="2026-11-02")
    )
    assert built.listing is not None and built.listing.sale is None


def test_a_bad_identity_number_is_never_echoed() -> None:
    assembler = _assembler(
        **{"seller.name": "namn", "seller.identity_number": {"expr": "pnr", "map": {"x": "y"}}}
    )
    built = assembler.assemble(
        FakeRecord(id="P1", status="Till salu", gata="G 1", namn="Sven", pnr="19800101-1234")
    )
    assert built.listing is None
    assert "19800101" not in repr(built.problems)


def test_dashes_count_as_empty_and_one_sided_coordinates_are_dropped() -> None:
    assembler = _assembler(
        plot_area="tomt", **{"coordinates.latitude": "lat", "coordinates.longitude": "lon"}
    )
    built = assembler.assemble(
        FakeRecord(id="D1", status="Till salu", gata="G 1", tomt="---", lat="59,3")
    )
    assert built.listing is not None
    assert built.listing.plot_area is None and built.listing.coordinates is None
    assert [p.severity for p in built.problems] == ["warning"]
