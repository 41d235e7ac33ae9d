"""PostgreSQL as the state store: the same migrations, the same one-writer rule, the same
commands as on SQLite (a throwaway server from tests/pg.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncd.core.errors import AlreadyRunningError, StateError
from syncd.store import migrate
from syncd.store.engine import open_store
from syncd.store.lock import DAEMON, Holder, StateLock, named_daemon, take_lock, try_lock
from tests.pg import PostgresServer
from tests.system.support import need_syncd, syncd


def test_the_advisory_lock_names_its_holder_until_it_is_released(pg_url: str) -> None:
    held = take_lock(pg_url, DAEMON)
    try:
        found = try_lock(pg_url, "syncd apply")
        assert found == Holder(os.getpid(), DAEMON)
        assert named_daemon(pg_url) == Holder(os.getpid(), DAEMON)
        # Several daemons share a PostgreSQL store (docs/scaling.md): a second is let in,
        # a command that writes is still refused beside them.
        take_lock(pg_url, DAEMON).release()
        with pytest.raises(AlreadyRunningError) as refused:
            take_lock(pg_url, "syncd apply")
        assert f"'syncd run' (PID {os.getpid()}) is already writing" in str(refused.value)
        assert "advisory lock" in str(refused.value)
    finally:
        held.release()
    assert named_daemon(pg_url) is None
    again = try_lock(pg_url, "syncd apply")
    assert isinstance(again, StateLock)
    again.release()


def test_an_empty_database_is_refused_until_upgraded(pg_server: PostgresServer) -> None:
    url = pg_server.database(migrated=False)
    try:
        assert migrate.current(url) is None
        with pytest.raises(StateError, match=r"revision none, head is .*syncd db upgrade"):
            open_store(url)
        migrate.upgrade(url)
        assert migrate.current(url) == migrate.head()
        with open_store(url) as store, store.read():
            pass
    finally:
        pg_server.drop(url)


def test_a_server_that_cannot_be_reached_is_a_state_error(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://syncd@/syncd?host={tmp_path}"
    with pytest.raises(StateError, match="cannot reach the state store"):
        migrate.current(url)


def test_db_upgrade_and_current_work_on_postgresql(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    need_syncd()
    url = pg_server.database(migrated=False)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[paths]\ninbox = "in"\nstate_dir = "state"\n\n[store]\nurl = "{url}"\n',
        encoding="utf-8",
    )
    try:
        before = syncd("--config", str(config), "db", "current")
        assert before.returncode == 3, before.stderr
        assert "revision none" in before.stdout
        upgraded = syncd("--config", str(config), "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        head = migrate.head()
        assert f"upgraded from nothing to {head}" in upgraded.stdout
        after = syncd("--config", str(config), "db", "current")
        assert after.returncode == 0 and f"revision {head} (head)" in after.stdout
        assert not (tmp_path / "state" / "syncd.db").exists()  # no SQLite file beside it
    finally:
        pg_server.drop(url)
