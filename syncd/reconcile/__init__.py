"""The periodic full comparison with Hemnet: adopt, recreate, and report and repair drift.

Reads every listing Hemnet has and corrects what syncd KNOWS, so the next plan sends what
is missing; it never sends a write itself and never deletes anything on Hemnet (duplicates
and listings unknown here are reported, not touched). No API call holds the write lock.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncd import image_audit, metrics
from syncd.adopt import agency_key_of, oldest, record_adoption
from syncd.config import Config
from syncd.domain import (
    LISTING_FIELDS,
    KnownListing,
    Listing,
    listing_fields,
    to_plain,
)
from syncd.errors import ForbiddenApiError, RemoteDriftError, RetryableApiError
from syncd.hemnet.client import HemnetClient
from syncd.hemnet.models import RemoteListing, RemoteListings
from syncd.hemnet.payload import listing_fields_from
from syncd.image_audit import ExtraImages, find_extra
from syncd.progress import Stage, conflicts
from syncd.store import events, listings
from syncd.store.engine import Session, Store
from syncd.store.listing_states import ListingState, read_listing_states
from syncd.store.remote import (
    listed,
    listed_by_hemnet_id,
    longest_approval_wait_s,
    record_listing_state,
    schedule,
)

log = logging.getLogger(__name__)

# Listings compared and recorded per write transaction.
COMPARE_BATCH = 500


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
    """Hemnet and the CRM disagree in a way no op may settle (``progress.conflicts``)."""

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


@dataclass(frozen=True)
class _Known:
    """The store's view of one listing, read before any API call."""

    key: str
    hemnet_id: str | None
    desired: Listing | None
    sent: Listing | None
    known: KnownListing | None


@dataclass(frozen=True)
class _Pass:
    """What every step of one reconcile run shares."""

    store: Store
    client: HemnetClient
    config: Config
    now: datetime
    report: ReconcileReport
    agencies: Mapping[str, str]  # agency hemnet_id -> our key


def reconcile(
    store: Store, client: HemnetClient, config: Config, now: datetime, *, repair: bool = True
) -> ReconcileReport:
    """Compare every listing Hemnet has with what syncd knows (see the module docstring).

    ``repair=False`` (``syncd reconcile --dry-run``) reports the same findings and writes
    nothing at all.
    """
    remote_all = client.list_listings()
    with store.read() as session:
        known = {state.listing_key: _known(state) for state in read_listing_states(session)}
        agencies = {a.hemnet_id: a.key for a in listings.known_agencies(session).values()}
    by_hemnet_id = {r.hemnet_id: r for r in remote_all}
    by_key: dict[str, list[RemoteListing]] = defaultdict(list)
    for remote in remote_all:
        if remote.external_id is not None:
            by_key[remote.external_id].append(remote)

    report = ReconcileReport(dry_run=not repair)
    _find_strays(report, remote_all, known, by_key)
    ctx = _Pass(store, client, config, now, report, agencies)
    matched: dict[str, RemoteListing] = {}
    for item in sorted(known.values(), key=lambda k: k.key):
        found = _follow(ctx, item, remote_all, by_hemnet_id, by_key)
        if found is not None:
            matched[item.key] = found

    for key, found in sorted(matched.items()):
        _audit_images(ctx, known[key], found)
    _compare_all(ctx, known, matched)
    report = dataclasses.replace(report, compared=len(matched))
    _report(store, now, report)
    return report


def _find_strays(
    report: ReconcileReport,
    remote_all: RemoteListings,
    known: Mapping[str, _Known],
    by_key: Mapping[str, Sequence[RemoteListing]],
) -> None:
    """Hemnet listings syncd knows nothing of, and our listing keys on several of them."""
    followed = {k.hemnet_id: k.key for k in known.values() if k.hemnet_id is not None}
    report.unknown_on_hemnet.extend(
        r.hemnet_id
        for r in remote_all
        if r.hemnet_id not in followed and (r.external_id is None or r.external_id not in known)
    )
    for key, group in sorted(by_key.items()):
        if key in known and len(group) > 1:
            report.duplicates.append(_duplicate(key, group, known[key].hemnet_id))


