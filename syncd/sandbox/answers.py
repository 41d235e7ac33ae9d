"""The bodies the sandbox answers with, as OpenAPI 3.0 schema objects, per endpoint handler.

The shapes ``represent`` renders (ASSUMED, docs/hemnet-wire.md), written down so the
OpenAPI document describes answers too and a contract test can hold every answer to it.
Data only: knows no routes and no state. A field added in ``represent`` belongs here too.
"""

from __future__ import annotations

from typing import Any

from syncd.sandbox import wire
from syncd.sandbox.schema import Obj, json_schema

Schema = dict[str, Any]

_TEXT: Schema = {"type": "string"}
_NULLABLE_TEXT: Schema = {"type": "string", "nullable": True}
_BOOL: Schema = {"type": "boolean"}
_INT: Schema = {"type": "integer"}


def _record(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """A closed object: every property listed, all present except ``optional`` ones."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


KEY = _record(
    {"id": _TEXT, "name": _TEXT, "createdAt": _TEXT, "expiresAt": _TEXT, "token": _TEXT},
    optional=("token",),  # only in the answer that created the key, once
)
AGENCY = _record(
    {
        "id": _TEXT,
        "name": _TEXT,
        "organisationNumber": _NULLABLE_TEXT,
        "externalId": _NULLABLE_TEXT,
        "hqPartnershipAgreement": _BOOL,
    }
)
IMAGE = _record(
    {
        "id": _TEXT,
        "url": _TEXT,
        "caption": _NULLABLE_TEXT,
        "position": _INT,
        "isFloorPlan": _BOOL,
        "state": {"type": "string", "enum": [wire.IN_PROGRESS, wire.COMPLETED, wire.FAILED]},
        "stateMessage": _NULLABLE_TEXT,
    },
    optional=("stateMessage",),  # only on the individual record (DOC)
)
SALE = _record(
    {
        "id": _TEXT,
        "listingId": _TEXT,
        "price": _INT,
        "isPricePublic": _BOOL,
        "contractDate": {"type": "string", "format": "date"},
        "createdAt": _TEXT,
    }
)


def _without_formats(schema: Any) -> Any:
    """``schema`` without ``format``: an echoed value is what the sandbox accepted, which
    is looser than RFC 3339 (``2026-03-01T10:00`` has no seconds and no offset)."""
    if isinstance(schema, dict):
        return {k: _without_formats(v) for k, v in schema.items() if k != "format"}
    if isinstance(schema, list):
        return [_without_formats(v) for v in schema]
    return schema


def _listing() -> Schema:
    # What the client sent, as validated (absent when never sent or cleared with null)...
    given = _without_formats(json_schema(Obj(wire.LISTING_FIELDS))["properties"])
    # ...and what Hemnet adds.
    added: dict[str, Schema] = {
        "id": _TEXT,
        "externalId": _nullable(given["externalId"]),
        "publicationStatus": _record(
            {
                "marketState": {"type": "string", "enum": list(wire.MARKET_STATES)},
                "allowedMarketStates": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(wire.MARKET_STATES)},
                },
                "isPublished": _BOOL,
                "isApproved": _BOOL,
            }
        ),
        "isVisible": _BOOL,
        "approvalUrl": _TEXT,
        "url": _TEXT,
        "sale": _nullable(SALE),
        "createdAt": _TEXT,
        "updatedAt": _TEXT,
    }
    return _record({**given, **added}, optional=tuple(name for name in given if name not in added))


LISTING = _listing()
_IMAGE_RIGHT_FIELDS = json_schema(wire.IMAGE_RIGHT_BODY)["properties"][wire.IMAGE_RIGHT_ONE]
# PUT is partial (DOC): whatever was sent so far, so every field is optional.
IMAGE_RIGHT = _record(
    _IMAGE_RIGHT_FIELDS["properties"], optional=tuple(_IMAGE_RIGHT_FIELDS["properties"])
)
_MESSAGES: Schema = {"type": "array", "items": _record({"message": _TEXT})}
CHECKS = _record({"errors": _MESSAGES, "warnings": _MESSAGES})


def one(wrapper: str, record: Schema) -> Schema:
    """``{"<wrapper>": {...}}``: how a single resource is answered."""
    return _record({wrapper: record})


def page(wrapper: str, record: Schema) -> Schema:
    """A page of a list: the items, and the total, limit and offset it was cut with."""
    return _record(
        {
            wrapper: {"type": "array", "items": record},
            wire.PAGE_TOTAL: _INT,
            wire.PAGE_LIMIT: _INT,
            wire.PAGE_OFFSET: _INT,
        }
    )


ERROR: Schema = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                # Some types add fields (ChecksError: checks; ValidationError: field).
                "type": "object",
                "properties": {
                    "type": _TEXT,
                    "message": _TEXT,
                    "field": _TEXT,
                    "checks": CHECKS,
                    "saleId": _TEXT,
                },
                "required": ["type", "message"],
            },
        },
        "requestId": _TEXT,
    },
    "required": ["errors", "requestId"],
    "additionalProperties": False,
}

# Success bodies by handler name (``Endpoint.handler.__name__``); 204 answers have none.
SUCCESS: dict[str, Schema] = {
    "list_keys": page(wire.KEY_MANY, KEY),  # paged like every list
    "get_key": one(wire.KEY_ONE, KEY),
    "create_key": one(wire.KEY_ONE, KEY),
    "create_agency": one(wire.AGENCY_ONE, AGENCY),
    "list_agencies": page(wire.AGENCY_MANY, AGENCY),
    "get_agency": one(wire.AGENCY_ONE, AGENCY),
    "create_listing": one(wire.LISTING_ONE, LISTING),
    "list_listings": page(wire.LISTING_MANY, LISTING),
    "get_listing": one(wire.LISTING_ONE, LISTING),
    "patch_listing": one(wire.LISTING_ONE, LISTING),
    "publish": one(wire.LISTING_ONE, LISTING),
    "unpublish": one(wire.LISTING_ONE, LISTING),
    "update_market_state": one(wire.LISTING_ONE, LISTING),
    "mark_sold": one(wire.SALE_ONE, SALE),
    "get_sale": one(wire.SALE_ONE, SALE),
    "get_checks": one(wire.CHECKS_ONE, CHECKS),
    "get_image_right": one(wire.IMAGE_RIGHT_ONE, IMAGE_RIGHT),
    "put_image_right": one(wire.IMAGE_RIGHT_ONE, IMAGE_RIGHT),
    "create_image": one(wire.IMAGE_ONE, IMAGE),
    "list_images": page(wire.IMAGE_MANY, IMAGE),
    "get_image": one(wire.IMAGE_ONE, IMAGE),
    "patch_image": one(wire.IMAGE_ONE, IMAGE),
}

# Every error status any /v1 operation can answer, and why (the types are ASSUMED but
# ChecksError and TransitionError, see wire.py).
ERRORS: dict[int, str] = {
    400: "ValidationError: malformed JSON, a field that does not fit, an unknown field",
    401: "AuthenticationError: no key, or an unknown, expired or deleted one",
    403: "AuthorizationError: a resource of another account",
    404: "NotFoundError",
    405: "MethodNotAllowedError (with Allow)",
    409: "ConflictError",
    413: "PayloadTooLargeError: a body over the limit, refused while it streams",
    415: "UnsupportedMediaTypeError: a body not sent as application/json",
    422: "ChecksError, TransitionError, AutoApproveError, SaleError",
    429: "RateLimitError (with Retry-After)",
    500: "InternalError (also a sandbox fault)",
    503: "a sandbox fault (with Retry-After)",
}
