"""Assemble the sandbox: routes, middleware (stats, faults, rate limit), error envelope, lifespan.

``create_app(settings)`` is the only entry point; it starts nothing until uvicorn runs it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from syncd.sandbox import wire
from syncd.sandbox.admin import admin_routes
from syncd.sandbox.api import api_routes
from syncd.sandbox.envelope import ApiProblem, json_response, problem_response, request_id_of
from syncd.sandbox.faults import FaultMiddleware
from syncd.sandbox.openapi import openapi_document
from syncd.sandbox.ratelimit import RateLimitMiddleware, TokenBucket
from syncd.sandbox.runtime import Sandbox
from syncd.sandbox.settings import SandboxSettings
from syncd.sandbox.site import site_routes
from syncd.sandbox.stats import StatsMiddleware

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc, request_id_of(request.scope))


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this request's path (each method is its own
    Route here, so the one Starlette matched knows only its own)."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(scope)
            if match != Match.NONE:
                methods |= route.methods
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kinds = {404: wire.NOT_FOUND_ERROR, 405: wire.METHOD_NOT_ALLOWED_ERROR}
    headers: dict[str, str] = {}
    if exc.status_code == 405:
        # RFC 9110 15.5.6: a 405 answer lists the methods the resource does support.
        headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, request.scope))
    problem = ApiProblem(
        exc.status_code,
        kinds.get(exc.status_code, wire.VALIDATION_ERROR),
        str(exc.detail),
        headers=headers,
    )
    return problem_response(problem, request_id_of(request.scope))


async def _crash(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ClientDisconnect):
        # The client went away mid-request (a killed daemon, a timeout): not a sandbox bug.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=499)
    log.error("sandbox bug on %s %s", request.method, request.url.path, exc_info=exc)
    problem = ApiProblem(500, wire.INTERNAL_ERROR, "The sandbox failed; see its log")
    return problem_response(problem, request_id_of(request.scope))


def create_app(settings: SandboxSettings) -> Starlette:
    sandbox = Sandbox(settings)

    async def openapi(request: Request) -> Response:
        return json_response(openapi_document(settings.root_url))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sandbox.start()
        try:
            yield
        finally:
            await sandbox.stop()

    routes: list[BaseRoute] = [
        *api_routes(),
        *admin_routes(),
        *site_routes(),
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(StatsMiddleware, counts=sandbox.stats, routes=routes),
            Middleware(FaultMiddleware, faults=sandbox.faults, seed=settings.fault_seed),
            Middleware(
                RateLimitMiddleware, bucket=TokenBucket(settings.rate_per_s, settings.burst)
            ),
        ],
        exception_handlers={
            ApiProblem: _problem,
            HTTPException: _http_error,
            Exception: _crash,
        },
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app