def _follow(
    ctx: _Pass,
    item: _Known,
    remote_all: RemoteListings,
    by_hemnet_id: Mapping[str, RemoteListing],
    by_key: Mapping[str, Sequence[RemoteListing]],
) -> RemoteListing | None:
    """The Hemnet listing to compare ``item`` with; None when there is none this pass (it is
    adopted, forgotten to be created again, or left alone)."""
    report = ctx.report
    if item.hemnet_id is None:
        if item.key in by_key:
            _adopt(ctx, item, oldest(by_key[item.key]))
        return None
    if item.hemnet_id in remote_all.left_out:
        # On Hemnet but unreadable (reported by the client): neither gone nor comparable.
        report.skipped.append(item.key)
        return None
    try:
        found = by_hemnet_id.get(item.hemnet_id) or _confirm_gone(ctx.client, item)
    except ForbiddenApiError as exc:
        # Another account's now: not gone (recreating would duplicate it), not ours.
        log.warning("reconcile: %s left alone: %s", item.key, exc)
        report.skipped.append(item.key)
        return None
    if found is not None:
        return found
    if item.key in by_key:
        # Gone, but Hemnet has another listing with our key: follow that one instead.
        _forget(ctx, item, recreate=False)
        _adopt(ctx, item, oldest(by_key[item.key]))
    else:
        _forget(ctx, item, recreate=True)
    return None


def _compare_all(
    ctx: _Pass, known: Mapping[str, _Known], matched: Mapping[str, RemoteListing]
) -> None:
    """Compare every matched listing, in batches of one write transaction each."""
    # Comparisons make no call: a batch shares one transaction (one commit per listing
    # made a 10,000-listing reconcile take seconds of commits alone).
    pairs = list(matched.items())
    for start in range(0, len(pairs), COMPARE_BATCH):
        with nullcontext(None) if ctx.report.dry_run else ctx.store.transaction() as session:
            for key, found in pairs[start : start + COMPARE_BATCH]:
                _compare(ctx, session, known[key], found)


# --- pieces --------------------------------------------------------------------------------


def _known(state: ListingState) -> _Known:
    return _Known(
        key=state.listing_key,
        hemnet_id=state.hemnet_id,
        desired=state.desired,
        sent=None if state.known is None else state.known.sent,
        known=state.known,
    )


def _duplicate(key: str, group: Sequence[RemoteListing], followed: str | None) -> Duplicate:
    ids = {r.hemnet_id for r in group}
    kept = followed if followed in ids else oldest(group).hemnet_id
    others = tuple(sorted(ids - {str(kept)}, key=lambda i: (len(i), i)))
    return Duplicate(key, str(kept), others)


def _confirm_gone(client: HemnetClient, item: _Known) -> RemoteListing | None:
    """Missing from the enumeration: ask for it by id before believing it is gone, because
    recreating a listing Hemnet still has makes the duplicate this system must never make."""
    assert item.hemnet_id is not None
    try:
        return client.get_listing(item.hemnet_id)
    except RemoteDriftError as exc:
        if exc.context.status == 404:
            return None
        raise


def _adopt(ctx: _Pass, item: _Known, remote: RemoteListing) -> None:
    """A listing Hemnet has under our key but syncd never heard back about (a lost create,
    or one made before syncd, by another integration)."""
    store, client, config, now, report = ctx.store, ctx.client, ctx.config, ctx.now, ctx.report
    report.adopted.append(item.key)
    if not report.dry_run:
        images = client.list_images(remote.hemnet_id)
        with store.transaction() as session:
            row = listed(session, item.key)
            taken = listed_by_hemnet_id(session, remote.hemnet_id)
            if row is None or row.hemnet_id is not None or taken is not None:
                report.adopted.remove(item.key)  # apply recorded it meanwhile
                return
            record_adoption(
                session,
                item.key,
                remote,
                desired=item.desired,
                images=images,
                now=now,
                why="found by reconcile",
            )
            _schedule(session, item.key, now, config)
    log.warning(
        "%s: %s Hemnet listing %s instead of creating it again",
        item.key,
        "would adopt" if report.dry_run else "adopted",
        remote.hemnet_id,
    )


