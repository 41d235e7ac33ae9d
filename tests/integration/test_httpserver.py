"""The daemon's HTTP endpoints over a real uvicorn server and a real state database."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncd.config import WEBHOOK_SECRETS_ENV, load_config
from syncd.runtime.httpserver import MAX_WEBHOOK_BYTES, HealthInfo, create_http_app, duration_text
from syncd.store.blocked import SendingBlocked, set_sending_blocked
from syncd.store.engine import Store
from syncd.store.listings import record_failure
from tests.fakes.status_listings import (
    EXPECTED_STAGES,
    IDENTITY_NUMBER,
    seed_listings,
    serve_http_app,
)

SECRET = "whsec-test-0001"


class Polls:
    """A fake poller: records the listing keys webhooks asked to poll."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.called = threading.Event()

    def __call__(self, key: str) -> None:
        self.keys.append(key)
        self.called.set()


class Health:
    def __init__(self, info: HealthInfo) -> None:
        self.info = info

    def __call__(self) -> HealthInfo:
        return self.info


@pytest.fixture
def polls() -> Polls:
    return Polls()


@pytest.fixture
def health(now: datetime) -> Health:
    return Health(HealthInfo(ready=True, last_successful_sync_at=now - timedelta(seconds=42)))


@pytest.fixture
def server(
    store: Store,
    config_file: Path,
    now: datetime,
    polls: Polls,
    health: Health,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    monkeypatch.setenv(WEBHOOK_SECRETS_ENV, f"old-secret,{SECRET}")
    seed_listings(store, now)
    app = create_http_app(
        store, load_config(config_file), poll_listing=polls, health=health, clock=lambda: now
    )
    with serve_http_app(app) as url:
        yield url


def _signed(body: bytes, now: datetime, secret: str = SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Signature": signature,
        "X-Timestamp": str(int(now.timestamp() * 1000)),
        "Content-Type": "application/json",
    }


def _event(listing_id: str | None, external_id: str | None) -> bytes:
    data = {"listingId": listing_id, "externalId": external_id}
    return json.dumps({"type": "image", "action": "completed", "data": data}).encode()


# --- status page ---------------------------------------------------------------------------


def test_status_page_lists_every_listing_with_its_stage(server: str) -> None:
    response = httpx.get(server + "/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for key, stage in EXPECTED_STAGES.items():
        assert f'href="/listing/{key}"' in page
        assert f'data-stage="{stage.value}"' in page
    assert 'href="https://portal.example/listings/H7/approve"' in page
    assert "1 d 6 h" in page  # A07 has waited 30 hours for approval
    assert "last sync 42 s ago" in page
    assert " hidden" not in page.split("<tbody>")[1].split("</tbody>")[0]


def test_status_page_puts_listings_needing_the_operator_first(server: str) -> None:
    page = httpx.get(server + "/").text
    failed, visible = page.index('data-stage="failed"'), page.index('data-stage="visible"')
    assert failed < visible


def test_status_page_filters_by_stage_and_text_without_script(server: str) -> None:
    page = httpx.get(server + "/", params={"stage": "failed"}).text
    body = page.split("<tbody>")[1]
    assert 'data-stage="failed">' not in body  # the matching row is not hidden
    assert body.count(" hidden") == len(EXPECTED_STAGES) - 1
    page = httpx.get(server + "/", params={"q": "göteborg"}).text
    body = page.split("<tbody>")[1]
    assert body.count(" hidden") == len(EXPECTED_STAGES) - 3  # A03, A07, A09


def test_crm_text_is_escaped_on_the_page(server: str, store: Store, now: datetime) -> None:
    with store.transaction() as session:
        record_failure(session, "A06", "<script>alert(1)</script> refused", now, None)
    page = httpx.get(server + "/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; refused" in page


def test_listing_page_shows_history_last_error_and_remedy(server: str) -> None:
    response = httpx.get(server + "/listing/A10")
    assert response.status_code == 200
    assert "livingArea: too large" in response.text
    assert "correct the listing in the CRM and export it again" in response.text
    assert "HTTP 422" in response.text
    images = httpx.get(server + "/listing/A04").text
    assert "image could not be decoded (not a JPEG)" in images


def test_listing_page_as_json_hides_the_identity_number(server: str) -> None:
    response = httpx.get(server + "/listing/A07", params={"format": "json"})
    assert response.status_code == 200
    data = response.json()
    assert data["status"]["stage"] == "awaiting_approval"
    assert data["desired"]["seller"]["name"] == "Sven Svensson"
    assert IDENTITY_NUMBER not in response.text
    assert [h["kind"] for h in data["history"]] != []


def test_unknown_listing_is_404(server: str) -> None:
    response = httpx.get(server + "/listing/NOPE")
    assert response.status_code == 404
    assert "NOPE" in response.text


# --- health and metrics --------------------------------------------------------------------


def test_healthz_is_200_when_ready_with_the_sync_age(server: str) -> None:
    response = httpx.get(server + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["last_successful_sync_age_s"] == 42


def test_healthz_is_503_when_not_ready(server: str, health: Health) -> None:
    health.info = HealthInfo(ready=False, detail="database not at head")
    response = httpx.get(server + "/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "last_successful_sync_at": None,
        "last_successful_sync_age_s": None,
        "detail": "database not at head",
    }


def test_metrics_parse_and_carry_stage_gauges(server: str) -> None:
    response = httpx.get(server + "/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    listings = {s.labels["stage"]: s.value for s in families["syncd_listings"].samples}
    assert listings["visible"] == 1
    assert listings["awaiting_approval"] == 1
    assert sum(listings.values()) == len(EXPECTED_STAGES)
    oldest = families["syncd_oldest_awaiting_approval_seconds"].samples[0].value
    assert oldest == timedelta(hours=30).total_seconds()


# --- webhook -------------------------------------------------------------------------------


def test_signed_webhook_schedules_a_poll_of_its_listing(
    server: str, now: datetime, polls: Polls
) -> None:
    body = _event("H3", "A03")
    response = httpx.post(server + "/webhook", content=body, headers=_signed(body, now))
    assert response.status_code == 202
    assert response.json() == {"accepted": True, "listing_key": "A03"}
    assert polls.called.wait(5)
    assert polls.keys == ["A03"]


def test_webhook_without_external_id_is_found_by_hemnet_id(
    server: str, now: datetime, polls: Polls
) -> None:
    body = _event("H7", None)
    response = httpx.post(server + "/webhook", content=body, headers=_signed(body, now))
    assert response.status_code == 202
    assert polls.called.wait(5)
    assert polls.keys == ["A07"]


def test_webhook_signed_with_the_old_secret_still_verifies(
    server: str, now: datetime, polls: Polls
) -> None:
    body = _event("H8", "A08")
    headers = _signed(body, now, "old-secret")
    assert httpx.post(server + "/webhook", content=body, headers=headers).status_code == 202
    assert polls.called.wait(5)


@pytest.mark.parametrize(
    "tamper",
    ["wrong-secret", "changed-body", "stale", "no-signature"],
)
def test_unverified_webhook_is_401_and_polls_nothing(
    server: str, now: datetime, polls: Polls, tamper: str
) -> None:
    body = _event("H3", "A03")
    headers = _signed(body, now, "wrong" if tamper == "wrong-secret" else SECRET)
    if tamper == "changed-body":
        body = _event("H4", "A04")
    if tamper == "stale":
        headers["X-Timestamp"] = str(int((now - timedelta(hours=1)).timestamp() * 1000))
    if tamper == "no-signature":
        del headers["X-Signature"]
    response = httpx.post(server + "/webhook", content=body, headers=headers)
    assert response.status_code == 401
    assert not polls.called.wait(0.2)


def test_webhook_for_a_listing_not_here_is_accepted_without_a_poll(
    server: str, now: datetime, polls: Polls
) -> None:
    body = _event("H999", "ZZZ")
    response = httpx.post(server + "/webhook", content=body, headers=_signed(body, now))
    assert response.status_code == 202
    assert response.json()["listing_key"] is None
    assert not polls.called.wait(0.2)


def test_signed_webhook_that_is_not_json_is_400(server: str, now: datetime) -> None:
    body = b"not json"
    response = httpx.post(server + "/webhook", content=body, headers=_signed(body, now))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000, b"[1, 2]"],
    ids=["nested-arrays", "nested-objects", "not-an-object"],
)
def test_signed_webhook_nested_too_deep_or_not_an_object_is_400(
    server: str, now: datetime, polls: Polls, body: bytes
) -> None:
    body = body[:MAX_WEBHOOK_BYTES]  # the nesting must pass the size check to reach the parser
    response = httpx.post(server + "/webhook", content=body, headers=_signed(body, now))
    assert response.status_code == 400
    assert not polls.called.wait(0.2)


def test_signed_webhook_over_the_limit_is_413(server: str, now: datetime) -> None:
    body = b" " * (MAX_WEBHOOK_BYTES + 1)

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to refuse it by
        yield body[: MAX_WEBHOOK_BYTES // 2]
        yield body[MAX_WEBHOOK_BYTES // 2 :]

    response = httpx.post(server + "/webhook", content=chunks(), headers=_signed(body, now))
    assert response.status_code == 413
    declared = httpx.post(server + "/webhook", content=body, headers=_signed(body, now))
    assert declared.status_code == 413


@pytest.mark.parametrize("signature", ["", "zz" * 32, "ab" * 31, "ab" * 32 + ",nothex"])
def test_webhook_with_a_malformed_signature_header_is_401(
    server: str, now: datetime, signature: str
) -> None:
    body = _event("H3", "A03")
    headers = {**_signed(body, now), "X-Signature": signature}
    assert httpx.post(server + "/webhook", content=body, headers=headers).status_code == 401


def test_webhook_without_configured_secrets_is_refused(
    store: Store, config_file: Path, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WEBHOOK_SECRETS_ENV, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    polls = Polls()
    app = create_http_app(
        store,
        load_config(config_file),
        poll_listing=polls,
        health=lambda: HealthInfo(ready=True),
        clock=lambda: now,
    )
    with serve_http_app(app) as url:
        body = _event("H3", "A03")
        response = httpx.post(url + "/webhook", content=body, headers=_signed(body, now))
    assert response.status_code == 401
    assert polls.keys == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5 s"),
        (600, "10 min"),
        (3 * 3600, "3 h"),
        (3 * 3600 + 60, "3 h 1 min"),
        (90000, "1 d 1 h"),
    ],
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


# --- holds, waiting changes and readiness ---------------------------------------------------


def test_a_hold_and_a_blocked_change_show_beside_the_stage(
    server: str, store: Store, now: datetime
) -> None:
    with store.transaction() as session:
        set_sending_blocked(
            session,
            SendingBlocked("Hemnet cannot be reached: refused", "wait", now - timedelta(minutes=5)),
        )
    page = httpx.get(server + "/").text
    start = page.index(">A11<")
    held_row = page[start : page.index("</tr>", start)]
    assert ">missing</span>" in held_row and ">held</span>" in held_row
    assert "its removal is held" in held_row
    assert "Hemnet cannot be reached: refused (since 2026-03-01 11:55 UTC)" in page
    assert "held" in httpx.get(server + "/", params={"q": "held"}).text
    detail = httpx.get(server + "/listing/A02", params={"format": "json"}).json()
    assert detail["not_sent"] == "Hemnet cannot be reached: refused (since 2026-03-01 11:55 UTC)"
    assert detail["sending_remedy"] == "wait"
    assert detail["status"]["next_action"] == "nothing can be sent now: wait"
    assert "Not sent:" in httpx.get(server + "/listing/A02").text


def test_metrics_carry_readiness_and_the_key_expiry(server: str, health: Health) -> None:
    def sample(name: str) -> float | None:
        text = httpx.get(server + "/metrics").text
        for family in text_string_to_metric_families(text):
            for found in family.samples:
                if found.name == name:
                    return float(found.value)
        return None

    assert sample("syncd_ready") == 1.0
    assert sample("syncd_hemnet_key_expiry_timestamp_seconds") is not None
    health.info = HealthInfo(ready=False, detail="Hemnet cannot be reached: …")
    assert sample("syncd_ready") == 0.0
