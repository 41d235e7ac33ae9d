"""Fields and numbered group members whose columns a file lacks are settled once per header:
the listings and problems are exactly those of reading every column on every row."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.formats.assemble import Assembled, Assembler
from syncd.formats.csv_reader import TabularRecord, column_index
from syncd.formats.mapping import Expr
from syncd.formats.mapping_file import load_mapping, mapping_from_dict

MAPPING = load_mapping("generic-csv")
# A required field whose column may be missing, and a default: both must report per row.
STRICT = mapping_from_dict(
    {
        "mapping": {"name": "strict", "format": "csv"},
        "fields": {
            "listing_key": {"expr": "id", "required": True},
            "agency_key": {"expr": "byra", "default": "B"},
            "status": {"expr": "status", "default": "for_sale"},
            "address.street": {"expr": "gata", "required": True},
            "rooms": {"expr": "rum", "default": "2,5"},
            "title": {"first_of": ["rubrik", "id"]},
        },
        "images": [
            {"repeat": 3, "url": "bild_{n}", "caption": "text_{n}"},
            {"url": "plan", "floor_plan": True, "order": {"expr": "plan_nr", "required": True}},
        ],
    },
    "strict.toml",
    "strict",
)
COLUMNS = [
    "id",
    "objektnummer",
    "status",
    "gatuadress",
    "gata",
    "byra",
    "rum",
    "rubrik",
    "bild_1",
    "bild_2",
    "text_1",
    "plan",
    "plan_nr",
    "boarea",
    "utgangspris",
]
CELLS = st.sampled_from(
    ["", " ", "-", "A1", "Till salu", "Storgatan 1", "3", "72,5", "https://x.se/1.jpg", "bild.jpg"]
)


class Plain:
    """The same row without a layout: every expression read on every row."""

    def __init__(self, record: TabularRecord) -> None:
        self.record = record

    def values(self, expr: Expr) -> list[str]:
        return self.record.values(expr)

    def each(self, expr: str) -> Sequence[Plain]:
        return []


def _same(a: Assembled, b: Assembled) -> None:
    assert a.listing == b.listing
    assert (a.listing_key, a.agency_key, a.filled) == (b.listing_key, b.agency_key, b.filled)
    assert a.problems == b.problems


@settings(max_examples=150, deadline=None)
@given(
    header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=10, unique=True),
    rows=st.lists(st.lists(CELLS, min_size=10, max_size=10), min_size=1, max_size=4),
    strict=st.booleans(),
)
def test_settled_reading_equals_reading_every_column(
    header: list[str], rows: list[list[str]], strict: bool
) -> None:
    mapping = STRICT if strict else MAPPING
    columns, _warnings = column_index(header)
    positions: dict[Expr, int | None] = {}
    settled, plain = Assembler(mapping), Assembler(mapping)
    for cells in rows:
        record = TabularRecord(cells[: len(header)], columns, positions)
        _same(settled.assemble(record), plain.assemble(Plain(record)))


def test_a_new_header_is_settled_again() -> None:
    assembler = Assembler(STRICT)
    first, _ = column_index(["id", "gata"])
    second, _ = column_index(["id", "gata", "bild_1", "rum"])
    one = assembler.assemble(TabularRecord(["A1", "G 1"], first, {}))
    two = assembler.assemble(TabularRecord(["A2", "G 2", "https://x.se/1.jpg", "4"], second, {}))
    assert one.listing is not None and two.listing is not None
    assert one.listing.rooms is not None and str(one.listing.rooms) == "2.5"  # the default
    assert str(two.listing.rooms) == "4.0"
    assert [image.url for image in two.listing.images] == ["https://x.se/1.jpg"]
    assert not one.listing.images
