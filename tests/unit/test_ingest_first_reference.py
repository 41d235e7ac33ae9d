"""The first ingest's parse gives, record for record, what it gave before it was made faster:
the listing's stored JSON and hashes, its problems with their what and where, its key,
agency and coverage, for the bundled demo exports, the malformed-input corpus and generated
exports with bad records (CSV and XML).

The reference (tests/fixtures/formats/first-ingest-reference.json) was written by this
module's ``main()`` at the commit before the fast paths (ingestfirst, 2026-12-05); a record
whose digest differs is named by file and record index. Rewrite it only for a change that
means to change what is stored, and say so in that commit.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from datetime import date
from pathlib import Path
from typing import Any

from syncd.core.domain import Hashes, plain_json, to_plain
from syncd.core.errors import ParseError
from syncd.formats import load_mapping, parse_file
from syncd.formats.parse import RecordResult

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "fixtures" / "formats" / "first-ingest-reference.json"
TODAY = date(2026, 12, 5)  # what XML expressions see as $today
CSV_HEADER = [
    "objektnummer",
    "status",
    "boendeform",
    "upplatelseform",
    "gatuadress",
    "postnummer",
    "ort",
    "utgangspris",
    "valuta",
    "avgift",
    "boarea",
    "antal_rum",
    "byggar",
    "energiklass",
    "nyproduktion",
    "rubrik",
    "latitud",
    "longitud",
    "maklare_namn",
    "maklare_epost",
    "saljare_typ",
    "slutpris",
    "kontraktsdatum",
    "bildratt_villkor",
    "bild_1",
    "bildtext_1",
    "bild_2",
    "bild_4",
    "planritning",
    "visning_1",
    "visning_1_slut",
    "maklarbyra",
]
# Per column: the values a generated row picks from, good ones and bad ones.
CSV_CELLS: dict[str, list[str]] = {
    "objektnummer": ["K{i}", "K{i}", "K{i}", "", "-", "K1"],
    "status": ["Till salu", "till salu", "Såld", "Kommande", "okänd", "", "@x"],
    "boendeform": ["Lägenhet", "Villa", "radhus", "", "slott"],
    "upplatelseform": ["Bostadsrätt", "Äganderätt", "", "hyra"],
    "gatuadress": ["Storgatan {i}", "Åsgatan 2", "", "  Ängsvägen  7 "],
    "postnummer": ["11846", "118 46", "1184", ""],
    "ort": ["Stockholm", "Malmö", "", "GÖTEBORG"],
    "utgangspris": ["4 700 000 kr", "2500000", "-5", "gratis", "", "1,5 mkr"],
    "valuta": ["", "SEK", "EUR", "kr"],
    "avgift": ["2885", "", "3 100", "x"],
    "boarea": ["191,5", "72.5", "", "abc", "1e3"],
    "antal_rum": ["3", "2,5", "", "tre"],
    "byggar": ["1960", "", "19601", "2030"],
    "energiklass": ["C", "c", "", "Z"],
    "nyproduktion": ["", "ja", "nej", "kanske"],
    "rubrik": ["Lägenhet {i}", "", "<b>Fin</b> trea", "Rad\x01med kontroll"],
    "latitud": ["59.33", "", "0", "91"],
    "longitud": ["18.06", "", "0", "x"],
    "maklare_namn": ["Anna", "", "Bo Ek"],
    "maklare_epost": ["anna@byra.example", "", "inte-en-adress"],
    "saljare_typ": ["", "privatperson", "brf", "alien"],
    "slutpris": ["", "4 500 000", "x"],
    "kontraktsdatum": ["", "2026-11-30", "2026-13-45"],
    "bildratt_villkor": ["", "ingen licens", "obegränsad", "kanske"],
    "bild_1": ["https://img.example/{i}/1.jpg", "", "bild.jpg", "javascript:alert(1)"],
    "bildtext_1": ["", "Vardagsrum", "Kök"],
    "bild_2": ["https://img.example/{i}/2.jpg", "", "http://[bad"],
    "bild_4": ["", "https://img.example/{i}/4.jpg"],
    "planritning": ["", "https://img.example/{i}/plan.png"],
    "visning_1": ["", "2026-12-10 17:00", "2026-12-10", "i morgon"],
    "visning_1_slut": ["", "18:00", "2026-12-10 18:30", "sen"],
    "maklarbyra": ["BYRA", "", "Andra"],
}


def _pick(rnd: random.Random, pool: list[str]) -> str:
    """Mostly the first (good) value, so that about half the records are usable."""
    return pool[0] if rnd.random() < 0.93 else rnd.choice(pool)


def write_generated_csv(path: Path, count: int = 400) -> None:
    """A generic-csv export whose rows mix good and bad values (and some of the wrong width)."""
    rnd = random.Random(16)
    lines = [";".join(CSV_HEADER)]
    for i in range(count):
        cells = [_pick(rnd, CSV_CELLS[column]).format(i=i) for column in CSV_HEADER]
        if i % 97 == 13:
            cells.append("extra")  # a misaligned row
        lines.append(";".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_generated_xml(path: Path, count: int = 200) -> None:
    """An OpenImmo export whose records mix good and bad values."""
    rnd = random.Random(17)
    prices = ["4700000.00", "", "-1", "gratis", "250000"]
    areas = ["72.50", "", "abc", "1000000"]
    kinds = ["<wohnung/>", "<haus/>", "", "<zimmer/>"]
    urls = ["https://img.example/{i}/1.jpg", "", "bild.jpg", "javascript:x"]
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<openimmo>\n<anbieter>']
    out.append("<anbieternr>1</anbieternr><openimmo_anid>GEN</openimmo_anid>\n")
    for i in range(count):
        key = _pick(rnd, [f"X{i}", f"X{i}", "", "X1"])
        pictures = "".join(
            f'<anhang location="REMOTE" gruppe="{_pick(rnd, ["BILD", "GRUNDRISS", "TITELBILD"])}">'
            f"<anhangtitel>Bild {n}</anhangtitel><daten><pfad>"
            f"{_pick(rnd, urls).format(i=i)}</pfad></daten></anhang>"
            for n in range(rnd.randrange(0, 4))
        )
        out.append(
            f"<immobilie><objektkategorie><objektart>{_pick(rnd, kinds)}</objektart>"
            "</objektkategorie>"
            f"<geo><plz>{_pick(rnd, ['11846', '1184', ''])}</plz><ort>Stockholm</ort>"
            f'<geokoordinaten breitengrad="{_pick(rnd, ["59.3", "", "95"])}" '
            f'laengengrad="{_pick(rnd, ["18.1", ""])}"/>'
            f"<strasse>{_pick(rnd, ['Storgatan', '', 'Åsgatan'])}</strasse>"
            f"<hausnummer>{rnd.randrange(1, 99)}</hausnummer></geo>"
            f"<preise><kaufpreis>{_pick(rnd, prices)}</kaufpreis></preise>"
            f"<flaechen><wohnflaeche>{_pick(rnd, areas)}</wohnflaeche>"
            f"<anzahl_zimmer>{_pick(rnd, ['3', '2.5', '', 'tre'])}</anzahl_zimmer></flaechen>"
            f"<freitexte><objekttitel>Titel {i}</objekttitel></freitexte>"
            f"<anhaenge>{pictures}</anhaenge>"
            f"<verwaltung_techn><objektnr_extern>{key}</objektnr_extern>"
            f'<aktion aktionart="{_pick(rnd, ["CHANGE", "DELETE"])}"/></verwaltung_techn>'
            "</immobilie>\n"
        )
    out.append("</anbieter></openimmo>\n")
    path.write_text("".join(out), encoding="utf-8")


def _inputs(folder: Path) -> list[tuple[str, Path, str]]:
    """(name, file, mapping) of every export the reference covers."""
    found: list[tuple[str, Path, str]] = []
    for path in sorted((ROOT / "syncd" / "demo" / "data").iterdir()):
        found.append((f"demo/{path.name}", path, _mapping_of(path)))
    for path in sorted((ROOT / "tests" / "corpus").iterdir()):
        if path.suffix in {".csv", ".xml"}:
            found.append((f"corpus/{path.name}", path, _mapping_of(path)))
    csv_path, xml_path = folder / "generated.csv", folder / "generated.xml"
    write_generated_csv(csv_path)
    write_generated_xml(xml_path)
    found.append(("generated.csv", csv_path, "generic-csv"))
    found.append(("generated.xml", xml_path, "openimmo"))
    return found


def _mapping_of(path: Path) -> str:
    if path.suffix == ".csv":
        return "generic-csv"
    return "kyero" if path.name.startswith("kyero") else "openimmo"


def _record_line(record: RecordResult) -> str:
    """Everything a first ingest takes from one record, as one line of text."""
    said: dict[str, Any] = {
        "index": record.index,
        "line": record.line,
        "key": record.listing_key,
        "ignored": record.ignored,
        "type": record.record_type,
        "filled": sorted(record.filled),
        "patch": None if record.patch is None else repr(sorted(record.patch.items())),
        "problems": [[p.field, p.value, p.reason, p.severity] for p in record.problems],
    }
    listing = record.listing
    if listing is not None:
        plain = to_plain(listing)
        said["json"] = plain_json(plain).decode("utf-8")
        said["hashes"] = repr(Hashes.of_plain(plain))
        said["agency"] = listing.agency_key
    return json.dumps(said, ensure_ascii=False, sort_keys=True, default=repr)


def digests(folder: Path) -> dict[str, list[str]]:
    """Per export: each record's digest (16 hex), or the ParseError's message and place."""
    result: dict[str, list[str]] = {}
    for name, path, mapping in _inputs(folder):
        lines: list[str] = []
        try:
            parsed = parse_file(path, load_mapping(mapping), TODAY)
            lines.append(repr(parsed.warnings))
            lines.extend(_record_line(record) for record in parsed.records)
            lines.append(repr(parsed.closing_warnings()))
            lines.append(repr(sorted(parsed.agency_names.items())))
        except ParseError as exc:
            # The message names the file by its path: only its name is the same in every
            # checkout (CI clones elsewhere).
            lines.append(f"ParseError: {str(exc).replace(str(path), path.name)}")
        result[name] = [hashlib.sha256(line.encode()).hexdigest()[:16] for line in lines]
    return result


def test_the_first_ingests_parse_is_what_it_was_record_for_record(tmp_path: Path) -> None:
    expected: dict[str, list[str]] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    found = digests(tmp_path)
    assert sorted(found) == sorted(expected)
    for name, lines in found.items():
        want = expected[name]
        assert len(lines) == len(want), f"{name}: {len(lines)} lines, expected {len(want)}"
        differ = [n for n, (a, b) in enumerate(zip(lines, want, strict=True)) if a != b]
        # Line 0 is the file's warnings; then one line per record (index n), then its end.
        assert not differ, f"{name}: lines {differ[:10]} differ from the reference"


def test_the_generated_exports_have_bad_records_and_good_ones(tmp_path: Path) -> None:
    """The reference is worth something only if the generated exports exercise both."""
    csv_path = tmp_path / "g.csv"
    write_generated_csv(csv_path)
    records = list(parse_file(csv_path, load_mapping("generic-csv"), TODAY).records)
    assert sum(r.listing is not None for r in records) > 50
    assert sum(any(p.severity == "error" for p in r.problems) for r in records) > 50
    assert sum(any(p.severity == "warning" for p in r.problems) for r in records) > 50


def main() -> None:
    """Write the reference (see the module's docstring for when)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        found = digests(Path(scratch))
    REFERENCE.write_text(json.dumps(found, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}: {sum(map(len, found.values()))} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
