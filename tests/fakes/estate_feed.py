"""Feeds in a made-up "estate feed" format, written for these tests (never copied from a CRM).

Several record types in one file (``residential``, ``house``, ``land``, and a ``garage`` the
mapping does not know), and incremental records that carry only their key and what changed.
The mapping is ``tests/fixtures/feeds/estate-feed.toml``.
"""

from __future__ import annotations

from pathlib import Path

MAPPING = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "estate-feed.toml"


def image_urls(key: str, count: int = 2) -> list[str]:
    return [f"https://img.estate.example/{key.lower()}-{n}.jpg" for n in range(1, count + 1)]


def full_record(kind: str, key: str, street: str, price: int, *, images: int = 2) -> str:
    """A whole listing: every field the mapping reads."""
    pictures = "".join(f"<image>{url}</image>" for url in image_urls(key, images))
    return (
        f'<{kind} id="{key}"><status>active</status><street>{street}</street>'
        f"<zip>11122</zip><city>Stockholm</city><apt>1101</apt><price>{price}</price>"
        "<area>74</area>"
        f"<rooms>3</rooms><title>{kind.title()} {key}</title>"
        f"<description>Ljus och fin, {street}.</description>"
        f"<broker><name>Anna Mäklare</name><email>anna@estate.example</email></broker>"
        f"<images>{pictures}</images></{kind}>"
    )


def feed(*records: str, doctype: str = "", agency: str = "estate") -> str:
    head = '<?xml version="1.0" encoding="utf-8"?>\n'
    if doctype:
        head += doctype + "\n"
    body = "".join(records)
    return f"{head}<feed><agency>{agency}</agency><meta><v>1</v></meta>{body}</feed>\n"


def mixed_feed(doctype: str = "") -> str:
    """Two apartments, a house, a plot of land and a garage (no type in the mapping)."""
    return feed(
        full_record("residential", "R1", "Ekvägen 4", 3_100_000),
        full_record("residential", "R2", "Björkgatan 2", 2_450_000),
        full_record("house", "H1", "Tallstigen 9", 5_900_000),
        '<land id="T1"><street>Skogsbacken 1</street><price>900000</price><area>1200</area>'
        "<title>Tomt</title><images><image>https://img.estate.example/t1-1.jpg</image></images>"
        "</land>",
        '<garage id="G1"><street>Garagevägen 1</street><price>150000</price></garage>',
        doctype=doctype,
    )


def price_update(key: str, price: int, kind: str = "residential") -> str:
    return feed(f'<{kind} id="{key}"><price>{price}</price></{kind}>')


def sold(key: str, price: int, date: str, kind: str = "residential") -> str:
    return feed(f'<{kind} id="{key}" status="sold"><sale price="{price}" date="{date}"/></{kind}>')


def withdrawn(key: str, kind: str = "residential") -> str:
    return feed(f'<{kind} id="{key}" status="withdrawn"/>')


def blanking(key: str, street: str, kind: str = "residential") -> str:
    """What a default-street workaround sends: a whole record with nothing but the street."""
    return feed(f'<{kind} id="{key}"><street>{street}</street></{kind}>')
