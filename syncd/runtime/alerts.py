"""Operator alerts: which conditions need a person, each said once until it clears.

``alerts_for`` decides (pure), ``AlertBoard`` remembers what was said and writes WARNING
lines, ``gather_facts`` reads the store. Never changes the store and never calls Hemnet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from syncd.config import AlertsConfig
from syncd.hemnet.problems import AnswerProblem
from syncd.store.engine import Store
from syncd.store.files import last_export_at
from syncd.store.holds import open_holds
from syncd.store.listing_states import awaiting_approval
from syncd.store.listings import failed_images

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """One condition an operator should act on; ``key`` names it while it lasts."""

    key: str
    message: str


@dataclass(frozen=True)
class AwaitingApproval:
    listing_key: str
    published_at: datetime
    approval_url: str | None = None


@dataclass(frozen=True)
class FailedImage:
    listing_key: str
    url: str
    message: str | None = None


@dataclass(frozen=True)
class OpenHold:
    hold_id: int
    agency_key: str
    listings: int
    created_at: datetime
    reason: str


@dataclass(frozen=True)
class AlertFacts:
    """What the alert rules look at, read from the store (and the key check) at one time."""

    watching_since: datetime  # when the daemon started: "no export" counts from here at most
    last_export_at: datetime | None = None
    key_expires_at: datetime | None = None
    awaiting_approval: tuple[AwaitingApproval, ...] = ()
    failed_images: tuple[FailedImage, ...] = ()
    open_holds: tuple[OpenHold, ...] = ()
    # Hemnet answers syncd could not fully use (unknown enum values, list items left out).
    answer_problems: tuple[AnswerProblem, ...] = ()


def how_long(span: timedelta) -> str:
    """A duration as an operator says it: "3 d 4 h", "5 h 12 min", "40 s"."""
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def alerts_for(facts: AlertFacts, settings: AlertsConfig, now: datetime) -> list[Alert]:
    """Every condition that holds now, in a stable order."""
    out: list[Alert] = []
    approval_wait = timedelta(seconds=settings.approval_wait_s)
    for waiting in sorted(facts.awaiting_approval, key=lambda w: w.listing_key):
        waited = now - waiting.published_at
        if waited > approval_wait:
            where = f": approve at {waiting.approval_url}" if waiting.approval_url else ""
            out.append(
                Alert(
                    f"approval:{waiting.listing_key}",
                    f"listing {waiting.listing_key} has waited {how_long(waited)} for the "
                    f"broker's approval{where}",
                )
            )
    for image in sorted(facts.failed_images, key=lambda i: (i.listing_key, i.url)):
        why = f": {image.message}" if image.message else ""
        out.append(
            Alert(
                f"image:{image.listing_key}:{image.url}",
                f"Hemnet could not process image {image.url} of listing "
                f"{image.listing_key}{why}; fix it in the CRM and export again",
            )
        )
    since = facts.last_export_at or facts.watching_since
    quiet = now - since
    if quiet > timedelta(seconds=settings.no_export_s):
        last = (
            f"the last arrived {facts.last_export_at.isoformat(timespec='seconds')}"
            if facts.last_export_at
            else "none since syncd started"
        )
        out.append(
            Alert(
                "no_export",
                f"no export file received for {how_long(quiet)} ({last}); "
                "check that the CRM still exports to the inbox",
            )
        )
    if facts.key_expires_at is not None:
        left = facts.key_expires_at - now
        if left <= timedelta(days=settings.key_expiry_warn_days):
            state = "has expired" if left <= timedelta(0) else f"expires in {how_long(left)}"
            out.append(
                Alert(
                    "key_expiry",
                    f"the Hemnet API key {state} "
                    f"({facts.key_expires_at.isoformat(timespec='seconds')}); syncd renews it "
                    "itself: if this stays, renew it with 'syncd keys renew'",
                )
            )
    for hold in sorted(facts.open_holds, key=lambda h: h.hold_id):
        out.append(
            Alert(
                f"hold:{hold.hold_id}",
                f"plan held for agency {hold.agency_key} since "
                f"{hold.created_at.isoformat(timespec='seconds')} ({hold.listings} listing(s) "
                f"would be unpublished: {hold.reason}); review with 'syncd hold list', then "
                f"'syncd hold release {hold.hold_id}'",
            )
        )
    for problem in sorted(facts.answer_problems, key=lambda p: (p.request, p.field)):
        out.append(
            Alert(
                f"answer:{problem.request}:{problem.field}",
                f"Hemnet's answer to {problem.describe()}; Hemnet's API may have changed: "
                "see 'answers syncd cannot read' in docs/troubleshooting.md",
            )
        )
    return out


class AlertBoard:
    """What was already said: a WARNING when a condition starts, an INFO line when it clears."""

    def __init__(self) -> None:
        self._said: dict[str, Alert] = {}

    @property
    def active(self) -> tuple[Alert, ...]:
        return tuple(self._said.values())

    def update(self, current: Iterable[Alert]) -> tuple[list[Alert], list[Alert]]:
        """Log what is new and what cleared since the last update; returns (new, cleared)."""
        now_active = {alert.key: alert for alert in current}
        new = [alert for key, alert in now_active.items() if key not in self._said]
        cleared = [alert for key, alert in self._said.items() if key not in now_active]
        for alert in new:
            logger.warning("alert: %s", alert.message)
        for alert in cleared:
            logger.info("alert cleared: %s", alert.key)
        # Keep the first wording: a waiting time that grows is the same alert, not a new one.
        self._said = {key: self._said.get(key, alert) for key, alert in now_active.items()}
        return new, cleared


def gather_facts(
    store: Store,
    now: datetime,
    *,
    watching_since: datetime,
    key_expires_at: datetime | None = None,
    answer_problems: tuple[AnswerProblem, ...] = (),
) -> AlertFacts:
    """Read what the rules need from the store in one read transaction."""
    with store.read() as session:
        awaited = awaiting_approval(session)
        images = failed_images(session)
        holds = open_holds(session)
        last = last_export_at(session)
    awaiting = tuple(
        AwaitingApproval(a.listing_key, a.published_at, a.approval_url) for a in awaited
    )
    failed = tuple(FailedImage(img.listing_key, img.url, img.state_message) for img in images)
    held = tuple(
        OpenHold(h.id, h.agency_key, len(h.listing_keys_json), h.created_at, h.reason)
        for h in holds
    )
    return AlertFacts(
        watching_since=watching_since,
        last_export_at=last,
        key_expires_at=key_expires_at,
        awaiting_approval=awaiting,
        failed_images=failed,
        open_holds=held,
        answer_problems=answer_problems,
    )


def describe(alerts: Sequence[Alert]) -> str:
    """A short count for the status line ("2 alerts"), empty when there are none."""
    return f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}" if alerts else ""
