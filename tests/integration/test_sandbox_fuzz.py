"""Property-based API test: schemathesis drives every /v1 route from the sandbox's own
/openapi.json and no request, valid or not, may produce a 5xx (faults off)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from syncd.sandbox.api import ENDPOINTS
from syncd.sandbox.testing import SandboxHandle, serve_sandbox


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[SandboxHandle, dict[str, str]]]:
    # A token without "." gets a random key id, so a fuzzed DELETE /keys/{id} cannot hit it.
    with serve_sandbox(token="fuzz-token-without-a-dot", image_delay_s=0.0) as sb:
        with sb.client() as c:
            agency = c.post("/broker_agencies", json={"brokerAgency": {"name": "Fuzz"}}).json()
            agency_id = agency["brokerAgency"]["id"]
            listing = c.post("/listings", json={"listing": {"brokerAgencyId": agency_id}}).json()
            image = c.post(
                f"/listings/{listing['listing']['id']}/images",
                json={"image": {"url": "https://img.example/a.png"}},
            ).json()
        ids = {
            "agency_id": agency_id,
            "listing_id": listing["listing"]["id"],
            "image_id": image["image"]["id"],
        }
        yield sb, ids


def _operations() -> list[str]:
    # Collected from the app's endpoint table so each route is its own test case.
    return [f"{e.method} {e.path}" for e in ENDPOINTS]


@pytest.mark.parametrize("operation", _operations())
def test_no_route_answers_5xx(operation: str, fuzzed: tuple[SandboxHandle, dict[str, str]]) -> None:
    # schemathesis's pytest plugin does not run under this pytest, so its strategies drive
    # Hypothesis directly; the check is the same not_a_server_error.
    sb, ids = fuzzed
    schema = schemathesis.openapi.from_url(sb.root_url + "/openapi.json")
    method, path = operation.split(" ", 1)
    api_operation = schema[path][method]

    @given(case=api_operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        # Point path parameters at real records so the rules behind them run, not only 404s.
        for name, value in ids.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        case.call_and_validate(headers=sb.auth, checks=[not_a_server_error])

    before = sb.stats()["total"]
    check()
    assert sb.stats()["total"] - before >= 10  # the fuzz really reached the sandbox


def test_openapi_describes_every_v1_route(
    fuzzed: tuple[SandboxHandle, dict[str, str]],
) -> None:
    sb, _ = fuzzed
    document = httpx.get(sb.root_url + "/openapi.json").json()
    operations = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert ("POST", "/listings/{listing_id}/publish") in operations
    assert ("GET", "/listings/{listing_id}/images/{image_id}") in operations
    assert operations == {(e.method, e.path) for e in ENDPOINTS}
    listing_body = document["paths"]["/listings"]["post"]["requestBody"]
    assert "housingForm" in str(listing_body)
