"""The wall clock, in one place: the use cases take it as an argument so tests can move time.

The pure core (domain, ops, plan, stages) never imports this; it is given ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Timezone-aware UTC now; the store refuses naive datetimes."""
    return datetime.now(UTC)
