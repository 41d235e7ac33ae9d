"""The plans of a full pass's chunks merged into the plan of one read of every listing.

Pure, and decides nothing: each part is ``plan()``'s for listings no other part holds; only
the order ``plan()`` gives (agencies first, then by listing key) is restored.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncd.core.ops import EnsureAgency, Hold, Operation, Plan, Waiting


def merge_plans(parts: Iterable[Plan]) -> Plan:
    """One plan from plans of disjoint sets of listings, as ``plan()`` orders it.

    An agency several parts need is ensured once. Removal holds (one per agency) can come
    from one part only: the removals the guard judges are planned together.
    """
    agencies: dict[str, EnsureAgency] = {}
    ops: list[Operation] = []
    removal_holds: list[Hold] = []
    update_holds: list[Hold] = []
    waiting: list[Waiting] = []
    for part in parts:
        for op in part.ops:
            if isinstance(op, EnsureAgency):
                agencies.setdefault(op.agency.key, op)
            else:
                ops.append(op)
        for hold in part.holds:
            (removal_holds if hold.missing_since else update_holds).append(hold)
        waiting.extend(part.waiting)
    # Stable sorts: a listing's ops keep their order, and each listing is in one part only.
    ops.sort(key=_listing_key)
    removal_holds.sort(key=lambda hold: hold.agency_key)
    update_holds.sort(key=lambda hold: hold.listing_keys)
    waiting.sort(key=lambda w: w.listing_key)
    return Plan(
        ops=(*(agencies[key] for key in sorted(agencies)), *ops),
        holds=(*removal_holds, *update_holds),
        waiting=tuple(waiting),
    )


def _listing_key(op: Operation) -> str:
    return op.listing_key or ""
