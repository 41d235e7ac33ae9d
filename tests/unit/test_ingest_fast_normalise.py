"""``normalise`` and text cleaning take shortcuts for canonical input: the results must be
exactly those of the plain versions they replaced, kept here as the reference."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from syncd.core.domain import (
    Address,
    Coordinates,
    Image,
    Listing,
    ListingStatus,
    Viewing,
    clean_line,
    clean_text,
    normalise,
    to_plain,
)

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def reference_clean_text(value: str | None) -> str | None:
    if not value:
        return None
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    folded = re.sub(r"\n{3,}", "\n\n", "\n".join(lines).strip())
    return folded or None


def reference_clean_line(value: str | None) -> str | None:
    text = reference_clean_text(value)
    return _SPACE.sub(" ", text) if text else None


def reference_normalise(listing: Listing) -> Listing:
    addr = listing.address

    def area(value: Decimal | None) -> Decimal | None:
        return None if value is None else value.quantize(Decimal("0.1"))

    def image(img: Image, position: int) -> Image:
        caption = reference_clean_line(img.caption)
        return dataclasses.replace(img, url=img.url.strip(), caption=caption, order=position)

    postal = re.sub(r"\D", "", addr.postal_code) if addr.postal_code else None
    return dataclasses.replace(
        listing,
        listing_key=listing.listing_key.strip(),
        agency_key=listing.agency_key.strip(),
        address=Address(
            street=reference_clean_line(addr.street) or "",
            postal_code=postal or None,
            city=reference_clean_line(addr.city),
            municipality=reference_clean_line(addr.municipality),
            apartment_number=reference_clean_line(addr.apartment_number),
        ),
        coordinates=(
            Coordinates(
                round(listing.coordinates.latitude, 6), round(listing.coordinates.longitude, 6)
            )
            if listing.coordinates
            else None
        ),
        living_area=area(listing.living_area),
        supplemental_area=area(listing.supplemental_area),
        plot_area=area(listing.plot_area),
        rooms=area(listing.rooms),
        energy_class=listing.energy_class.strip().upper() if listing.energy_class else None,
        title=reference_clean_line(listing.title),
        description=reference_clean_text(listing.description),
        images=tuple(
            image(img, position)
            for position, img in enumerate(sorted(listing.images, key=lambda i: i.order))
        ),
        viewings=tuple(sorted(listing.viewings, key=lambda v: v.starts_at)),
    )


TEXTS = [
    "Götgatan 33",
    "  leading",
    "trailing\t",
    "two  spaces",
    "tab\there",
    "line\nbreak",
    "crlf\r\nend",
    "no\u00a0break",
    "soft\u00adhyphen",
    "nul\x00inside",
    "bell\x07",
    "unit\x1fsep",
    "e\u0301 decomposed",
    "é composed",
    "many\n\n\n\nlines",
    " ",
    "",
    "\u2028para",
    "emoji 🏠 ok",
]


@pytest.mark.parametrize("text", TEXTS)
def test_cleaning_matches_the_reference(text: str) -> None:
    assert clean_text(text) == reference_clean_text(text)
    assert clean_line(text) == reference_clean_line(text)


def _listing(**changes: Any) -> Listing:
    base = Listing(
        listing_key="K1",
        agency_key="A1",
        status=ListingStatus.FOR_SALE,
        address=Address("Götgatan 33", "75320", "Uppsala"),
        coordinates=Coordinates(59.596853, 18.888598),
        living_area=Decimal("140.5"),
        rooms=Decimal("6.0"),
        energy_class="C",
        title="Lägenhet 0",
        description="Ljus och välplanerad.",
        images=(Image("https://i/0.jpg", "Bild 0", 0), Image("https://i/1.jpg", None, 1)),
        viewings=(Viewing(datetime(2026, 1, 2, tzinfo=UTC)),),
    )
    return dataclasses.replace(base, **changes)


CASES: dict[str, dict[str, Any]] = {
    "canonical": {},
    "keys padded": {"listing_key": " K1 ", "agency_key": "A1\n"},
    "address messy": {"address": Address(" Göt  gatan\t33 ", "753 20", " Upp sala", "", "1102 ")},
    "postal letters only": {"address": Address("S", "SE-")},
    "coordinates long": {"coordinates": Coordinates(59.59685312, -18.8885989)},
    "latitude long": {"coordinates": Coordinates(59.59685312, 18.888598)},
    "longitude long": {"coordinates": Coordinates(59.596853, 18.8885981)},
    "coordinates ints": {"coordinates": Coordinates(59, 18)},
    "negative zero": {"coordinates": Coordinates(-0.0, 0.0)},
    "areas": {
        "living_area": Decimal("72"),
        "supplemental_area": Decimal("12.55"),
        "plot_area": Decimal("140.50"),
        "rooms": Decimal("-0.0"),
    },
    "energy lower": {"energy_class": " b "},
    "energy empty": {"energy_class": ""},
    "images unordered": {
        "images": (Image(" https://i/2.jpg ", "  B ", 7), Image("https://i/0.jpg", "A", 3)),
    },
    "images gap": {"images": (Image("https://i/0.jpg", "A", 0), Image("https://i/1.jpg", "B", 5))},
    "viewings unordered": {
        "viewings": (
            Viewing(datetime(2026, 3, 1, tzinfo=UTC)),
            Viewing(datetime(2026, 2, 1, tzinfo=UTC)),
        )
    },
    "text messy": {"title": "  Two\nlines ", "description": "a\r\n\r\n\r\n\r\nb\x00 c  d"},
    "text empty": {"title": "", "description": "   "},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_normalise_matches_the_reference(name: str) -> None:
    listing = _listing(**CASES[name])
    fast, reference = normalise(listing), reference_normalise(listing)
    assert fast == reference
    # Equal is not enough where equal values print differently (72 vs 72.0, 0.0 vs -0.0).
    assert repr(fast) == repr(reference)
    assert to_plain(fast) == to_plain(reference)
    assert normalise(fast) == fast


def test_canonical_listing_is_returned_as_it_is() -> None:
    listing = reference_normalise(_listing())
    assert normalise(listing) is listing


def test_a_changed_listing_is_a_new_value() -> None:
    listing = _listing(energy_class="c")
    assert normalise(listing) is not listing
    assert listing.energy_class == "c"  # frozen: the input is untouched
