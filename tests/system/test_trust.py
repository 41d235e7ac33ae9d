"""Trust in what syncd says about Hemnet, with the real daemon and a sandbox process:
adopting a listing Hemnet already has, duplicate images, a listing moved to another agency,
and sold listings that drift."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.system.test_daemon import (
    TOKEN,
    DaemonProcess,
    Notifications,
    drop,
    notifications,  # noqa: F401 - a fixture
    row,
    sandbox,  # noqa: F401 - a fixture
    start_daemon,  # noqa: F401 - a fixture
    status_of,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

AUTH = {"Authorization": f"Bearer {TOKEN}"}
AGENCY_NAME = "Test Mäkleri AB"  # the name write_config gives the default agency


class Hemnet:
    """The sandbox seen through its API, as another integration (or an operator) sees it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(
            method, f"{self.base_url}{path}", json=body, headers=AUTH, params=None
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def listings(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base_url}/listings", params={"limit": 100}, headers=AUTH)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["listings"]
        return found

    def by_key(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for item in self.listings():
            out.setdefault(item.get("externalId"), []).append(item)
        return out

    def images(self, listing_id: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.base_url}/listings/{listing_id}/images", params={"limit": 100}, headers=AUTH
        )
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["images"]
        return found

    def agency(self, name: str, external_id: str | None = None) -> str:
        body = {"brokerAgency": {"name": name, "externalId": external_id}}
        agency_id: str = self.call("POST", "/broker_agencies", body)["brokerAgency"]["id"]
        return agency_id

    def listing(self, agency_id: str, external_id: str, **fields: Any) -> str:
        body = {"listing": {"brokerAgencyId": agency_id, "externalId": external_id, **fields}}
        listing_id: str = self.call("POST", "/listings", body)["listing"]["id"]
        return listing_id

    def add_image(self, listing_id: str, url: str) -> str:
        image = self.call("POST", f"/listings/{listing_id}/images", {"image": {"url": url}})
        image_id: str = image["image"]["id"]
        return image_id


def events_of(database: Path, key: str) -> list[str]:
    with sqlite3.connect(database) as connection:
        found = connection.execute(
            "SELECT kind FROM events WHERE listing_key = ? ORDER BY id", (key,)
        ).fetchall()
    return [kind for (kind,) in found]


def stage(inbox: Path, key: str) -> str | None:
    found: str | None = status_of(inbox).get(key, {}).get("stage")
    return found


def show(config: Path, key: str) -> dict[str, Any]:
    result = syncd("--config", str(config), "show", key, "--json")
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


# --- item 4: a listing already on Hemnet is adopted, not duplicated --------------------------


def test_a_listing_already_on_hemnet_is_adopted_while_the_daemon_runs(
    tmp_path: Path,
    sandbox: str,  # noqa: F811
    notifications: Notifications,  # noqa: F811
    start_daemon: Callable[..., DaemonProcess],  # noqa: F811
) -> None:
    hemnet = Hemnet(sandbox)
    config = write_config(tmp_path, sandbox)
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config, NOTIFY_SOCKET=str(notifications.path))
    notifications.wait("READY=1", 30)
    drop(inbox, "export-1.csv", row("S1", 2_500_000, "Villa"))
    wait_for(lambda: stage(inbox, "S1") == "visible", 60, "S1 visible")

    # Another integration put A7 on Hemnet under the same agency before syncd heard of it.
    agency_id = hemnet.by_key()["S1"][0]["brokerAgencyId"]
    before = hemnet.listing(agency_id, "A7", title="Gammal rubrik", askingPrice=1_900_000)
    hemnet.add_image(before, "http://img.example/A7.jpg")
    drop(inbox, "export-2.csv", row("S1", 2_500_000, "Villa"), row("A7", 2_000_000, "Ny"))

    def converged() -> bool:
        a7 = hemnet.by_key().get("A7", [])
        return len(a7) == 1 and a7[0]["askingPrice"] == 2_000_000 and a7[0]["isVisible"]

    wait_for(converged, 60, "A7 updated and published on Hemnet")
    wait_for(lambda: stage(inbox, "A7") == "visible", 30, "A7 visible in status.json")
    by_key = hemnet.by_key()
    assert sorted(by_key) == ["A7", "S1"]
    assert [len(found) for found in by_key.values()] == [1, 1]  # one listing per key
    assert by_key["A7"][0]["id"] == before  # the one that was there, adopted
    assert by_key["A7"][0]["title"] == "Ny"
    assert len(hemnet.images(before)) == 1  # its image adopted, not uploaded again
    assert status_of(inbox)["A7"]["hemnet_id"] == before
    assert "adopted" in events_of(tmp_path / "state" / "syncd.db", "A7")
    assert "already on Hemnet as" in daemon.text()
    assert daemon.stop() == 0


def test_an_adoption_cut_short_by_a_crash_is_settled_by_the_next_run(
    tmp_path: Path,
    sandbox: str,  # noqa: F811
    start_daemon: Callable[..., DaemonProcess],  # noqa: F811
) -> None:
    hemnet = Hemnet(sandbox)
    agency_id = hemnet.agency(AGENCY_NAME, "default")
    before = hemnet.listing(agency_id, "A8", title="Gammal rubrik", askingPrice=1_900_000)
    hemnet.add_image(before, "http://img.example/A8.jpg")
    config = write_config(tmp_path, sandbox)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "export-1.csv", row("A8", 2_000_000, "Ny"))
    # Killed after the lookup found A8 and before the adoption was committed.
    crashed = start_daemon(config, SYNCD_CRASH_AT="create_listing:after_call")
    assert crashed.process.wait(timeout=60) == 137
    crashed.stop()

    daemon = start_daemon(config)
    wait_for(lambda: stage(inbox, "A8") == "visible", 60, "A8 visible in status.json")
    found = hemnet.by_key()["A8"]
    assert [item["id"] for item in found] == [before]  # adopted, never created
    assert found[0]["title"] == "Ny"
    assert len(hemnet.images(before)) == 1
    kinds = events_of(tmp_path / "state" / "syncd.db", "A8")
    assert kinds.count("adopted") == 1
    assert "settled" in kinds
    assert daemon.stop() == 0
