"""Answers syncd cannot trust, fed through httpx.MockTransport (a real server cannot easily
send these): every one fails as an ApiError naming the field, or is left out and reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from syncd.config import AlertsConfig
from syncd.core.domain import ImageState
from syncd.core.errors import (
    ApiError,
    AuthenticationApiError,
    ForbiddenApiError,
    RetryableApiError,
    UnreadableAnswerError,
)
from syncd.hemnet import HemnetClient
from syncd.hemnet.payload import UnreadableAnswer, listing_fields_from
from syncd.hemnet.problems import AnswerProblem, AnswerProblems
from syncd.runtime.alerts import Alert, AlertFacts, alerts_for

BASE = "http://hemnet.test/v1"
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kwargs: Any) -> HemnetClient:
    return HemnetClient(BASE, lambda: "K.S", transport=httpx.MockTransport(handler), **kwargs)


def raw(text: str, status: int = 200) -> Handler:
    """Answer every request with this exact body (so 1e400 reaches the JSON reader)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=text.encode(), headers={"X-Request-Id": "r1"})

    return handler


def listing(n: int | str, **changes: Any) -> dict[str, Any]:
    status = {"isPublished": False, "isApproved": False, "marketState": "FOR_SALE"}
    status.update(changes.pop("status", {}))
    return {"id": str(n), "externalId": f"K{n}", "publicationStatus": status, **changes}


def unreadable(call: Callable[[], object]) -> UnreadableAnswerError:
    with pytest.raises(ApiError) as info:
        call()
    assert isinstance(info.value, UnreadableAnswerError), repr(info.value)
    return info.value


# --- single resources --------------------------------------------------------------------


def test_impossible_contract_date_names_the_field_on_a_listing_path() -> None:
    # Once a plain KeyError('listing_id'): the error path had no path arguments.
    sale = {"id": "S1", "price": 100, "isPricePublic": True, "contractDate": "2026-02-30"}
    api = client(raw(json.dumps({"listing": listing(7, sale=sale)})))
    err = unreadable(lambda: api.get_listing("7"))
    assert err.field == "listing.sale.contractDate"
    assert err.context.path == "/listings/7"
    assert "2026-02-30" in str(err)
    assert isinstance(err, RetryableApiError)
    assert err.outcome_unknown is False  # a read: nothing happened on Hemnet


@pytest.mark.parametrize(
    ("body", "call", "field"),
    [
        (
            '{"sale": {"id": "S1", "price": 1e400, "contractDate": "2026-02-01"}}',
            lambda api: api.get_sale("S1"),
            "sale.price",
        ),
        (
            '{"listing": {"id": "7", "sale": {"id": "S1", "price": 1e400}}}',
            lambda api: api.get_listing("7"),
            "listing.sale.price",
        ),
        (
            '{"image": {"id": "i1", "url": "http://x/1.jpg", "state": "completed", '
            '"position": 1e400}}',
            lambda api: api.get_image("7", "i1"),
            "image.position",
        ),
        (
            '{"image": {"id": "i1", "url": "http://x/1.jpg", "state": "completed", '
            '"position": 2.5}}',
            lambda api: api.get_image("7", "i1"),
            "image.position",
        ),
    ],
)
def test_numbers_out_of_range_are_unreadable_not_overflow(
    body: str, call: Callable[[HemnetClient], object], field: str
) -> None:
    err = unreadable(lambda: call(client(raw(body))))
    assert err.field == field


@pytest.mark.parametrize(
    ("status", "field"),
    [
        ({"isPublished": "false"}, "listing.publicationStatus.isPublished"),
        ({"isApproved": 1}, "listing.publicationStatus.isApproved"),
        ({"allowedMarketStates": "FOR_SALE"}, "listing.publicationStatus.allowedMarketStates"),
        ({"marketState": 3}, "listing.publicationStatus.marketState"),
    ],
)
def test_wrong_types_in_publication_status_are_not_guessed(
    status: dict[str, Any], field: str
) -> None:
    api = client(raw(json.dumps({"listing": listing(7, status=status)})))
    assert unreadable(lambda: api.get_listing("7")).field == field


def test_a_listing_without_an_id_or_the_wrapper_names_what_is_missing() -> None:
    assert unreadable(lambda: client(raw('{"listing": {}}')).get_listing("7")).field == (
        "listing.id"
    )
    assert unreadable(lambda: client(raw('{"image": {}}')).get_listing("7")).field == "listing"


def test_a_body_that_is_not_json_after_a_create_has_an_unknown_outcome() -> None:
    err = unreadable(lambda: client(raw("<html>oops", 201)).create_listing({"listing": {}}))
    assert err.field == "body"
    assert err.outcome_unknown is True  # the create may have happened: settle by reading


