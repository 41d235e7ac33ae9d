"""The planner: compares what the CRM wants with what Hemnet has and returns the ops.

Pure: no I/O, no clock (``now`` is an argument), no environment; it never sends anything.
The same inputs always give the same plan, sorted by listing key. Rules: docs/planning.md.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime

from syncd.core.domain import Desired, KnownAgency, KnownListing
from syncd.core.ops import Hold, Operation, Plan, Waiting
from syncd.core.plan.agencies import plan_agencies
from syncd.core.plan.guards import UNKNOWN_AGENCY as UNKNOWN_AGENCY
from syncd.core.plan.guards import held_update
from syncd.core.plan.listing import TEASED_NEW_CONSTRUCTION as TEASED_NEW_CONSTRUCTION
from syncd.core.plan.listing import plan_listing
from syncd.core.plan.outcome import REJECTED_REASON as REJECTED_REASON
from syncd.core.plan.outcome import Out
from syncd.core.plan.removals import RemovalCounts as RemovalCounts
from syncd.core.plan.removals import plan_removals

# The policy is parsed from [sync] by config; callers of the planner may take it from here.
from syncd.core.policy import PlanPolicy as PlanPolicy

log = logging.getLogger(__name__)


def plan(
    desired: Desired,
    known: Mapping[str, KnownListing],
    agencies: Mapping[str, KnownAgency],
    policy: PlanPolicy,
    now: datetime,
    *,
    refused: Collection[str] = frozenset(),
    live: Mapping[str, int] | None = None,
    removals: Mapping[str, RemovalCounts] | None = None,
) -> Plan:
    """The ops that bring Hemnet to ``desired``: agencies first, then listing by listing.

    ``refused``: listings not on Hemnet whose create Hemnet refused with the content the
    CRM still wants (a rejection of a known listing is in its ``KnownListing``).
    ``live``: the live listings of each agency, when ``desired`` and ``known`` hold only
    some listings (a dirty pass): the mass-removal guard counts removals against all of
    them. The removals asked for must all be in ``known`` then (the guard judges them
    together), unless ``removals`` gives each agency's count of them (a full pass's chunk):
    then a hold names the chunk's removals only, and the holds of all chunks together are
    the hold of one plan of every listing.
    """
    agency_ops, agency_waiting = plan_agencies(desired, known, agencies)
    removal = plan_removals(desired, known, policy, now, live=live, counts=removals)
    # A refused create is sent again only once the listing changes, or it would be
    # refused every pass.
    per_key = {key: Out(waiting=[Waiting(key, REJECTED_REASON)]) for key in refused}
    update_holds: list[Hold] = []
    for key in sorted(desired.listings):
        if key in per_key:
            continue
        if key in agency_waiting:
            per_key[key] = Out(waiting=[Waiting(key, agency_waiting[key])])
            continue
        have = known.get(key)
        want = desired.listings[key]
        held = held_update(desired, key, want, have)
        if held is not None:
            update_holds.append(held)
            per_key[key] = Out(waiting=[Waiting(key, f"{held.reason}; see 'syncd hold list'")])
            continue
        per_key[key] = plan_listing(want, have, policy, now)
    for key, out in removal.per_key.items():
        per_key[key] = out
    ops: list[Operation] = list(agency_ops)
    waiting: list[Waiting] = []
    for key in sorted(per_key):
        ops.extend(per_key[key].ops)
        waiting.extend(per_key[key].waiting)
    log.debug(
        "planned %d ops, %d holds, %d waiting for %d listings",
        len(ops),
        len(removal.holds),
        len(waiting),
        len(per_key),
    )
    holds = (*removal.holds, *update_holds)
    return Plan(ops=tuple(ops), holds=holds, waiting=tuple(waiting))
