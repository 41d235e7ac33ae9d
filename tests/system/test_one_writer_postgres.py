"""The state lock on PostgreSQL, with real daemon and sandbox processes: daemons share it (a
fleet, docs/scaling.md) while a schema change beside them is refused naming one, a
SIGKILLed daemon's advisory lock ends with its connection, and commands hand their requests
to the running daemons as on SQLite."""

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


def test_a_second_daemon_joins_while_a_schema_change_beside_them_is_refused(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess], pg_url: str
) -> None:
    config = _config(tmp_path, sandbox, pg_url)
    first = start_daemon(config)
    wait_for(lambda: running(first), 30, "the first daemon to run")
    # The same store from another folder (its own log), as another machine would.
    (tmp_path / "other").mkdir()
    second = DaemonProcess(_config(tmp_path / "other", sandbox, pg_url), {})
    try:
        wait_for(lambda: running(second) or second.process.poll() is not None, 30, "a start")
        assert second.process.poll() is None, second.text()  # several daemons share the store
        _refused_and_handed_over(tmp_path, sandbox, config, first, second)
    finally:
        second.kill()


def _refused_and_handed_over(
    tmp_path: Path, sandbox: str, config: Path, first: DaemonProcess, second: DaemonProcess
) -> None:
    pids = {first.process.pid, second.process.pid}
    upgrade = run_syncd(config, "db", "upgrade")
    assert upgrade.returncode == 8, upgrade.stderr  # no schema change under the daemons
    assert any(f"'syncd run' (PID {pid}) is already writing" in upgrade.stderr for pid in pids)
    assert "advisory lock" in upgrade.stderr

    # A command beside them hands its request over, found through the server, not a file;
    # the instance coordinating the fleet carries it out.
    drop(tmp_path / "inbox", "first.csv", row("A1", 2_000_000))
    wait_for(lambda: all_visible(sandbox, ["A1"]), 60, "A1 published")
    applied = run_syncd(config, "apply")
    assert applied.returncode == 0, applied.stderr
    assert "handed to the running daemon 'syncd run'" in applied.stdout
    assert first.stop() == 0
    assert second.stop() == 0


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
