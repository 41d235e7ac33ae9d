"""Comparing one listing syncd follows with Hemnet's: drift, a moved agency, conflicts; and,
outside a dry run, recording what Hemnet has so the next plan resends what drifted.
It makes no API call and never sends anything.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from syncd import metrics
from syncd.config import Config
from syncd.core.domain import LISTING_FIELDS, listing_fields, to_plain
from syncd.core.stages import Stage, conflicts
from syncd.hemnet.models import RemoteListing
from syncd.hemnet.payload import listing_fields_from
from syncd.store import events, listings
from syncd.store.engine import Session
from syncd.store.remote import listed, record_listing_state, schedule
from syncd.usecases.adopt import agency_key_of
from syncd.usecases.reconcile.findings import Conflict, Drift
from syncd.usecases.reconcile.run import Known, Pass

# The whole of reconcile logs under one name, as it did as one module (log filters use it).
log = logging.getLogger("syncd.usecases.reconcile")


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


def compare(
    ctx: Pass,
    session: Session | None,
    item: Known,
    remote: RemoteListing,
    *,
    fields_in_step: bool = False,
) -> None:
    """Report drift of one listing; with a ``session`` (not a dry run), repair and record.

    ``fields_in_step``: Hemnet's listing fields are known to equal what syncd sent (the
    run's glimpse said so, and ``remote`` carries no body): there is no drift to find.
    """
    config, now = ctx.config, ctx.now
    hemnet, drifted = (None, []) if fields_in_step else _find_drift(ctx, item, remote)
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
        schedule_poll(session, item.key, now, config)


def _find_drift(
    ctx: Pass, item: Known, remote: RemoteListing
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
    ctx: Pass,
    session: Session,
    item: Known,
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


def schedule_poll(session: Session, key: str, now: datetime, config: Config) -> None:
    sync = config.sync
    schedule(session, key, now, fast_s=sync.poll_interval_fast_s, slow_s=sync.poll_interval_slow_s)


def _agency_on_hemnet(ctx: Pass, item: Known, remote: RemoteListing) -> str | None:
    """Our key of the agency Hemnet keeps the listing under, when it is not the one syncd
    knows (someone moved it on Hemnet, or it was adopted from an agency syncd met later)."""
    hemnet_agency = agency_key_of(remote, ctx.agencies)
    if hemnet_agency is None or item.sent is None or hemnet_agency == item.sent.agency_key:
        return None
    return hemnet_agency


def _conflicts(ctx: Pass, item: Known, remote: RemoteListing, moved: str | None) -> list[str]:
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


def _shown(value: Any) -> Any:
    """A JSON-ready form of a field value for an event (free text is cut short)."""
    plain = to_plain(value)
    if isinstance(plain, str) and len(plain) > 200:
        return plain[:200] + "…"
    return plain
