"""Trust in what syncd says about Hemnet, with the real daemon and a sandbox process:
adopting a listing Hemnet already has, duplicate images, a listing moved to another agency,
and sold listings that drift."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from syncd.store.engine import open_store
from syncd.store.location import Database
from syncd.store.tables import EventRow
from tests.crashing_syncd import CRASH_EXIT
from tests.system.support import (
    TOKEN,
    DaemonProcess,
    Notifications,
    drop,
    row,
    status_of,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

AUTH = {"Authorization": f"Bearer {TOKEN}"}
TOKEN_ENV = {"SYNCD_HEMNET_TOKEN": TOKEN}
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

    def by_key(self) -> dict[str | None, list[dict[str, Any]]]:
        """Hemnet's listings by externalId (None: a listing made without one)."""
        out: dict[str | None, list[dict[str, Any]]] = {}
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


def events_of(database: Database, key: str) -> list[str]:
    """The kinds of a listing's events, oldest first (the SQLite file or PostgreSQL URL)."""
    with open_store(database) as store, store.read() as session:
        found = session.scalars(
            select(EventRow.kind).where(EventRow.listing_key == key).order_by(EventRow.id)
        )
        return list(found)


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
    sandbox: str,
    notifications: Notifications,
    start_daemon: Callable[..., DaemonProcess],
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
    assert set(by_key) == {"A7", "S1"}
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
    sandbox: str,
    start_daemon: Callable[..., DaemonProcess],
    database: Database,
) -> None:
    hemnet = Hemnet(sandbox)
    agency_id = hemnet.agency(AGENCY_NAME, "default")
    before = hemnet.listing(agency_id, "A8", title="Gammal rubrik", askingPrice=1_900_000)
    hemnet.add_image(before, "http://img.example/A8.jpg")
    # On both engines: the SQLite file is the config's default, PostgreSQL named in [store].
    # There the restarted daemon takes its agency's lease over from the killed one, and
    # reads back the op in flight once the killed one's call is surely over: short leases.
    store = (
        f'\n[store]\nurl = "{database}"\n\n[fleet]\nlease_ttl_s = 6\nlease_renew_s = 1\n'
        "lease_margin_s = 2\n"
        if isinstance(database, str)
        else ""
    )
    config = write_config(tmp_path, sandbox, extra=store)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "export-1.csv", row("A8", 2_000_000, "Ny"))
    # Killed after the lookup found A8 and before the adoption was committed.
    crashed = start_daemon(config, crash_at="create_listing:after_call")
    assert crashed.process.wait(timeout=60) == CRASH_EXIT
    crashed.stop()

    daemon = start_daemon(config)
    wait_for(lambda: stage(inbox, "A8") == "visible", 60, "A8 visible in status.json")
    found = hemnet.by_key()["A8"]
    assert [item["id"] for item in found] == [before]  # adopted, never created
    assert found[0]["title"] == "Ny"
    assert len(hemnet.images(before)) == 1
    kinds = events_of(database, "A8")
    assert kinds.count("adopted") == 1
    assert "settled" in kinds
    assert daemon.stop() == 0


# --- exports with an agency and a sale; a daemon that reconciles every second ----------------

TRUST_HEADER = (
    "objektnummer;maklarbyra;status;gatuadress;postnummer;ort;kommun;utgangspris;boendeform;"
    "upplatelseform;rubrik;bild_1;slutpris;kontraktsdatum"
)


def crm_row(
    key: str,
    *,
    agency: str = "default",
    status: str = "till salu",
    price: int = 2_500_000,
    sale: tuple[int, str] | None = None,
) -> str:
    sold_price, sold_on = sale if sale else ("", "")
    return (
        f"{key};{agency};{status};Storgatan {key};11122;Stockholm;Stockholm;{price};villa;"
        f"äganderätt;Villa {key};http://img.example/{key}.jpg;{sold_price};{sold_on}"
    )


def crm_drop(inbox: Path, name: str, *rows: str) -> None:
    inbox.mkdir(exist_ok=True)
    temporary = inbox / f".{name}.part"
    temporary.write_text("\n".join((TRUST_HEADER, *rows)) + "\n", encoding="utf-8")
    temporary.rename(inbox / name)


def reconciling_config(tmp_path: Path, sandbox_url: str, interval_s: float = 1) -> Path:
    config = write_config(tmp_path, sandbox_url)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[sync]\n", f"[sync]\nreconcile_interval_s = {interval_s}\n", 1),
        encoding="utf-8",
    )
    return config


def hemnet_id_of(inbox: Path, key: str) -> str:
    found: str = wait_for(lambda: status_of(inbox).get(key, {}).get("hemnet_id"), 60, key)
    return found


