"""The fast path of number parsing ("2500", "72,5") reads what the general rules read.

A trailing blank keeps a value off the fast path without changing what the rules make of it,
so each value is compared with itself plus a blank.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.formats.transforms import parse_decimal, parse_int

NUMBERS = st.text(alphabet="0123456789.,", min_size=1, max_size=21)
SEPARATORS = st.sampled_from([None, ",", "."])


def _read(parse: object, raw: str, separator: str | None) -> tuple[object, ...]:
    assert callable(parse)
    try:
        value = parse(raw, separator)
    except ValueError as exc:
        return ("error", str(exc).replace(repr(raw), "RAW").replace(repr(raw + " "), "RAW"))
    return (type(value), value, str(value))


@settings(max_examples=600, deadline=None)
@given(raw=NUMBERS, separator=SEPARATORS)
def test_fast_path_equals_the_general_rules(raw: str, separator: str | None) -> None:
    for parse in (parse_decimal, parse_int):
        assert _read(parse, raw, separator) == _read(parse, raw + " ", separator)


@pytest.mark.parametrize(
    ("raw", "separator", "expected"),
    [
        ("2500", None, Decimal(2500)),
        ("72,5", None, Decimal("72.5")),
        ("1,500", None, Decimal(1500)),
        ("1,500", ",", Decimal("1.5")),
        ("1.50", ",", Decimal(150)),
        ("299000.50", ".", Decimal("299000.50")),
    ],
)
def test_common_values(raw: str, separator: str | None, expected: Decimal) -> None:
    assert parse_decimal(raw, separator) == expected
