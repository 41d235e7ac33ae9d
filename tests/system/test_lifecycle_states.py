"""The real daemon against a sandbox process: TEASED (underhand) and UPCOMING listings on
their way to FOR_SALE, auto-approval only where Hemnet attempts it, and a sold listing put
back on sale within six months (the sale deleted) or after them (refused, saying why)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.sandbox import wire
from tests.system import support
from tests.system.support import (
    TOKEN,
    DaemonProcess,
    SandboxProcess,
    need_syncd,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

HEADER = (
    "objektnummer;status;gatuadress;postnummer;ort;kommun;utgangspris;boendeform;"
    "upplatelseform;rubrik;bild_1;saljare_namn;saljare_epost;saljare_personnummer;"
    "faktura_mottagare;faktura_adress;faktura_postnummer;faktura_ort;slutpris;kontraktsdatum"
)


def row(key: str, status: str, sold_on: date | None = None, price: int = 3_000_000) -> str:
    sale = f"3100000;{sold_on.isoformat()}" if sold_on else ";"
    return (
        f"{key};{status};Storgatan {key};11122;Stockholm;Stockholm;{price};villa;äganderätt;"
        f"Villa {key};http://img.example/{key}.jpg;Anna Andersson;anna@example.se;"
        f"19800101-1234;Anna Andersson;Storgatan 1;11122;Stockholm;{sale}"
    )


def drop(inbox: Path, name: str, *rows: str) -> None:
    support.drop(inbox, name, *rows, header=HEADER)


@pytest.fixture
def sandbox() -> Iterator[str]:
    """A sandbox with no broker to approve: only auto-approval makes a listing visible."""
    need_syncd()
    made = SandboxProcess("--image-delay", "0.1")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        made.start()
        # The agency exists on Hemnet already, with the HQ partnership agreement TEASED
        # needs; syncd adopts it by its external id.
        agency = {
            "name": "Test Mäkleri AB",
            "externalId": "default",
            "hqPartnershipAgreement": True,
        }
        httpx.post(
            made.base_url + wire.AGENCIES, json={wire.AGENCY_ONE: agency}, headers=auth
        ).raise_for_status()
        yield made.base_url
    finally:
        made.stop()


def remote(base_url: str) -> dict[str, dict[str, Any]]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = httpx.get(f"{base_url}/listings", params={"limit": 100}, headers=auth)
    response.raise_for_status()
    return {item["externalId"]: item for item in response.json()["listings"]}


def state(base_url: str, key: str) -> tuple[str | None, bool, bool]:
    item = remote(base_url).get(key)
    if item is None:
        return None, False, False
    status = item["publicationStatus"]
    return status["marketState"], status["isPublished"], status["isApproved"]


def test_upcoming_then_teased_then_for_sale_auto_approved_only_when_teased(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path, sandbox, extra="")
    text = config.read_text(encoding="utf-8").replace("[sync]\n", "[sync]\nauto_approve = true\n")
    config.write_text(text, encoding="utf-8")
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config)
    wait_for(inbox.is_dir, 30, "the daemon to make its inbox")

    drop(inbox, "export-1.csv", row("T1", "underhand"), row("U1", "kommande"))
    # TEASED with seller and billing: published and approved at once (visible).
    wait_for(lambda: state(sandbox, "T1") == ("TEASED", True, True), 60, "T1 teased, visible")
    # UPCOMING: published, and Hemnet attempts no auto-approval: it waits for the broker.
    wait_for(lambda: state(sandbox, "U1")[:2] == ("UPCOMING", True), 60, "U1 upcoming")
    assert state(sandbox, "U1")[2] is False

    # UPCOMING but never visible (the broker has not approved it): TEASED is still allowed.
    drop(inbox, "export-2.csv", row("T1", "underhand"), row("U1", "underhand"))
    wait_for(lambda: state(sandbox, "U1")[0] == "TEASED", 60, "U1 upcoming, then teased")

    drop(inbox, "export-3.csv", row("T1", "till salu"), row("U1", "till salu"))
    wait_for(lambda: state(sandbox, "T1")[0] == "FOR_SALE", 60, "T1 for sale")
    wait_for(lambda: state(sandbox, "U1")[0] == "FOR_SALE", 60, "U1 for sale")
    listings = remote(sandbox)
    assert sorted(listings) == ["T1", "U1"]
    # Once visible as anything but TEASED, TEASED is gone for good (Hemnet's rule).
    assert "TEASED" not in listings["T1"]["publicationStatus"]["allowedMarketStates"]
    assert daemon.stop() == 0


def test_a_sold_listing_back_on_sale_is_republished_within_six_months_only(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path, sandbox)
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config)
    wait_for(inbox.is_dir, 30, "the daemon to make its inbox")
    today = date.today()
    old = today - timedelta(days=200)
    drop(inbox, "export-1.csv", row("S1", "till salu"), row("S2", "till salu"))
    wait_for(lambda: state(sandbox, "S1")[1] and state(sandbox, "S2")[1], 60, "both published")
    drop(
        inbox,
        "export-2.csv",
        row("S1", "såld", sold_on=today - timedelta(days=3)),
        row("S2", "såld", sold_on=old),
    )
    wait_for(
        lambda: all(remote(sandbox)[k]["sale"] for k in ("S1", "S2")), 60, "both sales reported"
    )

    back = 2_900_000  # back on sale at a new price
    drop(inbox, "export-3.csv", row("S1", "till salu", price=back), row("S2", "till salu"))
    # Within six months: published again, and Hemnet deleted the sale.
    try:
        wait_for(
            lambda: (
                remote(sandbox)["S1"]["sale"] is None
                and state(sandbox, "S1")[1]
                and remote(sandbox)["S1"]["askingPrice"] == back
            ),
            60,
            "S1 republished without its sale",
        )
    except AssertionError:
        shown = syncd("--config", str(config), "show", "S1").stdout
        raise AssertionError(shown + syncd("--config", str(config), "plan").stdout) from None
    # Sold 200 days ago: syncd sends nothing and says why.
    plan = syncd("--config", str(config), "plan")
    assert "S2" in plan.stdout and "more than six months ago" in plan.stdout, plan.stdout
    assert remote(sandbox)["S2"]["sale"] is not None
    assert state(sandbox, "S2")[1] is False
    assert sorted(remote(sandbox)) == ["S1", "S2"]
    assert daemon.stop() == 0