def _forget(ctx: _Pass, item: _Known, *, recreate: bool) -> None:
    """Hemnet no longer has the listing syncd followed: clear what syncd knew of it."""
    store, now, report = ctx.store, ctx.now, ctx.report
    if recreate:
        report.recreated.append(item.key)
    then = "the next plan creates it again" if recreate else "another one is adopted"
    message = f"Hemnet no longer has listing {item.hemnet_id}; {then}"
    log.warning("%s: %s", item.key, message)
    if report.dry_run:
        return
    with store.transaction() as session:
        row = listed(session, item.key)
        if row is None or row.hemnet_id != item.hemnet_id:
            if recreate:
                report.recreated.remove(item.key)  # apply recorded something meanwhile
            return
        listings.forget_remote(session, item.key, now)
        listings.set_next_poll_at(session, item.key, None, now)
        events.record_event(
            session,
            "recreate" if recreate else "gone_from_hemnet",
            message,
            now,
            listing_key=item.key,
            data={"hemnet_id": item.hemnet_id},
        )


def drift_of(
    key: str,
    crm: Mapping[str, Any] | None,
    sent: Mapping[str, Any] | None,
    hemnet: Mapping[str, Any],
) -> list[Drift]:
    """Fields where Hemnet differs from what syncd sent (from the CRM when nothing was)."""
    base = sent if sent is not None else crm
    if base is None:
        return []
    return [
        Drift(
            key,
            name,
            None if crm is None else crm[name],
            None if sent is None else sent[name],
            hemnet[name],
        )
        for name in LISTING_FIELDS
        if hemnet[name] != base[name]
    ]


def _compare(ctx: _Pass, session: Session | None, item: _Known, remote: RemoteListing) -> None:
    """Report drift of one listing; with a ``session`` (not a dry run), repair and record."""
    config, now = ctx.config, ctx.now
    hemnet, drifted = _find_drift(ctx, item, remote)
    moved = _agency_on_hemnet(ctx, item, remote)
    found = _conflicts(ctx, item, remote, moved)
    if session is None:
        return
    row = listed(session, item.key)
    if row is None or row.hemnet_id != remote.hemnet_id:
        return
    if found and row.stage != Stage.CONFLICT.value:
        events.record_event(session, "conflict", "; ".join(found), now, listing_key=item.key)
    if moved is not None and item.sent is not None and not drifted:
        # Hemnet's agency becomes the known one, so every view shows the listing as moved.
        listings.record_seen_on_hemnet(
            session, item.key, now, sent=dataclasses.replace(item.sent, agency_key=moved)
        )
    if drifted and item.sent is not None and hemnet is not None:
        _repair_drift(ctx, session, item, hemnet, drifted, moved)
    # Unchanged and in step: its poll time and stage stand as they are.
    state = record_listing_state(session, item.key, remote, now)
    metrics.observe_visible(state.drop_to_visible_s)
    if state.changed or drifted:
        _schedule(session, item.key, now, config)


def _find_drift(
    ctx: _Pass, item: _Known, remote: RemoteListing
) -> tuple[dict[str, Any] | None, list[Drift]]:
    """Hemnet's listing fields (None when its body cannot be read) and where they differ
    from what syncd sent; the drift is reported and logged."""
    try:
        hemnet = listing_fields_from(remote.raw)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("%s: Hemnet's listing body cannot be read (%s)", item.key, exc)
        hemnet = None
    drifted: list[Drift] = []
    if hemnet is not None and item.sent is not None:
        crm = listing_fields(item.desired) if item.desired else None
        drifted = drift_of(item.key, crm, listing_fields(item.sent), hemnet)
    ctx.report.drift.extend(drifted)
    if drifted:
        log.warning(
            "%s: Hemnet differs from what syncd sent in %s%s",
            item.key,
            ", ".join(d.field for d in drifted),
            "; the next plan sends them again" if not ctx.report.dry_run else "",
        )
    return hemnet, drifted


