"""The typed Hemnet client: one method per endpoint, answers as ``models`` values.

Synchronous (the scheduler runs it in threads). It never retries on its own (apply owns
retries and the request budget), except one retry after ``on_auth_failure`` renewed the
key. Every failure leaves as an ``ApiError`` from ``classify``; the token never does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from syncd.domain import BillingInformation, MarketState, SellerInformation
from syncd.errors import (
    ApiContext,
    ApiError,
    AuthenticationApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.hemnet import payload, wire
from syncd.hemnet.classify import SAFE_METHODS, classify, from_transport_error
from syncd.hemnet.models import (
    Checks,
    ImageRight,
    RemoteAgency,
    RemoteImage,
    RemoteKey,
    RemoteListing,
    RemoteSale,
)

logger = logging.getLogger(__name__)

# (method, path template, status or None on a network failure, seconds)
Observer = Callable[[str, str, int | None, float], None]
Json = dict[str, Any]
T = TypeVar("T")


class HemnetClient:
    """Talks to one Hemnet API base URL (ending in ``/v1``) with a bearer key.

    ``token_provider`` is asked on every request, so a renewed key is used at once.
    ``on_auth_failure`` is called after a 401; when it returns True (a new key is ready)
    the request is sent once more. ``observer`` receives the latency of every call.
    """

    def __init__(
        self,
        base_url: str,
        token_provider: Callable[[], str],
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        on_auth_failure: Callable[[], bool] | None = None,
        observer: Observer | None = None,
        user_agent: str = "syncd",
    ) -> None:
        self._token_provider = token_provider
        self._on_auth_failure = on_auth_failure
        self._observer = observer
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": user_agent},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HemnetClient({str(self._http.base_url)!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------

    def _observe(self, method: str, template: str, status: int | None, seconds: float) -> None:
        if self._observer is None:
            return
        try:
            self._observer(method, template, status, seconds)
        except Exception:
            # Metrics must never turn a done call into a failed one.
            logger.exception("observer failed for %s %s", method, template)

    def _request(
        self,
        method: str,
        template: str,
        path_args: Mapping[str, str] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        path = _path(template, path_args)
        for attempt in range(2):
            token = self._token_provider()
            sent = False

            def trace(event: str, info: Mapping[str, Any]) -> None:
                nonlocal sent
                if ".send_request_headers." in event:
                    sent = True

            started = time.perf_counter()
            try:
                response = self._http.request(
                    method,
                    path,
                    json=body,
                    params=query,
                    headers={wire.AUTHORIZATION: f"Bearer {token}"},
                    extensions={"trace": trace},
                )
            except httpx.TransportError as exc:
                seconds = time.perf_counter() - started
                self._observe(method, template, None, seconds)
                logger.debug("%s %s failed %s %.3fs", method, path, type(exc).__name__, seconds)
                raise from_transport_error(exc, method, path, sent) from exc
            seconds = time.perf_counter() - started
            self._observe(method, template, response.status_code, seconds)
            logger.debug("%s %s status=%d %.3fs", method, path, response.status_code, seconds)
            # Belt and braces: should Hemnet ever echo the key, it goes no further.
            content = response.content.replace(token.encode(), b"[redacted]") if token else b""
            error = classify(method, path, response.status_code, response.headers, content)
            if error is None:
                return response
            if (
                isinstance(error, AuthenticationApiError)
                and response.status_code == 401
                and attempt == 0
                and self._on_auth_failure is not None
                and self._on_auth_failure()
            ):
                logger.info(
                    "a working key is in use after 401; sending %s %s once more", method, path
                )
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(
        self,
        method: str,
        template: str,
        path_args: Mapping[str, str] | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str | int] | None = None,
    ) -> Any:
        response = self._request(method, template, path_args, body=body, query=query)
        try:
            return response.json()
        except ValueError as exc:
            raise _unreadable(method, _path(template, path_args), response, str(exc)) from exc

    def _one(
        self,
        method: str,
        template: str,
        path_args: Mapping[str, str] | None,
        wrapper: str,
        *,
        body: Mapping[str, Any] | None = None,
    ) -> Json:
        data = self._json(method, template, path_args, body=body)
        try:
            return payload.unwrap(data, wrapper)
        except ValueError as exc:
            raise _unreadable_data(method, template, path_args, str(exc)) from exc

    def _all_pages(
        self,
        template: str,
        path_args: Mapping[str, str] | None,
        wrapper: str,
        *,
        limit: int = wire.MAX_PAGE_SIZE,
        query: Mapping[str, str] | None = None,
    ) -> Iterator[Json]:
        """Every item of a paged list: ``limit``/``offset`` until ``total`` or a short page."""
        offset = 0
        while True:
            params: dict[str, str | int] = {**(query or {})}
            params[wire.PAGE_LIMIT] = limit
            params[wire.PAGE_OFFSET] = offset
            data = self._json("GET", template, path_args, query=params)
            try:
                items = payload.unwrap_list(data, wrapper)
            except ValueError as exc:
                raise _unreadable_data("GET", template, path_args, str(exc)) from exc
            yield from items
            offset += len(items)
            total = data.get(wire.PAGE_TOTAL)
            # Hemnet may cap the page below what was asked: trust its own limit and total.
            page_size = data.get(wire.PAGE_LIMIT, limit)
            if not items:
                return
            if isinstance(total, int) and not isinstance(total, bool):
                if offset >= total:
                    return
            elif not isinstance(page_size, int) or len(items) < page_size:
                return

    # --- keys ------------------------------------------------------------------------------

    def list_keys(self) -> list[RemoteKey]:
        """All keys of the account; also the cheap "am I authenticated" probe (DOC)."""
        data = self._json("GET", wire.KEYS)
        try:
            return [payload.key_from(k) for k in payload.unwrap_list(data, wire.KEY_MANY)]
        except (KeyError, TypeError, ValueError) as exc:
            raise _unreadable_data("GET", wire.KEYS, None, str(exc)) from exc

    def get_key(self, key_id: str) -> RemoteKey:
        data = self._one("GET", wire.KEY, {"key_id": key_id}, wire.KEY_ONE)
        return _parse(payload.key_from, data, "GET", wire.KEY)

    def create_key(self, name: str) -> RemoteKey:
        """A new key; its ``token`` is in this answer only (store it at once)."""
        data = self._one("POST", wire.KEYS, None, wire.KEY_ONE, body=payload.key_body(name))
        return _parse(payload.key_from, data, "POST", wire.KEYS)

    def delete_key(self, key_id: str) -> None:
        self._request("DELETE", wire.KEY, {"key_id": key_id})

    # --- broker agencies -------------------------------------------------------------------

    def create_agency(
        self, name: str, organisation_number: str | None = None, external_id: str | None = None
    ) -> RemoteAgency:
        body = payload.agency_body(name, organisation_number, external_id)
        data = self._one("POST", wire.AGENCIES, None, wire.AGENCY_ONE, body=body)
        return _parse(payload.agency_from, data, "POST", wire.AGENCIES)

    def list_agencies(self) -> list[RemoteAgency]:
        return [
            _parse(payload.agency_from, item, "GET", wire.AGENCIES)
            for item in self._all_pages(wire.AGENCIES, None, wire.AGENCY_MANY)
        ]

    def get_agency(self, agency_id: str) -> RemoteAgency:
        data = self._one("GET", wire.AGENCY, {"agency_id": agency_id}, wire.AGENCY_ONE)
        return _parse(payload.agency_from, data, "GET", wire.AGENCY)

    # --- listings --------------------------------------------------------------------------

    def _listing(
        self,
        method: str,
        template: str,
        listing_id: str,
        body: Mapping[str, Any] | None = None,
    ) -> RemoteListing:
        data = self._one(method, template, {"listing_id": listing_id}, wire.LISTING_ONE, body=body)
        return _parse(payload.known_listing_from, data, method, template)

    def create_listing(self, body: Mapping[str, Any]) -> RemoteListing:
        """Create from ``payload.listing_body``. Not idempotent: settle unknown outcomes by
        ``list_listings(external_id=...)`` before sending again."""
        data = self._one("POST", wire.LISTINGS, None, wire.LISTING_ONE, body=body)
        return _parse(payload.known_listing_from, data, "POST", wire.LISTINGS)

    def list_listings(
        self, external_id: str | None = None, agency_id: str | None = None
    ) -> list[RemoteListing]:
        """Every listing (all pages), optionally only those with our ``external_id``."""
        query: dict[str, str] = {}
        if external_id is not None:
            query[wire.EXTERNAL_ID] = external_id
        if agency_id is not None:
            query[wire.AGENCY_ID] = agency_id
        return [
            _parse(payload.known_listing_from, item, "GET", wire.LISTINGS)
            for item in self._all_pages(wire.LISTINGS, None, wire.LISTING_MANY, query=query)
        ]

    def get_listing(self, listing_id: str) -> RemoteListing:
        return self._listing("GET", wire.LISTING, listing_id)

    def update_listing(self, listing_id: str, body: Mapping[str, Any]) -> RemoteListing:
        """Partial update with a body from ``payload.update_body``."""
        return self._listing("PATCH", wire.LISTING, listing_id, body)

    def publish(self, listing_id: str, allowed_auto_approve: bool | None = None) -> RemoteListing:
        return self._listing(
            "POST", wire.PUBLISH, listing_id, payload.publish_body(allowed_auto_approve)
        )

    def unpublish(self, listing_id: str) -> RemoteListing:
        return self._listing("POST", wire.UNPUBLISH, listing_id)

    def update_market_state(self, listing_id: str, state: MarketState) -> RemoteListing:
        return self._listing(
            "POST", wire.MARKET_STATE, listing_id, payload.market_state_body(state)
        )

    def mark_sold(
        self, listing_id: str, price: int, is_public: bool, contract_date: date
    ) -> RemoteSale:
        """Report the sale; Hemnet unpublishes the listing. Near-irreversible (see DESIGN)."""
        body = payload.sale_body(price, is_public, contract_date)
        data = self._one(
            "POST", wire.SALE_OF_LISTING, {"listing_id": listing_id}, wire.SALE_ONE, body=body
        )
        return _parse(payload.sale_from, data, "POST", wire.SALE_OF_LISTING)

    def get_sale(self, sale_id: str) -> RemoteSale:
        data = self._one("GET", wire.SALE, {"sale_id": sale_id}, wire.SALE_ONE)
        return _parse(payload.sale_from, data, "GET", wire.SALE)

    def get_checks(self, listing_id: str) -> Checks:
        data = self._one("GET", wire.CHECKS, {"listing_id": listing_id}, wire.CHECKS_ONE)
        return _parse(payload.checks_from, data, "GET", wire.CHECKS)

    def put_seller_information(self, listing_id: str, seller: SellerInformation) -> None:
        """Write-only on Hemnet: nothing comes back to compare (remember a hash instead)."""
        self._request(
            "PUT",
            wire.SELLER_INFORMATION,
            {"listing_id": listing_id},
            body=payload.seller_body(seller),
        )

    def put_billing_information(self, listing_id: str, billing: BillingInformation) -> None:
        self._request(
            "PUT",
            wire.BILLING_INFORMATION,
            {"listing_id": listing_id},
            body=payload.billing_body(billing),
        )

    # --- image right -----------------------------------------------------------------------

    def get_image_right(self, listing_id: str) -> ImageRight | None:
        """The image right, or None when the listing has none (Hemnet answers 404)."""
        try:
            data = self._one(
                "GET", wire.IMAGE_RIGHT, {"listing_id": listing_id}, wire.IMAGE_RIGHT_ONE
            )
        except RemoteDriftError as exc:
            if exc.context.status == 404:
                return None
            raise
        return _parse(payload.image_right_from, data, "GET", wire.IMAGE_RIGHT)

    def put_image_right(self, listing_id: str, right: ImageRight) -> ImageRight:
        data = self._one(
            "PUT",
            wire.IMAGE_RIGHT,
            {"listing_id": listing_id},
            wire.IMAGE_RIGHT_ONE,
            body=payload.image_right_body(right),
        )
        return _parse(payload.image_right_from, data, "PUT", wire.IMAGE_RIGHT)

    def delete_image_right(self, listing_id: str) -> None:
        self._request("DELETE", wire.IMAGE_RIGHT, {"listing_id": listing_id})

    # --- images ----------------------------------------------------------------------------

    def add_image(
        self,
        listing_id: str,
        url: str,
        caption: str | None = None,
        position: int = 0,
        is_floor_plan: bool = False,
    ) -> RemoteImage:
        """Ask Hemnet to fetch ``url``. Not idempotent: settle unknown outcomes by listing
        the images and matching the URL before sending again."""
        body = payload.image_body(url, caption, position, is_floor_plan)
        data = self._one("POST", wire.IMAGES, {"listing_id": listing_id}, wire.IMAGE_ONE, body=body)
        return _parse(payload.image_from, data, "POST", wire.IMAGES)

    def list_images(self, listing_id: str, limit: int = wire.MAX_PAGE_SIZE) -> list[RemoteImage]:
        """Every image of the listing, all pages (Hemnet's default page holds only 20)."""
        return [
            _parse(payload.image_from, item, "GET", wire.IMAGES)
            for item in self._all_pages(
                wire.IMAGES, {"listing_id": listing_id}, wire.IMAGE_MANY, limit=limit
            )
        ]

    def get_image(self, listing_id: str, image_id: str) -> RemoteImage:
        """One image, with ``state_message`` when it failed (only here, not in the list)."""
        args = {"listing_id": listing_id, "image_id": image_id}
        data = self._one("GET", wire.IMAGE, args, wire.IMAGE_ONE)
        return _parse(payload.image_from, data, "GET", wire.IMAGE)

    def update_image(
        self, listing_id: str, image_id: str, position: int, caption: str | None
    ) -> RemoteImage:
        args = {"listing_id": listing_id, "image_id": image_id}
        body = payload.image_update_body(position, caption)
        data = self._one("PATCH", wire.IMAGE, args, wire.IMAGE_ONE, body=body)
        return _parse(payload.image_from, data, "PATCH", wire.IMAGE)

    def delete_image(self, listing_id: str, image_id: str) -> None:
        self._request("DELETE", wire.IMAGE, {"listing_id": listing_id, "image_id": image_id})


def _parse(parser: Callable[[Json], T], data: Json, method: str, template: str) -> T:
    try:
        return parser(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise _unreadable_data(method, template, None, str(exc)) from exc


def _path(template: str, path_args: Mapping[str, str] | None) -> str:
    # Hemnet's ids are opaque: quoted whole, so one can never add a path segment.
    return template.format(**{k: quote(str(v), safe="") for k, v in (path_args or {}).items()})


def _unreadable(method: str, path: str, response: httpx.Response, why: str) -> ApiError:
    """A 2xx answer syncd cannot read: a write may have happened, so its outcome is unknown."""
    context = ApiContext(
        method=method,
        path=path,
        status=response.status_code,
        request_id=response.headers.get(wire.REQUEST_ID_HEADER),
    )
    return RetryableApiError(
        f"unreadable answer from Hemnet ({why[:120]})",
        context,
        outcome_unknown=method.upper() not in SAFE_METHODS,
    )


def _unreadable_data(
    method: str, template: str, path_args: Mapping[str, str] | None, why: str
) -> ApiError:
    return RetryableApiError(
        f"unexpected answer from Hemnet ({why[:120]})",
        ApiContext(method=method, path=_path(template, path_args)),
        outcome_unknown=method.upper() not in SAFE_METHODS,
    )
