"""Reads Hemnet back for the listings it is busy with: image processing, approval, visibility.

Polls are reads: they change what is KNOWN (image states, publication state), never what
is sent; what to do about a failed image or an unpublished listing is the planner's call.
No API call is made while the state database is locked for writing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from syncd import metrics
from syncd.config import Config
from syncd.core.clock import utc_now
from syncd.core.domain import ImageState
from syncd.core.errors import (
    ApiError,
    AuthenticationApiError,
    RemoteDriftError,
    RetryableApiError,
    UnreadableAnswerError,
)
from syncd.hemnet.budget import TokenBucket
from syncd.hemnet.client import HemnetClient
from syncd.hemnet.models import Checks, RemoteImage, RemoteListing
from syncd.hemnet.wire import MAX_PAGE_SIZE
from syncd.store import checks, listings
from syncd.store.engine import Store
from syncd.store.remote import (
    ImageRead,
    TrackedImage,
    followed,
    keys_to_poll,
    listed,
    listed_by_hemnet_id,
    longest_approval_wait_s,
    record_images,
    record_listing_state,
    schedule,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollReport:
    polled: int  # listings read back
    changed: int  # listings whose known state changed
    next_due_at: datetime | None  # when the scheduler should call poll_due again


class Poller:
    """Follows listings through image processing and approval (see ``poll_due``)."""

    def __init__(
        self,
        store: Store,
        client: HemnetClient,
        config: Config,
        *,
        clock: Callable[[], datetime] = utc_now,
        budget: TokenBucket | None = None,
    ) -> None:
        self._store = store
        self._client = client
        self._config = config
        self._clock = clock
        # Shared with apply in the daemon: Hemnet's rate limit counts reads too, and a poll
        # that ignores it costs apply a 429 (and its Retry-After pause) instead.
        self._budget = budget or TokenBucket(config.hemnet.requests_per_second, config.hemnet.burst)

    # --- triggers --------------------------------------------------------------------------

    def poll_due(self) -> PollReport:
        """Read back every listing whose poll is due (or that Hemnet is busy with unscheduled)."""
        now = self._clock()
        with self._store.read() as session:
            due = keys_to_poll(session, now)
            awaiting = sum(1 for key in due if _awaits_approval(listings.get_listing(session, key)))
            on_hemnet = listings.count_on_hemnet(session)
        enumerated = self._enumerate(awaiting, on_hemnet)
        polled = changed = 0
        for key in due:
            try:
                result = self._poll(key, full=False, enumerated=enumerated)
            except AuthenticationApiError:
                raise  # every other read would fail the same way; the key needs renewing
            except ApiError as exc:
                self._after_failure(key, exc)
                continue
            if result is not None:
                polled += 1
                changed += result
        with self._store.read() as session:
            waited = longest_approval_wait_s(session, self._clock())
            next_due = listings.earliest_next_poll_at(session)
        metrics.OLDEST_AWAITING_APPROVAL.set(waited)
        if polled:
            log.info("poll: %d listings read back, %d changed", polled, changed)
        return PollReport(polled=polled, changed=changed, next_due_at=next_due)

    def poll_listing(self, listing_key: str) -> None:
        """Read one listing back now, images and publication state (a webhook arrived)."""
        self._poll(listing_key, full=True)

    def poll_event(self, hemnet_id: str | None, external_id: str | None) -> str | None:
        """Poll the listing a webhook event names (see ``webhook.event_listing``).

        Hemnet's id is trusted first; the externalId only when that id is unknown here,
        because anyone can put our key into a listing's externalId. Returns the key polled.
        """
        with self._store.read() as session:
            found = listed_by_hemnet_id(session, hemnet_id) if hemnet_id else None
            if found is None and external_id and not hemnet_id:
                found = listed(session, external_id)
            key = None if found is None else found.listing_key
        if key is None:
            log.info("webhook for a listing syncd does not know (hemnet_id=%s)", hemnet_id)
            return None
        self.poll_listing(key)
        return key

    # --- one listing -----------------------------------------------------------------------

    def _enumerate(self, awaiting: int, on_hemnet: int) -> Mapping[str, RemoteListing]:
        """Hemnet's list of listings by id, when its pages cost fewer calls than reading
        the ``awaiting`` listings one by one (``isVisible`` and the publication state are
        on each listing of the list, DOC); else nothing, and each is read on its own."""
        pages = max(1, math.ceil((on_hemnet + 1) / MAX_PAGE_SIZE))
        if pages >= awaiting:
            return {}
        try:
            for _ in range(pages):
                self._budget.take()
            found = self._client.list_listings()
        except AuthenticationApiError:
            raise
        except ApiError as exc:
            if isinstance(exc, RetryableApiError) and exc.retry_after_s:
                self._budget.pause(exc.retry_after_s)
            log.warning("poll: Hemnet's list of listings not read, each read on its own: %s", exc)
            return {}
        return {remote.hemnet_id: remote for remote in found}

    def _poll(
        self, key: str, *, full: bool, enumerated: Mapping[str, RemoteListing] | None = None
    ) -> bool | None:
        """Read one listing back; whether its known state changed (None: nothing to read)."""
        with self._store.read() as session:
            row = followed(session, key)
            stored_checks = checks.checks_of(session, key) if row is not None else None
        if row is None:
            return None
        hemnet_id = row.hemnet_id
        if hemnet_id is None:
            if row.next_poll_at is not None:
                with self._store.transaction() as session:
                    listings.set_next_poll_at(session, key, None, self._clock())
            return None
        tracked = row.tracked
        in_progress = any(img.state == ImageState.IN_PROGRESS.value for img in tracked)
        reads = self._read_images(hemnet_id, tracked) if tracked and (full or in_progress) else []
        remote = None
        if full or _awaits_approval(row):
            remote = self._read_listing(hemnet_id, None if full else enumerated)
        read_for = _checks_read_for(row.applied_hash, reads, tracked)
        read = None
        if stored_checks is None or stored_checks.read_for != read_for:
            read = self._read_checks(key, hemnet_id)
        now = self._clock()
        with self._store.transaction() as session:
            current = listed(session, key)
            if current is None or current.hemnet_id != hemnet_id:
                return False  # reconciled meanwhile: what was read is about another listing
            changed = record_images(session, key, reads, now)
            if remote is not None:
                state = record_listing_state(session, key, remote, now)
                metrics.observe_visible(state.drop_to_visible_s)
                changed = state.changed or changed
            if read is not None:
                checks.save_checks(
                    session,
                    key,
                    errors=read.errors,
                    warnings=read.warnings,
                    read_for=read_for,
                    now=now,
                )
            cfg = self._config.sync
            schedule(
                session, key, now, fast_s=cfg.poll_interval_fast_s, slow_s=cfg.poll_interval_slow_s
            )
        return changed

    def _read_listing(
        self, hemnet_id: str, enumerated: Mapping[str, RemoteListing] | None
    ) -> RemoteListing:
        """The listing as found in Hemnet's list just read, else read on its own."""
        remote = None if enumerated is None else enumerated.get(hemnet_id)
        if remote is None or (_awaits_approval(remote) and remote.approval_url is None):
            # Not in the list (left out as unreadable, or created since), or the list
            # lacks the approval URL, which Hemnet documents on the details only.
            self._budget.take()
            remote = self._client.get_listing(hemnet_id)
        return remote

    def _read_checks(self, key: str, hemnet_id: str) -> Checks | None:
        """Hemnet's checks (its completeness warnings); a failure only leaves them unread."""
        try:
            self._budget.take()
            return self._client.get_checks(hemnet_id)
        except AuthenticationApiError:
            raise
        except ApiError as exc:
            log.warning("checks of %s not read: %s", key, exc)
            return None

    def _read_images(self, hemnet_id: str, tracked: Sequence[TrackedImage]) -> list[ImageRead]:
        self._budget.take()
        remote_all = self._client.list_images(hemnet_id)
        remote_by_id = {img.image_id: img for img in remote_all}
        remote_by_url: dict[str, RemoteImage] = {}
        for img in remote_all:
            remote_by_url.setdefault(img.url, img)
        if len(remote_by_url) < len(remote_all):
            # Said at once, though only reconcile repairs it: the views count one per URL.
            log.warning(
                "Hemnet listing %s holds %d image(s) for %d source URL(s); the next "
                "reconcile deletes the copies",
                hemnet_id,
                len(remote_all),
                len(remote_by_url),
            )
        reads: list[ImageRead] = []
        for known in tracked:
            # By id; by source URL when the id is not Hemnet's (anything else would have the
            # next plan upload a picture Hemnet already holds).
            remote = remote_by_id.get(str(known.hemnet_image_id)) or remote_by_url.get(known.url)
            if (
                remote is not None
                and remote.state is ImageState.FAILED
                and (known.state != remote.state.value or not known.state_message)
            ):
                # Hemnet gives the reason only on the single image record (DOC).
                self._budget.take()
                remote = self._client.get_image(hemnet_id, remote.image_id)
            elif remote is not None and remote.state is ImageState.FAILED:
                # The list never carries the reason: keep the one read before.
                remote = dataclasses.replace(remote, state_message=known.state_message)
            reads.append(ImageRead(known, remote))
        return reads

    def _after_failure(self, key: str, exc: ApiError) -> None:
        cfg = self._config.sync
        now = self._clock()
        if isinstance(exc, UnreadableAnswerError):
            # Reading it again soon would read the same answer: slowly, naming the field.
            wait_s = cfg.poll_interval_slow_s
            log.warning("poll of %s: Hemnet's answer cannot be read: %s", key, exc)
        elif isinstance(exc, RetryableApiError):
            if exc.retry_after_s:
                self._budget.pause(exc.retry_after_s)
            wait_s = max(cfg.poll_interval_fast_s, exc.retry_after_s or 0.0)
            log.warning("poll of %s failed, again in %.0fs: %s", key, wait_s, exc)
        elif isinstance(exc, RemoteDriftError):
            wait_s = cfg.poll_interval_slow_s
            log.warning("poll of %s: Hemnet does not have it (%s); reconcile decides", key, exc)
        else:
            wait_s = cfg.poll_interval_slow_s
            log.warning("poll of %s failed: %s", key, exc)
        with self._store.transaction() as session:
            if listed(session, key) is not None:
                listings.set_next_poll_at(session, key, now + timedelta(seconds=wait_s), now)


class _Publication(Protocol):
    @property
    def is_published(self) -> bool: ...
    @property
    def is_approved(self) -> bool: ...


def _awaits_approval(listing: _Publication | None) -> bool:
    return listing is not None and listing.is_published and not listing.is_approved


def _checks_read_for(
    applied_hash: str | None, reads: Sequence[ImageRead], tracked: Sequence[TrackedImage]
) -> str:
    """What Hemnet's checks depend on: the content it confirmed and how many images it has
    processed. The checks are read again when that changes, not at every poll."""
    if reads:
        states = [r.remote.state.value for r in reads if r.remote is not None]
    else:
        states = [img.state or "" for img in tracked]
    return f"{applied_hash}|{states.count(ImageState.COMPLETED.value)}"
