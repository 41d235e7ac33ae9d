"""The typed Hemnet client: one method per endpoint, answers as ``models`` values.

Synchronous (the scheduler runs it in threads). It never retries on its own (apply owns
retries and the request budget), except one retry after ``on_auth_failure`` renewed the
key. Every failure leaves as an ``ApiError`` from ``classify``; the token never does. An
answer it cannot read leaves as an ``UnreadableAnswerError`` naming the field; an unknown
enum value, or a list item left out, is recorded in ``problems`` (docs/hemnet-client.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from syncd.domain import BillingInformation, MarketState, SellerInformation
from syncd.errors import (
    ApiContext,
    ApiError,
    AuthenticationApiError,
    RemoteDriftError,
    UnreadableAnswerError,
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
    RemoteListings,
    RemoteSale,
)
from syncd.hemnet.payload import Note, UnreadableAnswer
from syncd.hemnet.problems import AnswerProblem, AnswerProblems

logger = logging.getLogger(__name__)

# (method, path template, status or None on a network failure, seconds)
Observer = Callable[[str, str, int | None, float], None]
Json = dict[str, Any]
T = TypeVar("T")
Parser = Callable[[Json, list[Note] | None], T]

# Paging guard: the most pages one list may take (200,000 items at 100 a page). A server
# that never ends a list (offset ignored, no total) is cut off here, not followed for ever.
MAX_PAGES = 2000
# Any other failure a parser may meet on a value of the wrong kind.
_PARSE_ERRORS = (KeyError, TypeError, ValueError, ArithmeticError)


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
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._token_provider = token_provider
        self._max_pages = max_pages
        # Unknown enum values and list items left out, by request (docs/hemnet-client.md).
        self.problems = AnswerProblems()
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

    def __exit__(self, *_exc: object) -> None:
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
            received_at = datetime.now(UTC)
            self._observe(method, template, response.status_code, seconds)
            logger.debug("%s %s status=%d %.3fs", method, path, response.status_code, seconds)
            # Belt and braces: should Hemnet ever echo the key, it goes no further.
            content = response.content.replace(token.encode(), b"[redacted]") if token else b""
            error = classify(
                method,
                path,
                response.status_code,
                response.headers,
                content,
                received_at=received_at,
            )
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

    def _one(
        self,
        method: str,
        template: str,
        path_args: Mapping[str, str] | None,
        wrapper: str,
        parser: Parser[T],
        *,
        body: Mapping[str, Any] | None = None,
    ) -> T:
        """One resource, read strictly: an unreadable field fails the call, naming it."""
        response = self._request(method, template, path_args, body=body)
        data = _json(response, method, template, path_args)
        request = f"{method} {_path(template, path_args)}"
        notes: list[Note] = []
        try:
            inner = payload.unwrap(data, wrapper)
        except UnreadableAnswer as exc:
            raise _unreadable_data(method, template, path_args, exc) from exc
        try:
            value = parser(inner, notes)
        except UnreadableAnswer as exc:
            raise _unreadable_data(method, template, path_args, exc.within(wrapper)) from exc
        except _PARSE_ERRORS as exc:
            raise _unreadable_data(
                method, template, path_args, UnreadableAnswer(wrapper, str(exc))
            ) from exc
        self._answered(request, _noted(request, wrapper, notes))
        return value

    def _all_pages(
        self,
        template: str,
        path_args: Mapping[str, str] | None,
        wrapper: str,
        *,
        limit: int = wire.MAX_PAGE_SIZE,
        query: Mapping[str, str] | None = None,
    ) -> Iterator[Any]:
        """Every item of a paged list: ``limit``/``offset`` until ``total`` or a short page.

        Guarded: an item seen before (by id) is not yielded again; a page holding nothing
        new (offset ignored) or more than ``max_pages`` pages fails the call, naming why.
        """
        offset = 0
        seen: set[str] = set()
        for _page in range(self._max_pages):
            params: dict[str, str | int] = {**(query or {})}
            params[wire.PAGE_LIMIT] = limit
            params[wire.PAGE_OFFSET] = offset
            response = self._request("GET", template, path_args, query=params)
            data = _json(response, "GET", template, path_args)
            try:
                items = payload.unwrap_list(data, wrapper)
                total = _count(data, wire.PAGE_TOTAL)
                # Hemnet may cap the page below what was asked: trust its own limit.
                page_size = _count(data, wire.PAGE_LIMIT)
            except UnreadableAnswer as exc:
                raise _unreadable_data("GET", template, path_args, exc) from exc
            fresh = 0
            for item in items:
                ident = payload.item_id(item)
                if ident is not None:
                    if ident in seen:
                        continue
                    seen.add(ident)
                fresh += 1
                yield item
            if not items:
                return
            if not fresh:
                raise _unreadable_data(
                    "GET",
                    template,
                    path_args,
                    UnreadableAnswer(
                        wire.PAGE_OFFSET,
                        f"the page at offset {offset} repeats items already read "
                        "(is the offset ignored?)",
                    ),
                )
            offset += len(items)
            if total is not None:
                if offset >= total:
                    return
            elif len(items) < (page_size if page_size is not None else limit):
                return
        raise _unreadable_data(
            "GET",
            template,
            path_args,
            UnreadableAnswer(
                wire.PAGE_OFFSET, f"the list did not end within {self._max_pages} pages"
            ),
        )

    def _list(
        self,
        template: str,
        path_args: Mapping[str, str] | None,
        wrapper: str,
        parser: Parser[T],
        *,
        skip_unreadable: bool,
        limit: int = wire.MAX_PAGE_SIZE,
        query: Mapping[str, str] | None = None,
    ) -> tuple[list[T], frozenset[str]]:
        """Every item of a list, parsed; and the ids of the items left out.

        ``skip_unreadable``: an item that cannot be read is left out and reported (the
        others are used). Without it the whole call fails naming the item: for lists whose
        every item matters (a missing one would make syncd create a duplicate).
        """
        request = f"GET {_path(template, path_args)}" + "".join(
            f" {k}={v}" for k, v in sorted((query or {}).items())
        )
        out: list[T] = []
        left_out: set[str] = set()
        problems: list[AnswerProblem] = []
        items = self._all_pages(template, path_args, wrapper, limit=limit, query=query)
        for n, item in enumerate(items):
            ident = payload.item_id(item)
            where = f"{wrapper}[{n}]" if ident is None else f"{wrapper}[id={ident}]"
            notes: list[Note] = []
            try:
                out.append(parser(item, notes))
            except (UnreadableAnswer, *_PARSE_ERRORS) as exc:
                problem = (
                    exc.within(where)
                    if isinstance(exc, UnreadableAnswer)
                    else UnreadableAnswer(where, str(exc))
                )
                if not skip_unreadable:
                    raise _unreadable_data("GET", template, path_args, problem) from exc
                problems.append(AnswerProblem(request, problem.field, problem.why, skipped=True))
                if ident is not None:
                    left_out.add(ident)
                continue
            problems.extend(_noted(request, where, notes))
        self._answered(request, tuple(problems))
        return out, frozenset(left_out)

    def _answered(self, request: str, problems: tuple[AnswerProblem, ...]) -> None:
        """Record what the answer to ``request`` had odd; one WARNING line, not one per item
        (an enumeration of 10,000 listings with a new market state would flood the log)."""
        if problems:
            logger.warning(
                "Hemnet's answer to %s: %d item(s) or value(s) not fully used, first %s: %s",
                request,
                len(problems),
                problems[0].field,
                problems[0].message,
            )
        self.problems.answered(request, problems)

    # --- keys ------------------------------------------------------------------------------

    def list_keys(self) -> list[RemoteKey]:
        """All keys of the account; also the cheap "am I authenticated" probe (DOC)."""
        # Every page, strict: a key left out would look deleted to the key keeper.
        keys, _ = self._list(
            wire.KEYS, None, wire.KEY_MANY, payload.key_from, skip_unreadable=False
        )
        return keys

    def get_key(self, key_id: str) -> RemoteKey:
        return self._one("GET", wire.KEY, {"key_id": key_id}, wire.KEY_ONE, payload.key_from)

    def create_key(self, name: str) -> RemoteKey:
        """A new key; its ``token`` is in this answer only (store it at once)."""
        return self._one(
            "POST", wire.KEYS, None, wire.KEY_ONE, payload.key_from, body=payload.key_body(name)
        )

    def delete_key(self, key_id: str) -> None:
        self._request("DELETE", wire.KEY, {"key_id": key_id})

    # --- broker agencies -------------------------------------------------------------------

    def create_agency(
        self, name: str, organisation_number: str | None = None, external_id: str | None = None
    ) -> RemoteAgency:
        body = payload.agency_body(name, organisation_number, external_id)
        return self._one(
            "POST", wire.AGENCIES, None, wire.AGENCY_ONE, payload.agency_from, body=body
        )

    def list_agencies(self) -> list[RemoteAgency]:
        # Strict: an agency left out would be created a second time.
        agencies, _ = self._list(
            wire.AGENCIES, None, wire.AGENCY_MANY, payload.agency_from, skip_unreadable=False
        )
        return agencies

    def get_agency(self, agency_id: str) -> RemoteAgency:
        return self._one(
            "GET", wire.AGENCY, {"agency_id": agency_id}, wire.AGENCY_ONE, payload.agency_from
        )

    # --- listings --------------------------------------------------------------------------

    def _listing(
        self,
        method: str,
        template: str,
        listing_id: str,
        body: Mapping[str, Any] | None = None,
    ) -> RemoteListing:
        return self._one(
            method,
            template,
            {"listing_id": listing_id},
            wire.LISTING_ONE,
            payload.known_listing_from,
            body=body,
        )

    def create_listing(self, body: Mapping[str, Any]) -> RemoteListing:
        """Create from ``payload.listing_body``. Not idempotent: settle unknown outcomes by
        ``list_listings(external_id=...)`` before sending again."""
        return self._one(
            "POST", wire.LISTINGS, None, wire.LISTING_ONE, payload.known_listing_from, body=body
        )

    def list_listings(
        self, external_id: str | None = None, agency_id: str | None = None
    ) -> RemoteListings:
        """Every listing (all pages), optionally only those with our ``external_id``.

        The full enumeration leaves out a listing it cannot read (reported in ``problems``,
        its id in ``left_out``) and returns the others; asked by ``external_id`` it fails
        instead, because "not there" would let syncd create a duplicate.
        """
        query: dict[str, str] = {}
        if external_id is not None:
            query[wire.EXTERNAL_ID] = external_id
        if agency_id is not None:
            query[wire.AGENCY_ID] = agency_id
        found, left_out = self._list(
            wire.LISTINGS,
            None,
            wire.LISTING_MANY,
            payload.known_listing_from,
            skip_unreadable=external_id is None,
            query=query,
        )
        return RemoteListings(found, left_out)

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
        return self._one(
            "POST",
            wire.SALE_OF_LISTING,
            {"listing_id": listing_id},
            wire.SALE_ONE,
            payload.sale_from,
            body=body,
        )

    def get_sale(self, sale_id: str) -> RemoteSale:
        return self._one("GET", wire.SALE, {"sale_id": sale_id}, wire.SALE_ONE, payload.sale_from)

    def get_checks(self, listing_id: str) -> Checks:
        return self._one(
            "GET", wire.CHECKS, {"listing_id": listing_id}, wire.CHECKS_ONE, payload.checks_from
        )

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
            return self._one(
                "GET",
                wire.IMAGE_RIGHT,
                {"listing_id": listing_id},
                wire.IMAGE_RIGHT_ONE,
                payload.image_right_from,
            )
        except RemoteDriftError as exc:
            if exc.context.status == 404:
                return None
            raise

    def put_image_right(self, listing_id: str, right: ImageRight) -> ImageRight:
        return self._one(
            "PUT",
            wire.IMAGE_RIGHT,
            {"listing_id": listing_id},
            wire.IMAGE_RIGHT_ONE,
            payload.image_right_from,
            body=payload.image_right_body(right),
        )

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
        return self._one(
            "POST",
            wire.IMAGES,
            {"listing_id": listing_id},
            wire.IMAGE_ONE,
            payload.image_from,
            body=body,
        )

    def list_images(self, listing_id: str, limit: int = wire.MAX_PAGE_SIZE) -> list[RemoteImage]:
        """Every image of the listing, all pages (Hemnet's default page holds only 20)."""
        # Strict: an image left out would look deleted, and be added a second time.
        images, _ = self._list(
            wire.IMAGES,
            {"listing_id": listing_id},
            wire.IMAGE_MANY,
            payload.image_from,
            skip_unreadable=False,
            limit=limit,
        )
        return images

    def get_image(self, listing_id: str, image_id: str) -> RemoteImage:
        """One image, with ``state_message`` when it failed (only here, not in the list)."""
        args = {"listing_id": listing_id, "image_id": image_id}
        return self._one("GET", wire.IMAGE, args, wire.IMAGE_ONE, payload.image_from)

    def update_image(
        self, listing_id: str, image_id: str, position: int, caption: str | None
    ) -> RemoteImage:
        args = {"listing_id": listing_id, "image_id": image_id}
        body = payload.image_update_body(position, caption)
        return self._one("PATCH", wire.IMAGE, args, wire.IMAGE_ONE, payload.image_from, body=body)

    def delete_image(self, listing_id: str, image_id: str) -> None:
        self._request("DELETE", wire.IMAGE, {"listing_id": listing_id, "image_id": image_id})


def _noted(request: str, where: str, notes: list[Note]) -> tuple[AnswerProblem, ...]:
    return tuple(AnswerProblem(request, payload.join(where, f), why) for f, why in notes)


def _count(data: Any, name: str) -> int | None:
    """``total`` or ``limit`` of a page: a whole number >= 0, or absent."""
    value = data.get(name) if isinstance(data, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnreadableAnswer(name, f"expected a count, got {value!r:.40}")
    return value


def _json(
    response: httpx.Response, method: str, template: str, path_args: Mapping[str, str] | None
) -> Any:
    """The answer's JSON; one that is not JSON is unreadable, naming the request."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        raise _unreadable(method, _path(template, path_args), response, str(exc)) from exc


def _path(template: str, path_args: Mapping[str, str] | None) -> str:
    # Hemnet's ids are opaque: quoted whole, so one can never add a path segment.
    return template.format(**{k: quote(str(v), safe="") for k, v in (path_args or {}).items()})


def _unreadable(method: str, path: str, response: httpx.Response, why: str) -> ApiError:
    """A 2xx answer that is not JSON: a write may have happened, so its outcome is unknown."""
    context = ApiContext(
        method=method,
        path=path,
        status=response.status_code,
        request_id=response.headers.get(wire.REQUEST_ID_HEADER),
    )
    return UnreadableAnswerError(
        "body",
        f"not JSON ({why[:120]})",
        context,
        outcome_unknown=method.upper() not in SAFE_METHODS,
    )


def _unreadable_data(
    method: str,
    template: str,
    path_args: Mapping[str, str] | None,
    problem: UnreadableAnswer,
) -> ApiError:
    return UnreadableAnswerError(
        problem.field or "body",
        problem.why[:160],
        ApiContext(method=method, path=_path(template, path_args)),
        outcome_unknown=method.upper() not in SAFE_METHODS,
    )
