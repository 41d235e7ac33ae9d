"""An export the CRM rewrote in other bytes, through ``syncd run`` against ``syncd sandbox``
(both real processes): other line breaks, cp1252 instead of UTF-8, a byte order mark,
reordered columns, another delimiter, quoted line breaks in a description. Nothing is sent
for what did not change; a key repeated in one export ends as its last copy says, and the
one changed listing is sent once.

Expectations are read back from the sandbox's state and request counts, never from
syncd's own parser.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.sandbox import wire
from tests.system.support import DaemonProcess, wait_for, write_config

pytestmark = [pytest.mark.system]

COLUMNS = (
    "objektnummer",
    "status",
    "gatuadress",
    "postnummer",
    "ort",
    "utgangspris",
    "boendeform",
    "upplatelseform",
    "rubrik",
    "beskrivning",
    "bild_1",
)
KEYS = ("Q1", "Q2", "Q3", "Q4")
WRITES = ("POST", "PATCH", "PUT", "DELETE")
TIMEOUT_S = 30.0


def record(key: str, price: int, line_break: str = "\n") -> dict[str, str]:
    # A description over two lines, with quotes, the delimiters and Swedish letters: the
    # cells a CRM's rewrite changes most.
    description = f'Ljus villa; "sjöutsikt", {key}.{line_break}Två plan – stor tomt | 2 000 m².'
    return {
        "objektnummer": key,
        "status": "till salu",
        "gatuadress": f"Åsgränd {key[1:]}",
        "postnummer": "11122",
        "ort": "Stockholm",
        "utgangspris": str(price),
        "boendeform": "villa",
        "upplatelseform": "äganderätt",
        "rubrik": f"Villa {key}",
        "beskrivning": description,
        "bild_1": f"http://img.example/{key}.jpg",
    }


def export(
    records: list[dict[str, str]],
    *,
    columns: tuple[str, ...] = COLUMNS,
    delimiter: str = ";",
    line_break: str = "\n",
) -> str:
    def cell(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(columns)]
    lines.extend(delimiter.join(cell(r[c]) for c in columns) for r in records)
    return line_break.join(lines) + line_break


PRICES = {key: 3_000_000 + 10_000 * n for n, key in enumerate(KEYS)}


def records(line_break: str = "\n", **prices: int) -> list[dict[str, str]]:
    return [record(key, prices.get(key, PRICES[key]), line_break) for key in KEYS]


class Sandbox:
    def __init__(self, base_url: str) -> None:
        self.root = base_url.removesuffix("/v1")

    def writes(self) -> Counter[str]:
        response = httpx.get(f"{self.root}{wire.ADMIN_PREFIX}/stats")
        response.raise_for_status()
        counts: dict[str, int] = response.json()["requests"]
        return Counter({k: n for k, n in counts.items() if k.startswith(WRITES)})

    def listings(self) -> dict[str, dict[str, Any]]:
        response = httpx.get(f"{self.root}{wire.ADMIN_PREFIX}/state")
        response.raise_for_status()
        state = response.json()["state"]
        found: dict[str, dict[str, Any]] = {}
        for listing in state["listings"]:
            key = listing["fields"]["externalId"]
            assert key not in found, f"{key} twice on the sandbox"
            found[key] = listing
        return found


def receipts(archive: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in archive.rglob("*.result.json"):
        receipt = json.loads(path.read_text(encoding="utf-8"))
        found[receipt["file"]] = receipt
    # A rejected file's reason, so that a test says why instead of waiting for a receipt.
    for path in archive.parent.joinpath("rejected").rglob("*.error.json"):
        found[path.name.removesuffix(".error.json")] = {
            "outcome": "rejected",
            "why": path.read_text(),
        }
    return found


def put(inbox: Path, name: str, data: bytes) -> None:
    temporary = inbox / f".{name}.part"
    temporary.write_bytes(data)
    temporary.rename(inbox / name)


def taken(daemon: DaemonProcess, archive: Path, name: str) -> dict[str, Any]:
    """The receipt of ``name`` once the daemon has taken it: accepted, without errors."""

    def found() -> dict[str, Any] | None:
        assert daemon.process.poll() is None, daemon.text()[-3000:]
        return receipts(archive).get(name)

    receipt: dict[str, Any] = wait_for(found, TIMEOUT_S, f"the receipt of {name}")
    assert (receipt["outcome"], receipt["errors"]) == ("accepted", []), receipt
    return receipt


def all_published(remote: Sandbox) -> dict[str, dict[str, Any]]:
    """The sandbox's listings once it holds the four, each published."""

    def published() -> dict[str, dict[str, Any]] | None:
        listings = remote.listings()
        done = set(listings) == set(KEYS) and all(x["is_published"] for x in listings.values())
        return listings if done else None

    found: dict[str, dict[str, Any]] = wait_for(published, TIMEOUT_S, "the four listings published")
    return found


