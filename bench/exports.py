"""Generated CRM exports of any size for the benchmarks: OpenImmo XML and generic-csv.

Deterministic (seeded): the same arguments give the same bytes, so a re-drop is unchanged
content. ``changed`` gives listings (by index) another title; ``raised`` (CSV) another asking
price; ``padded`` changes the bytes but not the content (a trailing blank the canonical form
strips).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from pathlib import Path
from xml.sax.saxutils import escape

STREETS = ("Götgatan", "Storgatan", "Ängsvägen", "Drottninggatan", "Kungsgatan", "Åsgatan")
CITIES = (("11846", "Stockholm"), ("75320", "Uppsala"), ("41103", "Göteborg"), ("21120", "Malmö"))
TEXT = (
    "Ljus och välplanerad lägenhet med balkong i söderläge. Renoverat kök och badrum. "
    "Nära till kommunikationer, skolor och service. "
) * 4
AGENCY = "BENCH"


def _title(i: int, changed: Collection[int], generation: int, padded: bool) -> str:
    title = f"Lägenhet {i}" + (f" (ändrad {generation})" if i in changed else "")
    return title + (" " if padded else "")


def write_xml(
    path: Path,
    count: int,
    *,
    images: int = 4,
    changed: Collection[int] = (),
    generation: int = 1,
    padded: bool = False,
    key_prefix: str = "B",
) -> None:
    """An OpenImmo full export: one <immobilie> per listing, ``images`` pictures each
    (the last one a floor plan when there are four or more)."""
    rnd = random.Random(1)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<openimmo>\n')
        out.write('<uebertragung art="OFFLINE" umfang="VOLL" modus="CHANGE" version="1.2.7"/>\n')
        out.write(f"<anbieter><anbieternr>1</anbieternr><openimmo_anid>{AGENCY}</openimmo_anid>\n")
        for i in range(count):
            plz, ort = rnd.choice(CITIES)
            pictures = "".join(
                f'<anhang location="REMOTE" gruppe="{"GRUNDRISS" if n == 3 else "BILD"}">'
                f"<anhangtitel>Bild {n}</anhangtitel><daten><pfad>https://img.example/"
                f"{key_prefix}{i}/{n}.jpg</pfad></daten></anhang>"
                for n in range(images)
            )
            title = escape(_title(i, changed, generation, padded))
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
                f"</zustand_angaben><freitexte><objekttitel>{title}</objekttitel>"
                f"<objektbeschreibung>{escape(TEXT)}</objektbeschreibung></freitexte>"
                f"<anhaenge>{pictures}</anhaenge>"
                f"<verwaltung_techn><objektnr_extern>{key_prefix}{i}</objektnr_extern>"
                '<aktion aktionart="CHANGE"/></verwaltung_techn></immobilie>\n'
            )
        out.write("</anbieter></openimmo>\n")


CSV_HEADER = (
    "objektnummer;status;boendeform;upplatelseform;gatuadress;postnummer;ort;utgangspris;"
    "lagenhetsnummer;avgift;boarea;antal_rum;byggar;rubrik;beskrivning;{images}maklarbyra\n"
)


def write_csv(
    path: Path,
    count: int,
    *,
    images: int = 3,
    changed: Collection[int] = (),
    generation: int = 1,
    padded: bool = False,
    key_prefix: str = "C",
    raised: Collection[int] = (),
) -> None:
    """A generic-csv full export (semicolons, Swedish number formats), ``images`` each."""
    rnd = random.Random(2)
    columns = "".join(f"bild_{n};" for n in range(1, images + 1))
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(CSV_HEADER.format(images=columns))
        for i in range(count):
            plz, ort = rnd.choice(CITIES)
            urls = "".join(
                f"https://img.example/{key_prefix}{i}/{n}.jpg;" for n in range(1, images + 1)
            )
            title = _title(i, changed, generation, padded)
            out.write(
                f"{key_prefix}{i};Till salu;Lägenhet;Bostadsrätt;{rnd.choice(STREETS)} "
                f"{rnd.randrange(1, 99)};{plz};{ort};"
                f"{rnd.randrange(1, 90) * 100 + (50 if i in raised else 0)} 000 kr;"
                f"1101;{rnd.randrange(1500, 6000)};{rnd.randrange(20, 200)},5;"
                f"{rnd.randrange(1, 8)};"
                f'1960;{title};"{TEXT}";{urls}{AGENCY}\n'
            )


def write_export(fmt: str, path: Path, count: int, **options: object) -> None:
    """``fmt`` is "xml" (openimmo) or "csv" (generic-csv)."""
    writer = write_xml if fmt == "xml" else write_csv
    writer(path, count, **options)  # type: ignore[arg-type]
