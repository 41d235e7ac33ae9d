"""A tabular record's fields read straight from their cells by position (``in_layout``) give
exactly what reading each expression's values gives: the same listings and problems, for
rows shorter or longer than the header, "none" marks, blanks and columns named by number."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.formats.assemble import Assembler
from syncd.formats.csv_reader import TabularRecord, column_index
from syncd.formats.field_plan import field_reader, in_layout
from syncd.formats.mapping import Expr, FieldSpec
from syncd.formats.mapping_file import mapping_from_dict
from syncd.formats.values import FieldValues
from tests.unit.test_ingest_compiled_layout import CELLS, COLUMNS, MAPPING, STRICT, Plain, _same

# Columns named by their 1-based position, some beyond any row's end.
NUMBERED = mapping_from_dict(
    {
        "mapping": {"name": "numbered", "format": "csv", "header": False},
        "fields": {
            "listing_key": {"expr": 1, "required": True},
            "agency_key": {"value": "B"},
            "status": {"expr": 2, "default": "for_sale"},
            "address.street": {"expr": 3, "required": True},
            "rooms": {"expr": 4},
            "asking_price": {"expr": 5},
            "title": {"expr": 12},
        },
    },
    "numbered.toml",
    "numbered",
)


@settings(max_examples=150, deadline=None)
@given(
    header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=10, unique=True),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=12), min_size=1, max_size=4),
    mapping=st.sampled_from([MAPPING, STRICT, NUMBERED]),
)
def test_cells_by_position_equal_reading_each_expression(
    header: list[str], rows: list[list[str]], mapping: object
) -> None:
    columns, _warnings = column_index(header)
    positions: dict[Expr, int | None] = {}
    by_position, plain = Assembler(mapping), Assembler(mapping)  # type: ignore[arg-type]
    for cells in rows:
        record = TabularRecord(cells, columns, positions)
        _same(by_position.assemble(record), plain.assemble(Plain(record)))


def test_a_field_reads_its_cell_by_position() -> None:
    values = FieldValues(STRICT)
    read = field_reader(values, "rooms", "decimal", FieldSpec(expr="rum"))
    columns, _ = column_index(["id", "rum"])
    record = TabularRecord(["A1", " 3,5 "], columns, {})
    placed = in_layout(read, record.column)
    assert placed is not read  # the cell reader, not the reader of values
    assert (
        placed(record, "rooms", []) == read(record, "rooms", []) == read(Plain(record), "rooms", [])
    )
    short = TabularRecord(["A2"], columns, {})
    out: list[object] = []
    assert placed(short, "rooms", out) is None and not out  # type: ignore[arg-type]
    # A column the layout lacks keeps the reader it had.
    assert in_layout(read, TabularRecord(["A3"], column_index(["id"])[0], {}).column) is read
