"""Every classification path of a Hemnet answer or transport failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from syncd.core.errors import (
    AuthenticationApiError,
    ForbiddenApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.hemnet.budget import BACKOFF_CAP_S, Backoff
from syncd.hemnet.classify import classify, from_transport_error, retry_after_s, scrub


def envelope(*errors: dict[str, object], request_id: str = "req-1") -> bytes:
    return json.dumps({"errors": list(errors), "requestId": request_id}).encode()


@pytest.mark.parametrize("status", [200, 201, 204])
def test_success_is_no_error(status: int) -> None:
    assert classify("GET", "/keys", status, {}, b"{}") is None


def test_rate_limit_is_retryable_with_retry_after_seconds() -> None:
    body = envelope({"type": "RateLimitError", "message": "slow down\n"})
    err = classify("POST", "/listings", 429, {"Retry-After": "7"}, body)
    assert isinstance(err, RetryableApiError)
    assert err.retry_after_s == 7.0
    assert err.outcome_unknown is False
    assert err.context.status == 429
    assert err.context.request_id == "req-1"
    assert err.messages == ["slow down"]


def test_retry_after_http_date_is_measured_against_the_answer_date() -> None:
    headers = {
        "Retry-After": "Fri, 27 Nov 2026 08:00:30 GMT",
        "Date": "Fri, 27 Nov 2026 08:00:00 GMT",
    }
    assert retry_after_s(headers) == 30.0
    assert retry_after_s({"Retry-After": "soon"}) is None
    assert retry_after_s({}) is None


def test_retry_after_http_date_without_date_header_is_measured_against_receipt() -> None:
    headers = {"Retry-After": "Fri, 27 Nov 2026 08:00:30 GMT"}
    received = datetime(2026, 11, 27, 8, 0, 10, tzinfo=UTC)
    assert retry_after_s(headers, received) == 20.0
    # Nothing to measure it against at all: no guess.
    assert retry_after_s(headers) is None
    err = classify("GET", "/keys", 503, headers, b"", received_at=received)
    assert isinstance(err, RetryableApiError)
    assert err.retry_after_s == 20.0


@pytest.mark.parametrize("value", ["1000000000", "1e400", "Fri, 27 Nov 2099 08:00:30 GMT", "901"])
def test_retry_after_is_capped_at_the_backoff_cap(value: str) -> None:
    headers = {"Retry-After": value, "Date": "Fri, 27 Nov 2026 08:00:00 GMT"}
    assert retry_after_s(headers) == BACKOFF_CAP_S == Backoff().cap_s
    err = classify("POST", "/listings", 429, headers, b"")
    assert isinstance(err, RetryableApiError)
    assert err.retry_after_s == BACKOFF_CAP_S


def test_retry_after_in_the_past_or_nonsense_waits_nothing_extra() -> None:
    past = {"Retry-After": "Fri, 27 Nov 2026 07:00:00 GMT", "Date": "Fri, 27 Nov 2026 08:00:00 GMT"}
    assert retry_after_s(past) == 0.0
    assert retry_after_s({"Retry-After": "-5"}) == 0.0
    assert retry_after_s({"Retry-After": "nan"}) is None


@pytest.mark.parametrize(
    ("method", "status", "unknown"),
    [("GET", 500, False), ("POST", 500, True), ("POST", 502, True), ("POST", 503, False)],
)
def test_faults_are_retryable_and_writes_may_have_happened(
    method: str, status: int, unknown: bool
) -> None:
    err = classify(method, "/listings", status, {"X-Request-Id": "hdr-9"}, b"oops")
    assert isinstance(err, RetryableApiError)
    assert err.outcome_unknown is unknown
    assert err.context.request_id == "hdr-9"  # taken from the header when the body has none
    assert err.context.body_excerpt == "oops"


@pytest.mark.parametrize("status", [400, 422])
def test_validation_is_rejected_with_trimmed_messages(status: int) -> None:
    body = envelope({"type": "ValidationError", "message": "askingPrice must be an integer\n"})
    err = classify("PATCH", "/listings/1", status, {}, body)
    assert isinstance(err, RejectedApiError)
    assert err.messages == ["askingPrice must be an integer"]
    assert err.error_types == ["ValidationError"]
    assert "askingPrice must be an integer" in str(err)


def test_validation_messages_name_the_field() -> None:
    body = envelope({"type": "ValidationError", "message": "must not be null", "field": "caption"})
    err = classify("PATCH", "/listings/1/images/2", 400, {}, body)
    assert isinstance(err, RejectedApiError)
    assert err.messages == ["caption: must not be null"]


def test_checks_error_carries_errors_and_warnings() -> None:
    body = envelope(
        {
            "type": "ChecksError",
            "message": "Required checks failed\n",
            "checks": {
                "errors": [{"message": "Apartment number must be specified for apartments.\n"}],
                "warnings": [{"message": "Listing has no description.\n"}],
            },
        }
    )
    err = classify("POST", "/listings/1/publish", 422, {}, body)
    assert isinstance(err, RejectedApiError)
    assert err.error_types == ["ChecksError"]
    assert "Apartment number must be specified for apartments." in err.messages
    assert err.warnings == ["Listing has no description."]


def test_transition_error_is_rejected() -> None:
    body = envelope({"type": "TransitionError", "message": "TEASED is not allowed\n"})
    err = classify("POST", "/listings/1/update_market_state", 422, {}, body)
    assert isinstance(err, RejectedApiError)
    assert err.error_types == ["TransitionError"]
    assert err.messages == ["TEASED is not allowed"]


@pytest.mark.parametrize("status", [404, 409])
def test_missing_or_conflicting_is_drift(status: int) -> None:
    err = classify("PATCH", "/listings/9", status, {}, envelope({"type": "NotFoundError"}))
    assert isinstance(err, RemoteDriftError)
    assert err.context.path == "/listings/9"


def test_401_is_an_authentication_failure() -> None:
    err = classify("GET", "/keys", 401, {}, envelope({"type": "AuthenticationError"}))
    assert isinstance(err, AuthenticationApiError)


def test_403_is_forbidden_not_an_authentication_failure() -> None:
    # 401 says who syncd is (renew the key); 403 what it may touch (renewing cannot help).
    err = classify("GET", "/listings/9", 403, {}, envelope({"type": "AuthorizationError"}))
    assert isinstance(err, ForbiddenApiError)
    assert not isinstance(err, AuthenticationApiError)
    assert err.context.path == "/listings/9"


def test_unparseable_error_body_still_classifies_with_excerpt() -> None:
    err = classify("GET", "/keys", 400, {}, b"<html>" + b"x" * 1000)
    assert isinstance(err, RejectedApiError)
    assert err.context.body_excerpt is not None
    assert len(err.context.body_excerpt) <= 201
    assert err.messages == []


def test_op_is_carried() -> None:
    err = classify("POST", "/listings", 422, {}, b"{}", op="create_listing")
    assert err is not None
    assert err.context.op == "create_listing"


def test_bearer_values_and_identity_numbers_are_scrubbed() -> None:
    body = envelope(
        {"type": "ValidationError", "message": "identityNumber 19121212-1212 is not valid"},
        {"type": "AuthenticationError", "message": "Bearer abc.def rejected"},
    )
    err = classify("PUT", "/listings/1/seller_information", 400, {}, body)
    assert err is not None
    text = str(err) + repr(err) + (err.context.body_excerpt or "")
    assert "19121212-1212" not in text
    assert "abc.def" not in text
    assert scrub("ring 850101-1234 now") == "ring [redacted] now"


def request() -> httpx.Request:
    return httpx.Request("POST", "http://hemnet.test/v1/listings")


@pytest.mark.parametrize(
    ("exc", "sent", "unknown"),
    [
        (httpx.ConnectError("refused", request=request()), True, False),
        (httpx.ConnectTimeout("slow", request=request()), True, False),
        (httpx.PoolTimeout("pool", request=request()), True, False),
        (httpx.ReadTimeout("read", request=request()), False, True),
        (httpx.RemoteProtocolError("dropped", request=request()), False, True),
        (httpx.ReadError("reset", request=request()), False, True),
        (httpx.WriteError("broken pipe", request=request()), True, True),
        (httpx.WriteError("broken pipe", request=request()), False, False),
    ],
)
def test_transport_errors_are_retryable_and_know_whether_sent(
    exc: httpx.TransportError, sent: bool, unknown: bool
) -> None:
    err = from_transport_error(exc, "POST", "/listings", sent)
    assert isinstance(err, RetryableApiError)
    assert err.outcome_unknown is unknown
    assert err.context.method == "POST"
    assert err.context.status is None
    assert type(exc).__name__ in str(err)
