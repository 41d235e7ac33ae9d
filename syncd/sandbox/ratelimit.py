"""A token bucket in front of /v1: too fast gives 429 RateLimitError with Retry-After.

Real (monotonic) time, not the sandbox clock: rate limits are about the caller's pace.
Off when the rate is 0. Knows nothing of keys or listings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from syncd.sandbox import wire
from syncd.sandbox.envelope import ApiProblem, problem_response, request_id_of


class TokenBucket:
    def __init__(
        self, rate_per_s: float, burst: int, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self._now = now
        self._tokens = float(self.burst)
        self._stamp = now()

    def take(self) -> float:
        """0 when a request may pass, else the seconds until one token is back."""
        if self.rate_per_s <= 0:
            return 0.0
        now = self._now()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate_per_s


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, bucket: TokenBucket) -> None:
        self.app = app
        self.bucket = bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(wire.API_PREFIX + "/"):
            wait_s = self.bucket.take()
            if wait_s > 0:
                retry_after = str(max(1, math.ceil(wait_s)))
                problem = ApiProblem(
                    429,
                    wire.RATE_LIMIT_ERROR,
                    "Too many requests; slow down",
                    headers={wire.RETRY_AFTER_HEADER: retry_after},
                )
                await problem_response(problem, request_id_of(scope))(scope, receive, send)
                return
        await self.app(scope, receive, send)