def test_listing_fields_that_overflow_are_unreadable_naming_the_field() -> None:
    data = json.loads('{"id": "7", "askingPrice": 1e400}')
    with pytest.raises(UnreadableAnswer) as info:
        listing_fields_from(data)
    assert info.value.field == "askingPrice"
    with pytest.raises(ValueError, match="livingArea"):  # reconcile catches ValueError
        listing_fields_from(json.loads('{"id": "7", "livingArea": -1e400}'))


# --- unknown enum values: read as unknown, reported ----------------------------------------


def test_unknown_image_state_is_reported_not_silent() -> None:
    body = {"image": {"id": "i1", "url": "http://x/1.jpg", "state": "queued"}}
    api = client(raw(json.dumps(body)))
    image = api.get_image("7", "i1")
    assert image.state is ImageState.IN_PROGRESS  # nothing is published on it
    [problem] = api.problems.current()
    assert problem.request == "GET /listings/7/images/i1"
    assert problem.field == "image.state"
    assert "'queued'" in problem.message
    assert not problem.skipped


def test_unknown_market_state_is_reported_and_clears_when_the_answer_is_normal() -> None:
    answers = [
        listing(7, status={"marketState": "SOLD_SOON", "allowedMarketStates": ["X", "TEASED"]}),
        listing(7),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"listing": answers.pop(0)})

    api = client(handler)
    odd = api.get_listing("7")
    assert odd.market_state is None
    assert {m.name for m in odd.allowed_market_states} == {"TEASED"}
    fields = sorted(p.field for p in api.problems.current())
    assert fields == [
        "listing.publicationStatus.allowedMarketStates[0]",
        "listing.publicationStatus.marketState",
    ]
    api.get_listing("7")
    assert api.problems.current() == ()


# --- lists: one bad item --------------------------------------------------------------------


def listings_answer(items: list[Any]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        page = items[offset : offset + 100]
        return httpx.Response(200, json={"listings": page, "total": len(items)})

    return handler


def test_one_malformed_listing_is_left_out_and_reported_the_others_are_used() -> None:
    bad = listing(2, status={"isPublished": "false"})
    api = client(listings_answer([listing(1), bad, listing(3), "junk"]))
    found = api.list_listings()
    assert [r.hemnet_id for r in found] == ["1", "3"]
    assert found.left_out == frozenset({"2"})
    problems = {p.field: p for p in api.problems.current()}
    assert set(problems) == {"listings[id=2].publicationStatus.isPublished", "listings[3]"}
    assert all(p.skipped and p.request == "GET /listings" for p in problems.values())


def test_a_malformed_listing_asked_for_by_external_id_fails_the_call() -> None:
    # "Not there" would let syncd create it again: a duplicate. So no leaving out here.
    api = client(listings_answer([listing(2, status={"isPublished": "false"})]))
    err = unreadable(lambda: api.list_listings(external_id="K2"))
    assert err.field == "listings[id=2].publicationStatus.isPublished"


def test_a_malformed_image_in_the_list_fails_the_listing_call_naming_it() -> None:
    images = [
        {"id": "i1", "url": "http://x/1.jpg", "state": "completed", "position": 0},
        {"id": "i2", "url": "http://x/2.jpg", "state": "completed", "position": "two"},
    ]
    api = client(raw(json.dumps({"images": images, "total": 2})))
    assert unreadable(lambda: api.list_images("7")).field == "images[id=i2].position"


def test_a_page_total_that_is_not_a_count_is_unreadable() -> None:
    api = client(raw(json.dumps({"listings": [listing(1)], "total": "many"})))
    assert unreadable(api.list_listings).field == "total"


# --- paging against a misbehaving server -----------------------------------------------------


def test_server_ignoring_offset_without_total_ends_at_the_first_repeat() -> None:
    calls: list[str] = []
    page = [listing(n) for n in range(100)]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["offset"])
        return httpx.Response(200, json={"listings": page})  # offset ignored, no total

    err = unreadable(client(handler).list_listings)
    assert err.field == "offset"
    assert "repeats" in str(err)
    assert calls == ["0", "100"]


def test_inconsistent_total_returns_no_duplicates() -> None:
    # Pages overlap (the server shifts its window by 50) and the total is too high.
    items = [listing(n) for n in range(150)]
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        offset = int(request.url.params["offset"])
        start = max(0, offset - 50)
        return httpx.Response(200, json={"listings": items[start : start + 100], "total": 1000})

    found = client(handler).list_listings()
    ids = [r.hemnet_id for r in found]
    assert len(ids) == len(set(ids)) == 150
    assert calls <= 4


def changing_list(
    items: list[dict[str, Any]], change: Callable[[int], None]
) -> tuple[Handler, list[int]]:
    """Pages of ``items`` by offset, ``change(n)`` run before the n-th page (1-based) is
    answered; the offsets asked for beside it."""
    offsets: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        offsets.append(offset)
        change(len(offsets))
        page = items[offset : offset + 100]
        return httpx.Response(200, json={"listings": page, "total": len(items)})

    return handler, offsets


