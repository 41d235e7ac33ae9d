"""``syncd mapping new``: a draft from a sample of our own making loads, reads the right
paths, and is accepted by ``syncd check`` as it is."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from syncd.formats import check_report, load_mapping
from syncd.formats.draft import propose, render
from syncd.formats.survey import survey

SYNCD = Path(sys.executable).parent / "syncd"

# A Spanish-style feed in a default namespace: a header outside the records, two records,
# images repeated inside each record, a multi-language description.
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="urn:example:feed">
  <agent><name>Inmo Sol</name><email>info@example.es</email></agent>
  {records}
</feed>
"""
RECORD = """<propiedad>
    <referencia>{key}</referencia>
    <estado>{state}</estado>
    <tipo>Apartamento</tipo>
    <direccion>Calle Mayor {n}</direccion>
    <codigo_postal>2800{n}</codigo_postal>
    <ciudad>Madrid</ciudad>
    <precio>{price}</precio>
    <superficie>8{n}</superficie>
    <habitaciones>3</habitaciones>
    <descripcion><en>Bright flat {n}</en><es>Piso luminoso {n}</es></descripcion>
    <fotos><foto><url>https://img.example.es/{key}-1.jpg</url></foto>
           <foto><url>https://img.example.es/{key}-2.jpg</url></foto></fotos>
  </propiedad>"""


def write_feed(path: Path) -> Path:
    records = "\n  ".join(
        RECORD.format(key=f"ES-{n}", n=n, price=250000 + n, state=state)
        for n, state in ((1, "disponible"), (2, "vendido"))
    )
    path.write_text(FEED.format(records=records), encoding="utf-8")
    return path


def test_the_draft_of_an_xml_feed_reads_the_right_paths(tmp_path: Path) -> None:
    sample = write_feed(tmp_path / "feed.xml")
    text = render(propose(survey(sample)), "inmo-sol")
    data = tomllib.loads(text)
    assert data["mapping"]["record"] == "//ns:propiedad"
    assert data["mapping"]["namespaces"] == {"ns": "urn:example:feed"}
    assert data["mapping"]["mode"] == "incremental"  # absence must remove nothing in a draft
    fields = data["fields"]
    assert fields["listing_key"]["expr"] == "ns:referencia"
    assert fields["address.street"]["expr"] == "ns:direccion"
    assert fields["asking_price"]["expr"] == "ns:precio"
    assert fields["description"]["expr"] == "ns:descripcion/ns:en"
    assert fields["status"]["map"] == {"vendido": "sold"}
    assert data["images"] == [{"each": "ns:fotos/ns:foto", "url": "ns:url"}]
    assert "# GUESSED from the name 'ns:precio'" in text


def test_syncd_check_accepts_the_draft_as_it_is(tmp_path: Path) -> None:
    sample = write_feed(tmp_path / "feed.xml")
    draft = tmp_path / "draft.toml"
    done = subprocess.run(
        [str(SYNCD), "mapping", "new", str(sample), "-o", str(draft)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "next: syncd check" in done.stderr
    report = check_report(sample, load_mapping(draft))
    assert report.fatal is None
    # The sold record lacks its sale price and date: the draft maps the status, and check
    # says what the export must still give; the other record is usable as it is.
    assert (report.record_count, report.usable_count) == (2, 1)
    (error,) = [f for f in report.findings if f.severity == "error"]
    assert (error.listing_key, error.field) == ("ES-2", "sale")
    assert report.coverage["images"] == 1.0
    again = subprocess.run(
        [str(SYNCD), "mapping", "new", str(sample), "-o", str(draft)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert again.returncode != 0 and "exists" in again.stderr  # never overwrites


def test_the_draft_of_a_csv_names_what_it_left_open(tmp_path: Path) -> None:
    sample = tmp_path / "export.csv"
    sample.write_text(
        "Ref;Price;Town;Image1;Image2\nA-1;1 200 000;Uppsala;https://x.example/1.jpg;"
        "https://x.example/2.jpg\nA-2;990 000;Lund;https://x.example/3.jpg;\n",
        encoding="utf-8",
    )
    text = render(propose(survey(sample)), "export")
    data = tomllib.loads(text)
    assert data["fields"]["listing_key"]["expr"] == "Ref"
    assert data["fields"]["asking_price"]["expr"] == "Price"
    assert data["images"] == [{"repeat": 2, "start": 1, "url": "Image{n}"}]
    assert "# LEFT: no street found" in text
    load_mapping_text = tmp_path / "export.toml"
    load_mapping_text.write_text(text, encoding="utf-8")
    assert load_mapping(load_mapping_text).name == "export"  # loads as it is


def test_the_draft_of_a_csv_reads_the_photographers_columns(tmp_path: Path) -> None:
    sample = tmp_path / "export.csv"
    sample.write_text(
        "objektnummer;gatuadress;fotograf;fotobyra_namn\nA-1;Åsgatan 1;Fia Ek;Foto Fia\n",
        encoding="utf-8",
    )
    fields = tomllib.loads(render(propose(survey(sample)), "export"))["fields"]
    assert fields["image_right.photographer"]["expr"] == "fotograf"
    assert fields["image_right.photo_agency_name"]["expr"] == "fotobyra_namn"
