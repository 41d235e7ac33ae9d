"""XPath's extension functions as a mapping sees them: EXSLT's regular expressions through
a prefix the mapping binds to their namespace, whichever prefix it is; none without."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from syncd.formats import parse_file
from syncd.formats.mapping_file import mapping_from_dict
from syncd.formats.xml_reader import EXSLT_REGEXP, XPathCache

EXPORT = b"""<?xml version="1.0" encoding="utf-8"?>
<feed>
  <house><id>A-1</id><status>for_sale</status><ref>obj 42/7</ref></house>
  <house><id>A-2</id><status>for_sale</status><ref>none</ref></house>
</feed>
"""


@pytest.mark.parametrize("prefix", ["re", "regex"])
def test_a_bound_prefix_reaches_the_regular_expression_functions(
    tmp_path: Path, prefix: str
) -> None:
    mapping = mapping_from_dict(
        {
            "mapping": {
                "name": "t",
                "format": "xml",
                "record": "//house",
                "namespaces": {prefix: EXSLT_REGEXP},
            },
            "fields": {
                "listing_key": {"expr": "id", "required": True},
                "agency_key": {"value": "ag"},
                "address.street": {"value": "Gatan 1"},
                "status": "status",
                # The number in the reference, if it has one.
                "title": f"{prefix}:replace(ref, '[^0-9]+', 'g', '')",
                "new_construction": f"{prefix}:test(ref, '^obj [0-9]')",
            },
        },
        "t.toml",
        "t",
    )
    export = tmp_path / "feed.xml"
    export.write_bytes(EXPORT)
    results = list(parse_file(export, mapping).records)
    assert [r.errors for r in results] == [[], []]
    listings = [r.listing for r in results]
    assert [(x.title, x.new_construction) for x in listings if x] == [
        ("427", True),
        (None, False),
    ]


def test_without_the_namespace_there_are_no_regular_expression_functions() -> None:
    element = etree.fromstring(b"<house><ref>obj 42</ref></house>")
    bound = XPathCache({"re": EXSLT_REGEXP}).get("re:test(ref, '4[0-9]')")
    assert bound(element) is True
    # Bound to another namespace, the same name is no function: lxml says so.
    other = XPathCache({"re": "urn:not-exslt"}).get("re:test(ref, '4[0-9]')")
    with pytest.raises(etree.XPathEvalError, match="Unregistered function"):
        other(element)
