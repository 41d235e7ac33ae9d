"""The canonical form of a listing: equal meaning gives equal values and so equal hashes.

Pure functions of value types: no I/O, no validation (``validation`` reports what is wrong).
"""

from __future__ import annotations

import dataclasses
import operator
import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Any

from syncd.core.domain.listing import Address, Coordinates, Image, ImageRight, Listing, Viewing

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_A_PLAIN_SPACE = r"[^\S ]"  # tabs, newlines, no-break spaces, ...
# Either of those: one search instead of two on every value that is already clean.
_NOT_CLEAN = re.compile(f"{_NOT_A_PLAIN_SPACE}|{_CONTROL.pattern}")
_NON_DIGIT = re.compile(r"\D")
_TENTH = Decimal("0.1")


def _is_clean(value: str) -> bool:
    """True when ``clean_text`` (and so ``clean_line``) would return ``value`` unchanged."""
    return (
        not value[0].isspace()
        and not value[-1].isspace()
        and "  " not in value
        # Printable text has neither (only the ASCII space is a printable blank); a C loop
        # where the search is a regex step per character.
        and (value.isprintable() or not _NOT_CLEAN.search(value))
        and unicodedata.is_normalized("NFC", value)
    )


def clean_text(value: str | None) -> str | None:
    """NFC, trimmed, inner runs of blanks folded; empty becomes None."""
    if value is None:
        return None
    if not value:
        return None
    if _is_clean(value):  # most values are: nothing below would change them
        return value
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    # NUL and other control characters come from broken exports, never from a broker.
    text = _CONTROL.sub("", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    folded = "\n".join(lines).strip()
    folded = re.sub(r"\n{3,}", "\n\n", folded)
    return folded or None


def clean_line(value: str | None) -> str | None:
    """Like ``clean_text`` but one line: titles, names, street addresses."""
    if value and _is_clean(value):
        return value  # no blank but single plain spaces: folding would change nothing
    text = clean_text(value)
    return _SPACE.sub(" ", text) if text else None


def normal_area(value: Decimal | None) -> Decimal | None:
    """An area or room count in its canonical form. Public so that a listing can be built
    with it (formats/canonical.py) and not copied by ``normalise`` for it."""
    # One decimal is what Swedish listings print (72,5 m²); more is noise from conversions.
    if value is None:
        return None
    tenths = value.quantize(_TENTH)
    # The same digits and exponent: keep the object, so an unchanged listing is not copied.
    return value if tenths.compare_total(value) == 0 else tenths


def _normal_image(img: Image, position: int) -> Image:
    url, caption = img.url.strip(), clean_line(img.caption)
    if url == img.url and caption == img.caption and position == img.order:
        return img  # already canonical: skip the copy (ingest normalises every image)
    return dataclasses.replace(img, url=url, caption=caption, order=position)


def _normal_address(addr: Address) -> Address:
    postal = _NON_DIGIT.sub("", addr.postal_code) if addr.postal_code else None
    street = clean_line(addr.street) or ""
    postal_code = postal or None
    city = clean_line(addr.city)
    municipality = clean_line(addr.municipality)
    apartment_number = clean_line(addr.apartment_number)
    if (
        street is addr.street
        and postal_code is addr.postal_code
        and city is addr.city
        and municipality is addr.municipality
        and apartment_number is addr.apartment_number
    ):
        return addr
    return Address(street, postal_code, city, municipality, apartment_number)


def _normal_coordinates(coordinates: Coordinates | None) -> Coordinates | None:
    if coordinates is None:
        return None
    old_latitude, old_longitude = coordinates.latitude, coordinates.longitude
    latitude, longitude = round(old_latitude, 6), round(old_longitude, 6)
    if (
        type(latitude) is type(old_latitude)
        and type(longitude) is type(old_longitude)
        and latitude == old_latitude
        and longitude == old_longitude
    ):
        return coordinates  # already at most six decimals (round keeps the sign of zero)
    return Coordinates(latitude, longitude)


def _same_items(new: tuple[Any, ...], old: tuple[Any, ...]) -> tuple[Any, ...]:
    """``old`` when ``new`` holds the very same objects in the same order (no copy kept)."""
    if type(old) is tuple and len(new) == len(old) and all(map(operator.is_, new, old)):
        return old
    return new


def _normal_energy_class(value: str | None) -> str | None:
    normal = value.strip().upper() if value else None
    return value if normal == value else normal  # upper() copies even an upper-case text


def _normal_image_right(right: ImageRight | None) -> ImageRight | None:
    if right is None:
        return None
    name, photographer = clean_line(right.photo_agency_name), clean_line(right.photographer)
    if name is right.photo_agency_name and photographer is right.photographer:
        normal = right
    else:
        normal = dataclasses.replace(right, photo_agency_name=name, photographer=photographer)
    return None if normal == _NO_IMAGE_RIGHT else normal  # nothing said: no right at all


_NO_IMAGE_RIGHT = ImageRight()
_LISTING_INIT_ORDER = tuple(f.name for f in dataclasses.fields(Listing))


def _by_order(image: Image) -> int:
    return image.order


def _by_start(viewing: Viewing) -> datetime:
    return viewing.starts_at


def _normal_images(images: tuple[Image, ...]) -> tuple[Image, ...]:
    if not images and type(images) is tuple:
        return images  # an empty tuple sorts to itself: no sort, no generator
    normal = tuple(
        _normal_image(img, position) for position, img in enumerate(sorted(images, key=_by_order))
    )
    return _same_items(normal, images)


def _normal_viewings(viewings: tuple[Viewing, ...]) -> tuple[Viewing, ...]:
    if not viewings and type(viewings) is tuple:
        return viewings
    return _same_items(tuple(sorted(viewings, key=_by_start)), viewings)


def normalise(listing: Listing) -> Listing:
    """The canonical form: equal meaning gives equal values and so equal hashes."""
    old_images, old_viewings = listing.images, listing.viewings
    images, viewings = _normal_images(old_images), _normal_viewings(old_viewings)
    listing_key = listing.listing_key.strip()
    agency_key = listing.agency_key.strip()
    address = _normal_address(listing.address)
    coordinates = _normal_coordinates(listing.coordinates)
    living_area = normal_area(listing.living_area)
    supplemental_area = normal_area(listing.supplemental_area)
    plot_area = normal_area(listing.plot_area)
    rooms = normal_area(listing.rooms)
    energy_class = _normal_energy_class(listing.energy_class)
    title = clean_line(listing.title)
    description = clean_text(listing.description)
    image_right = _normal_image_right(listing.image_right)
    # Most exports are already canonical: then the listing itself is the answer (checked
    # value by value, without a table of the changes to walk), and otherwise one positional
    # construction (dataclasses.replace would walk every field again to build its keywords).
    if (
        listing_key is listing.listing_key
        and agency_key is listing.agency_key
        and address is listing.address
        and coordinates is listing.coordinates
        and living_area is listing.living_area
        and supplemental_area is listing.supplemental_area
        and plot_area is listing.plot_area
        and rooms is listing.rooms
        and energy_class is listing.energy_class
        and title is listing.title
        and description is listing.description
        and images is old_images
        and viewings is old_viewings
        and image_right is listing.image_right
    ):
        return listing
    changes: dict[str, Any] = {
        "listing_key": listing_key,
        "agency_key": agency_key,
        "address": address,
        "coordinates": coordinates,
        "living_area": living_area,
        "supplemental_area": supplemental_area,
        "plot_area": plot_area,
        "rooms": rooms,
        "energy_class": energy_class,
        "title": title,
        "description": description,
        "images": images,
        "viewings": viewings,
        "image_right": image_right,
    }
    return Listing(*[changes.get(name, getattr(listing, name)) for name in _LISTING_INIT_ORDER])
