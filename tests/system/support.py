"""What the system tests share: the daemon and sandbox as processes, configs, export files
and waiting for a condition with a deadline. Fixtures built on these are in conftest.py."""

from __future__ import annotations

import contextlib
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.crashing_syncd import SCRIPT as CRASHING

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


def drop(inbox: Path, name: str, *rows: str, header: str = HEADER) -> None:
    """Write under a temporary name, then rename in: how a careful CRM drops a file."""
    temporary = inbox / f".{name}.part"
    temporary.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
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


def write_config(
    directory: Path,
    base_url: str,
    *,
    mapping: str = "generic-csv",
    extra: str = "",
    extra_sync: str = "",
    poll_interval_slow_s: float = 2,
) -> Path:
    """The system tests' config: fast polls and watcher; ``extra_sync`` more [sync] keys,
    ``extra`` more TOML after the [[formats]] rule."""
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
poll_interval_slow_s = {poll_interval_slow_s:g}
{extra_sync}

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


def need_syncd() -> None:
    """Skip where the console script is not installed (the tests run it as a process)."""
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")


class SandboxProcess:
    """A ``syncd sandbox`` process on a port of its own, which it keeps across a stop and a
    start; ``options`` are the command's options beside port, token and state file."""

    def __init__(self, *options: str, log: Path | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.options = options
        self.log = log  # where its output goes (None: nowhere)
        self.token = TOKEN
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def text(self) -> str:
        """What it has written to ``log`` so far."""
        assert self.log is not None
        return self.log.read_text(encoding="utf-8", errors="replace")

    def start(self, token: str = TOKEN, state_file: Path | None = None) -> None:
        """Start it and wait until it answers with ``token``."""
        self.token = token
        keep = ["--state-file", str(state_file)] if state_file else []
        command = [str(SYNCD), "sandbox", *keep, "--port", str(self.port), "--token", token]
        with contextlib.ExitStack() as files:
            out = files.enter_context(self.log.open("ab")) if self.log else subprocess.DEVNULL
            self.process = subprocess.Popen(
                [*command, *self.options], stdout=out, stderr=subprocess.STDOUT
            )

        def answers() -> bool:
            try:
                return httpx.get(f"{self.base_url}/keys", headers=self.auth).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, 30, "the sandbox to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
