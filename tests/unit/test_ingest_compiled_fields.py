"""A compiled field reader gives exactly what the general rule gives (tests/reference):
the value and the problems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.domain import Problem
from syncd.formats.field_plan import field_reader
from syncd.formats.mapping import FIELD_KINDS, Expr
from syncd.formats.mapping_file import mapping_from_dict
from syncd.formats.values import FieldValues
from tests.reference.field_value import field_value


class Row:
    """Column name -> the texts an expression gives (several: an XPath with many nodes)."""

    def __init__(self, cells: dict[str, list[str]]) -> None:
        self.cells = cells

    def values(self, expr: Expr) -> list[str]:
        return list(self.cells.get(str(expr), []))

    def each(self, expr: str) -> Sequence[Row]:
        return []


# (field, spec as a mapping file writes it): every spec shape and every kind of value.
SPECS: list[tuple[str, Any]] = [
    ("title", "a"),
    ("description", {"expr": "a", "html": True}),
    ("description", {"expr": "a", "multiple": "join", "separator": " / "}),
    ("address.street", {"template": "{a} {b}"}),
    ("address.city", {"first_of": ["a", "b"]}),
    ("address.municipality", {"concat": ["a", "b"], "separator": "-"}),
    ("asking_price", "a"),
    ("asking_price", {"expr": "a", "decimal_separator": ","}),
    ("monthly_fee", {"expr": "a", "default": 7}),
    ("construction_year", {"expr": "a", "required": True}),
    ("floor", {"expr": "a", "default": 3, "required": True}),
    ("living_area", "a"),
    ("rooms", {"expr": "a", "default": "2,5"}),
    ("coordinates.latitude", "a"),
    ("new_construction", {"expr": "a", "default": False}),
    ("new_construction", {"value": True}),
    ("status", {"expr": "a", "map": {"ja": "for_sale", "x": "sold"}, "default": "upcoming"}),
    ("status", {"expr": "a", "map": {"ja": "for_sale"}, "map_default": "withdrawn"}),
    ("status", "a"),
    ("status", {"value": "for_sale"}),
    ("energy_class", {"expr": "a", "map": {"a": "A", "b": ""}}),
    ("sale.sold_on", {"expr": "a", "formats": ["%d.%m.%Y"]}),
    ("seller.identity_number", {"expr": "a", "required": True}),
    ("seller.seller_type", {"expr": "a", "default": "INDIVIDUAL"}),
    ("agency_key", {"expr": "a", "default": "byra"}),
]
TEXTS = st.sampled_from(
    [
        "",
        "  ",
        "-",
        "---",
        "ja",
        " JA ",
        "x",
        "b",
        "a",
        "12",
        "1 234,5",
        "3 495 000 kr",
        "72,5",
        "59.3",
        "abc",
        "nej",
        "2026-01-31",
        "31.01.2026",
        "<p>Ljus <b>lägenhet</b></p>",
        "<br/>",
        "for_sale",
        "INDIVIDUAL",
        "19121212-1212",
    ]
)


def _values(name: str, raw: Any) -> FieldValues:
    data = {
        "mapping": {"name": "t", "format": "csv"},
        "fields": {
            "listing_key": "k",
            "agency_key": "k",
            "status": "k",
            "address.street": "k",
            name: raw,
        },
    }
    return FieldValues(mapping_from_dict(data, "t.toml", "t"))


def test_every_spec_shape_compiles() -> None:
    for name, raw in SPECS:
        values = _values(name, raw)
        spec = values.mapping.fields[name]
        assert callable(field_reader(values, name, FIELD_KINDS[name], spec))


@settings(max_examples=400, deadline=None)
@given(
    which=st.integers(0, len(SPECS) - 1),
    a=st.lists(TEXTS, max_size=3),
    b=st.lists(TEXTS, max_size=2),
)
def test_compiled_reader_equals_the_generic_path(which: int, a: list[str], b: list[str]) -> None:
    name, raw = SPECS[which]
    values = _values(name, raw)
    kind, spec = FIELD_KINDS[name], values.mapping.fields[name]
    row = Row({"a": a, "b": b})
    generic: list[Problem] = []
    compiled: list[Problem] = []
    expected = field_value(values, row, name, kind, spec, generic)
    got = field_reader(values, name, kind, spec)(row, name, compiled)
    assert (got, type(got)) == (expected, type(expected))
    assert compiled == generic


def test_a_reader_names_a_group_member_by_the_name_it_is_called_with() -> None:
    values = _values("asking_price", "a")
    spec = values.mapping.fields["asking_price"]
    out: list[Problem] = []
    read = field_reader(values, "asking_price", "int", spec)
    assert read(Row({"a": ["many"]}), "images[3].order", out) is None
    assert [p.field for p in out] == ["images[3].order"]
