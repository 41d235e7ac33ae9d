"""Planning removals: unpublish what full exports dropped, after the grace, unless the
mass-removal guard holds it. Pure: no I/O, no clock (``now`` is an argument).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syncd.core.domain import Desired, KnownListing
from syncd.core.ops import Hold
from syncd.core.plan.guards import agency_of, mass_removal
from syncd.core.plan.outcome import Out, unpublish
from syncd.core.policy import PlanPolicy


@dataclass(frozen=True)
class RemovalCounts:
    """An agency's removals asked for, of every listing: the guard's figures when the
    planner is given some listings only (a full pass's chunk)."""

    unconfirmed: int  # no operator released this absence
    confirmed: int


@dataclass
class Removal:
    per_key: dict[str, Out] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)


def _is_live(have: KnownListing) -> bool:
    return have.is_published and have.sold is None


def plan_removals(
    desired: Desired,
    known: Mapping[str, KnownListing],
    policy: PlanPolicy,
    now: datetime,
    *,
    live: Mapping[str, int] | None = None,
    counts: Mapping[str, RemovalCounts] | None = None,
) -> Removal:
    """Unpublish what full exports dropped, after the grace, unless a guard holds it.

    Only ``missing_since`` (set by ingest for full exports) asks for a removal: a key that
    is merely absent from ``desired`` is left alone. A released hold confirms one absence
    (its ``missing_since``): those removals go on, and the guard judges only the others.
    ``live``: the live listings by agency, when ``known`` is not all of them. ``counts``:
    the removals asked for by agency, when ``known`` need not hold all of them; the guard
    judges by these, and a hold names the removals of ``known`` only.
    """
    asked, counted = _asked_removals(desired, known)
    if live is None:
        live = counted
    result = Removal()
    grace = timedelta(seconds=policy.removal_grace_s)
    for agency in sorted(asked):
        keys = sorted(asked[agency])
        unconfirmed = [k for k in keys if not _released(desired, k)]
        judged = RemovalCounts(len(unconfirmed), len(keys) - len(unconfirmed))
        if counts is not None:
            # The whole store's counts are never below the chunk's; were they, the chunk's
            # would be judged (each larger count makes the guard stricter).
            given = counts.get(agency, judged)
            judged = RemovalCounts(
                max(given.unconfirmed, judged.unconfirmed), max(given.confirmed, judged.confirmed)
            )
        # Judged against what stays live once the confirmed removals are made: a release
        # of most listings must not let the last ones go unasked.
        remaining = live.get(agency, 0) - judged.confirmed
        reason = mass_removal(judged.unconfirmed, remaining, policy) if unconfirmed else None
        if reason:
            absences = tuple(desired.missing_since[k] for k in unconfirmed)
            result.holds.append(Hold(agency, reason, tuple(unconfirmed), absences))
            keys = [k for k in keys if _released(desired, k)]
        for key in keys:
            since = desired.missing_since[key]
            out = result.per_key.setdefault(key, Out())
            if now - since >= grace:
                out.ops.append(
                    unpublish(known[key], f"missing from full exports since {since:%Y-%m-%d %H:%M}")
                )
            else:
                out.wait(
                    key,
                    f"missing from the full export since {since:%Y-%m-%d %H:%M}; unpublished "
                    f"after {since + grace:%Y-%m-%d %H:%M} unless it comes back",
                    due_at=since + grace,
                )
    return result


def _asked_removals(
    desired: Desired, known: Mapping[str, KnownListing]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The live listings full exports dropped, and the live listings, by agency."""
    asked: dict[str, list[str]] = {}
    live: dict[str, int] = {}
    for key, have in known.items():
        if not _is_live(have):
            continue
        agency = agency_of(have)
        live[agency] = live.get(agency, 0) + 1
        if key not in desired.listings and key in desired.missing_since:
            asked.setdefault(agency, []).append(key)
    return asked, live


def _released(desired: Desired, key: str) -> bool:
    """An operator released the removal of this very absence (not an earlier one)."""
    return desired.released_removals.get(key) == desired.missing_since[key]
