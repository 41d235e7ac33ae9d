"""The periodic full comparison with Hemnet: adopt, recreate, and report and repair drift.

Reads every listing Hemnet has and corrects what syncd KNOWS, so the next plan sends what
is missing; it never sends a write itself and never deletes anything on Hemnet (duplicates
and listings unknown here are reported, not touched). No API call holds the write lock.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime

from syncd.config import Config
from syncd.core.domain import listing_fields
from syncd.core.errors import ForbiddenApiError, RemoteDriftError, RetryableApiError
from syncd.core.packed import PackedKeys
from syncd.hemnet.client import HemnetClient
from syncd.hemnet.models import RemoteListing
from syncd.hemnet.wire import MAX_PAGE_SIZE
from syncd.store import events, listings
from syncd.store.engine import Store
from syncd.store.followed_ids import followed_ids
from syncd.store.listing_states import ListingState, read_listing_states
from syncd.store.remote import listed, listed_by_hemnet_id
from syncd.usecases import image_audit
from syncd.usecases.adopt import record_adoption
from syncd.usecases.image_audit import find_extra
from syncd.usecases.reconcile.compare import compare, drift_of, schedule_poll
from syncd.usecases.reconcile.findings import (
    Conflict,
    Drift,
    Duplicate,
    ReconcileReport,
    log_findings,
)
from syncd.usecases.reconcile.glimpse import Glimpse, ListGlimpses, is_in_step, oldest_glimpse
from syncd.usecases.reconcile.run import Known, Pass

__all__ = [
    "COMPARE_BATCH",
    "Conflict",
    "Drift",
    "Duplicate",
    "ReconcileReport",
    "ReconcileRun",
    "drift_of",
    "reconcile",
]

log = logging.getLogger(__name__)

# The cap on the listings one slice compares in its write transaction.
COMPARE_BATCH = 500


def reconcile(
    store: Store,
    client: HemnetClient,
    config: Config,
    now: datetime,
    *,
    repair: bool = True,
    spend: Callable[[], None] = lambda: None,
) -> ReconcileReport:
    """Compare every listing Hemnet has with what syncd knows (see the module docstring),
    in one go; ``ReconcileRun`` is the same in slices.

    ``repair=False`` (``syncd reconcile --dry-run``) reports the same findings and writes
    nothing at all. ``spend`` takes one request from the budget before each call.
    """
    run = ReconcileRun.begin(store, client, config, now, repair=repair, spend=spend)
    while not run.step():
        pass
    return run.finish()


class ReconcileRun:
    """One reconcile cut into slices: ``begin`` reads Hemnet's list (calls, no writes),
    each ``step`` follows, audits and compares the next listings by key, ``finish``
    reports. Between two steps the caller may run anything else, apply included: each
    step reads its listings afresh, and one syncd changed after Hemnet's list was read is
    left to the next run (``changed_meanwhile``), so a slice never records an older answer
    over a newer one.
    """

    def __init__(
        self,
        ctx: Pass,
        remote: ListGlimpses,
        left_out: frozenset[str],
        keys: PackedKeys,
        pages: int,
    ) -> None:
        self._ctx = ctx
        # Hemnet's list as glimpses (``glimpse``): the whole list decoded is hundreds of MB
        # at 100,000 listings, held for the hours a run lasts.
        self._remote = remote
        self._left_out = left_out
        self._keys = keys
        self._next = 0  # the cursor: index in ``keys`` of the next listing to look at
        self._compared = 0
        self.pages = pages  # requests the enumeration made

    @classmethod
    def begin(
        cls,
        store: Store,
        client: HemnetClient,
        config: Config,
        now: datetime,
        *,
        repair: bool = True,
        spend: Callable[[], None] = lambda: None,
        give_way: Callable[[], None] = lambda: None,
    ) -> ReconcileRun:
        """Read Hemnet's list and which listings syncd follows; makes calls, writes nothing.

        ``give_way`` is called before each listing of the list is kept: the caller may wait
        there for more urgent work (decoding 100,000 listings takes a minute or more)."""
        spend()
        remote = ListGlimpses()

        def keep(listing: RemoteListing) -> None:
            give_way()
            remote(listing)

        _, left_out = client.glance_listings(keep)
        # The pages after the first went out without asking the budget (the client pages
        # on its own): they are taken now, so what follows waits for them.
        pages = max(1, -(-len(remote) // MAX_PAGE_SIZE))
        for _ in range(pages - 1):
            spend()
        keys = PackedKeys()
        with store.read() as session:
            # Streamed once: no mapping of every listing key is held (``ListGlimpses.follow``).
            several = remote.follow(_collecting(followed_ids(session), keys))
            agencies = {a.hemnet_id: a.key for a in listings.known_agencies(session).values()}
        keys.sort()
        report = ReconcileReport(dry_run=not repair)
        run = cls(
            Pass(store, client, config, now, report, agencies, spend),
            remote,
            left_out,
            keys,
            pages,
        )
        _find_strays(report, remote, several)
        return run

    @property
    def done(self) -> bool:
        return self._next >= len(self._keys)

    @property
    def report(self) -> ReconcileReport:
        return self._ctx.report

    @property
    def remaining(self) -> int:
        return len(self._keys) - self._next

    def step(self, until: float | None = None, may_call: Callable[[], bool] = lambda: True) -> bool:
        """Look at the next listings, up to COMPARE_BATCH, while ``time.monotonic()`` is
        before ``until`` and ``may_call()`` says a listing's calls may start now (at least
        one listing either way, unless ``may_call`` refuses the first); True when done."""
        pairs: list[tuple[Known, RemoteListing, bool]] = []
        while not self.done and len(pairs) < COMPARE_BATCH:
            if pairs and until is not None and time.monotonic() >= until:
                break
            if not may_call():
                break
            key = self._keys[self._next]
            self._next += 1
            found = self._follow_and_audit(key)
            if found is not None:
                pairs.append(found)
        ctx = self._ctx
        if pairs:
            # Comparisons make no call: a slice shares one transaction (one commit per
            # listing made a 10,000-listing reconcile take seconds of commits alone).
            with nullcontext(None) if ctx.report.dry_run else ctx.store.transaction() as session:
                for item, found_remote, in_step in pairs:
                    compare(ctx, session, item, found_remote, fields_in_step=in_step)
            self._compared += len(pairs)
        return self.done

    def _follow_and_audit(self, key: str) -> tuple[Known, RemoteListing, bool] | None:
        ctx = self._ctx
        with ctx.store.read() as session:
            states = read_listing_states(session, only=key)
        if not states:
            return None  # gone from the store since the run began
        if states[0].updated_at > ctx.now:
            ctx.report.changed_meanwhile.append(key)
            return None
        item = _known(states[0])
        found = _follow(ctx, item, self._left_out, self._remote)
        if found is None:
            return None
        in_step = isinstance(found, Glimpse) and is_in_step(
            found, lambda: None if item.sent is None else listing_fields(item.sent)
        )
        remote = _whole(ctx, item, found, in_step)
        if remote is None:
            return None
        if not _audit_images(ctx, item, remote):
            return None
        return item, remote, in_step

    def finish(self) -> ReconcileReport:
        """The report of the whole run, its findings logged (and recorded)."""
        report = dataclasses.replace(self._ctx.report, compared=self._compared)
        log_findings(self._ctx.store, self._ctx.now, report)
        return report


def _collecting(
    rows: Iterable[tuple[str, str | None]], keys: PackedKeys
) -> Iterator[tuple[str, str | None]]:
    """``rows`` as they come, each one's listing key added to ``keys`` too."""
    for key, hemnet_id in rows:
        keys.add(key)
        yield key, hemnet_id


