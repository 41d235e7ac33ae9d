"""The request budget shared by every Hemnet call (a token bucket) and per-op retry backoff.

Pure-ish: the clock and sleep are injected, no I/O, no syncd imports; it never decides
what to send or whether an op is retried (that is apply's job).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Hemnet counts a request when it arrives, the budget when it lends the token; the time in
# between varies (thread switches, a cold connection), and a budget that matched Hemnet's
# bucket to the token overdrew it now and then: each 429 costs every caller a Retry-After
# pause of at least a second. Keeping a few tokens of the burst unused absorbs that
# variation and costs those requests' time once after each idle spell.
# ASSUMED: two is enough; with none kept the initial-sync benchmark drew 429s, with two it
# drew none (docs/benchmarks.md, apply).
DEFAULT_HEADROOM = 2
# A burst with no token to spare (Hemnet's burst of one) keeps its headroom in time: each
# call a little later than the rate alone would lend it, so one that reaches Hemnet a few
# milliseconds late and the next on time are still an interval apart. At the rate alone
# the initial-sync benchmark at --rate 4 (burst 1) drew 18 answers 429 in 106 calls.
# ASSUMED: 5 % of the interval (13 ms at 4/s) covers the lateness of one call.
NO_SPARE_RATE_SHARE = 0.95


class TokenBucket:
    """``rate_per_s`` tokens a second, at most ``burst - headroom`` saved up; shared by threads.

    ``burst`` is Hemnet's; ``headroom`` tokens of it stay unused (see ``DEFAULT_HEADROOM``).
    ``pause(seconds)`` empties the bucket and lends nothing until then: Hemnet's
    Retry-After slows every caller, not only the one that was told.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        headroom: int = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1 or headroom < 0:
            raise ValueError(
                "rate_per_s must be positive, burst at least 1 and headroom not negative"
            )
        self.burst = burst
        # A burst of one has no token to spare: then the pace keeps the headroom.
        self.capacity = max(1, burst - headroom)
        spare = headroom == 0 or self.capacity < burst
        self.rate_per_s = rate_per_s if spare else rate_per_s * NO_SPARE_RATE_SHARE
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.capacity)
        self._updated = clock()
        self._paused_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self._updated:
            start = max(self._updated, self._paused_until)
            if now > start:
                self._tokens = min(self.capacity, self._tokens + (now - start) * self.rate_per_s)
            self._updated = now

    def wait_s(self) -> float:
        """Seconds until a token is free (0: one is free now); takes nothing."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            if now < self._paused_until:
                return self._paused_until - now + max(0.0, 1 - self._tokens) / self.rate_per_s
            return max(0.0, 1 - self._tokens) / self.rate_per_s

    def try_take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._refill(now)
            if now >= self._paused_until and self._tokens >= 1:
                self._tokens -= 1
                return True
            return False

    def take(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait for a token and take it; False when ``should_stop`` said so first."""
        while not should_stop():
            if self.try_take():
                return True
            # Short naps so a stop request is noticed promptly.
            self._sleep(min(max(self.wait_s(), 0.001), 0.25))
        return False

    def pause(self, seconds: float) -> None:
        """Lend nothing for ``seconds`` (Retry-After) and start again from empty."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens = 0.0
            self._paused_until = max(self._paused_until, now + max(0.0, seconds))


# Several instances send at once, each at its share's full pace: their requests reach Hemnet
# bunched, and the calls outside the budget (the daily key check) come on top.
# ASSUMED: 5 % of the rate kept unused covers both; the throughput run of chaos/failover.py
# drew one 429 in 1,400 requests at a full 1/N each, none with this.
FLEET_RATE_SHARE = 0.95


class SharedBucket(TokenBucket):
    """The request budget of one instance of a fleet: Hemnet's rate limit is the account's,
    so while ``instances`` daemons are live each spends ``1/instances`` of its rate and of
    its burst; and none at all while ``may_spend`` says no (its leases are not fresh).

    ``share`` is called at every heartbeat. ASSUMED: every live instance sends; an idle one
    leaves its share unused rather than lending it (lending would need a request to the
    store for every call to Hemnet).
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        may_spend: Callable[[], bool],
        headroom: int = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rate_per_s, burst, headroom=headroom, clock=clock, sleep=sleep)
        self.fleet_rate_per_s = rate_per_s
        self.fleet_capacity = self.capacity
        self._may_spend = may_spend
        self.instances = 1

    def share(self, instances: int) -> None:
        """``instances`` are live now: this one spends its part of the rate and burst."""
        instances = max(1, instances)
        with self._lock:
            self._refill(self._clock())
            self.instances = instances
            kept = 1.0 if instances == 1 else FLEET_RATE_SHARE
            self.rate_per_s = self.fleet_rate_per_s * kept / instances
            self.capacity = max(1, self.fleet_capacity // instances)
            self._tokens = min(self._tokens, float(self.capacity))

    def try_take(self) -> bool:
        return self._may_spend() and super().try_take()

    def take(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        # A holder whose leases went stale must not call Hemnet: another instance may be
        # about to take its agencies over (syncd.core.lease.LeaseTimings).
        return super().take(lambda: should_stop() or not self._may_spend())


# The longest syncd ever waits before retrying; also the cap on Hemnet's Retry-After.
BACKOFF_CAP_S = 900.0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits up to base·2^(n-1), capped."""

    base_s: float = 2.0
    cap_s: float = BACKOFF_CAP_S

    def delay_s(
        self,
        attempts: int,
        retry_after_s: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds before attempt ``attempts + 1``; never sooner than Hemnet's Retry-After."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(0, attempts - 1))
        # Half fixed, half random: spreads retries of many ops yet always waits a little.
        delay = ceiling / 2 + rand() * ceiling / 2
        return float(max(delay, retry_after_s or 0.0))
