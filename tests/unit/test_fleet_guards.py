"""What stops a fleet instance's calls and labels its metrics: the client's may_send hook,
the fence's per-thread check, and the instance label on /metrics' samples."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import generate_latest

from syncd import metrics
from syncd.core.errors import RetryableApiError
from syncd.hemnet import HemnetClient
from syncd.store.fence import Fence, Held
from tests.unit.test_budget import VirtualTime

NOW_HELD = Held(token=3, settle_after=datetime(2026, 12, 5, tzinfo=UTC))


def test_a_client_whose_instance_may_not_send_sends_nothing() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"listings": [], "total": 0})

    fresh = [False]
    client = HemnetClient(
        "http://hemnet.test/v1",
        lambda: "token",
        transport=httpx.MockTransport(handler),
        may_send=lambda: fresh[0],
    )
    with client:
        with pytest.raises(RetryableApiError, match="not sent") as refused:
            client.list_listings()
        assert not refused.value.outcome_unknown  # nothing went out: safe to send again
        assert seen == []
        fresh[0] = True
        client.list_listings()
        assert len(seen) == 1


def test_a_thread_calling_for_an_agency_taken_over_meanwhile_may_not_call() -> None:
    t = VirtualTime()
    fence = Fence("h:1:a", monotonic=t.clock)
    fence.hold({"north": NOW_HELD, "south": NOW_HELD}, act_until=10.0)
    fence.calling("north", 3)
    assert fence.may_call()
    # A heartbeat found north taken over: this thread's call is refused, another's not.
    fence.hold({"south": NOW_HELD}, act_until=10.0)
    assert not fence.may_call()
    other: list[bool] = []
    thread = threading.Thread(target=lambda: other.append(fence.may_call()))
    thread.start()
    thread.join()
    assert other == [True]
    fence.calling(None)
    assert fence.may_call()
    t.now = 10.0  # the leases went stale: no call at all
    assert not fence.may_call() and not fence.acting()


def test_every_metric_sample_carries_the_instance_in_a_fleet() -> None:
    metrics.FLEET_INSTANCES.set(2)
    lines = generate_latest(metrics.registry_for("web1:42:abc")).decode().splitlines()
    samples = [line for line in lines if line and not line.startswith("#")]
    assert samples
    assert all('syncd_instance="web1:42:abc"' in line for line in samples)
    assert 'syncd_fleet_instances{syncd_instance="web1:42:abc"} 2.0' in samples
    plain = generate_latest(metrics.registry_for(None)).decode()
    assert "syncd_instance" not in plain
