"""Hostile XML: billion laughs and XXE are refused fast, without growth; an external DTD
reference is accepted and never loaded (nothing read, nothing fetched)."""

from __future__ import annotations

import http.server
import resource
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from syncd.core.errors import ParseError
from syncd.formats import load_mapping, parse_file

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("billion-laughs.xml", "declares entities"),
        ("xxe.xml", "declares entities"),
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


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/xml-dtd")
        self.end_headers()
        self.wfile.write(b'<!ENTITY street "Injected 1">')

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def dtd_server() -> Iterator[str]:
    """A loopback HTTP server that records every request (none is expected)."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.dtd"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _feed_with_doctype(path: Path, doctype: str) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f"{doctype}\n"
        "<openimmo><anbieter><openimmo_anid>dtd</openimmo_anid><immobilie><geo>"
        "<strasse>Ekvägen</strasse><hausnummer>4</hausnummer><plz>11122</plz>"
        "<ort>Stockholm</ort></geo><verwaltung_techn><objektnr_extern>D1</objektnr_extern>"
        "</verwaltung_techn></immobilie></anbieter></openimmo>",
        encoding="utf-8",
    )
    return path


def test_an_external_dtd_url_is_accepted_and_never_fetched(tmp_path: Path, dtd_server: str) -> None:
    path = _feed_with_doctype(tmp_path / "url.xml", f'<!DOCTYPE openimmo SYSTEM "{dtd_server}">')
    (record,) = list(parse_file(path, load_mapping("openimmo")).records)
    assert record.listing is not None
    assert record.listing.address.street == "Ekvägen 4"
    # The same server does answer a request: no hit means the parser never asked it.
    with urllib.request.urlopen(dtd_server, timeout=5) as answer:
        assert answer.status == 200
    assert _Recorder.hits == ["/feed.dtd"]


def test_a_public_doctype_naming_a_missing_local_file_is_accepted(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist" / "openimmo.dtd"
    path = _feed_with_doctype(
        tmp_path / "public.xml",
        f'<!DOCTYPE openimmo PUBLIC "-//OpenImmo//DTD 1.2.7//DE" "{missing.as_uri()}">',
    )
    (record,) = list(parse_file(path, load_mapping("openimmo")).records)
    assert record.listing_key == "D1" and record.listing is not None
    assert not missing.parent.exists()


def test_an_external_reference_with_an_entity_subset_is_still_refused(
    tmp_path: Path, dtd_server: str
) -> None:
    path = _feed_with_doctype(
        tmp_path / "mixed.xml",
        f'<!DOCTYPE openimmo SYSTEM "{dtd_server}" [\n<!ENTITY e "x">\n]>',
    )
    with pytest.raises(ParseError, match="declares entities"):
        list(parse_file(path, load_mapping("openimmo")).records)
    assert _Recorder.hits == []


def test_an_external_dtd_that_exists_is_never_read(tmp_path: Path) -> None:
    # A DTD that breaks the parse the moment libxml2 reads it: the file parses, so it was not.
    dtd = tmp_path / "openimmo.dtd"
    dtd.write_text('<!ELEMENT broken (((\n<!ENTITY street "Injected">', encoding="utf-8")
    path = _feed_with_doctype(tmp_path / "local.xml", f'<!DOCTYPE openimmo SYSTEM "{dtd}">')
    (record,) = list(parse_file(path, load_mapping("openimmo")).records)
    assert record.listing is not None
    assert record.listing.address.street == "Ekvägen 4"
