"""Outermost middleware: give every answer an X-Request-Id and count it by route and status.

Counts are keyed "METHOD /route/{template} STATUS" so tests and benchmarks can count calls;
a dropped connection counts with status "dropped". Changes no answer's content.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncd.sandbox import wire
from syncd.sandbox.envelope import request_id_of


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    route: BaseRoute | None = scope.get("route")
    if route is None:
        # Answered before routing (fault, rate limit): find the route it was meant for.
        probe = {**scope, "path_params": {}}
        route = next((r for r in routes if r.matches(probe)[0] is Match.FULL), None)
    if isinstance(route, Route | Mount):
        return route.path + ("/..." if isinstance(route, Mount) else "")
    return "(unrouted)"


class StatsMiddleware:
    def __init__(self, app: ASGIApp, counts: Counter[str], routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.counts = counts
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        status: dict[str, Any] = {"code": "dropped"}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = MutableHeaders(scope=message)
                if wire.REQUEST_ID_HEADER not in headers:
                    headers.append(wire.REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.counts[
                f"{scope['method']} {route_template(scope, self.routes)} {status['code']}"
            ] += 1
