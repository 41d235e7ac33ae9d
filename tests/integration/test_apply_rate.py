"""Apply's use of the request budget against the sandbox: the token is taken after the
durable intent, and a pass stopped while it waits for one leaves intents, sends nothing and
duplicates nothing."""

from __future__ import annotations

import threading

from syncd.hemnet.budget import TokenBucket
from syncd.store.outbox import open_operations
from syncd.store.tables import OpStatus
from tests.integration.apply_env import Env, a_listing, save


def api_calls(env: Env) -> int:
    return sum(n for key, n in env.requests().items() if " /v1/" in key)


def open_ops(env: Env) -> dict[str, int]:
    with env.store.read() as session:
        counts: dict[str, int] = {}
        for op in open_operations(session):
            counts[op.status] = counts.get(op.status, 0) + 1
        return counts


def stopped_while_waiting(env: Env) -> None:
    """A pass whose budget has no token to lend, stopped from another thread."""
    budget = TokenBucket(0.001, 1, headroom=0)
    assert budget.try_take()  # the only token: every call of the pass must wait
    applier = env.applier(budget=budget)
    timer = threading.Timer(0.3, applier.stop)
    timer.start()
    try:
        report = applier.run_pass()
    finally:
        timer.cancel()
    assert report.stopped and report.ops_total == 0, report


def test_a_pass_stopped_while_waiting_for_a_token_leaves_intents_and_sends_nothing(
    env: Env,
) -> None:
    keys = ["R1", "R2", "R3"]
    save(env.store, *(a_listing(key, images=3) for key in keys))
    env.sandbox.reset_stats()
    stopped_while_waiting(env)
    assert api_calls(env) == 0
    planned = open_ops(env)
    # agency + 3 x (create + 3 images), all intents: none in flight to be read back
    assert planned == {OpStatus.INTENT.value: 13}, planned
    stopped_while_waiting(env)
    assert open_ops(env) == planned  # the second pass reused the intents, added none

    report = env.applier().run_pass()
    assert report.ops_succeeded == 13 and report.settled == 0, report
    assert open_ops(env) == {}
    requests = env.requests()
    assert requests.get("POST /v1/listings 201") == len(keys)  # each created exactly once
    assert requests.get("POST /v1/listings/{listing_id}/images 201") == 3 * len(keys)
