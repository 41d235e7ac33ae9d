"""HemnetClient over httpx.MockTransport handler functions (no sockets)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date

import httpx
import pytest

from syncd.core.domain import ImageState, MarketState, SellerInformation
from syncd.core.errors import (
    ApiError,
    AuthenticationApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.hemnet import HemnetClient

BASE = "http://hemnet.test/v1"
TOKEN = "KEYID1234567890abcde.SECRET0987654321xyz"

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, token: str = TOKEN, **kwargs: object) -> HemnetClient:
    return HemnetClient(
        BASE,
        lambda: token,
        transport=httpx.MockTransport(handler),
        **kwargs,  # type: ignore[arg-type]
    )


def image_json(n: int) -> dict[str, object]:
    return {"id": f"img{n}", "url": f"http://cdn/{n}.jpg", "state": "completed", "position": n}


def paged_images(total: int, max_page: int = 100) -> Handler:
    """Hemnet's image list: 20 by default, ``limit`` honoured up to ``max_page``."""
    images = [image_json(n) for n in range(total)]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/listings/L1/images"
        limit = min(int(request.url.params.get("limit", 20)), max_page)
        offset = int(request.url.params.get("offset", 0))
        page = images[offset : offset + limit]
        return httpx.Response(
            200, json={"images": page, "total": total, "limit": limit, "offset": offset}
        )

    return handler


def test_default_page_holds_20_but_list_images_reads_all_25() -> None:
    handler = paged_images(25)
    default = handler(httpx.Request("GET", f"{BASE}/listings/L1/images"))
    assert len(default.json()["images"]) == 20
    images = client(handler).list_images("L1")
    assert [i.image_id for i in images] == [f"img{n}" for n in range(25)]
    assert images[0].state is ImageState.COMPLETED


def test_list_images_follows_offsets_when_hemnet_caps_the_page() -> None:
    seen: list[str] = []
    inner = paged_images(25, max_page=10)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["offset"])
        return inner(request)

    assert len(client(handler).list_images("L1", limit=100)) == 25
    assert seen == ["0", "10", "20"]


def test_paging_without_total_stops_at_a_short_page() -> None:
    listings = [{"id": str(n), "externalId": f"K{n}"} for n in range(7)]
    calls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"listings": listings[offset : offset + limit]})

    found = client(handler).list_listings()
    assert len(found) == 7
    assert len(calls) == 1


def test_list_listings_filters_by_external_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["externalId"] == "A12"
        listing = {"id": "5", "externalId": "A12", "isVisible": True}
        return httpx.Response(200, json={"listings": [listing], "total": 1})

    (found,) = client(handler).list_listings(external_id="A12")
    assert found.hemnet_id == "5" and found.is_visible


def test_token_is_asked_for_on_every_request() -> None:
    tokens = iter(["first.key", "second.key"])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"keys": []})

    api = HemnetClient(BASE, lambda: next(tokens), transport=httpx.MockTransport(handler))
    api.list_keys()
    api.list_keys()
    assert seen == ["Bearer first.key", "Bearer second.key"]


def test_a_401_is_retried_once_after_the_key_was_renewed() -> None:
    state: dict[str, str] = {"token": "old.key"}
    renewals: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer old.key":
            return httpx.Response(401, json={"errors": [{"type": "AuthenticationError"}]})
        return httpx.Response(200, json={"keys": [{"id": "k2", "name": "new"}]})

    def renew() -> bool:
        renewals.append(1)
        state["token"] = "new.key"
        return True

    api = HemnetClient(
        BASE,
        lambda: state["token"],
        transport=httpx.MockTransport(handler),
        on_auth_failure=renew,
    )
    assert [k.key_id for k in api.list_keys()] == ["k2"]
    assert renewals == [1]


def test_a_401_without_a_new_key_raises_and_is_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401, json={"errors": [{"type": "AuthenticationError"}]})

    with pytest.raises(AuthenticationApiError):
        client(handler, on_auth_failure=lambda: False).list_keys()
    assert len(calls) == 1


def test_the_client_never_retries_faults_itself() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, headers={"Retry-After": "2"})

    with pytest.raises(RetryableApiError) as info:
        client(handler).get_listing("L1")
    assert info.value.retry_after_s == 2.0
    assert len(calls) == 1


def test_token_never_appears_in_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # A worst case: Hemnet echoing the header it was sent.
        echoed = request.headers["Authorization"]
        return httpx.Response(
            401, json={"errors": [{"type": "AuthenticationError", "message": echoed}]}
        )

    api = client(handler)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApiError) as info:
        api.get_key("k1")
    err = info.value
    texts = [str(err), repr(err), repr(err.context), str(err.messages), repr(api), caplog.text]
    secret = TOKEN.split(".")[1]
    for text in texts:
        assert TOKEN not in text
        assert secret not in text


