"""Sandbox fault injection, statistics, signed webhooks and persistence across a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from syncd.sandbox.testing import serve_sandbox


def _listing_body(c: httpx.Client, external_id: str) -> dict[str, Any]:
    agency = c.post("/broker_agencies", json={"brokerAgency": {"name": "A"}}).json()
    return {"listing": {"brokerAgencyId": agency["brokerAgency"]["id"], "externalId": external_id}}


def test_accept_then_drop_applies_the_write_but_the_client_sees_a_connection_error() -> None:
    with serve_sandbox() as sb, sb.client() as c:
        body = _listing_body(c, "DROP-1")
        sb.set_faults(fault_drop=1.0)
        with pytest.raises(httpx.TransportError):
            c.post("/listings", json=body)
        sb.set_faults(fault_drop=0.0)
        found = c.get("/listings", params={"externalId": "DROP-1"}).json()
        assert found["total"] == 1  # the write was applied
        assert sb.stats()["requests"]["POST /v1/listings dropped"] == 1


def test_injected_5xx_apply_to_v1_only_and_are_counted() -> None:
    with serve_sandbox(fault_503=1.0) as sb, sb.client() as c:
        r = c.get("/keys")
        assert r.status_code == 503
        assert r.json()["errors"][0]["type"] == "InternalError"
        assert r.headers["x-request-id"] == r.json()["requestId"]
        assert httpx.get(sb.root_url + "/openapi.json").status_code == 200
        assert sb.set_faults(fault_503=0.0, fault_500=1.0)["fault_500"] == 1.0
        assert c.get("/keys").status_code == 500
        sb.set_faults(fault_500=0.0, latency_ms=150)
        started = time.monotonic()
        assert c.get("/keys").status_code == 200
        assert time.monotonic() - started >= 0.15
        counts = sb.stats()["requests"]
        assert counts["GET /v1/keys 503"] == 1
        assert counts["GET /v1/keys 500"] == 1
        assert counts["GET /v1/keys 200"] == 1
        bad = httpx.put(sb.root_url + "/_sandbox/faults", json={"fault_500": 2})
        assert bad.status_code == 400


def test_admin_secret_guards_the_sandbox_routes() -> None:
    with serve_sandbox(admin_secret="s3cret") as sb:
        assert httpx.get(sb.root_url + "/_sandbox/stats").status_code == 401
        assert sb.stats()["total"] >= 1  # the handle sends the secret


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_webhooks_are_signed_with_both_secrets_during_rotation(
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = receiver
    with serve_sandbox(webhook_url=url, webhook_secrets=("old", "new")) as sb, sb.client() as c:
        listing = c.post("/listings", json=_listing_body(c, "HOOK&1")).json()["listing"]
        c.post(f"/listings/{listing['id']}/images", json={"image": {"url": "http://i/a.png"}})
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.02)
    assert received, "no webhook arrived"
    headers, raw = received[0]
    assert headers["User-Agent"] == "Hemnet API Client"
    assert headers["X-Timestamp"].isdigit()
    assert headers["X-Request-Id"]
    signatures = headers["X-Signature"].split(",")
    for secret, signature in zip(("old", "new"), signatures, strict=True):
        assert hmac.compare_digest(
            signature, hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        )
    assert b"\\u0026" in raw  # special characters arrive escaped, as Hemnet sends them
    event = json.loads(raw)
    assert (event["type"], event["action"]) == ("image", "completed")
    assert event["data"]["externalId"] == "HOOK&1"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    with serve_sandbox(state_file=state_file) as sb, sb.client() as c:
        listing = c.post("/listings", json=_listing_body(c, "KEEP-1")).json()["listing"]
        key = c.post("/keys", json={"key": {"name": "renewed"}}).json()["key"]
        seller = {"name": "Anna", "identityNumber": "19800101-1234"}
        c.put(f"/listings/{listing['id']}/seller_information", json={"sellerInformation": seller})
    saved = state_file.read_text()
    assert "KEEP-1" in saved
    assert "19800101-1234" not in saved
    assert key["token"] not in saved
    with serve_sandbox(state_file=state_file) as sb:
        headers = {"Authorization": f"Bearer {key['token']}"}
        again = httpx.get(f"{sb.base_url}/listings/{listing['id']}", headers=headers)
        assert again.status_code == 200
        assert again.json()["listing"]["externalId"] == "KEEP-1"
        assert list(tmp_path.iterdir()) == [state_file]  # no temporary files left behind
