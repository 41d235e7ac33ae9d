"""``syncd run`` as a real process: sd_notify, watchdog, signals, reload, start-up refusals,
and a whole drop-to-visible run against a sandbox process."""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.config import bundled_mappings_dir
from tests.system.support import (
    SYNCD,
    TOKEN,
    DaemonProcess,
    Notifications,
    desired_title,
    drop,
    free_port,
    row,
    status_of,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

# --- start-up refusals -------------------------------------------------------------------


def test_an_invalid_config_exits_2_with_the_remedy(tmp_path: Path) -> None:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD}")
    config = write_config(tmp_path, "http://127.0.0.1:9/v1", extra="[sync]\nbogus = 1\n")
    result = syncd("--config", str(config), "run")
    assert result.returncode == 2
    assert "remedy: fix the configuration file" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unmigrated_database_exits_3_naming_db_upgrade(tmp_path: Path) -> None:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD}")
    config = write_config(tmp_path, "http://127.0.0.1:9/v1")
    result = syncd("--config", str(config), "run", env={"SYNCD_HEMNET_TOKEN": TOKEN})
    assert result.returncode == 3
    assert "syncd db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "inbox").exists()  # refused before touching anything


# --- systemd protocol and signals --------------------------------------------------------


def test_ready_then_watchdog_pings_then_a_clean_stop_on_sigterm(
    tmp_path: Path,
    notifications: Notifications,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    daemon = start_daemon(config, NOTIFY_SOCKET=str(notifications.path), WATCHDOG_USEC="1000000")
    notifications.wait("READY=1", 30)
    assert any(line.startswith("STATUS=0 listings") for line in notifications.lines())
    ready_at = next(at for at, text in notifications.messages if "READY=1" in text)
    # Pinged every 0.5 s (half of 1 s): five within a few seconds.
    wait_for(lambda: notifications.count("WATCHDOG=1") >= 5, 6, "watchdog pings")
    pings = [at for at, text in notifications.messages if text == "WATCHDOG=1"]
    assert all(at >= ready_at for at in pings)  # READY first, then the pings
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert max(gaps) < 1.0, gaps  # never a gap as long as the watchdog timeout

    stopped_at = time.monotonic()
    assert daemon.stop(timeout_s=10) == 0
    assert time.monotonic() - stopped_at < 10
    assert notifications.count("STOPPING=1") == 1
    assert "syncd stopped" in daemon.text()


def test_sighup_reloads_the_configuration_and_mapping(
    tmp_path: Path,
    notifications: Notifications,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    bundled = (bundled_mappings_dir() / "generic-csv.toml").read_text(encoding="utf-8")
    assert 'title = "rubrik"' in bundled
    (tmp_path / "first.toml").write_text(bundled, encoding="utf-8")
    (tmp_path / "second.toml").write_text(
        bundled.replace('title = "rubrik"', 'title = "rubrik_ny"'), encoding="utf-8"
    )
    hemnet = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: no listing is sent
    config = write_config(tmp_path, hemnet, mapping="first.toml")
    database = tmp_path / "state" / "syncd.db"
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config, NOTIFY_SOCKET=str(notifications.path))
    notifications.wait("READY=1", 30)

    drop(inbox, "before.csv", row("H1", 1_000_000, "Old column", "New column"))
    wait_for(lambda: desired_title(database, "H1")[0], 20, "H1 to be ingested")
    assert desired_title(database, "H1") == (True, "Old column")

    # An invalid configuration is refused and the running one kept.
    config.write_text(config.read_text(encoding="utf-8") + "[oops]\n", encoding="utf-8")
    daemon.process.send_signal(signal.SIGHUP)
    notifications.wait("READY=1", 20, after=1)
    assert "keeping the configuration in use" in daemon.text()
    assert daemon.process.poll() is None

    write_config(tmp_path, hemnet, mapping="second.toml")
    daemon.process.send_signal(signal.SIGHUP)
    notifications.wait("READY=1", 20, after=2)
    assert notifications.count("RELOADING=1") == 2
    assert any(line.startswith("MONOTONIC_USEC=") for line in notifications.lines())
    wait_for(lambda: "reload: configuration and mappings in use" in daemon.text(), 20, "reload")

    drop(inbox, "after.csv", row("H2", 2_000_000, "Old column", "New column"))
    wait_for(lambda: desired_title(database, "H2")[0], 20, "H2 to be ingested")
    assert desired_title(database, "H2") == (True, "New column")
    wait_for(lambda: "H2" in status_of(inbox), 20, "H2 in status.json")
    assert daemon.stop() == 0


# --- against a sandbox -------------------------------------------------------------------


def test_an_export_reaches_visible_and_an_update_converges(
    tmp_path: Path,
    sandbox: str,
    notifications: Notifications,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    http_port = free_port()
    config = write_config(tmp_path, sandbox, extra=f'[http]\nlisten = "127.0.0.1:{http_port}"\n')
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config, NOTIFY_SOCKET=str(notifications.path))
    notifications.wait("READY=1", 30)
    health = httpx.get(f"http://127.0.0.1:{http_port}/healthz")
    assert health.status_code == 200
    assert health.json()["ready"] is True

    drop(inbox, "export-1.csv", row("S1", 2_500_000, "Villa"), row("S2", 3_100_000, "Radhus"))

    def both_visible() -> bool:
        status = status_of(inbox)
        return all(status.get(k, {}).get("stage") == "visible" for k in ("S1", "S2"))

    wait_for(both_visible, 60, "both listings visible in status.json")
    assert (tmp_path / "state" / "archive").is_dir()
    assert not (inbox / "export-1.csv").exists()

    drop(
        inbox,
        "export-2.csv",
        row("S1", 2_350_000, "Villa, nytt pris"),
        row("S2", 3_100_000, "Radhus"),
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def remote() -> dict[str, dict[str, Any]]:
        response = httpx.get(f"{sandbox}/listings", params={"limit": 100}, headers=auth)
        response.raise_for_status()
        return {item["externalId"]: item for item in response.json()["listings"]}

    def converged() -> bool:
        s1 = remote().get("S1", {})
        return s1.get("askingPrice") == 2_350_000 and s1.get("title") == "Villa, nytt pris"

    wait_for(converged, 60, "the update to reach Hemnet")
    listings = remote()
    assert sorted(listings) == ["S1", "S2"]  # no duplicates
    assert all(item["isVisible"] for item in listings.values())
    wait_for(both_visible, 30, "both listings still visible")
    assert any(line.startswith("STATUS=2 listings: 2 visible") for line in notifications.lines())
    assert daemon.stop() == 0
