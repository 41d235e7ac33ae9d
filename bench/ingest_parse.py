"""Benchmark: parse a 100,000-listing export with the bundled mappings.

Generates an OpenImmo XML export and a generic-csv export, then parses each in a fresh
child process (so peak RSS is that run's own) beside a bare lxml iterparse of the same XML.
Prints time, records and peak RSS, and the ratio to bare iterparse. Not a timed test.

    .venv/bin/python bench/ingest_parse.py [--listings 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

STREETS = ("Götgatan", "Storgatan", "Ängsvägen", "Drottninggatan", "Kungsgatan", "Åsgatan")
CITIES = (("11846", "Stockholm"), ("75320", "Uppsala"), ("41103", "Göteborg"), ("21120", "Malmö"))
TEXT = (
    "Ljus och välplanerad lägenhet med balkong i söderläge. Renoverat kök och badrum. "
    "Nära till kommunikationer, skolor och service. "
) * 4


def write_xml(path: Path, count: int) -> None:
    rnd = random.Random(1)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<openimmo>\n')
        out.write('<uebertragung art="OFFLINE" umfang="VOLL" modus="CHANGE" version="1.2.7"/>\n')
        out.write("<anbieter><anbieternr>1</anbieternr><openimmo_anid>BENCH</openimmo_anid>\n")
        for i in range(count):
            plz, ort = rnd.choice(CITIES)
            images = "".join(
                f'<anhang location="REMOTE" gruppe="{"GRUNDRISS" if n == 3 else "BILD"}">'
                f"<anhangtitel>Bild {n}</anhangtitel><daten><pfad>https://img.example.se/"
                f"{i}/{n}.jpg</pfad></daten></anhang>"
                for n in range(4)
            )
            out.write(
                "<immobilie><objektkategorie><objektart><wohnung/></objektart></objektkategorie>"
                f"<geo><plz>{plz}</plz><ort>{ort}</ort><geokoordinaten breitengrad="
                f'"59.{rnd.randrange(10**6):06d}" laengengrad="18.{rnd.randrange(10**6):06d}"/>'
                f"<strasse>{rnd.choice(STREETS)}</strasse><hausnummer>{rnd.randrange(1, 99)}"
                f"</hausnummer><etage>{rnd.randrange(0, 8)}</etage></geo>"
                "<kontaktperson><vorname>Anna</vorname><name>Mäklare</name>"
                "<email_direkt>anna@byra.example</email_direkt></kontaktperson>"
                f"<preise><kaufpreis>{rnd.randrange(1, 90) * 100000}.00</kaufpreis>"
                f"<hausgeld>{rnd.randrange(1500, 6000)}</hausgeld></preise>"
                f"<flaechen><wohnflaeche>{rnd.randrange(20, 200)}.50</wohnflaeche>"
                f"<anzahl_zimmer>{rnd.randrange(1, 8)}</anzahl_zimmer></flaechen>"
                f"<zustand_angaben><baujahr>{rnd.randrange(1900, 2025)}</baujahr>"
                "<energiepass><wertklasse>C</wertklasse></energiepass>"
                '<verkaufstatus stand="OFFEN"/>'
                f"</zustand_angaben><freitexte><objekttitel>Lägenhet {i}</objekttitel>"
                f"<objektbeschreibung>{escape(TEXT)}</objektbeschreibung></freitexte>"
                f"<anhaenge>{images}</anhaenge>"
                f"<verwaltung_techn><objektnr_extern>B{i}</objektnr_extern>"
                '<aktion aktionart="CHANGE"/></verwaltung_techn></immobilie>\n'
            )
        out.write("</anbieter></openimmo>\n")


def write_csv(path: Path, count: int) -> None:
    rnd = random.Random(2)
    header = (
        "objektnummer;status;boendeform;upplatelseform;gatuadress;postnummer;ort;utgangspris;"
        "avgift;boarea;antal_rum;byggar;rubrik;beskrivning;bild_1;bild_2;bild_3;maklarbyra\n"
    )
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header)
        for i in range(count):
            plz, ort = rnd.choice(CITIES)
            out.write(
                f"C{i};Till salu;Lägenhet;Bostadsrätt;{rnd.choice(STREETS)} {rnd.randrange(1, 99)};"
                f"{plz};{ort};{rnd.randrange(1, 90) * 100} 000 kr;{rnd.randrange(1500, 6000)};"
                f'{rnd.randrange(20, 200)},5;{rnd.randrange(1, 8)};1960;Lägenhet {i};"{TEXT}";'
                f"https://img.example.se/{i}/1.jpg;https://img.example.se/{i}/2.jpg;"
                f"https://img.example.se/{i}/3.jpg;BENCH\n"
            )


def child(mode: str, path: str) -> None:
    """Runs in a fresh process; prints one JSON line with this process's figures."""
    started = time.perf_counter()
    records = usable = 0
    if mode == "bare-iterparse":
        from lxml import etree

        for _event, element in etree.iterparse(path, events=("end",), tag="immobilie"):
            records += 1
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]
        usable = records
    else:
        from syncd.formats import load_mapping, parse_file

        result = parse_file(path, load_mapping(mode))
        for record in result.records:
            records += 1
            usable += record.listing is not None
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(
        json.dumps(
            {"records": records, "usable": usable, "seconds": seconds, "peak_rss_mb": peak_mb}
        )
    )


def run(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the exports here and keep them")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        xml, csv = folder / "bench-openimmo.xml", folder / "bench-generic.csv"
        started = time.perf_counter()
        write_xml(xml, args.listings)
        write_csv(csv, args.listings)
        print(
            f"generated {args.listings:,} listings in {time.perf_counter() - started:.1f}s: "
            f"XML {xml.stat().st_size / 2**20:.0f} MiB, CSV {csv.stat().st_size / 2**20:.0f} MiB"
        )
        bare = run("bare-iterparse", xml)
        rows = [
            ("bare lxml iterparse (XML)", bare),
            ("syncd openimmo mapping (XML)", run("openimmo", xml)),
            ("syncd generic-csv mapping (CSV)", run("generic-csv", csv)),
        ]
        print(
            f"{'run':34} {'records':>9} {'usable':>9} {'time s':>8} {'peak RSS MiB':>13} "
            f"{'time ratio':>11}"
        )
        for name, figures in rows:
            ratio = figures["seconds"] / bare["seconds"]
            print(
                f"{name:34} {figures['records']:>9,} {figures['usable']:>9,} "
                f"{figures['seconds']:>8.1f} {figures['peak_rss_mb']:>13.1f} {ratio:>10.1f}x"
            )
        xml_peak = rows[1][1]["peak_rss_mb"]
        verdict = "under" if xml_peak < 150 else "OVER"
        print(f"XML parse peak RSS {xml_peak:.1f} MiB: {verdict} the 150 MiB budget")


if __name__ == "__main__":
    main()
