"""The fence: which agencies this instance holds, with their fencing tokens, and the check
every outbox write makes against the leases table in its own transaction.

A store handed a fence (``Store.fenced``) plans and writes the outbox for the held agencies
only; without one (SQLite, one daemon) nothing is checked. Holds no rule of its own: the
keeper (runtime/fleet.py) sets what is held by the rules of core/lease.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from syncd.core.clock import utc_now
from syncd.core.errors import StateError
from syncd.core.lease import agency_lease
from syncd.store.tables import LeaseRow

FENCE = "syncd_fence"  # the key of a fenced store's sessions' ``info``


class FencedOffError(StateError):
    """This instance no longer holds the agency an outbox write is for: nothing written."""

    remedy = "nothing to do: the instance holding the agency's lease does the work now"


@dataclass(frozen=True)
class Held:
    """One agency's lease as held: its fencing token, and when ops found in flight after a
    takeover may be read back (the old holder's call may still be on its way till then)."""

    token: int
    settle_after: datetime


class Fence:
    """The held agencies of one instance; shared by the keeper's and the workers' threads."""

    def __init__(
        self,
        instance_id: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.instance_id = instance_id
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}
        self._act_until = float("-inf")
        # The agency (and token) whose op this thread marked in flight and is calling for.
        self._calling = threading.local()

    def hold(self, held: Mapping[str, Held], act_until: float) -> None:
        """What the last renewal confirmed, and the monotonic time acting must stop."""
        with self._lock:
            self._held = dict(held)
            self._act_until = act_until

    def lose(self, agency_key: str) -> None:
        with self._lock:
            self._held.pop(agency_key, None)

    def acting(self) -> bool:
        """May this instance still call Hemnet for its agencies (its leases are fresh)?"""
        return self._monotonic() < self._act_until

    def may_call(self) -> bool:
        """May this thread send its call now: the leases fresh, and the agency whose op it
        marked in flight still held with the same token (a heartbeat between the marking
        and the call may have found the lease taken over)."""
        calling: tuple[str, int] | None = getattr(self._calling, "agency", None)
        with self._lock:
            if not self._monotonic() < self._act_until:
                return False
            if calling is None:
                return True
            held = self._held.get(calling[0])
            return held is not None and held.token == calling[1]

    def calling(self, agency_key: str | None, token: int | None = None) -> None:
        """This thread calls for ``agency_key`` now (None: its call is over)."""
        self._calling.agency = None if agency_key is None or token is None else (agency_key, token)

    def agencies(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._held)

    def settling(self) -> frozenset[str]:
        """The held agencies whose ops in flight may be read back now."""
        now = self._clock()
        with self._lock:
            return frozenset(k for k, held in self._held.items() if held.settle_after <= now)

    def held(self) -> dict[str, Held]:
        with self._lock:
            return dict(self._held)

    def token(self, agency_key: str) -> int | None:
        with self._lock:
            found = self._held.get(agency_key)
        return None if found is None else found.token


def fence_of(session: Session) -> Fence | None:
    found = session.info.get(FENCE)
    return found if isinstance(found, Fence) else None


def check_fence(
    session: Session, agency_keys: Iterable[str], *, calling: bool | None = None
) -> None:
    """FencedOffError unless this session's instance still holds every one of these agencies
    with the token it took them with; a no-op in an unfenced session.

    ``calling``: True when this write marks an op in flight (this thread calls for its
    agency next, see ``Fence.may_call``), False when it records the call's outcome.

    The check is a conditional UPDATE of the lease row, so it also locks that row until
    this transaction ends: a takeover commits either before it (and this write is refused)
    or after this transaction.
    """
    fence = fence_of(session)
    if fence is None:
        return
    keys = sorted(set(agency_keys))
    if calling is False:
        fence.calling(None)
    for key in keys:
        token = fence.token(key)
        if token is not None:
            result = session.execute(
                update(LeaseRow)
                .where(
                    LeaseRow.name == agency_lease(key),
                    LeaseRow.holder == fence.instance_id,
                    LeaseRow.token == token,
                )
                .values(token=LeaseRow.token)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                if calling and len(keys) == 1:
                    fence.calling(key, token)
                continue
            fence.lose(key)
        raise FencedOffError(
            f"instance {fence.instance_id} no longer holds the lease of agency {key} "
            f"(token {token}): the outbox write is refused"
        )


def scope_of(session: Session, *, settling: bool = False) -> frozenset[str] | None:
    """The agencies this session plans for (None: every agency, unfenced); ``settling``:
    those whose ops in flight may be read back now."""
    fence = fence_of(session)
    if fence is None:
        return None
    return fence.settling() if settling else fence.agencies()
