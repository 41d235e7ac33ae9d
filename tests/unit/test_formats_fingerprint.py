"""A record's fingerprint changes with everything its listing is made from, and a mapping
whose records are not all their listing is made from takes none unread."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from lxml import etree

import syncd
from syncd.formats import load_mapping
from syncd.formats.csv_reader import TabularRecord
from syncd.formats.fingerprint import Fingerprints, can_fingerprint, digest_of_code
from syncd.formats.mapping import FieldSpec, Mapping
from syncd.formats.xml_reader import XmlRecord, XPathCache, mapping_walks

CSV = load_mapping("generic-csv")
COLUMNS = {"objektnummer": 0, "rubrik": 1}
IDENTITY = ["K1", "byra-1", None, None]


def _nothing_known(_key: str) -> str | None:
    return None


def fingerprint(
    row: list[str],
    *,
    columns: dict[str, int] = COLUMNS,
    identity: list[str | None] = IDENTITY,
    mapping: Mapping = CSV,
    context: str = "",
) -> str | None:
    record = TabularRecord(row, columns)
    return Fingerprints(mapping, _nothing_known, context).of(record, identity)


def test_the_same_record_has_the_same_fingerprint_and_any_change_another() -> None:
    same = fingerprint(["K1", "Villa"])
    assert same is not None and same == fingerprint(["K1", "Villa"])
    others = [
        fingerprint(["K1", "Villa!"]),
        fingerprint(["K1", "Villa", ""]),
        fingerprint(["K1Villa"]),
        fingerprint(["K1", "Villa"], columns={"objektnummer": 0, "titel": 1}),
        fingerprint(["K1", "Villa"], mapping=dataclasses.replace(CSV, decimal_separator=".")),
        fingerprint(["K1", "Villa"], context="byra-1"),
    ]
    assert len({same, *others}) == len(others) + 1


def test_a_rows_identity_is_read_from_the_row_so_only_an_xml_records_is_in_its_fingerprint() -> (
    None
):
    # A CSV row's identity comes from its cells (and the mapping and context, in the salt):
    # a row is found by its digest before its identity is read (row_digest).
    assert fingerprint(["K1", "Villa"], identity=["K1", "byra-2", None, None]) == fingerprint(
        ["K1", "Villa"]
    )
    openimmo = load_mapping("openimmo")
    xpaths = XPathCache(dict(openimmo.namespaces), mapping_walks(openimmo), None)
    record = XmlRecord(etree.fromstring(b"<immobilie><x>1</x></immobilie>"), xpaths)
    fingerprints = Fingerprints(openimmo, _nothing_known)
    # An XML record's agency may be read from outside it (OpenImmo's <anbieter>).
    seen = {
        fingerprints.of(record, identity)
        for identity in (IDENTITY, ["K1", "byra-2", None, None], ["K1", "byra-1", "Byrå", None])
    }
    assert len(seen) == 3 and None not in seen


@pytest.mark.parametrize(
    ("expr", "inside"),
    [
        ("geo/plz", True),
        ("anhaenge/anhang[@gruppe='BILD']/daten/pfad", True),
        ("a//b", True),
        ("local-name(objektart/*[1])", True),
        ("ancestor::anbieter/firma", False),
        ("../firma", False),
        ("/openimmo/anbieter/firma", False),
        ("geo/plz | /openimmo/x", False),
        ("count(//immobilie)", False),
        ("x[@id = /root/@id]", False),
        ("preceding-sibling::agent/id", False),
        ("concat(name, $today)", False),
    ],
)
def test_an_xml_mapping_reading_outside_its_records_takes_none_unread(
    expr: str, inside: bool
) -> None:
    openimmo = load_mapping("openimmo")
    fields = {**openimmo.fields, "title": FieldSpec(expr=expr)}
    assert can_fingerprint(dataclasses.replace(openimmo, fields=fields)) is inside


def test_partial_records_are_never_taken_unread() -> None:
    assert can_fingerprint(CSV)
    assert not can_fingerprint(dataclasses.replace(CSV, partial=FieldSpec(expr="delta")))


def test_the_code_digest_changes_with_any_code_that_shapes_a_stored_listing(tmp_path: Path) -> None:
    """A row found unread keeps the listing the code stored from it: a change to ingest's
    own choices (say, the agency a record falls back to) must have it read again, as a
    change to the mapping code or the domain does; code elsewhere (the daemon) need not."""
    package = Path(syncd.__file__).resolve().parent
    root = tmp_path / "syncd"
    shutil.copytree(package, root, ignore=shutil.ignore_patterns("__pycache__"))
    before = digest_of_code(root)
    assert before == digest_of_code(package)
    for shaping in ("formats/parse.py", "core/domain/listing.py", "usecases/ingest/parse.py"):
        source = root / shaping
        text = source.read_text(encoding="utf-8")
        source.write_text(text + "\n# changed\n", encoding="utf-8")
        assert digest_of_code(root) != before, shaping
        source.write_text(text, encoding="utf-8")
    daemon = root / "runtime" / "daemon" / "jobs.py"
    daemon.write_text(daemon.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert digest_of_code(root) == before
