"""The state lock (one holder at a time, the others told who it is) and the requests a
command hands to the running daemon."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from syncd.core.errors import AlreadyRunningError, NotFoundError, StateError
from syncd.store import requests
from syncd.store.engine import Store
from syncd.store.holds import add_hold, require_released
from syncd.store.lock import DAEMON, Holder, StateLock, lock_path, take_lock, try_lock


def test_a_second_taker_is_told_who_holds_the_lock_until_it_is_released(tmp_path: Path) -> None:
    database = tmp_path / "syncd.db"
    held = take_lock(database, DAEMON)
    try:
        # A second open file description conflicts even inside this process (flock).
        found = try_lock(database, "syncd apply")
        assert found == Holder(os.getpid(), DAEMON) and found.is_daemon
        with pytest.raises(AlreadyRunningError) as refused:
            take_lock(database, "syncd run")
        assert f"'syncd run' (PID {os.getpid()}) is already writing" in str(refused.value)
        assert str(lock_path(database)) in str(refused.value)
        assert refused.value.exit_code == 8
    finally:
        held.release()
    assert lock_path(database).read_text() == ""  # no name left that holds nothing
    again = try_lock(database, "syncd apply")
    assert isinstance(again, StateLock)
    with again:
        assert lock_path(database).read_text() == f"{os.getpid()} syncd apply\n"


def test_a_lock_file_naming_a_dead_process_holds_nothing(tmp_path: Path) -> None:
    database = tmp_path / "syncd.db"
    # What a SIGKILLed holder leaves: its name in the file, no lock on it.
    lock_path(database).write_text("999999999 syncd run\n")
    with take_lock(database, DAEMON):
        assert lock_path(database).read_text() == f"{os.getpid()} syncd run\n"


def test_a_missing_state_folder_is_a_state_error_naming_the_lock(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="cannot open the state lock"):
        take_lock(tmp_path / "nowhere" / "syncd.db", DAEMON)


def test_operator_requests_name_the_problem_not_a_database_upgrade(
    store: Store, now: datetime
) -> None:
    with store.transaction() as session:
        with pytest.raises(NotFoundError, match="there is no listing 'NOPE'") as unknown:
            requests.retry_listing(session, "NOPE", now)
        assert "db upgrade" not in unknown.value.remedy
        with pytest.raises(NotFoundError, match="there is no hold 42"):
            requests.release(session, 42, "alice", now)
        hold = add_hold(session, "byra-1", "test", ["A1"], now)
        released = requests.release(session, hold.id, "alice", now)
        assert released.hold_id == hold.id
        # A1 is not missing: nothing is left to release, and the hold is closed as superseded.
        with pytest.raises(StateError, match="superseded") as closed:
            require_released(released)
        assert "db upgrade" not in closed.value.remedy
        with pytest.raises(StateError, match="superseded") as again:
            requests.release(session, hold.id, "bob", now)
        assert "db upgrade" not in again.value.remedy


def test_requests_wait_until_the_daemon_answers_them(store: Store, now: datetime) -> None:
    with store.transaction() as session:
        first = requests.add_request(session, requests.RETRY, "A1", "alice", now)
        second = requests.add_request(session, requests.APPLY, None, "bob", now)
    with store.read() as session:
        assert requests.has_pending(session)
        assert [r.id for r in requests.pending_requests(session)] == [first, second]
    with store.transaction() as session:
        requests.finish_request(session, first, 0, "done", now)
    with store.read() as session:
        assert [r.id for r in requests.pending_requests(session)] == [second]
        row = requests.get_request(session, first)
        assert row is not None and (row.exit_code, row.answer) == (0, "done")
    with pytest.raises(ValueError, match="unknown request kind"), store.transaction() as session:
        requests.add_request(session, "format-disk", None, "mallory", now)
