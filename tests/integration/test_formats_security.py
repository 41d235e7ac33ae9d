"""Hostile XML: billion laughs, XXE and external DTDs are refused fast, without growth."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from syncd.errors import ParseError
from syncd.formats import load_mapping, parse_file

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("billion-laughs.xml", "declares entities"),
        ("xxe.xml", "declares entities"),
        ("external-dtd.xml", "external DTD"),
    ],
)
def test_hostile_files_are_refused_quickly_without_memory_growth(name: str, reason: str) -> None:
    mapping = load_mapping("openimmo")
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        list(parse_file(FIXTURES / name, mapping).records)
    elapsed = time.perf_counter() - started
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb
    assert reason in str(caught.value)
    assert caught.value.line == 2
    assert elapsed < 0.25
    assert grown_kb < 10_000


def test_an_entity_hidden_after_a_comment_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "sneaky.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!-- harmless -->\n<!DOCTYPE a [\n<!ENTITY e "x">]>\n<a>&e;</a>',
        encoding="utf-8",
    )
    with pytest.raises(ParseError, match="declares entities"):
        parse_file(path, load_mapping("openimmo"))


def test_a_plain_doctype_without_entities_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "plain.xml"
    path.write_text(
        "<!DOCTYPE openimmo>\n<openimmo><anbieter><immobilie><geo><strasse>G 1</strasse></geo>"
        "<verwaltung_techn><objektnr_extern>P1</objektnr_extern></verwaltung_techn>"
        "</immobilie></anbieter></openimmo>",
        encoding="utf-8",
    )
    (record,) = list(parse_file(path, load_mapping("openimmo")).records)
    assert record.listing_key == "P1"


def test_a_utf16_xxe_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xxe16.xml"
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<a>&x;</a>'
    )
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(ParseError, match="declares entities"):
        parse_file(path, load_mapping("openimmo"))
