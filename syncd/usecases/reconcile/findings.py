"""What a reconcile run found (drift, duplicates, conflicts, strays) and its report of them
in the log and the event history. Records events only; it decides and repairs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncd import metrics
from syncd.store import events
from syncd.store.engine import Store
from syncd.store.remote import listed, longest_approval_wait_s
from syncd.usecases.image_audit import ExtraImages

# The whole of reconcile logs under one name, as it did as one module (log filters use it).
log = logging.getLogger("syncd.usecases.reconcile")


@dataclass(frozen=True)
class Drift:
    """One listing field as the CRM wants it, as syncd last sent it, and as Hemnet has it."""

    listing_key: str
    field: str
    crm: Any  # None also when the listing has left the CRM
    sent: Any
    hemnet: Any


@dataclass(frozen=True)
class Duplicate:
    """Several Hemnet listings carry one of our listing keys as externalId."""

    listing_key: str
    kept: str  # the hemnet_id syncd follows
    others: tuple[str, ...]  # left alone on Hemnet: an operator decides


@dataclass(frozen=True)
class Conflict:
    """Hemnet and the CRM disagree in a way no op may settle (``stages.conflicts``)."""

    listing_key: str
    text: str


@dataclass(frozen=True)
class ReconcileReport:
    adopted: list[str] = field(default_factory=list)  # listing keys given Hemnet's id
    recreated: list[str] = field(default_factory=list)  # gone from Hemnet: created again
    drift: list[Drift] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # keys whose drifted fields are resent
    unknown_on_hemnet: list[str] = field(default_factory=list)  # hemnet ids
    duplicates: list[Duplicate] = field(default_factory=list)
    extra_images: list[ExtraImages] = field(default_factory=list)  # copies on Hemnet
    conflicts: list[Conflict] = field(default_factory=list)  # for an operator to resolve
    compared: int = 0  # listings known on both sides
    dry_run: bool = False
    # Keys left alone this pass: Hemnet has the listing but its answer was unreadable
    # (reported by the client) or it belongs to another account (403).
    skipped: list[str] = field(default_factory=list)
    # Keys syncd changed after Hemnet's list was read (a run in slices, apply between them):
    # what the list says of them is older than what syncd knows; the next run compares them.
    changed_meanwhile: list[str] = field(default_factory=list)


def log_findings(store: Store, now: datetime, report: ReconcileReport) -> None:
    for dup in report.duplicates:
        message = (
            f"{len(dup.others) + 1} Hemnet listings carry listing key {dup.listing_key}: "
            f"syncd follows {dup.kept}, leaves {', '.join(dup.others)} alone (remove by hand)"
        )
        log.warning("%s", message)
        if not report.dry_run:
            with store.transaction() as session:
                if listed(session, dup.listing_key) is not None:
                    events.record_event(
                        session,
                        "duplicate_on_hemnet",
                        message,
                        now,
                        listing_key=dup.listing_key,
                        data={"kept": dup.kept, "others": list(dup.others)},
                    )
    if report.unknown_on_hemnet:
        shown = ", ".join(report.unknown_on_hemnet[:10])
        more = len(report.unknown_on_hemnet) - 10
        log.warning(
            "%d Hemnet listing(s) unknown here, left alone: %s%s",
            len(report.unknown_on_hemnet),
            shown,
            f" and {more} more" if more > 0 else "",
        )
    if not report.dry_run:
        with store.read() as session:
            waited = longest_approval_wait_s(session, now)
        metrics.OLDEST_AWAITING_APPROVAL.set(waited)
    log.info(
        "reconcile%s: %d compared, %d adopted, %d recreated, %d drifted field(s) in %d "
        "listing(s), %d unknown on Hemnet, %d duplicate(s), %d with extra images, "
        "%d conflict(s)",
        " (dry run)" if report.dry_run else "",
        report.compared,
        len(report.adopted),
        len(report.recreated),
        len(report.drift),
        len({d.listing_key for d in report.drift}),
        len(report.unknown_on_hemnet),
        len(report.duplicates),
        len(report.extra_images),
        len(report.conflicts),
    )