def repriced(remote: Sandbox, key: str, price: int) -> dict[str, dict[str, Any]]:
    """The sandbox's listings once ``key`` asks ``price``."""

    def priced() -> dict[str, dict[str, Any]] | None:
        listings = remote.listings()
        return listings if listings[key]["fields"]["askingPrice"] == price else None

    found: dict[str, dict[str, Any]] = wait_for(
        priced, TIMEOUT_S, f"{key}'s new price on the sandbox"
    )
    return found


def assert_one_patch_for_the_price(
    remote: Sandbox,
    before: Counter[str],
    first: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
) -> None:
    """Since ``before``, one PATCH and nothing else, and no field but the price changed."""
    sent = remote.writes() - before
    assert list(sent.elements()) == ["PATCH /v1/listings/{listing_id} 200"], sent
    for key in KEYS:
        fields = {k: v for k, v in after[key]["fields"].items() if k != "askingPrice"}
        assert fields == {k: v for k, v in first[key]["fields"].items() if k != "askingPrice"}


def test_an_export_rewritten_in_other_bytes_sends_nothing_and_a_repeated_key_ends_as_its_last_copy(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    remote = Sandbox(sandbox)
    config = write_config(tmp_path, sandbox, extra_sync="publish = true")
    inbox, archive = tmp_path / "inbox", tmp_path / "state" / "archive"
    inbox.mkdir()
    daemon = start_daemon(config)
    put(inbox, "crm-1.csv", export(records()).encode("utf-8"))
    taken(daemon, archive, "crm-1.csv")
    first = all_published(remote)
    assert {k: x["fields"]["askingPrice"] for k, x in first.items()} == PRICES
    description = first["Q1"]["fields"]["description"]
    assert "\n" in description and "sjöutsikt" in description and "–" in description
    before = remote.writes()

    # The same listings rewritten. First only the rows' line breaks (CRLF; the ones inside
    # quotes kept): the rows are the first file's bytes, found by them without being read.
    # Then CRLF everywhere in cp1252, a byte order mark with the columns reversed and
    # commas, and a bare CR as the line break: read again, and equal.
    rewrites = {
        "crm-2.csv": (export(records(), line_break="\r\n").encode("utf-8"), "utf-8"),
        "crm-3.csv": (export(records("\r\n"), line_break="\r\n").encode("cp1252"), "cp1252"),
        "crm-4.csv": (
            b"\xef\xbb\xbf" + export(records(), columns=COLUMNS[::-1], delimiter=",").encode(),
            "utf-8-sig",
        ),
        "crm-5.csv": (export(records("\r"), line_break="\r").encode("utf-8"), "utf-8"),
    }
    for name, (data, encoding) in rewrites.items():
        put(inbox, name, data)
        receipt = taken(daemon, archive, name)
        assert (receipt["changed_keys"], receipt["encoding"]) == ([], encoding), name

    # Q2 twice: a changed copy, then the unchanged one. The last one wins: nothing changes.
    repeated = records()
    changed_q2 = record("Q2", 1_995_000)
    put(inbox, "crm-6.csv", export([changed_q2, *repeated]).encode("utf-8"))
    assert taken(daemon, archive, "crm-6.csv")["changed_keys"] == []
    # Then the unchanged copy first and the changed one last, in the first file's form.
    put(inbox, "crm-7.csv", export([*repeated, changed_q2], line_break="\r\n").encode("utf-8"))
    assert taken(daemon, archive, "crm-7.csv")["changed_keys"] == ["Q2"]

    after = repriced(remote, "Q2", 1_995_000)
    # One PATCH for the whole story: none of the rewrites, nor the repeated key's
    # unchanged copy, sent anything (they were all taken before Q2's change).
    assert_one_patch_for_the_price(remote, before, first, after)
    for key in KEYS:
        assert after[key]["is_published"], key
    assert daemon.stop() == 0, daemon.text()[-3000:]


# A CRM's own XML, read with EXSLT's regular expressions through a prefix the mapping
# binds: the postal code is written "SE-111 22" and read as its digits.
XML_MAPPING = """\
[mapping]
name = "qa-objekt"
format = "xml"
record = "//objekt"
mode = "full"
namespaces = { rx = "http://exslt.org/regular-expressions" }

[fields]
listing_key = { expr = "@id", required = true }
agency_key = { expr = "byra", default = "default" }
status = { expr = "status", map = { "till salu" = "for_sale" } }
housing_form = { expr = "typ", map = { villa = "house" } }
tenure = { expr = "form", map = { "äganderätt" = "freehold" } }
"address.street" = { expr = "gata", required = true }
"address.postal_code" = "rx:replace(postnummer, '[^0-9]', 'g', '')"
"address.city" = "ort"
asking_price = "pris"
title = "rubrik"

[[images]]
each = "bilder/bild"
url = "."
"""


def xml_export(prices: dict[str, int], *, indent: str = "  ", line_break: str = "\n") -> bytes:
    records = []
    for key, price in prices.items():
        fields = [
            f'<objekt id="{key}">',
            f"{indent}<status>till salu</status><typ>villa</typ><form>äganderätt</form>",
            f"{indent}<gata>Åsgränd {key[1:]}</gata><postnummer>SE-111 2{key[1:]}</postnummer>",
            f"{indent}<ort>Stockholm</ort><pris>{price}</pris><rubrik>Villa {key}</rubrik>",
            f"{indent}<bilder><bild>http://img.example/{key}.jpg</bild></bilder>",
            "</objekt>",
        ]
        records.append(line_break.join(indent + line for line in fields))
    body = line_break.join(["<?xml version='1.0' encoding='UTF-8'?>", "<export>", *records])
    return (body + line_break + "</export>" + line_break).encode("utf-8")


def test_an_xml_export_read_through_a_bound_regexp_prefix_re_dropped_with_one_change(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    remote = Sandbox(sandbox)
    mapping = tmp_path / "qa-objekt.toml"
    mapping.write_text(XML_MAPPING, encoding="utf-8")
    rule = f'\n[[formats]]\npattern = "*.xml"\nmapping = "{mapping.as_posix()}"\n'
    config = write_config(tmp_path, sandbox, extra_sync="publish = true", extra=rule)
    inbox, archive = tmp_path / "inbox", tmp_path / "state" / "archive"
    inbox.mkdir()
    daemon = start_daemon(config)
    prices = {key: PRICES[key] for key in KEYS}
    put(inbox, "crm-1.xml", xml_export(prices))
    taken(daemon, archive, "crm-1.xml")
    first = all_published(remote)
    assert {k: x["fields"]["address"]["postalCode"] for k, x in first.items()} == {
        key: f"1112{key[1:]}" for key in KEYS
    }
    before = remote.writes()

    # The same listings, indented and broken otherwise: nothing changed.
    put(inbox, "crm-2.xml", xml_export(prices, indent="\t", line_break="\r\n"))
    assert taken(daemon, archive, "crm-2.xml")["changed_keys"] == []
    # Then one price: that listing alone.
    put(inbox, "crm-3.xml", xml_export(prices | {"Q3": 2_750_000}, indent="\t"))
    assert taken(daemon, archive, "crm-3.xml")["changed_keys"] == ["Q3"]

    after = repriced(remote, "Q3", 2_750_000)
    assert_one_patch_for_the_price(remote, before, first, after)
    assert daemon.stop() == 0, daemon.text()[-3000:]
