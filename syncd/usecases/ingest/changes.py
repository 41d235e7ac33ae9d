"""Change descriptions: the one line a listing's history gets for what an export changed.

Pure text from listings; it reads and writes nothing.
"""

from __future__ import annotations

from syncd.core.domain import LISTING_FIELDS, Listing

_EVENT_MESSAGE_MAX = 600
_MONEY_FIELDS = frozenset({"asking_price", "monthly_fee", "operating_cost"})
_LABELS = {"asking_price": "price", "construction_year": "built", "energy_class": "energy"}
# Values too long or too personal to repeat in events and receipts.
_UNSHOWN = frozenset({"description", "address", "viewings", "broker", "coordinates"})


def arrival(
    file: str, status: str, street: str, asking_price: int | None, *, reappeared: bool
) -> str:
    """The event line of a listing new to syncd, or back after it went missing."""
    head = f"back in {file}" if reappeared else f"new listing from {file}"
    price = f", price {shown('asking_price', asking_price)}" if asking_price else ""
    return f"{head}: {status}, {street}{price}"


def describe_change(old: Listing | None, new: Listing, file: str, *, reappeared: bool) -> str:
    """One line for the listing's history: what this export changed, old → new."""
    if old is None:
        status, street = new.status.value, new.address.street
        return arrival(file, status, street, new.asking_price, reappeared=reappeared)
    parts: list[str] = []
    if old.status is not new.status:
        parts.append(f"status {old.status.value} → {new.status.value}")
    if old.agency_key != new.agency_key:
        parts.append(f"agency {old.agency_key} → {new.agency_key}")
    for name in LISTING_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        label = _LABELS.get(name, name.replace("_", " "))
        if name in _UNSHOWN:
            parts.append(f"{label} changed")
        else:
            parts.append(f"{label} {shown(name, before)} → {shown(name, after)}")
    if old.images != new.images:
        parts.append(f"images ({len(old.images)} → {len(new.images)})")
    if old.sale != new.sale:
        parts.append("sale changed" if old.sale and new.sale else "sale " + _sale_text(new))
    if old.seller != new.seller:
        parts.append("seller information changed")  # never the identity number
    if old.billing != new.billing:
        parts.append("billing information changed")
    if old.image_right != new.image_right:
        parts.append("image right " + ("removed" if new.image_right is None else "changed"))
    message = f"desired state changed by {file}: " + "; ".join(parts or ["details changed"])
    return message if len(message) <= _EVENT_MESSAGE_MAX else message[:_EVENT_MESSAGE_MAX] + "…"


def shown(name: str, value: object) -> str:
    """A field's value as events and skip reasons show it: money grouped, long text cut."""
    if value is None:
        return "—"
    if name in _MONEY_FIELDS and isinstance(value, int):
        return f"{value:,}".replace(",", " ")  # 3 495 000, as Swedish listings print it
    text = str(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _sale_text(listing: Listing) -> str:
    if listing.sale is None:
        return "removed"
    return f"recorded: {shown('asking_price', listing.sale.price)} on {listing.sale.sold_on}"
