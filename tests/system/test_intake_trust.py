"""Trust in what ingest takes, with the real daemon and a real sandbox process: a skipped
record is visible on its listing, a slowly written file is taken whole, a file changed
after it was taken is read again, and values Hemnet would refuse never leave syncd."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.system.test_daemon import (  # noqa: F401 (sandbox, start_daemon: fixtures)
    HEADER,
    SYNCD,
    TOKEN,
    DaemonProcess,
    drop,
    row,
    sandbox,
    start_daemon,
    status_of,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def remote(base_url: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{base_url}/listings", params={"limit": 100}, headers=AUTH)
    response.raise_for_status()
    return {item["externalId"]: item for item in response.json()["listings"]}


def receipts(state: Path, name: str) -> list[dict[str, Any]]:
    """The receipts of every archived copy of ``name`` (NAME, NAME-2, ...), oldest first."""
    found = sorted(
        (state / "archive").glob(f"*/*/*/{name.partition('.')[0]}*.result.json"),
        key=lambda p: p.stat().st_mtime_ns,
    )
    return [json.loads(p.read_text(encoding="utf-8")) for p in found]


def visible(inbox: Path, *keys: str) -> Callable[[], bool]:
    def check() -> bool:
        status = status_of(inbox)
        return all(status.get(k, {}).get("stage") == "visible" for k in keys)

    return check


def test_a_skipped_record_shows_on_its_listing_and_the_file_says_how_many(
    tmp_path: Path,
    sandbox: str,  # noqa: F811 (the fixture imported above)
    start_daemon: Callable[..., DaemonProcess],  # noqa: F811
) -> None:
    config = write_config(tmp_path, sandbox)
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    daemon = start_daemon(config)
    wait_for(inbox.is_dir, 30, "the daemon to make its inbox")
    drop(inbox, "crm-1.csv", row("K1", 2_500_000, "Villa"), row("K2", 3_100_000, "Radhus"))
    wait_for(visible(inbox, "K1", "K2"), 60, "both listings visible")

    # K2's price turns negative in the CRM: the record is skipped, K1's change goes in.
    drop(inbox, "crm-2.csv", row("K1", 2_400_000, "Villa"), row("K2", -5, "Radhus"))

    def k2_flagged() -> dict[str, Any] | None:
        k2 = status_of(inbox).get("K2", {})
        return k2 if (k2.get("last_error") or "").startswith("record skipped") else None

    k2 = wait_for(k2_flagged, 30, "K2's last error to name the skipped record")
    assert "crm-2.csv" in k2["last_error"]
    assert "asking_price" in k2["last_error"]
    assert k2["next_action"].startswith("fix the record in the CRM")
    assert k2["stage"] == "visible"  # Hemnet keeps the last good state
    wait_for(lambda: remote(sandbox)["K1"]["askingPrice"] == 2_400_000, 30, "K1's new price")
    assert remote(sandbox)["K2"]["askingPrice"] == 3_100_000
    (receipt,) = [r for r in receipts(state, "crm-2.csv") if r["file"] == "crm-2.csv"]
    assert receipt["outcome"] == "accepted"
    assert receipt["summary"] == "accepted, 1 skipped"

    shown = syncd("--config", str(config), "show", "K2")
    assert shown.returncode == 0, shown.stderr
    assert "last error: record skipped in crm-2.csv" in shown.stdout
    history = shown.stdout.split("History (newest first):")[1]
    assert "record skipped in crm-2.csv" in history  # the event, not only the last error

    # Fixed in the CRM: the error goes, the price follows.
    drop(inbox, "crm-3.csv", row("K1", 2_400_000, "Villa"), row("K2", 2_900_000, "Radhus"))
    wait_for(
        lambda: status_of(inbox).get("K2", {}).get("last_error") is None,
        30,
        "K2's skipped-record error to clear",
    )
    wait_for(lambda: remote(sandbox)["K2"]["askingPrice"] == 2_900_000, 30, "K2's fixed price")
    assert daemon.stop() == 0
