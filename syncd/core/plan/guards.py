"""The guards: when a removal or an update looks like a broken export, it is held for an
operator (a Hold) instead of sent. Pure: no I/O; a release is read from ``desired``.
"""

from __future__ import annotations

from syncd.core.blanking import blanking
from syncd.core.domain import ACTIVE_STATUSES, Desired, KnownListing, Listing, content_hash
from syncd.core.ops import Hold
from syncd.core.policy import PlanPolicy

# Groups removals of known listings whose agency was never recorded (adopted, never sent).
UNKNOWN_AGENCY = "unknown"


def agency_of(have: KnownListing) -> str:
    return have.sent.agency_key if have.sent is not None else UNKNOWN_AGENCY


def held_update(
    desired: Desired, key: str, want: Listing, have: KnownListing | None
) -> Hold | None:
    """The suspicious-update guard (syncd.core.blanking), held like a mass removal.

    A release covers the update it held (its content hash), once: another blanking is held
    again.
    """
    if have is None or want.status not in ACTIVE_STATUSES:
        return None
    blanked = blanking(want, have)
    if not blanked:
        return None
    digest = content_hash(want)
    if desired.released_updates.get(key) == digest:
        return None
    return Hold(agency_of(have), blanked, (key,), updates=(digest,))


def mass_removal(removals: int, live: int, policy: PlanPolicy) -> str | None:
    """Why this many removals look like a broken export rather than a real change."""
    if removals >= live:
        return f"the full export would unpublish all {live} live listing(s) of the agency"
    limit = max(policy.mass_removal_min, policy.mass_removal_share * live)
    if removals > limit:
        return (
            f"the full export would unpublish {removals} of {live} live listings, "
            f"more than the limit of {limit:g}"
        )
    return None
