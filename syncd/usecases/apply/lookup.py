"""Is a listing about to be created already on Hemnet? One enumeration answers it for a
burst of creates, where that costs fewer calls than one ``externalId`` lookup per create.

It only ever answers from a complete, fresh enumeration taken before the create it
answers for; otherwise it says "look it up yourself" (None). Unknown outcomes never come
here: they are settled by their own lookup (``CreateListingHandler.settle``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence

from syncd.core.errors import ApiError, AuthenticationApiError
from syncd.core.ops import CreateListing
from syncd.hemnet import HemnetClient
from syncd.hemnet.models import RemoteListing
from syncd.hemnet.wire import MAX_PAGE_SIZE
from syncd.store.engine import Store
from syncd.store.listings import count_on_hemnet

log = logging.getLogger("syncd.usecases.apply")

# How long one enumeration answers for the creates that follow it. A listing another
# system creates under one of our keys inside this window is not seen, and syncd creates
# its own: Hemnet does not say that externalId is unique (hemnet-api.md), so this window
# exists with a lookup per create too, only shorter. Reconcile reports such a pair as a
# duplicate_on_hemnet and follows syncd's own (docs/troubleshooting.md).
FRESH_S = 10.0


class CreateLookup:
    """One pass's view of which of our keys Hemnet already holds, shared by its creates.

    ``begin`` at the start of each pass's execution; ``on_hemnet(key)`` from each create,
    in any thread: Hemnet's listings carrying ``key`` as externalId (empty: none), or None
    when this pass has no usable enumeration and the create must look the key up itself.
    """

    def __init__(
        self,
        client: HemnetClient,
        spend: Callable[[], None],
        requests_per_second: float,
        store: Store,
    ) -> None:
        self._client = client
        self._spend = spend
        self._rate = requests_per_second
        self._store = store
        self._lock = threading.Lock()
        self._reset(0, 0)

    def _reset(self, creates: int, jobs: int) -> None:
        self._creates_left = creates
        self._creates_per_job = creates / jobs if jobs else 0.0
        self._by_key: dict[str, list[RemoteListing]] | None = None
        self._taken_at = -math.inf
        self._pages = 1
        self._failed = False

    def begin(self, ops: Sequence[object]) -> None:
        """A new pass will run ``ops``: nothing listed before it is trusted."""
        creates = sum(1 for op in ops if isinstance(op, CreateListing))
        with self._lock:
            self._reset(creates, len(ops))
            if creates > 1:
                with self._store.read() as session:
                    self._pages = _pages_of(count_on_hemnet(session))

    def on_hemnet(self, key: str) -> list[RemoteListing] | None:
        with self._lock:
            self._creates_left = max(self._creates_left - 1, 0)
            if time.monotonic() - self._taken_at > FRESH_S:
                self._by_key = None
                if self._failed or not self._worth_listing():
                    return None
                self._list()
            if self._by_key is None:
                return None
            return list(self._by_key.get(key, ()))

    def _worth_listing(self) -> bool:
        """Fewer calls than the lookups it replaces: the creates still to run in this pass
        that can run while the enumeration is fresh (the budget bounds them), this one
        included."""
        in_window = self._rate * FRESH_S * self._creates_per_job
        return self._pages < min(self._creates_left + 1, in_window)

    def _list(self) -> None:
        started = time.monotonic()  # what is created after this may be missing from it
        try:
            for _ in range(self._pages):
                self._spend()
            listed = self._client.list_listings()
        except AuthenticationApiError:
            raise
        except ApiError as exc:
            # Each create looks its key up instead: the same calls as without this.
            log.warning("listing Hemnet's listings before creating failed: %s", exc)
            self._failed = True
            return
        if listed.left_out:
            # A listing Hemnet holds but whose answer was unreadable may carry any key:
            # this enumeration cannot say that a key is absent.
            log.warning(
                "%d listing(s) of Hemnet's list unreadable: each create looks its key up",
                len(listed.left_out),
            )
            self._failed = True
            return
        by_key: dict[str, list[RemoteListing]] = {}
        for remote in listed:
            if remote.external_id is not None:
                by_key.setdefault(remote.external_id, []).append(remote)
        self._by_key = by_key
        self._taken_at = started
        self._pages = _pages_of(len(listed))


def _pages_of(count: int) -> int:
    return max(1, math.ceil((count + 1) / MAX_PAGE_SIZE))
