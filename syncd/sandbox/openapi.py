"""The sandbox's OpenAPI 3.0 document, generated from the endpoint table and body schemas.

Describes every /v1 route with its parameters, request body, success body and every error
it can answer; it documents the sandbox's ASSUMED wire contract, not Hemnet's unpublished
specification.
"""

from __future__ import annotations

import re
from typing import Any

from syncd.sandbox import answers, wire
from syncd.sandbox.api import ENDPOINTS, Endpoint
from syncd.sandbox.schema import json_schema


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
    success: dict[str, Any] = {"description": "success"}
    if endpoint.success != 204:
        body = answers.SUCCESS[endpoint.handler.__name__]
        success["content"] = {"application/json": {"schema": body}}
    responses: dict[str, Any] = {str(endpoint.success): success}
    for status, description in answers.ERRORS.items():
        if status == 415 and endpoint.body is None:
            continue  # a body where none is expected is ignored, whatever its type
        responses[str(status)] = {"description": description, **error}
        if status in (429, 503):
            responses[str(status)]["headers"] = {
                wire.RETRY_AFTER_HEADER: {"schema": {"type": "integer"}, "required": False}
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
            "schemas": {"Error": answers.ERROR},
        },
        "paths": paths,
    }
