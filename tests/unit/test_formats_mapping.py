"""Mapping files: bundled ones load, wrong ones fail naming the file and the key."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.core.errors import MappingError
from syncd.formats.mapping import expand_repeat
from syncd.formats.mapping_file import mapping_from_dict


def _minimal(**extra_fields: Any) -> dict[str, Any]:
    return {
        "mapping": {"format": "csv"},
        "fields": {
            "listing_key": "id",
            "agency_key": {"value": "A"},
            "status": {"value": "for_sale"},
            "address": {"street": "gata"},
            **extra_fields,
        },
    }


def test_nested_tables_and_dotted_keys_mean_the_same() -> None:
    mapping = mapping_from_dict(_minimal(), "inline", "inline")
    assert mapping.fields["address.street"].expr == "gata"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({**_minimal(), "mapping": {"format": "json"}}, "mapping.format"),
        ({**_minimal(), "mapping": {"format": "csv", "colour": 1}}, "mapping.colour"),
        (_minimal(price="pris"), "fields.price"),
        (_minimal(status={"expr": "s", "map": {"x": "for-sale"}}), "fields.status.map.x"),
        (_minimal(rooms={"expr": "r", "formatz": []}), "fields.rooms.formatz"),
        (_minimal(rooms={"expr": "r", "value": "1"}), "fields.rooms"),
        (_minimal(rooms=0), "fields.rooms"),
        ({"mapping": {"format": "csv"}, "fields": {"listing_key": "id"}}, "fields.agency_key"),
        (
            {
                **_minimal(),
                "mapping": {"format": "xml", "record": "//x"},
                "fields": {**_minimal()["fields"], "title": "a[["},
            },
            "fields.title",
        ),
        ({**_minimal(), "images": [{"caption": "c"}]}, "images[0].url"),
    ],
)
def test_a_wrong_mapping_names_file_and_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(MappingError) as caught:
        mapping_from_dict(data, "broken.toml", "broken")
    assert "broken.toml" in str(caught.value)
    assert key in str(caught.value)


def test_all_problems_are_reported_at_once() -> None:
    data = _minimal(price="p", colour="c")
    with pytest.raises(MappingError) as caught:
        mapping_from_dict(data, "m.toml", "m")
    assert "2 problem(s)" in str(caught.value)


def test_repeat_index_in_column_names() -> None:
    assert expand_repeat("bild_{n}", 3) == "bild_3"
    assert expand_repeat("MEDIA_IMAGE_{n:02}", 4) == "MEDIA_IMAGE_04"
    assert expand_repeat(7, 4) == 7
