"""Value transforms: numbers in every style, dates, booleans, HTML and image URLs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from syncd.formats import transforms


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3 495 000 kr", Decimal("3495000")),
        ("3\u00a0495\u00a0000 SEK", Decimal("3495000")),
        ("1.234.567,50", Decimal("1234567.50")),
        ("1,234,567.50", Decimal("1234567.50")),
        ("159,950", Decimal("159950")),  # one separator + three digits: thousands
        ("1.500", Decimal("1500")),
        ("72,5 m²", Decimal("72.5")),
        ("299000.50", Decimal("299000.50")),
        ("6.00", Decimal("6.00")),
        ("2,5 rum", Decimal("2.5")),
        ("-500,000", Decimal("-500000")),
        ("1'250'000", Decimal("1250000")),
        ("ca 40", Decimal("40")),
    ],
)
def test_numbers_in_swedish_european_and_english_styles(raw: str, expected: Decimal) -> None:
    assert transforms.parse_decimal(raw) == expected


def test_a_forced_decimal_separator_settles_the_three_digit_ambiguity() -> None:
    assert transforms.parse_decimal("72,500", decimal_separator=",") == Decimal("72.500")
    assert transforms.parse_decimal("1.500", decimal_separator=".") == Decimal("1.500")
    assert transforms.parse_decimal("1.234,5", decimal_separator=",") == Decimal("1234.5")


@pytest.mark.parametrize("raw", ["", "kr", "inte ett pris", "1.2.3,4.5"])
def test_text_without_a_readable_number_is_an_error(raw: str) -> None:
    with pytest.raises(ValueError, match=r"number"):
        transforms.parse_decimal(raw)


def test_whole_numbers_round_half_up() -> None:
    assert transforms.parse_int("299000.50") == 299001
    assert transforms.parse_int("4 250") == 4250


def test_coordinates_always_read_one_separator_as_decimal() -> None:
    assert transforms.parse_coordinate(" -0.768823") == pytest.approx(-0.768823)
    assert transforms.parse_coordinate("18,071") == pytest.approx(18.071)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ja", True),
        ("Nej", False),
        ("J", True),
        ("n", False),
        ("true", True),
        ("FALSE", False),
        ("1", True),
        ("0", False),
    ],
)
def test_booleans(raw: str, expected: bool) -> None:
    assert transforms.parse_bool(raw) is expected


def test_an_unknown_boolean_says_which_words_work() -> None:
    with pytest.raises(ValueError, match="ja/nej"):
        transforms.parse_bool("kanske")


def test_dates_try_each_format_then_iso() -> None:
    assert transforms.parse_date("06.12.2026") == date(2026, 12, 6)
    assert transforms.parse_date("2026-12-06") == date(2026, 12, 6)
    assert transforms.parse_date("6/12/26", ("%d/%m/%y",)) == date(2026, 12, 6)
    assert transforms.parse_datetime("2026-12-06 13:00") == datetime(2026, 12, 6, 13, 0)


def test_an_unreadable_date_lists_the_formats_tried() -> None:
    with pytest.raises(ValueError, match=r"%d\.%m\.%Y"):
        transforms.parse_date("nästa tisdag", ("%d.%m.%Y",))


def test_html_becomes_plain_text_with_line_breaks() -> None:
    text = transforms.strip_html("<p><b>Hall</b><br>Stairs &amp; door.</p><p>Kitchen</p>")
    assert text == "Hall\nStairs & door.\nKitchen\n"


def test_image_urls_are_resolved_and_spaces_percent_encoded_with_a_warning() -> None:
    url, warnings = transforms.image_url("uploads/M702/01 fachada.jpg", "https://cdn.example/")
    assert url == "https://cdn.example/uploads/M702/01%20fachada.jpg"
    assert warnings and "percent-encoded" in warnings[0]
    same, none = transforms.image_url("https://cdn.example/a.jpg?x=1&y=2", None)
    assert (same, none) == ("https://cdn.example/a.jpg?x=1&y=2", [])
