"""The typed Hemnet client: one method per endpoint, answers as ``models`` values.

Synchronous (the scheduler runs it in threads). It never retries on its own (apply owns
retries and the request budget), except one retry after ``on_auth_failure`` renewed the
key. Every failure leaves as an ``ApiError`` from ``classify``; the token never does. An
answer it cannot read leaves as an ``UnreadableAnswerError`` naming the field; an unknown
enum value, or a list item left out, is recorded in ``problems`` (docs/hemnet-client.md).
"""

from __future__ import annotations

from syncd.hemnet.accounts import AccountEndpoints
from syncd.hemnet.http import MAX_PAGES, Json, Observer, Parser
from syncd.hemnet.images import ImageEndpoints
from syncd.hemnet.listings import ListingEndpoints

__all__ = ["MAX_PAGES", "HemnetClient", "Json", "Observer", "Parser"]


class HemnetClient(ListingEndpoints, ImageEndpoints, AccountEndpoints):
    """Talks to one Hemnet API base URL (ending in ``/v1``) with a bearer key.

    ``token_provider`` is asked on every request, so a renewed key is used at once.
    ``on_auth_failure`` is called after a 401; when it returns True (a new key is ready)
    the request is sent once more. ``observer`` receives the latency of every call.
    """