def _find_strays(
    report: ReconcileReport, remote: ListGlimpses, several: Mapping[str, str | None]
) -> None:
    """Hemnet listings syncd knows nothing of, and our listing keys on several of them
    (``several``: the id syncd follows under each such key, from ``ListGlimpses.follow``)."""
    report.unknown_on_hemnet.extend(remote.unknown())
    for key in remote.several():
        if key in several:
            report.duplicates.append(_duplicate(key, remote.carrying(key), several[key]))


def _follow(
    ctx: Pass,
    item: Known,
    left_out: frozenset[str],
    remote: ListGlimpses,
) -> Glimpse | RemoteListing | None:
    """The Hemnet listing to compare ``item`` with; None when there is none this pass (it is
    adopted, forgotten to be created again, or left alone)."""
    report = ctx.report
    if item.hemnet_id is None:
        if item.key in remote:
            _adopt(ctx, item, oldest_glimpse(remote.carrying(item.key)))
        return None
    if item.hemnet_id in left_out:
        # On Hemnet but unreadable (reported by the client): neither gone nor comparable.
        report.skipped.append(item.key)
        return None
    try:
        found = remote.get(item.hemnet_id) or _confirm_gone(ctx.client, item, ctx.spend)
    except ForbiddenApiError as exc:
        # Another account's now: not gone (recreating would duplicate it), not ours.
        log.warning("reconcile: %s left alone: %s", item.key, exc)
        report.skipped.append(item.key)
        return None
    if found is not None:
        return found
    if item.key in remote:
        # Gone, but Hemnet has another listing with our key: follow that one instead.
        _forget(ctx, item, recreate=False)
        _adopt(ctx, item, oldest_glimpse(remote.carrying(item.key)))
    else:
        _forget(ctx, item, recreate=True)
    return None


