"""The /v1 routes of the sandbox: one table of endpoints, each a small handler over the world.

The table is also the source of the OpenAPI document (``openapi.py``). Handlers validate,
apply ``lifecycle`` rules and render ``represent`` views; they do no I/O of their own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from syncd.sandbox import lifecycle, wire
from syncd.sandbox.clock import iso
from syncd.sandbox.envelope import ApiProblem, json_response
from syncd.sandbox.model import DEFAULT_ACCOUNT, Agency, Image, Key, Listing
from syncd.sandbox.represent import (
    agency_json,
    image_json,
    key_json,
    listing_json,
    sale_json,
)
from syncd.sandbox.runtime import Sandbox
from syncd.sandbox.schema import Int, Obj, SchemaViolation, Spec, Str, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    name: str
    spec: Spec
    description: str = ""


@dataclass
class Call:
    """One validated request: path parameters, query parameters and body."""

    path: dict[str, str]
    query: dict[str, Any]
    body: dict[str, Any] | None
    account: str = DEFAULT_ACCOUNT  # the account of the key that sent it


Handler = Callable[[Sandbox, Call], Response]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below wire.API_PREFIX
    handler: Handler
    summary: str
    success: int = 200
    body: Obj | None = None
    body_required: bool = True
    query: tuple[Query, ...] = ()
    tags: tuple[str, ...] = field(default=())


PAGING = (
    Query("limit", Int(minimum=1, maximum=wire.MAX_PAGE_SIZE), "page size, default 20"),
    Query("offset", Int(minimum=0, maximum=10**9), "0-based index of the first item"),
)


# --- helpers -----------------------------------------------------------------------------


def _validation(violation: SchemaViolation) -> ApiProblem:
    return ApiProblem(400, wire.VALIDATION_ERROR, violation.message, field=violation.field)


def _not_found(what: str, ident: str) -> ApiProblem:
    return ApiProblem(404, wire.NOT_FOUND_ERROR, f"{what} {ident} was not found")


def _own(call: Call, account_id: str, what: str, ident: str) -> None:
    """Another account's record exists, but this key may not touch it (403, ASSUMED)."""
    if account_id != call.account:
        raise ApiProblem(
            403, wire.AUTHORIZATION_ERROR, f"{what} {ident} belongs to another account"
        )


class _Owned(Protocol):
    id: str
    account_id: str


_O = TypeVar("_O", bound=_Owned)
_R = TypeVar("_R")


def _owned(call: Call, records: Mapping[str, _O], param: str, what: str) -> _O:
    """The record the path names (``param``): 404 when there is none, 403 when it is
    another account's."""
    found = records.get(call.path[param])
    if found is None:
        raise _not_found(what, call.path[param])
    _own(call, found.account_id, what, found.id)
    return found


def _listing(sb: Sandbox, call: Call) -> Listing:
    return _owned(call, sb.world.listings, "listing_id", "Listing")


def _image(sb: Sandbox, call: Call) -> Image:
    listing = _listing(sb, call)
    image = sb.world.images.get(call.path["image_id"])
    if image is None or image.listing_id != listing.id:
        raise _not_found("Image", call.path["image_id"])
    return image


def _as_is(item: dict[str, Any]) -> dict[str, Any]:
    return item


def _page(
    call: Call,
    wrapper: str,
    items: Sequence[_R],
    render: Callable[[_R], dict[str, Any]],
) -> Response:
    """One page of ``items``; only the page's items are rendered (a list of 100,000
    listings is not turned into JSON to answer for 20 of them)."""
    limit = call.query.get("limit") or wire.DEFAULT_PAGE_SIZE
    offset = call.query.get("offset") or 0
    return json_response(
        {
            wrapper: [render(item) for item in items[offset : offset + limit]],
            wire.PAGE_TOTAL: len(items),
            wire.PAGE_LIMIT: limit,
            wire.PAGE_OFFSET: offset,
        }
    )