def _repair_drift(  # noqa: PLR0917
    ctx: _Pass,
    session: Session,
    item: _Known,
    hemnet: Mapping[str, Any],
    drifted: Sequence[Drift],
    moved: str | None,
) -> None:
    """Record what Hemnet has as what was "sent", and the drift as an event."""
    assert item.sent is not None
    now = ctx.now
    names = [d.field for d in drifted]
    # What Hemnet has becomes what was "sent": the planner's usual comparison with
    # the CRM then yields an UpdateListing of exactly these fields.
    repaired = dataclasses.replace(item.sent, **{name: hemnet[name] for name in names})
    if moved is not None:
        repaired = dataclasses.replace(repaired, agency_key=moved)
    listings.record_seen_on_hemnet(session, item.key, now, sent=repaired)
    ctx.report.repaired.append(item.key)
    events.record_event(
        session,
        "drift",
        f"Hemnet differs from what syncd sent in {', '.join(names)}; resent next run",
        now,
        listing_key=item.key,
        data={
            "fields": {
                d.field: {
                    "crm": _shown(d.crm),
                    "sent": _shown(d.sent),
                    "hemnet": _shown(d.hemnet),
                }
                for d in drifted
            }
        },
    )


def _schedule(session: Session, key: str, now: datetime, config: Config) -> None:
    sync = config.sync
    schedule(session, key, now, fast_s=sync.poll_interval_fast_s, slow_s=sync.poll_interval_slow_s)


def _agency_on_hemnet(ctx: _Pass, item: _Known, remote: RemoteListing) -> str | None:
    """Our key of the agency Hemnet keeps the listing under, when it is not the one syncd
    knows (someone moved it on Hemnet, or it was adopted from an agency syncd met later)."""
    hemnet_agency = agency_key_of(remote, ctx.agencies)
    if hemnet_agency is None or item.sent is None or hemnet_agency == item.sent.agency_key:
        return None
    return hemnet_agency


def _conflicts(ctx: _Pass, item: _Known, remote: RemoteListing, moved: str | None) -> list[str]:
    """What an operator must resolve for this listing, as Hemnet has it now."""
    if item.known is None:
        return []
    sent = item.known.sent
    now_known = dataclasses.replace(
        item.known,
        is_published=remote.is_published,
        is_approved=remote.is_approved,
        sent=sent if moved is None or sent is None else dataclasses.replace(sent, agency_key=moved),
    )
    found = conflicts(item.desired, now_known)
    if item.known.sold is not None and remote.sale is None and not remote.is_published:
        found.append(
            "the sale reported to Hemnet is gone (Hemnet shows no sale); report it again by hand"
        )
    for text in found:
        ctx.report.conflicts.append(Conflict(item.key, text))
        log.warning("%s: conflict: %s", item.key, text)
    return found


def _audit_images(ctx: _Pass, item: _Known, remote: RemoteListing) -> None:
    """Copies of an image on Hemnet, and images syncd never recorded (``image_audit``)."""
    if item.known is None or item.known.sold is not None:
        return  # nothing is sent to a sold listing, its images included
    try:
        images = ctx.client.list_images(remote.hemnet_id)
    except (RetryableApiError, RemoteDriftError) as exc:
        log.warning("%s: images not compared this time: %s", item.key, exc)
        return
    found = find_extra(item.key, remote.hemnet_id, item.desired, item.known.images, images)
    if found is None:
        return
    if not ctx.report.dry_run:
        found = image_audit.repair(
            ctx.store, ctx.client, found, remote=images, desired=item.desired, now=ctx.now
        )
    removed = None if ctx.report.dry_run else len(found.removed)
    log.warning("%s: %s", item.key, image_audit.describe(found, removed, found.not_removed))
    ctx.report.extra_images.append(found)


def _shown(value: Any) -> Any:
    """A JSON-ready form of a field value for an event (free text is cut short)."""
    plain = to_plain(value)
    if isinstance(plain, str) and len(plain) > 200:
        return plain[:200] + "…"
    return plain


def _report(store: Store, now: datetime, report: ReconcileReport) -> None:
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