def test_a_listing_leaving_the_list_while_it_is_read_skips_no_other() -> None:
    # Listing 5 moves to another account after the first page is read: every later one
    # moves a place forward, and listing 100 (first of the second page) onto the first.
    items = [listing(n) for n in range(150)]

    def move_one_away(page: int) -> None:
        if page == 2:
            del items[5]

    handler, offsets = changing_list(items, move_one_away)

    found = client(handler).list_listings()
    ids = {r.hemnet_id for r in found}
    assert {str(n) for n in range(150) if n != 5} <= ids  # 100 is not skipped
    assert len(found) == len(ids)  # nothing read twice is returned twice
    assert offsets == [0, 100, 0, 100]


def test_a_list_that_keeps_shrinking_fails_naming_it() -> None:
    items = [listing(n) for n in range(1000)]

    def one_leaves(_page: int) -> None:
        del items[0]  # before every page

    handler, _ = changing_list(items, one_leaves)

    err = unreadable(client(handler).list_listings)
    assert err.field == "total"
    assert "kept shrinking" in str(err)


def test_a_list_growing_while_it_is_read_is_not_read_again() -> None:
    # A listing created meanwhile (by syncd itself, say) skips nothing: no second reading.
    items = [listing(n) for n in range(150)]

    def one_created(page: int) -> None:
        if page == 2:
            items.append(listing(150))

    handler, offsets = changing_list(items, one_created)

    found = client(handler).list_listings()
    assert len(found) == 151
    assert offsets == [0, 100]


def test_a_list_that_never_ends_is_cut_off_at_max_pages() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        offset = int(request.url.params["offset"])
        fresh = [listing(offset + n) for n in range(100)]  # always new ids, never a total
        return httpx.Response(200, json={"listings": fresh})

    err = unreadable(client(handler, max_pages=5).list_listings)
    assert err.field == "offset"
    assert "5 pages" in str(err)
    assert calls == 5


def test_list_keys_reads_every_page() -> None:
    keys = [{"id": f"k{n}", "name": f"key {n}"} for n in range(130)]
    offsets: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        offsets.append(str(offset))
        return httpx.Response(200, json={"keys": keys[offset : offset + 100], "total": 130})

    found = client(handler).list_keys()
    assert [k.key_id for k in found] == [f"k{n}" for n in range(130)]
    assert offsets == ["0", "100"]


# --- 401 and 403 ----------------------------------------------------------------------------


def test_403_does_not_renew_the_key_and_fails_that_call_only() -> None:
    renewals: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/listings/9"):
            return httpx.Response(
                403, json={"errors": [{"type": "AuthorizationError", "message": "not yours"}]}
            )
        return httpx.Response(200, json={"listing": listing(8)})

    def renew() -> bool:
        renewals.append(1)
        return True

    api = client(handler, on_auth_failure=renew)
    with pytest.raises(ForbiddenApiError) as info:
        api.get_listing("9")
    assert not isinstance(info.value, AuthenticationApiError)
    assert info.value.context.status == 403
    assert renewals == []
    assert api.get_listing("8").hemnet_id == "8"


# --- reported as an alert -------------------------------------------------------------------


def test_what_was_left_out_or_unknown_becomes_an_alert_until_the_answer_is_normal() -> None:
    answers = [
        [listing(1, status={"marketState": "AUCTION"}), listing(2, status={"isPublished": 0})],
        [listing(1), listing(2)],
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"listings": answers.pop(0), "total": 2})

    api = client(handler)
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    settings = AlertsConfig()

    def alerts() -> list[Alert]:
        facts = AlertFacts(
            watching_since=now,
            last_export_at=now,
            answer_problems=api.problems.current(),
        )
        return alerts_for(facts, settings, now)

    assert [r.hemnet_id for r in api.list_listings()] == ["1"]
    said = {a.key: a.message for a in alerts()}
    assert set(said) == {
        "answer:GET /listings:listings[id=1].publicationStatus.marketState",
        "answer:GET /listings:listings[id=2].publicationStatus.isPublished",
    }
    assert all("docs/troubleshooting.md" in m for m in said.values())
    assert any("'AUCTION'" in m and "read as unknown" in m for m in said.values())
    assert any("left out" in m for m in said.values())
    assert len(api.list_listings()) == 2
    assert alerts() == []


def test_answer_problems_are_bounded_and_expire_when_not_seen_again() -> None:
    now = [0.0]
    board = AnswerProblems(limit=2, max_age_s=100, clock=lambda: now[0])
    for n in range(3):
        board.answered(f"GET /listings/{n}", (AnswerProblem(f"GET /listings/{n}", "f", "odd"),))
        now[0] += 10
    # The least recently answered request made way for the third.
    assert [p.request for p in board.current()] == ["GET /listings/1", "GET /listings/2"]
    now[0] = 115  # request 1 last answered at 10: more than 100 s ago
    assert [p.request for p in board.current()] == ["GET /listings/2"]
    board.answered("GET /listings/2", ())  # answered normally: cleared at once
    assert board.current() == ()
