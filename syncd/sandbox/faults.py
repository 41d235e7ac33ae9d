"""Fault injection for /v1 only: added latency, 500/503/429 answers, and accept-then-drop.

Accept-then-drop runs the request for real (the write is applied) and then aborts the TCP
connection without any answer, so the client sees a connection error, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncd.sandbox import wire
from syncd.sandbox.envelope import ApiProblem, problem_response, request_id_of
from syncd.sandbox.settings import Faults

log = logging.getLogger(__name__)


def _transport_of(receive: Receive) -> Any:
    # uvicorn's receive is a bound method of its request cycle, which owns the transport.
    cycle = getattr(receive, "__self__", None)
    return getattr(cycle, "transport", None)


class FaultMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults, seed: int | None = None) -> None:
        self.app = app
        self.faults = faults
        self.random = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(wire.API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        f = self.faults
        if f.latency_ms > 0:
            await asyncio.sleep(f.latency_ms / 1000)
        roll = self.random.random()
        for share, status, error_type in (
            (f.fault_500, 500, wire.INTERNAL_ERROR),
            (f.fault_503, 503, wire.INTERNAL_ERROR),
            (f.fault_429, 429, wire.RATE_LIMIT_ERROR),
        ):
            if roll < share:
                headers = {wire.RETRY_AFTER_HEADER: "1"} if status != 500 else {}
                problem = ApiProblem(
                    status, error_type, f"Injected fault ({status})", headers=headers
                )
                await problem_response(problem, request_id_of(scope))(scope, receive, send)
                return
            roll -= share
        if roll < f.fault_drop:
            await self._accept_then_drop(scope, receive)
            return
        roll -= f.fault_drop
        if scope["method"] != "GET" and roll < f.fault_drop_write:
            await self._accept_then_drop(scope, receive)
            return
        await self.app(scope, receive, send)

    async def _accept_then_drop(self, scope: Scope, receive: Receive) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        transport = _transport_of(receive)
        if transport is None:
            raise RuntimeError("accept-then-drop needs uvicorn's transport")
        log.info(
            "fault: dropping the connection after applying %s %s", scope["method"], scope["path"]
        )
        transport.abort()
        # Let uvicorn notice the lost connection so it does not try to answer with a 500.
        for _ in range(3):
            await asyncio.sleep(0)
