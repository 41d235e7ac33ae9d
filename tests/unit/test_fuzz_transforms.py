"""Fuzzing the value transforms, the assembler and normalisation with Hypothesis.

Properties: only the documented error type (ValueError) ever escapes a transform, values
written the Swedish way read back unchanged, and normalising (and hashing) is idempotent.
Bounded (max_examples, deadline) so the whole file runs in a few seconds.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syncd.core.domain import (
    Address,
    Broker,
    Coordinates,
    HousingForm,
    Image,
    Listing,
    ListingStatus,
    Sale,
    Tenure,
    Viewing,
    content_hash,
    images_hash,
    listing_from_plain,
    normalise,
    problems,
    to_plain,
)
from syncd.formats import transforms
from syncd.formats.assemble import Assembler
from syncd.formats.mapping import Expr
from syncd.formats.mapping_file import mapping_from_dict

# SYNCD_FUZZ_EXAMPLES=20000 for a long hunt; the default keeps the suite fast.
EXAMPLES = int(os.environ.get("SYNCD_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)

# Text a CRM might put in a cell: any unicode, biased towards digits and separators.
NUMBERISH = st.text(alphabet=st.sampled_from("0123456789 .,'-+\u00a0\u202fkrSEKm²e"), max_size=40)
LONG_NUMBERS = st.text(alphabet=st.sampled_from("0123456789,. "), min_size=20, max_size=80)
ANY_TEXT = st.one_of(st.text(max_size=60), NUMBERISH, LONG_NUMBERS)


# --- transforms: only ValueError ------------------------------------------------------------


@FUZZ
@given(raw=ANY_TEXT, sep=st.sampled_from([None, ",", "."]))
def test_numbers_raise_only_value_error(raw: str, sep: str | None) -> None:
    for parse in (transforms.parse_decimal, transforms.parse_int):
        try:
            value = parse(raw, sep)
        except ValueError as exc:
            assert str(exc)
        else:
            assert isinstance(value, Decimal | int)


@FUZZ
@given(raw=ANY_TEXT)
def test_coordinates_booleans_dates_html_raise_only_value_error(raw: str) -> None:
    for parse in (
        transforms.parse_coordinate,
        transforms.parse_bool,
        transforms.parse_datetime,
        transforms.parse_date,
    ):
        try:
            parse(raw)
        except ValueError as exc:
            assert str(exc)
    assert isinstance(transforms.strip_html(raw), str)


URLISH = st.builds(
    str.__add__,
    st.sampled_from(["", "http://", "https://", "//", "/", "ftp:"]),
    st.text(alphabet=st.sampled_from("ab/:.?#[]@%& \u00e5\t\\x01"), max_size=30),
)


@FUZZ
@given(
    raw=st.one_of(URLISH, st.text(max_size=40)),
    base=st.sampled_from([None, "https://cdn.example/x/"]),
)
# Found by Hypothesis: urlsplit drops the tab and took "a:" for a scheme, so the URL was
# left relative although a base_url was given.
@example(raw="a\t:", base="https://cdn.example/x/")
def test_image_url_raises_only_value_error_and_is_idempotent(raw: str, base: str | None) -> None:
    try:
        url, _ = transforms.image_url(raw, base)
    except ValueError as exc:
        assert str(exc)
        return
    assert " " not in url
    again, warnings = transforms.image_url(url, base)
    assert again == url  # already repaired URLs stay as they are
    assert warnings == []


# --- round trips -----------------------------------------------------------------------------


def swedish(number: int, blank: str = " ") -> str:
    """Thousands grouped by a blank, as Swedish prices are printed ("3 495 000")."""
    sign = "-" if number < 0 else ""
    return sign + f"{abs(number):,}".replace(",", blank)


@FUZZ
@given(
    number=st.integers(min_value=-(10**12), max_value=10**12),
    blank=st.sampled_from([" ", "\u00a0", "\u202f"]),
    unit=st.sampled_from(["", " kr", " SEK", ":-"]),
)
def test_swedish_whole_numbers_read_back(number: int, blank: str, unit: str) -> None:
    assert transforms.parse_int(swedish(number, blank) + unit) == number


@FUZZ
@given(
    whole=st.integers(min_value=0, max_value=10**9),
    fraction=st.integers(min_value=0, max_value=999),
    places=st.sampled_from([1, 2, 3]),
)
def test_swedish_decimals_read_back(whole: int, fraction: int, places: int) -> None:
    fraction %= 10**places
    digits = f"{fraction:0{places}d}"
    text = f"{swedish(whole)},{digits} m²"
    expected = Decimal(f"{whole}.{digits}")
    # The declared separator always reads it; without it the documented three-digit rule
    # takes "1 234,500" as thousands, so only one or two decimals are unambiguous.
    assert transforms.parse_decimal(text, ",") == expected
    if places < 3:
        assert transforms.parse_decimal(text) == expected


@FUZZ
@given(
    whole=st.integers(min_value=0, max_value=10**9),
    cents=st.integers(min_value=0, max_value=99),
)
def test_european_and_english_styles_read_the_same(whole: int, cents: int) -> None:
    english = f"{whole:,}.{cents:02d}"
    european = english.replace(",", "_").replace(".", ",").replace("_", ".")
    expected = Decimal(f"{whole}.{cents:02d}")
    assert transforms.parse_decimal(english) == expected
    assert transforms.parse_decimal(european) == expected


@FUZZ
@given(
    moment=st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
    fmt=st.sampled_from([f for f in transforms.DEFAULT_DATE_FORMATS if "%z" not in f]),
)
def test_dates_in_every_default_format_read_back(moment: datetime, fmt: str) -> None:
    moment = moment.replace(microsecond=0)
    text = moment.strftime(fmt)
    parsed = transforms.parse_datetime(text)
    if "%S" in fmt:
        assert parsed == moment
    elif "%H" in fmt:
        assert parsed == moment.replace(second=0)
    else:
        assert transforms.parse_date(text) == moment.date()


@FUZZ
@given(value=st.booleans(), word=st.integers(0, 5), upper=st.booleans())
def test_booleans_read_back(value: bool, word: int, upper: bool) -> None:
    yes = ["ja", "J", "yes", "true", "1", "sant"]
    no = ["nej", "N", "no", "false", "0", "falskt"]
    text = (yes if value else no)[word]
    assert transforms.parse_bool(f" {text.upper() if upper else text} ") is value


# --- the assembler: enum maps, templates, defaults ---------------------------------------------


class CellRecord:
    """A record whose cells are whatever Hypothesis draws."""

    def __init__(self, cells: dict[str, str]) -> None:
        self.cells = cells

    def values(self, expr: Expr) -> list[str]:
        value = self.cells.get(str(expr))
        return [] if value is None else [value]

    def each(self, expr: str) -> Sequence[CellRecord]:
        return []


ASSEMBLER = Assembler(
    mapping_from_dict(
        {
            "mapping": {"format": "csv", "base_url": "https://cdn.example/x/"},
            "fields": {
                "listing_key": {"expr": "id", "required": True},
                "agency_key": {"expr": "byra", "default": "byra"},
                "status": {"expr": "status", "map": {"till salu": "for_sale", "såld": "sold"}},
                "address.street": {"template": "{gata} {nr}"},
                "address.postal_code": "postnr",
                "housing_form": {"expr": "typ", "map": {"villa": "house"}, "map_default": "other"},
                "tenure": "form",
                "coordinates.latitude": "lat",
                "coordinates.longitude": "lon",
                "asking_price": "pris",
                "monthly_fee": {"expr": "avgift", "decimal_separator": ","},
                "living_area": "boarea",
                "rooms": "rum",
                "construction_year": "byggar",
                "energy_class": "energi",
                "new_construction": "ny",
                "title": "rubrik",
                "description": {"expr": "text", "html": True},
                "broker.name": "maklare",
                "sale.price": "slutpris",
                "sale.price_is_public": "publikt",
                "sale.sold_on": "datum",
            },
            "images": [{"repeat": 3, "url": "bild_{n}", "caption": "text_{n}"}],
            "viewings": [{"repeat": 2, "starts_at": "visning_{n}", "ends_at": "slut_{n}"}],
        },
        "fuzz.toml",
        "fuzz",
    )
)
COLUMNS = [
    "id", "byra", "status", "gata", "nr", "postnr", "typ", "form", "lat", "lon", "pris",
    "avgift", "boarea", "rum", "byggar", "energi", "ny", "rubrik", "text", "maklare",
    "slutpris", "publikt", "datum", "bild_1", "text_1", "bild_2", "bild_3", "visning_1",
    "slut_1", "visning_2", "slut_2",
]  # fmt: skip
CELL = st.one_of(
    ANY_TEXT,
    URLISH,
    st.sampled_from(["till salu", "Såld", "villa", "freehold", "ja", "-", "", "2026-12-06 13:00"]),
)


@FUZZ
@given(cells=st.dictionaries(st.sampled_from(COLUMNS), CELL, max_size=len(COLUMNS)))
def test_any_record_assembles_to_a_listing_or_problems(cells: dict[str, str]) -> None:
    built = ASSEMBLER.assemble(CellRecord(cells))
    if built.listing is None:
        assert any(p.severity == "error" for p in built.problems)
    else:
        assert not any(p.severity == "error" for p in built.problems)
        assert normalise(built.listing) == built.listing  # the assembler hands out normal form


# --- normalisation ----------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)
OPT_TEXT = st.none() | TEXT
AREA = st.none() | st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False)
IMAGES = st.lists(
    st.builds(
        Image,
        url=st.sampled_from(["https://i.example/1.jpg", " https://i.example/2.jpg ", "x"]),
        caption=OPT_TEXT,
        order=st.integers(0, 50),
        is_floor_plan=st.booleans(),
    ),
    max_size=4,
)
LISTINGS = st.builds(
    Listing,
    listing_key=TEXT,
    agency_key=TEXT,
    status=st.sampled_from(ListingStatus),
    address=st.builds(
        Address, street=TEXT, postal_code=OPT_TEXT, city=OPT_TEXT, apartment_number=OPT_TEXT
    ),
    housing_form=st.none() | st.sampled_from(HousingForm),
    tenure=st.none() | st.sampled_from(Tenure),
    coordinates=st.none()
    | st.builds(
        Coordinates,
        st.floats(-90, 90, allow_nan=False),
        st.floats(-180, 180, allow_nan=False),
    ),
    asking_price=st.none() | st.integers(0, 10**9),
    living_area=AREA,
    plot_area=AREA,
    rooms=AREA,
    energy_class=st.none() | st.sampled_from(["a", " B ", "c", "X"]),
    title=OPT_TEXT,
    description=OPT_TEXT,
    images=IMAGES.map(tuple),
    viewings=st.lists(
        st.builds(Viewing, starts_at=st.datetimes(min_value=datetime(2000, 1, 1))), max_size=3
    ).map(tuple),
    broker=st.none() | st.builds(Broker, name=TEXT),
    sale=st.none()
    | st.builds(
        Sale,
        price=st.integers(1, 10**8),
        price_is_public=st.booleans(),
        sold_on=st.dates(date(2000, 1, 1)),
    ),
)


@FUZZ
@given(listing=LISTINGS)
def test_normalise_is_idempotent_and_hashes_are_stable(listing: Listing) -> None:
    once = normalise(listing)
    twice = normalise(once)
    assert twice == once
    assert content_hash(twice) == content_hash(once)
    assert images_hash(twice.images) == images_hash(once.images)
    assert isinstance(problems(once), list)


@FUZZ
@given(listing=LISTINGS)
def test_a_stored_listing_reads_back_with_the_same_hash(listing: Listing) -> None:
    once = normalise(listing)
    back = listing_from_plain(to_plain(once))
    assert content_hash(back) == content_hash(once)
    assert images_hash(back.images) == images_hash(once.images)


@FUZZ
@given(listing=LISTINGS, field_name=st.sampled_from(["title", "description", "address"]))
def test_blank_only_differences_do_not_change_the_hash(listing: Listing, field_name: str) -> None:
    once = normalise(listing)
    value: Any = getattr(once, field_name)
    if field_name == "address":
        padded: Any = dataclasses.replace(value, street=f"  {value.street}\t", city=value.city)
    elif value is None:
        return
    else:
        padded = f" {value}  "
    again = normalise(dataclasses.replace(once, **{field_name: padded}))
    assert content_hash(again) == content_hash(once)


# --- regressions found by the fuzzing above -------------------------------------------------


def test_regression_forty_digits_is_a_value_error_not_invalid_operation() -> None:
    for parse in (transforms.parse_int, transforms.parse_decimal):
        try:
            parse("1" * 40)
        except ValueError as exc:
            assert "digits" in str(exc)
        else:
            raise AssertionError("40 digits were read as a number")


def test_regression_a_huge_area_is_a_problem_not_a_crash() -> None:
    built = ASSEMBLER.assemble(
        CellRecord({"id": "A1", "status": "till salu", "gata": "Storgatan", "boarea": "9" * 30})
    )
    assert built.listing is None
    assert [p.field for p in built.problems if p.severity == "error"] == ["living_area"]


def test_regression_an_unparseable_image_url_is_left_out_with_a_warning() -> None:
    built = ASSEMBLER.assemble(
        CellRecord(
            {"id": "A1", "status": "till salu", "gata": "Storgatan", "bild_1": "http://[x/1.jpg"}
        )
    )
    assert built.listing is not None
    assert built.listing.images == ()
    assert any(p.field == "images[0].url" and "IPv6" in p.reason for p in built.problems)
