"""The plans of a full pass's chunks merged into the plan of one read of every listing.

Pure, and decides nothing: each part is ``plan()``'s for listings no other part holds; only
the order ``plan()`` gives (agencies first, then by listing key) is restored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from syncd.core.ops import EnsureAgency, Hold, Operation, Plan, Waiting


def merge_plans(parts: Iterable[Plan]) -> Plan:
    """One plan from plans of disjoint sets of listings, as ``plan()`` orders it.

    An agency several parts need is ensured once; the removal holds of one agency (each
    part's judged by the whole store's counts, so with one reason) are one hold.
    """
    agencies: dict[str, EnsureAgency] = {}
    ops: list[Operation] = []
    removal_holds: dict[str, Hold] = {}
    update_holds: list[Hold] = []
    waiting: list[Waiting] = []
    for part in parts:
        for op in part.ops:
            if isinstance(op, EnsureAgency):
                agencies.setdefault(op.agency.key, op)
            else:
                ops.append(op)
        for hold in part.holds:
            if hold.missing_since:
                removal_holds[hold.agency_key] = _joined(removal_holds.get(hold.agency_key), hold)
            else:
                update_holds.append(hold)
        waiting.extend(part.waiting)
    # Stable sorts: a listing's ops keep their order, and each listing is in one part only.
    ops.sort(key=_listing_key)
    update_holds.sort(key=lambda hold: hold.listing_keys)
    waiting.sort(key=lambda w: w.listing_key)
    return Plan(
        ops=(*(agencies[key] for key in sorted(agencies)), *ops),
        holds=(*(removal_holds[key] for key in sorted(removal_holds)), *update_holds),
        waiting=tuple(waiting),
    )


def _joined(held: Hold | None, more: Hold) -> Hold:
    if held is None:
        return more
    if held.reason != more.reason:
        # Parts judged by the same counts give one reason: anything else is a bug, and a
        # hold must never be merged into one that says something else.
        raise ValueError(f"holds of agency {held.agency_key!r} disagree: {held.reason!r}")
    pairs = sorted(
        zip(
            held.listing_keys + more.listing_keys,
            held.missing_since + more.missing_since,
            strict=True,
        )
    )
    return replace(
        held,
        listing_keys=tuple(key for key, _ in pairs),
        missing_since=tuple(since for _, since in pairs),
    )


def _listing_key(op: Operation) -> str:
    return op.listing_key or ""
