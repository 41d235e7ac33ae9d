"""Trust in what ingest takes, with the real daemon and a real sandbox process: a skipped
record is visible on its listing, a slowly written file is taken whole, a file changed
after it was taken is read again, and values Hemnet would refuse never leave syncd."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
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
    free_port,
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


WRITER = """
import sys, time
path, pause_s, chunks = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
with open(path, "w", encoding="utf-8") as stream:
    for chunk in chunks:
        stream.write(chunk)
        stream.flush()
        time.sleep(pause_s)
"""


def stored_keys(state: Path) -> set[str]:
    with sqlite3.connect(state / "syncd.db") as connection:
        rows = connection.execute("SELECT listing_key FROM listings WHERE desired_json IS NOT NULL")
        return {key for (key,) in rows}


def test_a_slow_writer_is_taken_after_close_and_a_later_rewrite_is_read_again(
    tmp_path: Path,
    sandbox: str,  # noqa: F811 (the fixture imported above)
    start_daemon: Callable[..., DaemonProcess],  # noqa: F811
) -> None:
    config = write_config(tmp_path, sandbox)  # settle_s = 0.1
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    daemon = start_daemon(config)
    # Events from the start: a file already open when the daemon starts is taken on
    # stability alone (and read again when it changes), which is not what this shows.
    wait_for(lambda: "watching" in daemon.text(), 30, "the daemon to watch its inbox")
    keys = [f"W{n}" for n in range(1, 7)]
    # The header and two rows per chunk, 0.6 s apart (six times settle_s), the file open.
    lines = [HEADER, *(row(key, 2_000_000 + n) for n, key in enumerate(keys))]
    chunks = ["".join(f"{line}\n" for line in part) for part in (lines[:3], lines[3:5], lines[5:])]
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, str(inbox / "slow.csv"), "0.6", *chunks],
        timeout=30,
        check=True,
    )
    assert writer.returncode == 0
    wait_for(lambda: set(keys) <= stored_keys(state), 30, "every row of the slow file")
    [first] = receipts(state, "slow.csv")
    assert (first["records"], first["accepted"]) == (6, 6)  # taken once, whole
    wait_for(lambda: set(keys) <= set(remote(sandbox)), 60, "every listing on Hemnet")

    # The archived copy is rewritten in place with one more row: read again, not lost.
    [archived] = (state / "archive").glob("*/*/*/slow.csv")
    archived.write_text("\n".join([*lines, row("W7", 2_700_000)]) + "\n", encoding="utf-8")
    wait_for(lambda: "W7" in stored_keys(state), 30, "the row added after the file was taken")
    second = receipts(state, "slow.csv")[-1]
    assert second["read_again_from"] == str(archived)
    assert second["records"] == 7
    wait_for(lambda: "W7" in remote(sandbox), 60, "the added listing on Hemnet")
    assert "changed after it was taken" in daemon.text()
    assert daemon.stop() == 0


def limits_row(key: str, title: str, phone: str) -> str:
    return (
        f"{key};till salu;Storgatan 1;11122;Stockholm;Stockholm;1101;2500000;villa;"
        f"äganderätt;{title};;http://127.0.0.1:9/{key}.jpg;Anna Mäklare;{phone}"
    )


LIMITS_HEADER = f"{HEADER};maklare_namn;maklare_telefon"


def test_values_over_hemnets_limits_are_refused_before_sending_and_the_live_listing_stays(
    tmp_path: Path,
    sandbox: str,  # noqa: F811 (the fixture imported above)
    start_daemon: Callable[..., DaemonProcess],  # noqa: F811
) -> None:
    http_port = free_port()
    config = write_config(tmp_path, sandbox, extra=f'[http]\nlisten = "127.0.0.1:{http_port}"\n')
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config)
    wait_for(inbox.is_dir, 30, "the daemon to make its inbox")

    def write(name: str, title: str, phone: str) -> Path:
        path = tmp_path / name
        path.write_text(f"{LIMITS_HEADER}\n{limits_row('L1', title, phone)}\n", encoding="utf-8")
        return path

    good = write("good.csv", "Villa vid sjön", "08-123 45 67")
    # Images on this machine: Hemnet could not fetch them, the sandbox can. A warning,
    # never an error: the listing still goes in and converges.
    checked = syncd("--config", str(config), "check", str(good))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "WARNING record 1, line 2, key L1: images.url = '127.0.0.1'" in checked.stdout
    assert "loopback address; Hemnet fetches images from its own servers" in checked.stdout
    assert (
        "completeness (Hemnet's checks would warn): 1 without a description, "
        "1 with fewer than 5 images" in checked.stdout
    )
    good.rename(inbox / good.name)
    wait_for(visible(inbox, "L1"), 60, "L1 visible")
    # Hemnet's own check warnings, read back: the listing's completeness.
    completeness = wait_for(
        lambda: status_of(inbox)["L1"].get("completeness"), 30, "L1's completeness"
    )
    assert "no description" in completeness and "fewer than 5 images" in completeness
    shown = syncd("--config", str(config), "show", "L1")
    assert "completeness (Hemnet's checks):" in shown.stdout
    assert "- The listing has no description." in shown.stdout
    page = httpx.get(f"http://127.0.0.1:{http_port}/listing/L1")
    assert "Completeness (Hemnet" in page.text
    assert "The listing has no description." in page.text
    [receipt] = receipts(tmp_path / "state", "good.csv")
    assert any("127.0.0.1 is a loopback address" in w["reason"] for w in receipt["warnings"])

    long_title, long_phone = "Villa" + "n" * 595, "0" * 60  # 600 and 60 characters
    bad = write("bad.csv", long_title, long_phone)
    checked = syncd("--config", str(config), "check", str(bad))
    assert checked.returncode == 1, checked.stdout + checked.stderr  # usable but skipped
    assert "0 usable, 1 skipped" in checked.stdout
    assert "title" in checked.stdout and "Hemnet's limit of 500 characters (600)" in checked.stdout
    assert "broker.phone" in checked.stdout
    assert "Hemnet's limit of 50 characters (60)" in checked.stdout

    bad.rename(inbox / bad.name)

    def refused() -> str | None:
        error = status_of(inbox).get("L1", {}).get("last_error") or ""
        return error if error.startswith("record skipped in bad.csv") else None

    error = wait_for(refused, 30, "L1's last error to name the refused value")
    assert "Hemnet's limit of" in error
    on_hemnet = remote(sandbox)["L1"]
    assert on_hemnet["title"] == "Villa vid sjön"  # the last good value stays on Hemnet
    assert on_hemnet["broker"]["phone"] == "08-123 45 67"
    assert status_of(inbox)["L1"]["stage"] == "visible"
    assert daemon.stop() == 0