def _body(call: Call, wrapper: str) -> dict[str, Any]:
    assert call.body is not None
    inner: dict[str, Any] = call.body[wrapper]
    return inner


def _listing_response(sb: Sandbox, listing: Listing, status: int = 200) -> Response:
    return json_response(
        {wire.LISTING_ONE: listing_json(sb.world, listing, sb.settings.root_url)}, status
    )


# --- keys ----------------------------------------------------------------------------------


def list_keys(sb: Sandbox, call: Call) -> Response:
    keys = [key_json(k) for k in sb.world.keys.values() if k.account_id == call.account]
    return _page(call, wire.KEY_MANY, keys, _as_is)


def _key(sb: Sandbox, call: Call) -> Key:
    return _owned(call, sb.world.keys, "key_id", "Key")


def get_key(sb: Sandbox, call: Call) -> Response:
    return json_response({wire.KEY_ONE: key_json(_key(sb, call))})


def create_key(sb: Sandbox, call: Call) -> Response:
    key, token = sb.create_key(_body(call, wire.KEY_ONE)["name"], account_id=call.account)
    log.info("key created id=%s account=%s", key.id, key.account_id)
    return json_response({wire.KEY_ONE: {**key_json(key), "token": token}}, 201)


def delete_key(sb: Sandbox, call: Call) -> Response:
    del sb.world.keys[_key(sb, call).id]
    sb.changed()
    return Response(status_code=204)


# --- broker agencies -----------------------------------------------------------------------


def create_agency(sb: Sandbox, call: Call) -> Response:
    body = _body(call, wire.AGENCY_ONE)
    agency = Agency(
        id=sb.world.new_id(),
        name=body["name"],
        organisation_number=body.get("organisationNumber"),
        external_id=body.get("externalId"),
        hq_partnership_agreement=body.get("hqPartnershipAgreement", False),
        created_at=iso(sb.clock.now()),
        account_id=call.account,
    )
    sb.world.agencies[agency.id] = agency
    sb.changed()
    return json_response({wire.AGENCY_ONE: agency_json(agency)}, 201)


def list_agencies(sb: Sandbox, call: Call) -> Response:
    own = [a for a in sb.world.agencies.values() if a.account_id == call.account]
    return _page(call, wire.AGENCY_MANY, own, agency_json)


def get_agency(sb: Sandbox, call: Call) -> Response:
    agency = _owned(call, sb.world.agencies, "agency_id", "Broker agency")
    return json_response({wire.AGENCY_ONE: agency_json(agency)})


# --- listings ------------------------------------------------------------------------------


def create_listing(sb: Sandbox, call: Call) -> Response:
    fields = {k: v for k, v in _body(call, wire.LISTING_ONE).items() if v is not None}
    agency = sb.world.agencies.get(fields["brokerAgencyId"])
    if agency is None:
        raise ApiProblem(
            400,
            wire.VALIDATION_ERROR,
            f"Broker agency {fields['brokerAgencyId']} does not exist",
            field="listing.brokerAgencyId",
        )
    _own(call, agency.account_id, "Broker agency", agency.id)
    now = iso(sb.clock.now())
    listing = Listing(
        id=sb.world.new_id(),
        fields=fields,
        market_state=wire.FOR_SALE,
        created_at=now,
        updated_at=now,
        account_id=call.account,
    )
    sb.world.listings[listing.id] = listing
    sb.changed()
    log.info("listing created id=%s externalId=%s", listing.id, fields.get("externalId"))
    return _listing_response(sb, listing, 201)


def list_listings(sb: Sandbox, call: Call) -> Response:
    found = [x for x in sb.world.listings.values() if x.account_id == call.account]
    if (external_id := call.query.get("externalId")) is not None:
        found = [x for x in found if x.fields.get("externalId") == external_id]
    if (agency_id := call.query.get("brokerAgencyId")) is not None:
        found = [x for x in found if x.fields.get("brokerAgencyId") == agency_id]
    root = sb.settings.root_url
    return _page(call, wire.LISTING_MANY, found, lambda x: listing_json(sb.world, x, root))


