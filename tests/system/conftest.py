"""Fixtures shared by the system tests: a systemd notify socket, the daemon as a process,
and a sandbox process (helpers in support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.system.support import (
    DaemonProcess,
    Notifications,
    SandboxProcess,
    need_syncd,
    syncd,
)


@pytest.fixture
def notifications() -> Iterator[Notifications]:
    made = Notifications()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """Starts ``syncd run`` on a config (its database upgraded first); killed at the end."""
    need_syncd()
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
    """A sandbox process that approves a published listing after one second: its base URL."""
    need_syncd()
    made = SandboxProcess(
        "--auto-approve-after", "1", "--image-delay", "0.2", "--log-level", "warning"
    )
    try:
        made.start()
        yield made.base_url
    finally:
        made.stop()
