"""What syncd could not use in Hemnet's recent answers, kept while it lasts.

An unknown enum value, or one list item that cannot be read (and so was left out), does
not fail a call, but must not pass in silence either: the client records it here under
the request it came from, the daemon shows each one as an alert. The next answer to the
same request replaces what that request reported, so a problem clears once Hemnet's
answer is readable again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

# Requests remembered at most (least recently answered dropped first): bounded memory even
# if every listing's image list reported something once.
MAX_REQUESTS = 200


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

    def __init__(self, limit: int = MAX_REQUESTS) -> None:
        self._lock = threading.Lock()
        self._by_request: OrderedDict[str, tuple[AnswerProblem, ...]] = OrderedDict()
        self._limit = limit

    def answered(self, request: str, problems: tuple[AnswerProblem, ...]) -> None:
        """The latest readable answer to ``request`` had these problems (maybe none)."""
        with self._lock:
            self._by_request.pop(request, None)
            if problems:
                self._by_request[request] = problems
                while len(self._by_request) > self._limit:
                    self._by_request.popitem(last=False)

    def current(self) -> tuple[AnswerProblem, ...]:
        with self._lock:
            return tuple(p for group in self._by_request.values() for p in group)
