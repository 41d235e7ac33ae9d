"""The one-walk path finder gives exactly what lxml's XPath gives for the paths it takes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from syncd.formats.xml_paths import PathWalk, element_text, is_simple

RECORD = b"""<r xmlns:x="urn:x" id="7">
  <geo><plz>11846</plz><ort>Stockholm</ort><plz>2</plz>
    <k lat="59.1" lon="18.0"/><k lat="60"/></geo>
  <!-- a comment between records -->
  <geo><plz>3</plz><x:plz>namespaced</x:plz></geo>
  <v><a>1</a><b>2</b><a>3</a><c><a>deep</a></c></v>
  <x:geo><plz>in another namespace</plz></x:geo>
  <empty/>
</r>"""

SIMPLE = [
    "geo/plz",
    "geo/ort",
    "geo/k/@lat",
    "geo/k/@lon",
    "@id",
    "@missing",
    "v/a | v/b",
    "v/b | v/a",
    "v/a | v/a",
    "v | v/a | v/c/a",
    "geo",
    "missing/path",
    "empty",
]
NOT_SIMPLE = [
    "geo/plz[1]",
    "x:geo/plz",
    "//plz",
    "geo/k/@lat | geo/plz",
    "local-name(*)",
    "geo / plz",
    "string(geo/plz)",
    "../geo",
    "geo/*",
    "text()",
]


def _xpath(element: etree._Element, expr: str) -> list[str]:
    """What XPath finds, as text (the reader's values: element text or attribute value)."""
    result = etree.XPath(expr, smart_strings=False)(element)
    assert isinstance(result, list)
    return [item if isinstance(item, str) else element_text(item) for item in result]  # type: ignore[arg-type]


def test_each_simple_path_finds_what_xpath_finds_in_document_order() -> None:
    record = etree.fromstring(RECORD)
    walk = PathWalk(SIMPLE)
    found = walk.walk(record)
    assert set(walk.slots) == set(SIMPLE)
    for expr in SIMPLE:
        assert found[walk.slots[expr]] == _xpath(record, expr), expr
    assert found[walk.slots["v | v/a | v/c/a"]] == ["123deep", "1", "3", "deep"]


def test_other_expressions_are_left_to_xpath() -> None:
    walk = PathWalk([*NOT_SIMPLE, 3])
    assert walk.slots == {}
    assert walk.walk(etree.fromstring(RECORD)) == []
    assert not any(is_simple(expr) for expr in NOT_SIMPLE)


_TAGS = st.sampled_from(["a", "b", "c"])


@st.composite
def _trees(draw: st.DrawFn, depth: int = 3) -> etree._Element:
    element = etree.Element(draw(_TAGS))
    if draw(st.booleans()):
        element.set("n", draw(st.sampled_from(["1", "", "x"])))
    if depth > 0:
        for _ in range(draw(st.integers(0, 3))):
            element.append(draw(_trees(depth - 1)))
    return element


_PATHS = st.lists(_TAGS, min_size=1, max_size=3).map("/".join)


@settings(max_examples=150, deadline=None)
@given(
    tree=_trees(),
    unions=st.lists(st.lists(_PATHS, min_size=1, max_size=3).map(" | ".join), max_size=4),
    attributes=st.lists(_PATHS.map(lambda path: path + "/@n"), max_size=2),
)
def test_random_trees_and_paths_agree_with_xpath(
    tree: etree._Element, unions: list[str], attributes: list[str]
) -> None:
    expressions = unions + attributes + ["@n"]
    walk = PathWalk(expressions)
    found = walk.walk(tree)
    for expr in expressions:
        assert found[walk.slots[expr]] == _xpath(tree, expr), expr
