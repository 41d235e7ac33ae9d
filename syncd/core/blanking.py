"""The suspicious-update guard: an update that would blank a published listing is held.

Pure, like the planner that calls it: a broken export (a default street, a partial record
read as a whole one) looks like a listing whose title, description, broker and pictures
were all deleted at once. Decides only; the planner turns the answer into a hold.
"""

from __future__ import annotations

from typing import Any

from syncd.core.domain import KnownListing, Listing, listing_fields

# Clearing this many filled fields of a published listing in one update is held.
BLANKED_FIELDS_MIN = 2


def _empty(value: Any) -> bool:
    return value is None or value in ("", ())


def blanking(
    want: Listing, have: KnownListing, *, fields_min: int = BLANKED_FIELDS_MIN
) -> str | None:
    """Why updating the published ``have`` to ``want`` looks like a broken export, or None."""
    if not have.is_published or have.sold is not None or have.sent is None:
        return None
    sent = listing_fields(have.sent)
    cleared = sorted(
        name
        for name, value in listing_fields(want).items()
        if _empty(value) and not _empty(sent[name])
    )
    said: list[str] = []
    if len(cleared) >= fields_min:
        said.append(f"it would clear {len(cleared)} filled field(s) ({', '.join(cleared)})")
    if have.images and not want.images:
        said.append(f"it would delete all {len(have.images)} image(s)")
    if not said:
        return None
    return "update of published listing held: " + " and ".join(said)
