"""What happens after Hemnet (or the network) refused an op: one pure decision per error.

``next_step(op, error)`` reads only the error's class and data and the op kind's handler
flags; the applier carries the step out (records, counts, backoff). The classes are those
of ``syncd.core.errors``; their docstrings say what each means.
"""

from __future__ import annotations

import enum

from syncd.core.errors import (
    ApiError,
    AuthenticationApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.core.ops import Op
from syncd.usecases.apply.handler import handler_for

# Hemnet's answers that say it no longer has what was addressed.
_GONE = (404, 410)


class Step(enum.StrEnum):
    DONE = "done"  # Hemnet already lacks what the op removes: a success
    SETTLE = "settle"  # the outcome is unknown: read Hemnet back at the next pass
    RETRY = "retry"  # the same op again after the backoff
    RENEW_KEY = "renew_key"  # the key was refused: renew it; failing that, no more calls
    FORGET = "forget"  # Hemnet lost what we knew: forget it, the plan sends it again
    FAIL = "fail"  # refused as it is: the listing fails until it changes (or 'syncd retry')


def next_step(op: Op, error: ApiError) -> Step:
    """The step after ``error`` answered ``op``."""
    handler = handler_for(op.kind)
    status = error.context.status
    if isinstance(error, RemoteDriftError):
        if status == 404 and handler.gone_is_done:
            return Step.DONE
        if status in _GONE and op.listing_key is not None:
            return Step.FORGET
        return Step.FAIL  # 409 (a state conflict), or an agency: reconcile
    if isinstance(error, RetryableApiError):
        if error.outcome_unknown and handler.settles_unknown:
            return Step.SETTLE
        return Step.RETRY
    if isinstance(error, AuthenticationApiError):
        return Step.RENEW_KEY
    # Rejected (400/422), forbidden (403, this resource only) or unexpected.
    return Step.FAIL
