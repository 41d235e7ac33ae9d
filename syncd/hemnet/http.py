"""The HTTP calls under every endpoint of the Hemnet client: sending with the key (one
retry after a renewed key), reading one resource strictly, and paging through a list.

Knows no endpoint (``accounts``, ``listings``, ``images`` hold those); decides nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from syncd.core.errors import (
    ApiContext,
    ApiError,
    AuthenticationApiError,
    RetryableApiError,
    UnreadableAnswerError,
)
from syncd.core.packed import TextSet
from syncd.hemnet import payload, wire
from syncd.hemnet.classify import SAFE_METHODS, classify, from_transport_error
from syncd.hemnet.paging import PageWalk
from syncd.hemnet.payload import Note, UnreadableAnswer
from syncd.hemnet.problems import AnswerProblem, AnswerProblems

# The client's name, as its log lines have always shown.
logger = logging.getLogger("syncd.hemnet.client")

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


class HttpCalls:
    """The client's connection and its calls; see ``HemnetClient`` for the arguments."""

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
        may_send: Callable[[], bool] | None = None,
    ) -> None:
        self._token_provider = token_provider
        self._may_send = may_send
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
            if self._may_send is not None and not self._may_send():
                # Checked as late as possible before the bytes go out: a fleet's instance
                # whose leases went stale (paused, cut off) must not reach Hemnet.
                raise RetryableApiError(
                    "not sent: this syncd's fleet leases are not fresh",
                    ApiContext(method=method, path=path),
                )
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

        Guarded (``paging.PageWalk``): an item seen before (by id) is not yielded again; a
        list that shrank while it was read is read again from the start; a page holding
        nothing new (offset ignored) or more than ``max_pages`` pages fails the call,
        naming why.
        """
        walk = PageWalk(limit, self._max_pages)
        # Every id of the list (100,000 at 100,000 listings), held while it is read: packed,
        # not a set of strings that would stay scattered through the heap after it.
        seen = TextSet()
        while True:
            try:
                offset = walk.next_page()
            except UnreadableAnswer as exc:
                raise _unreadable_data("GET", template, path_args, exc) from exc
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
                if ident is not None and not seen.add(ident):
                    continue
                fresh += 1
                yield item
            restarts = walk.restarts
            try:
                done = walk.after_page(len(items), fresh, total, page_size)
            except UnreadableAnswer as exc:
                raise _unreadable_data("GET", template, path_args, exc) from exc
            if walk.restarts > restarts:
                logger.info(
                    "GET %s: the list shrank while it was read (total %s); reading it again "
                    "from the start",
                    template,
                    total,
                )
            if done:
                return

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
