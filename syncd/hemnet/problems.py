"""What syncd could not use in Hemnet's recent answers, kept while it lasts.

An unknown enum value, or one list item that cannot be read (and so was left out), does
not fail a call, but must not pass in silence either: the client records it here under
the request it came from, the daemon shows each one as an alert. The next answer to the
same request replaces what that request reported, so a problem clears once Hemnet's
answer is readable again, or after a day without that request being answered again (a
listing no longer read must not keep an alert for ever; one still read renews it).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# Requests remembered at most (least recently answered dropped first): bounded memory even
# if every listing's image list reported something once.
MAX_REQUESTS = 200
# A problem not seen again for this long is dropped.
MAX_AGE_S = 24 * 3600.0


@dataclass(frozen=True)
class AnswerProblem:
    """``field`` of the answer to ``request`` ("GET /listings") is odd: ``message`` says how."""

    request: str
    field: str
    message: str
    skipped: bool = False  # True: the item was left out of the list; False: read as unknown

    def describe(self) -> str:
        what = "left out" if self.skipped else "read as unknown"
        return f"{self.request}: {self.field}: {self.message} ({what})"


class AnswerProblems:
    """Thread-safe: the client runs in several threads at once."""

    def __init__(
        self,
        limit: int = MAX_REQUESTS,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        # request -> (when last answered, its problems), least recently answered first
        self._by_request: OrderedDict[str, tuple[float, tuple[AnswerProblem, ...]]] = OrderedDict()
        self._limit = limit
        self._max_age_s = max_age_s
        self._clock = clock

    def answered(self, request: str, problems: tuple[AnswerProblem, ...]) -> None:
        """The latest readable answer to ``request`` had these problems (maybe none)."""
        with self._lock:
            self._by_request.pop(request, None)
            if problems:
                self._by_request[request] = (self._clock(), problems)
                while len(self._by_request) > self._limit:
                    self._by_request.popitem(last=False)

    def current(self) -> tuple[AnswerProblem, ...]:
        with self._lock:
            oldest = self._clock() - self._max_age_s
            while self._by_request:
                request, (seen, _) = next(iter(self._by_request.items()))
                if seen >= oldest:
                    break
                del self._by_request[request]
            return tuple(p for _, group in self._by_request.values() for p in group)
