"""The sandbox's OpenAPI 3.0 document, generated from the endpoint table and body schemas.

Describes every /v1 route with its parameters and request body; it documents the sandbox's
ASSUMED wire contract, not Hemnet's unpublished specification.
"""

from __future__ import annotations

import re
from typing import Any

from syncd.sandbox import wire
from syncd.sandbox.api import ENDPOINTS, Endpoint
from syncd.sandbox.schema import json_schema

_ERROR = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
                "required": ["type", "message"],
            },
        },
        "requestId": {"type": "string"},
    },
    "required": ["errors", "requestId"],
}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.description,
            "schema": json_schema(q.spec),
        }
        for q in endpoint.query
    ]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses: dict[str, Any] = {
        str(endpoint.success): {"description": "success"},
        "400": {"description": "ValidationError", **error},
        "401": {"description": "AuthenticationError", **error},
        "404": {"description": "NotFoundError", **error},
        "409": {"description": "ConflictError", **error},
        "422": {
            "description": "ChecksError, TransitionError, AutoApproveError, SaleError",
            **error,
        },
        "429": {"description": "RateLimitError", **error},
    }
    if endpoint.success != 204:
        responses[str(endpoint.success)]["content"] = {
            "application/json": {"schema": {"type": "object"}}
        }
    op: dict[str, Any] = {
        "operationId": f"{endpoint.method.lower()}_{endpoint.handler.__name__}",
        "summary": endpoint.summary,
        "parameters": params,
        "responses": responses,
    }
    if endpoint.tags:
        op["tags"] = list(endpoint.tags)
    if endpoint.body is not None:
        op["requestBody"] = {
            "required": endpoint.body_required,
            "content": {"application/json": {"schema": json_schema(endpoint.body)}},
        }
    return op


def openapi_document(root_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Hemnet sandbox (syncd)",
            "version": "1",
            "description": "Local stand-in for Hemnet's partner API; see docs/sandbox.md.",
        },
        "servers": [{"url": root_url + wire.API_PREFIX}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR},
        },
        "paths": paths,
    }
