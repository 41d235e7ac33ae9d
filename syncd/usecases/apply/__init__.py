"""Apply: runs the plan's ops against Hemnet through the outbox, each exactly once.

- ``applier``: the pass (settle, plan, execute) and what follows each outcome;
- ``passplan``: the plan of a pass and the intents committed before sending;
- ``handler`` and ``handlers/``: how each op kind is called, settled and recorded;
- ``steps``: the pure decision after a failure (retry, settle, renew the key, fail);
- ``report``: what a pass did; ``checkpoints``: the named points tests may step in at.

It never decides what to send (that is core/plan/) and never polls for progress Hemnet makes
on its own (poll.py).
"""

from __future__ import annotations

# Every handler module registers its op kind on import.
import syncd.usecases.apply.handlers  # noqa: F401
from syncd.usecases.apply.applier import DEFAULT_MAX_PASS_S, Applier
from syncd.usecases.apply.passplan import current_plan
from syncd.usecases.apply.report import ApplyReport, api_observer

__all__ = ["DEFAULT_MAX_PASS_S", "Applier", "ApplyReport", "api_observer", "current_plan"]
