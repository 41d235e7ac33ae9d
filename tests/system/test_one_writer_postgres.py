"""One writer per state store on PostgreSQL, with real daemon and sandbox processes: a second
daemon refuses to start naming the first, a SIGKILLed daemon's advisory lock ends with its
connection, and commands hand their requests to the running daemon as on SQLite."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.system.support import DaemonProcess, wait_for
from tests.system.test_one_writer import (
    all_visible,
    drop,
    row,
    run_syncd,
    running,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _config(directory: Path, sandbox: str, url: str) -> Path:
    return write_config(directory, sandbox, extra=f'\n[store]\nurl = "{url}"\n')


def test_a_second_daemon_on_the_same_database_exits_naming_the_first(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess], pg_url: str
) -> None:
    config = _config(tmp_path, sandbox, pg_url)
    first = start_daemon(config)
    wait_for(lambda: running(first), 30, "the first daemon to run")
    second = run_syncd(config, "run")
    assert second.returncode == 8, second.stderr
    assert f"'syncd run' (PID {first.process.pid}) is already writing" in second.stderr
    assert "advisory lock" in second.stderr
    upgrade = run_syncd(config, "db", "upgrade")
    assert upgrade.returncode == 8, upgrade.stderr  # no schema change under the daemon

    # A command beside it hands its request over, found through the server, not a file.
    drop(tmp_path / "inbox", "first.csv", row("A1", 2_000_000))
    wait_for(lambda: all_visible(sandbox, ["A1"]), 60, "A1 published")
    applied = run_syncd(config, "apply")
    assert applied.returncode == 0, applied.stderr
    assert f"handed to the running daemon 'syncd run' (PID {first.process.pid})" in (applied.stdout)
    assert first.stop() == 0


def test_the_lock_of_a_killed_daemon_ends_with_its_connection(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess], pg_url: str
) -> None:
    config = _config(tmp_path, sandbox, pg_url)
    first = start_daemon(config)
    wait_for(lambda: running(first), 30, "the first daemon to run")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    second = start_daemon(config)
    wait_for(lambda: running(second) or second.process.poll() is not None, 30, "a start")
    assert second.process.poll() is None, second.text()
    assert second.stop() == 0
