"""SANDBOX-ONLY routes under /_sandbox: faults, request statistics, state dump and the clock.

Hemnet has nothing like these; they exist for tests, demos and benchmarks. Guarded by an
optional admin secret (X-Sandbox-Admin), never by API keys.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncd.sandbox import wire
from syncd.sandbox.clock import iso
from syncd.sandbox.envelope import ApiProblem, json_response
from syncd.sandbox.runtime import Sandbox
from syncd.sandbox.settings import FAULT_NAMES

ADMIN_SECRET_HEADER = "X-Sandbox-Admin"  # noqa: S105 (a header name)
_LIMITS = {"latency_ms": 600_000.0}


def _sandbox(request: Request) -> Sandbox:
    sb: Sandbox = request.app.state.sandbox
    wanted = sb.settings.admin_secret
    given = request.headers.get(ADMIN_SECRET_HEADER, "")
    if wanted is not None and not secrets.compare_digest(given, wanted):
        raise ApiProblem(401, wire.AUTHENTICATION_ERROR, f"{ADMIN_SECRET_HEADER} is required")
    return sb


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ApiProblem(400, wire.VALIDATION_ERROR, "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiProblem(400, wire.VALIDATION_ERROR, "The body must be a JSON object")
    return data


async def faults(request: Request) -> Response:
    sb = _sandbox(request)
    if request.method == "PUT":
        changes = await _json(request)
        for name, value in changes.items():
            if name not in FAULT_NAMES:
                raise ApiProblem(400, wire.VALIDATION_ERROR, "unknown fault", field=name)
            high = _LIMITS.get(name, 1.0)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ApiProblem(400, wire.VALIDATION_ERROR, "must be a number", field=name)
            if not 0 <= value <= high:
                raise ApiProblem(
                    400, wire.VALIDATION_ERROR, f"must be between 0 and {high}", field=name
                )
        for name, value in changes.items():
            setattr(sb.faults, name, float(value))
    return json_response({"faults": sb.faults.as_json()})


async def stats(request: Request) -> Response:
    sb = _sandbox(request)
    if request.method == "DELETE":
        sb.stats.clear()
    return json_response({"total": sum(sb.stats.values()), "requests": dict(sb.stats)})


async def state(request: Request) -> Response:
    sb = _sandbox(request)
    dump = sb.world.to_json()
    for key in dump["keys"]:
        key.pop("token_sha256", None)
    return json_response({"now": iso(sb.clock.now()), "state": dump})


async def accounts(request: Request) -> Response:
    """GET: every account; POST ``{"name"}``: a new account and its first key's token."""
    sb = _sandbox(request)
    if request.method == "POST":
        name = (await _json(request)).get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiProblem(400, wire.VALIDATION_ERROR, "must be a non-empty string", field="name")
        account, key, token = sb.create_account(name.strip())
        sb.flush()
        body = {
            "account": {"id": account.id, "name": account.name},
            "key": {"id": key.id, "name": key.name, "expiresAt": key.expires_at, "token": token},
        }
        return json_response(body, 201)
    listed = [{"id": a.id, "name": a.name} for a in sb.world.accounts.values()]
    return json_response({"accounts": listed})


async def listing_account(request: Request) -> Response:
    """PUT ``{"accountId"}``: hand one listing to another account (as when a broker agency
    moves to another integrator), so the old account's key meets a 403 on it."""
    sb = _sandbox(request)
    listing = sb.world.listings.get(request.path_params["listing_id"])
    if listing is None:
        raise ApiProblem(404, wire.NOT_FOUND_ERROR, "no such listing")
    account_id = (await _json(request)).get("accountId")
    if not isinstance(account_id, str) or account_id not in sb.world.accounts:
        raise ApiProblem(400, wire.VALIDATION_ERROR, "unknown account", field="accountId")
    listing.account_id = account_id
    sb.changed()
    sb.flush()
    return json_response({"listingId": listing.id, "accountId": account_id})


async def clock(request: Request) -> Response:
    sb = _sandbox(request)
    if request.method == "POST":
        seconds = (await _json(request)).get("advanceSeconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ApiProblem(
                400, wire.VALIDATION_ERROR, "must be a number >= 0", field="advanceSeconds"
            )
        sb.clock.advance(seconds)
        sb.settle()
        sb.flush()
    return json_response(
        {"now": iso(sb.clock.now()), "offsetSeconds": sb.clock.offset.total_seconds()}
    )


def admin_routes() -> list[Route]:
    p = wire.ADMIN_PREFIX
    return [
        Route(f"{p}/faults", faults, methods=["GET", "PUT"]),
        Route(f"{p}/stats", stats, methods=["GET", "DELETE"]),
        Route(f"{p}/state", state, methods=["GET"]),
        Route(f"{p}/clock", clock, methods=["GET", "POST"]),
        Route(f"{p}/accounts", accounts, methods=["GET", "POST"]),
        Route(f"{p}/listings/{{listing_id}}/account", listing_account, methods=["PUT"]),
    ]
