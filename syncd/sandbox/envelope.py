"""Hemnet's error envelope and JSON rendering, for every answer the sandbox gives.

``{"errors": [{"type", "message", ...}], "requestId"}`` plus ``X-Request-Id``. Knows no
routes and no state.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.responses import Response

from syncd.sandbox import wire


class ApiProblem(Exception):
    """Raised by handlers; rendered as one error envelope with ``status``."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        more: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.errors = [{"type": error_type, "message": message, **extra}, *(more or [])]


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """The id of this request, made on first use and kept in the ASGI scope."""
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if not isinstance(rid, str):
        rid = str(uuid.uuid4())
        state["request_id"] = rid
    return rid


def render_json(data: Any) -> bytes:
    # ensure_ascii keeps any odd text safely encodable; allow_nan=False keeps it valid JSON.
    return json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(render_json(data), status, headers, media_type="application/json")


def problem_response(problem: ApiProblem, request_id: str) -> Response:
    body = {"errors": problem.errors, "requestId": request_id}
    headers = {**problem.headers, wire.REQUEST_ID_HEADER: request_id}
    return json_response(body, problem.status, headers)