def test_copies_of_an_image_on_hemnet_are_found_reported_and_deleted(
    tmp_path: Path,
    sandbox: str,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    hemnet = Hemnet(sandbox)
    config = reconciling_config(tmp_path, sandbox, interval_s=3600)
    inbox = tmp_path / "inbox"
    crm_drop(inbox, "export-1.csv", crm_row("D1"))
    daemon = start_daemon(config)
    wait_for(lambda: stage(inbox, "D1") == "visible", 60, "D1 visible")
    assert daemon.stop() == 0
    listing_id = hemnet_id_of(inbox, "D1")
    # What a second writer on the same state left behind: the same picture twice more,
    # and one the CRM never named.
    hemnet.add_image(listing_id, "http://img.example/D1.jpg")
    hemnet.add_image(listing_id, "http://img.example/D1.jpg")
    hemnet.add_image(listing_id, "http://img.example/stray.jpg")

    dry = syncd("--config", str(config), "reconcile", "--dry-run", env=TOKEN_ENV)
    assert dry.returncode == 0, dry.stderr
    assert "extra images on Hemnet: D1: Hemnet holds 4 image(s), the CRM wants 1" in dry.stdout
    assert "2 second copies of a source URL (would be deleted)" in dry.stdout
    assert len(hemnet.images(listing_id)) == 4  # a dry run changes nothing

    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "reconcile_interval_s = 3600", "reconcile_interval_s = 1"
        ),
        encoding="utf-8",
    )
    daemon = start_daemon(config)

    def one_image_left() -> bool:
        return [img["url"] for img in hemnet.images(listing_id)] == ["http://img.example/D1.jpg"]

    wait_for(one_image_left, 60, "the copies and the stray image deleted")
    record = wait_for(lambda: status_of(inbox).get("D1"), 10, "D1 in status.json")
    assert (record["images_completed"], record["images_total"]) == (1, 1)
    assert "duplicate_images" in events_of(tmp_path / "state" / "syncd.db", "D1")
    assert [item["id"] for item in hemnet.by_key()["D1"]] == [listing_id]
    assert daemon.stop() == 0


def test_a_listing_moved_to_another_agency_is_flagged_everywhere(
    tmp_path: Path,
    sandbox: str,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    hemnet = Hemnet(sandbox)
    config = reconciling_config(tmp_path, sandbox)
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config)
    crm_drop(inbox, "export-1.csv", crm_row("M1"), crm_row("M2"))
    hemnet_id_of(inbox, "M1")
    first_agency = hemnet.by_key()["M1"][0]["brokerAgencyId"]

    crm_drop(inbox, "export-2.csv", crm_row("M1", agency="byra-2"), crm_row("M2"))
    wait_for(lambda: stage(inbox, "M1") == "conflict", 30, "M1 shown as a conflict")
    record = status_of(inbox)["M1"]
    assert "moved to agency byra-2 in the CRM" in record["next_action"]
    wait_for(lambda: stage(inbox, "M2") == "visible", 60, "M2 visible")  # the other goes on
    assert daemon.stop() == 0

    shown = show(config, "M1")
    assert shown["known"]["in_step"] is False
    assert shown["status"]["stage"] == "conflict"
    text = syncd("--config", str(config), "show", "M1").stdout
    assert "in step with CRM      no" in text
    assert "Hemnet keeps it under default" in text
    plan = syncd("--config", str(config), "plan")
    assert "moved to agency byra-2" in plan.stdout, plan.stdout
    report = syncd("--config", str(config), "reconcile", "--dry-run", env=TOKEN_ENV)
    assert "conflicts (resolve by hand" in report.stdout
    assert "M1" in report.stdout
    # Hemnet does not let a listing change agency (ASSUMED): nothing was sent to move it.
    assert [item["brokerAgencyId"] for item in hemnet.by_key()["M1"]] == [first_agency]


def test_sold_listings_that_drift_are_found_and_shown_as_conflicts(
    tmp_path: Path,
    sandbox: str,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    hemnet = Hemnet(sandbox)
    config = reconciling_config(tmp_path, sandbox)
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config)
    crm_drop(inbox, "export-1.csv", crm_row("R1"), crm_row("C1"))
    wait_for(lambda: stage(inbox, "R1") == stage(inbox, "C1") == "visible", 60, "R1 and C1 visible")
    sold = {"status": "såld", "sale": (2_450_000, "2026-11-30")}
    crm_drop(inbox, "export-2.csv", crm_row("R1", **sold), crm_row("C1", **sold))  # type: ignore[arg-type]
    wait_for(lambda: stage(inbox, "R1") == stage(inbox, "C1") == "sold", 60, "R1 and C1 sold")

    # R1: someone republishes it on Hemnet, which deletes the sale.
    r1 = hemnet_id_of(inbox, "R1")
    hemnet.call("POST", f"/listings/{r1}/publish", {})
    # C1: the CRM withdraws it after the sale was reported. (Put back on sale, it would be
    # published again, deleting the sale: tests/system/test_lifecycle_states.py.)
    crm_drop(inbox, "export-3.csv", crm_row("R1", **sold), crm_row("C1", status="återkallad"))  # type: ignore[arg-type]

    wait_for(lambda: stage(inbox, "R1") == stage(inbox, "C1") == "conflict", 30, "both conflicts")
    status = status_of(inbox)
    assert "sale reported to Hemnet is gone" in status["R1"]["next_action"]
    assert "CRM now says withdrawn" in status["C1"]["next_action"]
    kinds = events_of(tmp_path / "state" / "syncd.db", "R1")
    assert "conflict" in kinds  # found by the daemon's reconcile
    assert daemon.stop() == 0

    for key in ("R1", "C1"):
        shown = show(config, key)
        assert shown["known"]["in_step"] is False
        assert "nothing to do" not in shown["status"]["next_action"]
    report = syncd("--config", str(config), "reconcile", "--dry-run", env=TOKEN_ENV)
    assert "R1" in report.stdout and "sale reported to Hemnet is gone" in report.stdout
    assert "C1" in report.stdout and "CRM now says withdrawn" in report.stdout
    # syncd sent nothing to either: R1 stays as republished, C1 stays sold.
    remote = hemnet.by_key()
    assert remote["R1"][0]["publicationStatus"]["isPublished"] is True
    assert remote["C1"][0]["publicationStatus"]["isPublished"] is False
