"""The sandbox as a real process at its doors: bodies refused while they stream, media
types, Allow on 405, impossible dates, quiet client disconnects, and every answer checked
against its own OpenAPI document by schemathesis."""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from syncd.sandbox import wire
from syncd.sandbox.api import ENDPOINTS
from tests.system.support import SandboxProcess, need_syncd, wait_for

TOKEN = "doors-token-without-a-dot"
FLOOD_BYTES = 50 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    need_syncd()
    log = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    made = SandboxProcess("--image-delay", "0", log=log)
    try:
        made.start(TOKEN)
        yield made
    finally:
        made.stop()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def _read_answer(sock: socket.socket) -> bytes:
    """One whole HTTP answer (headers, then Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _agency(sandbox: SandboxProcess) -> str:
    body = {"brokerAgency": {"name": "D"}}
    made = httpx.post(sandbox.base_url + "/broker_agencies", headers=sandbox.auth, json=body)
    assert made.status_code == 201, made.text
    agency_id: str = made.json()["brokerAgency"]["id"]
    return agency_id


def test_a_50_mb_body_is_refused_with_413_while_it_streams(sandbox: SandboxProcess) -> None:
    assert sandbox.process is not None
    pid = sandbox.process.pid
    before = peak = _rss_kb(pid)
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=30) as sock:
        sock.sendall(
            f"POST /v1/broker_agencies HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        framed = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        sent = 0
        while sent < FLOOD_BYTES and not select.select([sock], [], [], 0)[0]:
            sock.sendall(framed)
            sent += len(CHUNK)
            if sent % (16 * len(CHUNK)) == 0:
                peak = max(peak, _rss_kb(pid))
        answer = _read_answer(sock)
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"413"
    assert wire.PAYLOAD_TOO_LARGE_ERROR.encode() in answer
    assert sent < FLOOD_BYTES // 4, f"answered only after {sent} bytes"
    assert peak - before < 20 * 1024, f"RSS grew by {peak - before} KiB"
    declared = httpx.post(
        sandbox.base_url + "/broker_agencies",
        headers=sandbox.auth,
        json={"brokerAgency": {"name": "x" * (wire.MAX_BODY_BYTES + 1)}},
    )
    assert declared.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_415(
    sandbox: SandboxProcess, content_type: str | None
) -> None:
    headers = {**sandbox.auth, **({"Content-Type": content_type} if content_type else {})}
    body = b'{"brokerAgency": {"name": "Plain"}}'
    response = httpx.post(sandbox.base_url + "/broker_agencies", headers=headers, content=body)
    assert response.status_code == 415
    assert response.json()["errors"][0]["type"] == wire.UNSUPPORTED_MEDIA_TYPE_ERROR
    with_charset = {**sandbox.auth, "Content-Type": "application/json; charset=utf-8"}
    fine = httpx.post(sandbox.base_url + "/broker_agencies", headers=with_charset, content=body)
    assert fine.status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/listings", "GET, HEAD, POST"),
        ("PUT", "/listings/1", "GET, HEAD, PATCH"),
        ("POST", "/keys/1", "DELETE, GET, HEAD"),
    ],
)
def test_405_names_the_allowed_methods(
    sandbox: SandboxProcess, method: str, path: str, allowed: str
) -> None:
    response = httpx.request(method, sandbox.base_url + path, headers=sandbox.auth)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/listings", {"viewings": [{"startsAt": "2024-99-99T99:99"}]}, "viewings[0].startsAt"),
        ("/listings", {"viewings": [{"startsAt": "2026-02-30T10:00"}]}, "viewings[0].startsAt"),
        (
            "/listings",
            {"viewings": [{"startsAt": "2026-03-01T10:00", "endsAt": "2026-03-01T25:00"}]},
            "viewings[0].endsAt",
        ),
        ("sale", {"contractDate": "2026-02-30"}, "contractDate"),
        ("sale", {"contractDate": "2024-13-01"}, "contractDate"),
    ],
)
def test_impossible_dates_are_400_naming_the_field(
    sandbox: SandboxProcess, path: str, body: dict[str, Any], field: str
) -> None:
    agency_id = _agency(sandbox)
    if path == "sale":
        made = httpx.post(
            sandbox.base_url + "/listings",
            headers=sandbox.auth,
            json={"listing": {"brokerAgencyId": agency_id}},
        )
        listing_id = made.json()["listing"]["id"]
        url = f"{sandbox.base_url}/listings/{listing_id}/sale"
        payload = {"sale": {"price": 1_000_000, "isPricePublic": True, **body}}
        expected_field = f"sale.{field}"
    else:
        url = sandbox.base_url + path
        payload = {"listing": {"brokerAgencyId": agency_id, **body}}
        expected_field = f"listing.{field}"
    response = httpx.post(url, headers=sandbox.auth, json=payload)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["type"] == wire.VALIDATION_ERROR
    assert error["field"] == expected_field
    assert "real" in error["message"]


def test_a_client_that_goes_away_mid_body_is_one_quiet_line(sandbox: SandboxProcess) -> None:
    before = sandbox.text().count("client disconnected")
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as sock:
        sock.sendall(
            f"POST /v1/broker_agencies HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            'Content-Length: 1000\r\n\r\n{"brokerAgency"'.encode()
        )
    wait_for(
        lambda: sandbox.text().count("client disconnected") > before, 10, "the disconnect line"
    )
    assert "Traceback" not in sandbox.text()
    assert "ERROR" not in sandbox.text()
    assert sandbox.log is not None, "the sandbox was started without a log"
    assert os.path.getsize(sandbox.log) < 100_000  # no traceback per disconnect either


# --- every answer against the contract ----------------------------------------------------


@pytest.fixture(scope="module")
def records(sandbox: SandboxProcess) -> dict[str, str]:
    """Real records, so fuzzed path parameters reach the rules behind them, not only 404s."""
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth) as client:
        agency_id = client.post("/broker_agencies", json={"brokerAgency": {"name": "F"}}).json()
        agency = agency_id["brokerAgency"]["id"]
        made = client.post("/listings", json={"listing": {"brokerAgencyId": agency}}).json()
        listing = made["listing"]["id"]
        image = client.post(
            f"/listings/{listing}/images", json={"image": {"url": "https://img.example/a.png"}}
        ).json()["image"]["id"]
        sale_of = client.post("/listings", json={"listing": {"brokerAgencyId": agency}}).json()
        sale = client.post(
            f"/listings/{sale_of['listing']['id']}/sale",
            json={"sale": {"price": 1, "isPricePublic": False}},
        ).json()["sale"]["id"]
    return {"agency_id": agency, "listing_id": listing, "image_id": image, "sale_id": sale}


@pytest.mark.parametrize("operation", [f"{e.method} {e.path}" for e in ENDPOINTS])
def test_every_answer_fits_the_schema_it_declares(
    sandbox: SandboxProcess, records: dict[str, str], operation: str
) -> None:
    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{sandbox.port}/openapi.json")
    method, path = operation.split(" ", 1)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]

    @given(case=schema[path][method].as_strategy())
    @settings(
        max_examples=4,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        for name, value in records.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        case.call_and_validate(headers=sandbox.auth, checks=checks)

    check()


def test_the_openapi_declares_every_answer_body_and_error(sandbox: SandboxProcess) -> None:
    document = httpx.get(f"http://127.0.0.1:{sandbox.port}/openapi.json").json()
    for endpoint in ENDPOINTS:
        responses = document["paths"][endpoint.path][endpoint.method.lower()]["responses"]
        expected = {"400", "401", "403", "404", "405", "409", "413", "422", "429", "500", "503"}
        if endpoint.body is not None:
            expected.add("415")
        assert expected <= set(responses), (endpoint.method, endpoint.path)
        success = responses[str(endpoint.success)]
        if endpoint.success == 204:
            assert "content" not in success
            continue
        body = success["content"]["application/json"]["schema"]
        assert body["type"] == "object" and body["properties"], (endpoint.method, endpoint.path)
        assert body["additionalProperties"] is False