def _whole(
    ctx: Pass, item: Known, found: Glimpse | RemoteListing, in_step: bool
) -> RemoteListing | None:
    """The listing to compare: the glimpse's own facts when Hemnet's fields are what syncd
    sent, else Hemnet's listing read whole (its fields differ: drift, or unreadable);
    None when it cannot be read now (left to the next run)."""
    if isinstance(found, RemoteListing):
        return found  # read whole already (``_confirm_gone``)
    if in_step:
        return found.state
    try:
        ctx.spend()
        return ctx.client.get_listing(found.hemnet_id)
    except (RetryableApiError, RemoteDriftError, ForbiddenApiError) as exc:
        # Gone or another account's since the list was read, or not answering: the next
        # run sees it as it is then; nothing is recorded from a list that may be stale.
        log.warning("reconcile: %s not compared this time: %s", item.key, exc)
        ctx.report.skipped.append(item.key)
        return None


# --- pieces --------------------------------------------------------------------------------


def _known(state: ListingState) -> Known:
    return Known(
        key=state.listing_key,
        hemnet_id=state.hemnet_id,
        desired=state.desired,
        sent=None if state.known is None else state.known.sent,
        known=state.known,
    )


def _duplicate(key: str, group: Sequence[Glimpse], followed: str | None) -> Duplicate:
    ids = {r.hemnet_id for r in group}
    kept = followed if followed in ids else oldest_glimpse(group).hemnet_id
    others = tuple(sorted(ids - {str(kept)}, key=lambda i: (len(i), i)))
    return Duplicate(key, str(kept), others)


def _confirm_gone(
    client: HemnetClient, item: Known, spend: Callable[[], None]
) -> RemoteListing | None:
    """Missing from the enumeration: ask for it by id before believing it is gone, because
    recreating a listing Hemnet still has makes the duplicate this system must never make."""
    assert item.hemnet_id is not None
    try:
        spend()
        return client.get_listing(item.hemnet_id)
    except RemoteDriftError as exc:
        if exc.context.status == 404:
            return None
        raise


def _adopt(ctx: Pass, item: Known, glimpse: Glimpse) -> None:
    """A listing Hemnet has under our key but syncd never heard back about (a lost create,
    or one made before syncd, by another integration)."""
    store, client, config, now, report = ctx.store, ctx.client, ctx.config, ctx.now, ctx.report
    report.adopted.append(item.key)
    if not report.dry_run:
        # Adoption records Hemnet's body as the known ``sent``: read it whole (the run
        # keeps only a glimpse of each listing).
        ctx.spend()
        remote = client.get_listing(glimpse.hemnet_id)
        ctx.spend()
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
            schedule_poll(session, item.key, now, config)
    log.warning(
        "%s: %s Hemnet listing %s instead of creating it again",
        item.key,
        "would adopt" if report.dry_run else "adopted",
        glimpse.hemnet_id,
    )


def _forget(ctx: Pass, item: Known, *, recreate: bool) -> None:
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


def _audit_images(ctx: Pass, item: Known, remote: RemoteListing) -> bool:
    """Copies of an image on Hemnet, and images syncd never recorded (``image_audit``);
    False when the listing is another account's now (left alone, not compared)."""
    if item.known is None or item.known.sold is not None:
        return True  # nothing is sent to a sold listing, its images included
    try:
        ctx.spend()
        images = ctx.client.list_images(remote.hemnet_id)
    except ForbiddenApiError as exc:
        # Handed to another account after the list was read (a run lasts hours): as when
        # the list says so (``_follow``), left alone; the run goes on.
        log.warning("reconcile: %s left alone: %s", item.key, exc)
        ctx.report.skipped.append(item.key)
        return False
    except (RetryableApiError, RemoteDriftError) as exc:
        log.warning("%s: images not compared this time: %s", item.key, exc)
        return True
    found = find_extra(item.key, remote.hemnet_id, item.desired, item.known.images, images)
    if found is None:
        return True
    if not ctx.report.dry_run:
        found = image_audit.repair(
            ctx.store,
            ctx.client,
            found,
            remote=images,
            desired=item.desired,
            now=ctx.now,
            spend=ctx.spend,
        )
    removed = None if ctx.report.dry_run else len(found.removed)
    log.warning("%s: %s", item.key, image_audit.describe(found, removed, found.not_removed))
    ctx.report.extra_images.append(found)
    return True
