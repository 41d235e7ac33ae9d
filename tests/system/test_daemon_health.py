"""``/healthz`` tells the truth about the key, the disk and Hemnet: the real daemon and
sandbox processes, a sandbox restarted with another token, a stopped sandbox, a full disk."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.system.support import (
    TOKEN,
    DaemonProcess,
    Notifications,
    SandboxProcess,
    drop,
    free_port,
    need_syncd,
    row,
    status_of,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

OTHER_TOKEN = "sandboxotherkey00000.sandboxothersecret000"
# The daemon reads Hemnet this often in these tests (sync.health_check_interval_s).
CHECK_S = 1
# The promise made to operators: a change shows on /healthz within a minute.
WITHIN_S = 60


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    """Not started: a test starts it with the token it wants, and may stop and restart it."""
    need_syncd()
    made = SandboxProcess(
        "--auto-approve-after", "0.5", "--image-delay", "0.1", "--log-level", "warning"
    )
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system of 8 MiB (a tmpfs): filling it is a real full disk."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no space left; returns it (delete it to free)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 512, 1):  # then whatever is left in smaller pieces
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def notifications() -> Iterator[Notifications]:
    made = Notifications()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.kill()


def start(
    directory: Path,
    base_url: str,
    started: list[DaemonProcess],
    *,
    hemnet: str = "",
    disk: Path | None = None,
    **env: str,
) -> tuple[DaemonProcess, str]:
    """A daemon with its HTTP endpoints on a free port; returns it and the endpoints' base.

    ``hemnet`` adds lines to the [hemnet] table; ``disk`` holds the inbox and state_dir
    (the configuration and the daemon's log stay in ``directory``).
    """
    http_port = free_port()
    config = write_config(directory, base_url, extra=f'[http]\nlisten = "127.0.0.1:{http_port}"\n')
    text = config.read_text(encoding="utf-8")
    text = text.replace("[sync]\n", f"[sync]\nhealth_check_interval_s = {CHECK_S}\n")
    text = text.replace("[hemnet]\n", f"[hemnet]\n{hemnet}")
    if disk is not None:
        text = text.replace('inbox = "inbox"', f'inbox = "{disk}/inbox"')
        text = text.replace('state_dir = "state"', f'state_dir = "{disk}/state"')
    config.write_text(text, encoding="utf-8")
    result = syncd("--config", str(config), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    daemon = DaemonProcess(config, env)
    started.append(daemon)
    return daemon, f"http://127.0.0.1:{http_port}"


def health(http: str) -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.get(f"{http}/healthz")
    except httpx.TransportError:
        return 0, {}
    return response.status_code, response.json()


def metric(http: str, name: str) -> float | None:
    text = httpx.get(f"{http}/metrics").text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return None if found is None else float(found.group(1))


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("ERROR")]


def test_a_refused_key_turns_healthz_not_ready_and_a_fixed_key_ready_again(
    tmp_path: Path,
    sandbox: SandboxProcess,
    daemons: list[DaemonProcess],
    notifications: Notifications,
) -> None:
    token_file = tmp_path / "hemnet-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    sandbox.start(TOKEN)
    daemon, http = start(
        tmp_path,
        sandbox.base_url,
        daemons,
        hemnet=f'token_file = "{token_file}"\n',
        SYNCD_HEMNET_TOKEN="",  # the token file is what the operator changes
        NOTIFY_SOCKET=str(notifications.path),
    )
    wait_for(lambda: health(http)[0] == 200, 30, "the daemon to be ready")
    # The key check read the key's expiry: the gauge carries it.
    wait_for(
        lambda: (metric(http, "syncd_hemnet_key_expiry_timestamp_seconds") or 0) > 0,
        30,
        "the key expiry metric",
    )

    # Hemnet now knows another key only: the daemon's is refused.
    sandbox.stop()
    sandbox.start(OTHER_TOKEN)
    # (While the sandbox restarts, Hemnet may be unreachable for a moment: that passes.)
    _, body = wait_for(
        lambda: (
            (found := health(http))[0] == 503
            and "refuses syncd's API key" in (found[1]["detail"] or "")
            and found
        ),
        WITHIN_S,
        "/healthz to answer 503 for the refused key",
    )
    assert body["ready"] is False
    assert "remedy:" in body["detail"] and "hemnet.token_file" in body["detail"]
    assert metric(http, 'syncd_problem{problem="key_refused"}') == 1.0
    assert metric(http, "syncd_ready") == 0.0
    # 'systemctl status' says so too.
    wait_for(
        lambda: any("NOT READY: key refused" in line for line in notifications.lines()),
        30,
        "the systemd status line to say NOT READY",
    )
    # Several more checks happen while it lasts; it is still said once.
    checks = 4
    wait_for(
        lambda: sandbox_calls_at_least(sandbox, checks),
        30,
        f"{checks} more health checks",
    )
    log = daemon.text()
    assert len([e for e in error_lines(log) if "refuses syncd's API key" in e]) == 1, log
    assert "renewed" not in log  # nothing was renewed, so nothing says so
    assert "Traceback" not in log

    # The operator puts the working key in the token file: ready again, without a restart.
    token_file.write_text(OTHER_TOKEN + "\n", encoding="utf-8")
    _, body = wait_for(
        lambda: (found := health(http))[0] == 200 and found, WITHIN_S, "/healthz to answer 200"
    )
    assert body["ready"] is True and body["detail"] is None
    assert metric(http, 'syncd_problem{problem="key_refused"}') == 0.0
    assert "resolved after" in daemon.text()
    wait_for(
        lambda: (
            "NOT READY" not in [t for t in notifications.lines() if t.startswith("STATUS=")][-1]
        ),
        30,
        "the systemd status line to drop NOT READY",
    )
    assert OTHER_TOKEN not in daemon.text() and TOKEN not in daemon.text()
    assert daemon.stop() == 0


def sandbox_calls_at_least(sandbox: SandboxProcess, count: int) -> bool:
    """True once the sandbox has answered ``count`` refused calls to GET /v1/keys."""
    response = httpx.get(f"http://127.0.0.1:{sandbox.port}/_sandbox/stats")
    if response.status_code != 200:
        return False
    requests = response.json().get("requests", {})
    return int(requests.get("GET /v1/keys 401", 0)) >= count


def test_a_hemnet_outage_turns_healthz_not_ready_and_waiting_changes_say_why(
    tmp_path: Path, sandbox: SandboxProcess, daemons: list[DaemonProcess]
) -> None:
    state_file = tmp_path / "sandbox-world.json"  # Hemnet keeps its listings over the outage
    sandbox.start(TOKEN, state_file)
    daemon, http = start(tmp_path, sandbox.base_url, daemons)
    config = str(tmp_path / "config.toml")
    inbox = tmp_path / "inbox"
    wait_for(lambda: health(http)[0] == 200, 30, "the daemon to be ready")
    drop(inbox, "export-1.csv", row("O1", 2_500_000, "Villa"))
    wait_for(lambda: status_of(inbox).get("O1", {}).get("stage") == "visible", 60, "O1 visible")

    sandbox.stop()
    _, body = wait_for(
        lambda: (found := health(http))[0] == 503 and found, WITHIN_S, "/healthz to answer 503"
    )
    assert body["detail"].startswith("Hemnet cannot be reached: ")
    assert "Connection refused" in body["detail"] and "remedy: " in body["detail"]
    assert metric(http, 'syncd_problem{problem="hemnet_unreachable"}') == 1.0

    # A change made during the outage waits, and every view says why.
    drop(inbox, "export-2.csv", row("O1", 2_350_000, "Villa, nytt pris"))
    wait_for(lambda: status_of(inbox).get("O1", {}).get("not_sent"), 30, "O1 to say it is not sent")
    record = status_of(inbox)["O1"]
    assert record["stage"] == "visible"  # still true: Hemnet shows the old version
    assert record["not_sent"].startswith("Hemnet cannot be reached")
    assert not record["next_action"].startswith("nothing to do")
    shown = syncd("--config", config, "status", env={"COLUMNS": "160"})
    assert shown.returncode == 0, shown.stderr
    assert "not sent: Hemnet cannot be reached" in shown.stdout, shown.stdout
    assert "1 listing(s) have changes that cannot be sent" in shown.stdout
    one = syncd("--config", config, "show", "O1")
    assert one.returncode == 0, one.stderr
    assert "  not sent:   " in one.stdout and "Hemnet cannot be reached" in one.stdout
    assert "buyers can see it" not in one.stdout  # the next action of a visible listing
    assert "remedy:     if Hemnet is down, wait" in one.stdout
    log = daemon.text()
    assert len([e for e in error_lines(log) if "Hemnet cannot be reached" in e]) == 1, log
    assert "Traceback" not in log

    # Hemnet is back: ready again, the change is sent, nothing is said to be waiting.
    sandbox.start(TOKEN, state_file)
    wait_for(lambda: health(http)[0] == 200, WITHIN_S, "/healthz to answer 200 again")

    def sent() -> bool:
        record = status_of(inbox).get("O1", {})
        return record.get("not_sent") is None and record.get("stage") == "visible"

    wait_for(sent, 60, "the change to be sent")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    listings = httpx.get(f"{sandbox.base_url}/listings", params={"limit": 10}, headers=auth)
    (remote,) = listings.json()["listings"]
    wait_for(
        lambda: (
            httpx.get(f"{sandbox.base_url}/listings/{remote['id']}", headers=auth).json()[
                "listing"
            ]["askingPrice"]
            == 2_350_000
        ),
        60,
        "the new price on Hemnet",
    )
    assert daemon.stop() == 0


def test_a_full_disk_is_one_error_then_quiet_retries_and_ready_again_when_freed(
    tmp_path: Path, small_disk: Path, sandbox: SandboxProcess, daemons: list[DaemonProcess]
) -> None:
    sandbox.start(TOKEN)
    daemon, http = start(tmp_path, sandbox.base_url, daemons, disk=small_disk)
    inbox = small_disk / "inbox"
    wait_for(lambda: health(http)[0] == 200, 30, "the daemon to be ready")
    drop(inbox, "export-1.csv", row("D1", 2_500_000, "Villa"))
    wait_for(lambda: status_of(inbox).get("D1", {}).get("stage") == "visible", 60, "D1 visible")

    # The next export is in place (under a name the watcher ignores) before the disk fills.
    hidden = inbox / ".export-2.csv.part"
    drop(inbox, ".export-2.csv.part", row("D1", 2_350_000, "Villa, nytt pris"))
    assert hidden.exists()
    filler = fill(small_disk)
    hidden.rename(inbox / "export-2.csv")

    _, body = wait_for(
        lambda: (found := health(http))[0] == 503 and found, WITHIN_S, "/healthz to answer 503"
    )
    assert "cannot write to disk" in body["detail"] and "No space left" in body["detail"]
    assert f"state_dir {small_disk / 'state'}" in body["detail"]
    assert "remedy: free space on" in body["detail"]
    assert metric(http, 'syncd_problem{problem="store_unwritable"}') == 1.0
    # Retried, quietly: the export is tried again after its backoff, and jobs keep running.
    wait_for(lambda: daemon.text().count("was not taken") >= 2, 30, "a second try of the export")
    log = daemon.text()
    assert len([e for e in error_lines(log) if "cannot write to disk" in e]) == 1, log
    assert "Traceback" not in log, log
    assert len(error_lines(log)) == 1, log
    # 'syncd status' says so too: what it shows may be behind.
    shown = syncd("--config", str(tmp_path / "config.toml"), "status")
    assert shown.returncode == 0, shown.stderr
    assert f"the disk is (nearly) full (state_dir {small_disk / 'state'}: " in shown.stderr
    assert "remedy: free space on that disk" in shown.stderr
    assert "D1" in shown.stdout

    filler.unlink()
    wait_for(lambda: health(http)[0] == 200, WITHIN_S, "/healthz to answer 200 again")
    assert "resolved after" in daemon.text()
    assert "full" not in syncd("--config", str(tmp_path / "config.toml"), "status").stderr
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def new_price_on_hemnet() -> bool:
        found = httpx.get(f"{sandbox.base_url}/listings", params={"limit": 10}, headers=auth)
        return [item["askingPrice"] for item in found.json()["listings"]] == [2_350_000]

    wait_for(new_price_on_hemnet, 60, "the export taken after all, and sent")
    assert "Traceback" not in daemon.text()
    assert daemon.stop() == 0
