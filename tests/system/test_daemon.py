"""``syncd run`` as a real process: sd_notify, watchdog, signals, reload, start-up refusals,
and a whole drop-to-visible run against a sandbox process."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.config import bundled_mappings_dir
from tests.crashing_syncd import SCRIPT as CRASHING

pytestmark = [pytest.mark.system, pytest.mark.slow]

SYNCD = Path(sys.executable).parent / "syncd"
TOKEN = "sandboxtestkey000000.sandboxtestsecret0000"
HEADER = (
    "objektnummer;status;gatuadress;postnummer;ort;kommun;lagenhetsnummer;utgangspris;"
    "boendeform;upplatelseform;rubrik;rubrik_ny;bild_1"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


def row(key: str, price: int, title: str = "", new_title: str = "") -> str:
    return (
        f"{key};till salu;Storgatan {key};11122;Stockholm;Stockholm;1101;{price};villa;"
        f"äganderätt;{title};{new_title};http://img.example/{key}.jpg"
    )


def drop(inbox: Path, name: str, *rows: str) -> None:
    """Write under a temporary name, then rename in: how a careful CRM drops a file."""
    temporary = inbox / f".{name}.part"
    temporary.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    temporary.rename(inbox / name)


class Notifications:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET; records every message."""

    def __init__(self) -> None:
        # AF_UNIX paths are limited to 108 bytes: pytest's tmp_path can be longer.
        self.directory = Path(tempfile.mkdtemp(prefix="sdn"))
        self.path = self.directory / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def lines(self) -> list[str]:
        return [line for _, text in list(self.messages) for line in text.splitlines()]

    def count(self, line: str) -> int:
        return self.lines().count(line)

    def wait(self, line: str, timeout_s: float = 20.0, after: int = 0) -> None:
        wait_for(lambda: self.count(line) > after, timeout_s, line)

    def close(self) -> None:
        self._closed.set()
        self.sock.close()
        self._thread.join()
        self.path.unlink(missing_ok=True)
        self.directory.rmdir()


@pytest.fixture
def notifications() -> Iterator[Notifications]:
    made = Notifications()
    try:
        yield made
    finally:
        made.close()


def write_config(
    directory: Path,
    base_url: str,
    *,
    mapping: str = "generic-csv",
    extra: str = "",
) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""\
[paths]
inbox = "inbox"
state_dir = "state"

[hemnet]
base_url = "{base_url}"

[agency]
key = "default"
name = "Test Mäkleri AB"

[sync]
poll_interval_fast_s = 0.3
poll_interval_slow_s = 2

[watch]
settle_s = 0.1
rescan_interval_s = 1

[[formats]]
pattern = "*.csv"
mapping = "{mapping}"
{extra}""",
        encoding="utf-8",
    )
    return path


def syncd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SYNCD), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


class DaemonProcess:
    def __init__(self, config: Path, env: dict[str, str], crash_at: str | None = None) -> None:
        self.log = config.parent / "daemon.log"
        self._log_file = self.log.open("w")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG"))}
        # crash_at: killed at that checkpoint of an apply pass (tests/crashing_syncd.py)
        program = [sys.executable, str(CRASHING), crash_at] if crash_at else [str(SYNCD)]
        self.process = subprocess.Popen(
            [*program, "--config", str(config), "run"],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**base, "SYNCD_HEMNET_TOKEN": TOKEN, **env},
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self, timeout_s: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self._log_file.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    started: list[DaemonProcess] = []

    def start(config: Path, crash_at: str | None = None, **env: str) -> DaemonProcess:
        result = syncd("--config", str(config), "db", "upgrade")
        assert result.returncode == 0, result.stderr
        daemon = DaemonProcess(config, env, crash_at)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


@pytest.fixture
def sandbox() -> Iterator[str]:
    """A sandbox process that approves a published listing after one second."""
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    port = free_port()
    process = subprocess.Popen(
        [
            str(SYNCD),
            "sandbox",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--auto-approve-after",
            "1",
            "--image-delay",
            "0.2",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"

    def answers() -> bool:
        try:
            response = httpx.get(f"{base_url}/keys", headers={"Authorization": f"Bearer {TOKEN}"})
        except httpx.TransportError:
            return False
        return response.status_code == 200

    try:
        wait_for(answers, 30, "the sandbox to answer")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def status_of(inbox: Path) -> dict[str, dict[str, Any]]:
    path = inbox / "status.json"
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}  # never half-written, but be patient with a reader race anyway
    return {record["listing_key"]: record for record in document["listings"]}


def desired_title(database: Path, key: str) -> tuple[bool, str | None]:
    with sqlite3.connect(database) as connection:
        found = connection.execute(
            "SELECT desired_json FROM listings WHERE listing_key = ?", (key,)
        ).fetchone()
    if found is None:
        return False, None
    title: str | None = json.loads(found[0]).get("title")
    return True, title


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