def test_token_not_in_transport_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(RetryableApiError) as info:
        client(handler).create_listing({"listing": {"externalId": "A12"}})
    assert info.value.outcome_unknown is True
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.context)


def test_connect_failure_is_not_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RetryableApiError) as info:
        client(handler).create_listing({"listing": {}})
    assert info.value.outcome_unknown is False


def test_observer_gets_template_status_and_latency() -> None:
    seen: list[tuple[str, str, int | None, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errors": [{"type": "NotFoundError"}]})

    api = client(handler, observer=lambda *args: seen.append(args))
    with pytest.raises(RemoteDriftError):
        api.get_image("L1", "I9")
    ((method, template, status, seconds),) = seen
    assert (method, template, status) == ("GET", "/listings/{listing_id}/images/{image_id}", 404)
    assert seconds >= 0


def test_a_broken_observer_does_not_fail_the_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"keys": []})

    def broken(*args: object) -> None:
        raise RuntimeError("metrics down")

    assert client(handler, observer=broken).list_keys() == []


def test_ids_are_quoted_into_paths() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path == b"/v1/listings/a%2Fb"
        return httpx.Response(200, json={"listing": {"id": "a/b"}})

    assert client(handler).get_listing("a/b").hemnet_id == "a/b"


def test_write_calls_send_wrapped_bodies() -> None:
    sent: list[tuple[str, str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        sent.append((request.method, request.url.path, body))
        path = request.url.path
        if path.endswith("/sale"):
            return httpx.Response(
                201,
                json={
                    "sale": {
                        "id": "s1",
                        "listingId": "L1",
                        "price": 5,
                        "isPricePublic": False,
                        "contractDate": "2026-11-20",
                    }
                },
            )
        if path.endswith("/seller_information"):
            return httpx.Response(204)
        return httpx.Response(200, json={"listing": {"id": "L1"}})

    api = client(handler)
    api.publish("L1")
    api.publish("L1", allowed_auto_approve=True)
    api.update_market_state("L1", MarketState.UPCOMING)
    sale = api.mark_sold("L1", 5, False, date(2026, 11, 20))
    api.put_seller_information("L1", SellerInformation("Sven"))
    assert sale.to_domain() is not None and sale.price == 5
    assert sent == [
        ("POST", "/v1/listings/L1/publish", None),
        ("POST", "/v1/listings/L1/publish", {"allowedAutoApprove": True}),
        ("POST", "/v1/listings/L1/update_market_state", {"marketState": "UPCOMING"}),
        (
            "POST",
            "/v1/listings/L1/sale",
            {"sale": {"price": 5, "isPricePublic": False, "contractDate": "2026-11-20"}},
        ),
        ("PUT", "/v1/listings/L1/seller_information", {"sellerInformation": {"name": "Sven"}}),
    ]


def test_rejection_reaches_the_caller_with_hemnet_messages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            422,
            json={
                "errors": [
                    {
                        "type": "ChecksError",
                        "message": "Required checks failed\n",
                        "checks": {"errors": [{"message": "No completed image.\n"}]},
                    }
                ],
                "requestId": "r-1",
            },
        )

    with pytest.raises(RejectedApiError) as info:
        client(handler).publish("L1")
    assert "No completed image." in info.value.messages
    assert info.value.context.request_id == "r-1"
    assert info.value.context.path == "/listings/L1/publish"


def test_unreadable_success_answer_of_a_write_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, text="<html>proxy</html>")

    with pytest.raises(RetryableApiError) as info:
        client(handler).add_image("L1", "http://cdn/1.jpg")
    assert info.value.outcome_unknown is True


def test_answer_without_the_expected_wrapper_is_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"something": {}})

    with pytest.raises(RetryableApiError, match="listing"):
        client(handler).get_listing("L1")


def test_missing_image_right_reads_as_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errors": [{"type": "NotFoundError"}]})

    assert client(handler).get_image_right("L1") is None


def test_a_create_answer_without_an_id_is_an_unknown_outcome() -> None:
    # The listing may well exist now: it must be settled by reading back, not re-sent.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"listing": {"externalId": "A12"}})

    with pytest.raises(RetryableApiError) as info:
        client(handler).create_listing({"listing": {"externalId": "A12"}})
    assert info.value.outcome_unknown is True
    assert info.value.context.method == "POST"