def get_listing(sb: Sandbox, call: Call) -> Response:
    return _listing_response(sb, _listing(sb, call))


def patch_listing(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    lifecycle.patch_listing(sb.world, listing, _body(call, wire.LISTING_ONE), sb.clock.now())
    sb.changed()
    return _listing_response(sb, listing)


def publish(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    auto = bool((call.body or {}).get("allowedAutoApprove", False))
    sb.emit(
        lifecycle.publish(
            sb.world, listing, sb.clock.now(), auto, sb.settings.sale_undo_window_days
        )
    )
    sb.changed()
    return _listing_response(sb, listing)


def unpublish(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    sb.emit(lifecycle.unpublish(listing, sb.clock.now()))
    return _listing_response(sb, listing)


def update_market_state(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    assert call.body is not None
    lifecycle.set_market_state(sb.world, listing, call.body["marketState"], sb.clock.now())
    sb.changed()
    return _listing_response(sb, listing)


def mark_sold(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    sale, events = lifecycle.mark_sold(
        sb.world, listing, _body(call, wire.SALE_ONE), sb.clock.now()
    )
    sb.emit(events)
    return json_response({wire.SALE_ONE: sale_json(sale)}, 201)


def get_sale(sb: Sandbox, call: Call) -> Response:
    sale = sb.world.sales.get(call.path["sale_id"])
    if sale is None:
        raise _not_found("Sale", call.path["sale_id"])
    owner = sb.world.listings.get(sale.listing_id)
    _own(call, owner.account_id if owner else DEFAULT_ACCOUNT, "Sale", sale.id)
    return json_response({wire.SALE_ONE: sale_json(sale)})


def get_checks(sb: Sandbox, call: Call) -> Response:
    errors, warnings = lifecycle.checks(sb.world, _listing(sb, call))
    return json_response(
        {
            wire.CHECKS_ONE: {
                "errors": [{"message": m} for m in errors],
                "warnings": [{"message": m} for m in warnings],
            }
        }
    )


def put_seller_information(sb: Sandbox, call: Call) -> Response:
    # Accepted and acknowledged, never stored or returned: it holds personal identity numbers.
    _listing(sb, call).seller_information_at = iso(sb.clock.now())
    sb.changed()
    return Response(status_code=204)


def put_billing_information(sb: Sandbox, call: Call) -> Response:
    _listing(sb, call).billing_information_at = iso(sb.clock.now())
    sb.changed()
    return Response(status_code=204)


def get_image_right(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    if listing.image_right is None:
        raise _not_found("Image right of listing", listing.id)
    return json_response({wire.IMAGE_RIGHT_ONE: listing.image_right})


def put_image_right(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    # PUT is partial and idempotent (DOC): omitted fields keep their value.
    listing.image_right = {**(listing.image_right or {}), **_body(call, wire.IMAGE_RIGHT_ONE)}
    sb.changed()
    return json_response({wire.IMAGE_RIGHT_ONE: listing.image_right})


def delete_image_right(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    if listing.image_right is None:
        raise _not_found("Image right of listing", listing.id)
    listing.image_right = None
    sb.changed()
    return Response(status_code=204)


# --- images --------------------------------------------------------------------------------


def create_image(sb: Sandbox, call: Call) -> Response:
    listing = _listing(sb, call)
    body = _body(call, wire.IMAGE_ONE)
    if not body["url"].startswith(("http://", "https://")):
        raise ApiProblem(400, wire.VALIDATION_ERROR, "must be an http(s) URL", field="image.url")
    position = body.get("position")
    if position is None:
        position = len(sb.world.images_of(listing.id))
    image = Image(
        id=sb.world.new_id(),
        listing_id=listing.id,
        url=body["url"],
        caption=body.get("caption"),
        position=position,
        is_floor_plan=body.get("isFloorPlan", False),
        state=wire.IN_PROGRESS,
        state_message=None,
        created_at=iso(sb.clock.now()),
    )
    sb.world.add_image(image)
    sb.changed()
    sb.schedule_image(image.id)
    return json_response({wire.IMAGE_ONE: image_json(image, detail=True)}, 201)


def list_images(sb: Sandbox, call: Call) -> Response:
    images = sb.world.images_of(_listing(sb, call).id)
    return _page(call, wire.IMAGE_MANY, images, lambda i: image_json(i, detail=False))


def get_image(sb: Sandbox, call: Call) -> Response:
    return json_response({wire.IMAGE_ONE: image_json(_image(sb, call), detail=True)})


def patch_image(sb: Sandbox, call: Call) -> Response:
    image = _image(sb, call)
    body = _body(call, wire.IMAGE_ONE)
    if "caption" in body:
        image.caption = body["caption"]
    if "position" in body:
        image.position = body["position"]
    sb.changed()
    return json_response({wire.IMAGE_ONE: image_json(image, detail=True)})


def delete_image(sb: Sandbox, call: Call) -> Response:
    image = _image(sb, call)
    sb.world.remove_image(image.id)
    sb.changed()
    return Response(status_code=204)


W = wire
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", W.KEYS, list_keys, "List keys (auth probe)", query=PAGING, tags=("Key",)),
    Endpoint("POST", W.KEYS, create_key, "Create a key", 201, W.KEY_CREATE, tags=("Key",)),
    Endpoint("GET", W.KEY, get_key, "Key details", tags=("Key",)),
    Endpoint("DELETE", W.KEY, delete_key, "Delete a key", 204, tags=("Key",)),
    Endpoint("POST", W.AGENCIES, create_agency, "Create a broker agency", 201, W.AGENCY_CREATE),
    Endpoint("GET", W.AGENCIES, list_agencies, "List broker agencies", query=PAGING),
    Endpoint("GET", W.AGENCY, get_agency, "Get a broker agency"),
    Endpoint("POST", W.LISTINGS, create_listing, "Create a listing", 201, W.LISTING_CREATE),
    Endpoint(
        "GET",
        W.LISTINGS,
        list_listings,
        "List listings",
        query=(
            *PAGING,
            Query("externalId", Str(max_length=200), "only listings with this externalId"),
            Query("brokerAgencyId", Str(max_length=100), "only this agency's listings"),
        ),
    ),
    Endpoint("GET", W.LISTING, get_listing, "Get a listing"),
    Endpoint("PATCH", W.LISTING, patch_listing, "Update changed fields", body=W.LISTING_PATCH),
    Endpoint("POST", W.PUBLISH, publish, "Publish", body=W.PUBLISH_BODY, body_required=False),
    Endpoint("POST", W.UNPUBLISH, unpublish, "Unpublish"),
    Endpoint(
        "POST", W.MARKET_STATE, update_market_state, "Set market state", body=W.MARKET_STATE_BODY
    ),
    Endpoint("POST", W.SALE_OF_LISTING, mark_sold, "Mark as sold", 201, W.SALE_CREATE),
    Endpoint("GET", W.SALE, get_sale, "Get a sale"),
    Endpoint("GET", W.CHECKS, get_checks, "Checks results"),
    Endpoint(
        "PUT", W.SELLER_INFORMATION, put_seller_information, "Seller info", 204, W.SELLER_BODY
    ),
    Endpoint("PUT", W.BILLING_INFORMATION, put_billing_information, "Billing", 204, W.BILLING_BODY),
    Endpoint("GET", W.IMAGE_RIGHT, get_image_right, "Get image right"),
    Endpoint("PUT", W.IMAGE_RIGHT, put_image_right, "Set image right", body=W.IMAGE_RIGHT_BODY),
    Endpoint("DELETE", W.IMAGE_RIGHT, delete_image_right, "Delete image right", 204),
    Endpoint("POST", W.IMAGES, create_image, "Add an image by URL", 201, W.IMAGE_CREATE),
    Endpoint("GET", W.IMAGES, list_images, "List images", query=PAGING),
    Endpoint("GET", W.IMAGE, get_image, "Get an image (with stateMessage)"),
    Endpoint("PATCH", W.IMAGE, patch_image, "Update an image", body=W.IMAGE_PATCH),
    Endpoint("DELETE", W.IMAGE, delete_image, "Delete an image", 204),
)


# --- plumbing ------------------------------------------------------------------------------


def _parse_query(endpoint: Endpoint, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q in endpoint.query:
        raw = request.query_params.get(q.name)
        if raw is None:
            continue
        value: Any = raw
        if isinstance(q.spec, Int):
            try:
                value = int(raw)
            except ValueError:
                raise ApiProblem(
                    400, wire.VALIDATION_ERROR, "must be an integer", field=q.name
                ) from None
        try:
            out[q.name] = validate(q.spec, value, q.name)
        except SchemaViolation as exc:
            raise _validation(exc) from None
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


def _check_media_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != wire.JSON_MEDIA_TYPE:
        shown = media_type or "none"
        raise ApiProblem(
            415,
            wire.UNSUPPORTED_MEDIA_TYPE_ERROR,
            f"Content-Type must be {wire.JSON_MEDIA_TYPE}, got {shown}",
        )


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to pass wire.MAX_BODY_BYTES: from
    Content-Length before reading, else while reading, so no sender fills this process."""
    too_large = ApiProblem(
        413, wire.PAYLOAD_TOO_LARGE_ERROR, f"The body is larger than {wire.MAX_BODY_BYTES} bytes"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > wire.MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > wire.MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


async def _parse_body(endpoint: Endpoint, request: Request) -> dict[str, Any] | None:
    if endpoint.body is None:
        # A body where none is expected is ignored, but still not read past the limit.
        await _read_body(request)
        return None
    if _has_body(request):
        _check_media_type(request)
    raw = await _read_body(request)
    if not raw.strip():
        if endpoint.body_required:
            raise ApiProblem(400, wire.VALIDATION_ERROR, "A JSON body is required", field="")
        return None
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiProblem(
            400, wire.VALIDATION_ERROR, "The body is not valid JSON", field=""
        ) from None
    try:
        result: dict[str, Any] = validate(endpoint.body, data)
    except SchemaViolation as exc:
        raise _validation(exc) from None
    except RecursionError:
        raise ApiProblem(400, wire.VALIDATION_ERROR, "The body is nested too deeply") from None
    return result


def _authenticate(sb: Sandbox, request: Request) -> Key:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, wire.AUTHENTICATION_ERROR, "A bearer key is required")
    key = sb.authenticate(token.strip())
    if key is None:
        raise ApiProblem(401, wire.AUTHENTICATION_ERROR, "The key is unknown, expired or deleted")
    return key


def _route(endpoint: Endpoint) -> Route:
    async def endpoint_fn(request: Request) -> Response:
        sb: Sandbox = request.app.state.sandbox
        key = _authenticate(sb, request)
        query = _parse_query(endpoint, request)
        try:
            body = await _parse_body(endpoint, request)
        except ClientDisconnect:
            # The client went away mid-body (a killed daemon, a timeout): nobody to answer,
            # and not a sandbox bug, so one quiet line rather than an ERROR traceback.
            log.info("client disconnected during %s %s", request.method, request.url.path)
            return Response(status_code=499)
        call = Call(
            path={k: str(v) for k, v in request.path_params.items()},
            query=query,
            body=body,
            account=key.account_id,
        )
        sb.settle()
        return endpoint.handler(sb, call)

    return Route(
        wire.API_PREFIX + endpoint.path,
        endpoint_fn,
        methods=[endpoint.method],
        name=f"{endpoint.method.lower()} {endpoint.path}",
    )


def api_routes() -> list[Route]:
    return [_route(e) for e in ENDPOINTS]
