"""What one reconcile run shares between its steps, and its view of each stored listing.

Data only: no step of the run lives here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from syncd.config import Config
from syncd.core.domain import KnownListing, Listing
from syncd.hemnet.client import HemnetClient
from syncd.store.engine import Store
from syncd.usecases.reconcile.findings import ReconcileReport


@dataclass(frozen=True)
class Known:
    """The store's view of one listing, read before any API call."""

    key: str
    hemnet_id: str | None
    desired: Listing | None
    sent: Listing | None
    known: KnownListing | None


@dataclass(frozen=True)
class Pass:
    """What every step of one reconcile run shares."""

    store: Store
    client: HemnetClient
    config: Config
    now: datetime
    report: ReconcileReport
    agencies: Mapping[str, str]  # agency hemnet_id -> our key
    spend: Callable[[], None]  # one request from the budget apply uses, before each call
