"""What planning one listing produced, and the pieces several planning rules share.

Pure, like the whole planner: no I/O, no clock; it decides nothing by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from syncd.core.domain import KnownListing
from syncd.core.ops import Consequence, Operation, UnpublishListing, Waiting

REJECTED_REASON = "rejected by Hemnet; fix in CRM or 'syncd retry KEY'"


@dataclass
class Out:
    """What planning one listing produced."""

    ops: list[Operation] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)

    def wait(self, key: str, reason: str, due_at: datetime | None = None) -> None:
        self.waiting.append(Waiting(key, reason, due_at))


def unpublish(have: KnownListing, reason: str) -> UnpublishListing:
    consequences = frozenset({Consequence.UNPUBLISH_VISIBLE}) if have.is_visible else frozenset()
    return UnpublishListing(have.listing_key, reason=reason, consequences=consequences)
