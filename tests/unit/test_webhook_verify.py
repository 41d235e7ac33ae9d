"""Webhook verification: signatures over raw bytes, secret rotation, timestamp window."""

from __future__ import annotations

import hashlib
import hmac
import json

from syncd.runtime.webhook import event_listing, verify
from syncd.sandbox.lifecycle import Event
from syncd.sandbox.webhooks import event_body, sign

NOW_MS = 1_780_000_000_000
OLD = b"old-secret"
NEW = b"new-secret"
BODY = (
    b'{"type": "image", "action": "failed", "data": {"listingId": "17", "externalId": "A\\u003c1"}}'
)


def headers_for(body: bytes, *secrets: bytes, at_ms: int = NOW_MS) -> dict[str, str]:
    signature = ",".join(hmac.new(s, body, hashlib.sha256).hexdigest() for s in secrets)
    return {"X-Signature": signature, "X-Timestamp": str(at_ms), "User-Agent": "Hemnet API Client"}


def test_a_valid_signature_is_accepted() -> None:
    assert verify(BODY, headers_for(BODY, NEW), [NEW], NOW_MS)


def test_header_names_are_case_insensitive() -> None:
    lowered = {k.lower(): v for k, v in headers_for(BODY, NEW).items()}
    assert verify(BODY, lowered, [NEW], NOW_MS)


def test_a_rotated_pair_matches_either_secret_we_hold() -> None:
    pair = headers_for(BODY, OLD, NEW)
    assert "," in pair["X-Signature"]
    assert verify(BODY, pair, [NEW], NOW_MS)  # we already switched to the new secret
    assert verify(BODY, pair, [OLD], NOW_MS)  # we still hold only the old one
    assert verify(BODY, headers_for(BODY, NEW), [OLD, NEW], NOW_MS)  # both held, one sent


def test_a_signature_under_another_secret_is_refused() -> None:
    assert not verify(BODY, headers_for(BODY, b"someone-else"), [OLD, NEW], NOW_MS)


def test_a_tampered_body_is_refused() -> None:
    tampered = BODY.replace(b'"17"', b'"18"')
    assert not verify(tampered, headers_for(BODY, NEW), [NEW], NOW_MS)


def test_a_re_encoded_body_is_refused() -> None:
    # Same JSON meaning, other bytes: only the raw body as received verifies.
    reencoded = json.dumps(json.loads(BODY)).encode()
    assert reencoded != BODY
    assert not verify(reencoded, headers_for(BODY, NEW), [NEW], NOW_MS)


def test_a_stale_or_future_timestamp_is_refused() -> None:
    stale = headers_for(BODY, NEW, at_ms=NOW_MS - 301_000)
    future = headers_for(BODY, NEW, at_ms=NOW_MS + 301_000)
    edge = headers_for(BODY, NEW, at_ms=NOW_MS - 299_000)
    assert not verify(BODY, stale, [NEW], NOW_MS)
    assert not verify(BODY, future, [NEW], NOW_MS)
    assert verify(BODY, edge, [NEW], NOW_MS)
    assert verify(BODY, stale, [NEW], NOW_MS, window_s=600)


def test_missing_or_malformed_headers_are_refused() -> None:
    good = headers_for(BODY, NEW)
    assert not verify(BODY, {"X-Timestamp": good["X-Timestamp"]}, [NEW], NOW_MS)
    assert not verify(BODY, {"X-Signature": good["X-Signature"]}, [NEW], NOW_MS)
    assert not verify(BODY, {**good, "X-Timestamp": "yesterday"}, [NEW], NOW_MS)
    assert not verify(BODY, {**good, "X-Signature": ""}, [NEW], NOW_MS)
    assert not verify(BODY, good, [], NOW_MS)


def test_what_the_sandbox_sends_verifies() -> None:
    body = event_body(Event("listing", "visible", "42", "K&1"))
    headers = {"X-Signature": sign(body, ("old", "new")), "X-Timestamp": str(NOW_MS)}
    assert verify(body, headers, [b"new"], NOW_MS)
    assert event_listing(json.loads(body)) == ("42", "K&1")


def test_event_listing_reads_ids_of_every_event_type() -> None:
    assert event_listing(json.loads(BODY)) == ("17", "A<1")
    sale = {"type": "sale", "action": "created", "data": {"listingId": 9, "saleId": "s1"}}
    assert event_listing(sale) == ("9", None)
    assert event_listing({"type": "listing"}) == (None, None)
    assert event_listing({"data": ["not", "an", "object"]}) == (None, None)
    assert event_listing({"data": {"listingId": "", "externalId": {"x": 1}}}) == (None, None)
