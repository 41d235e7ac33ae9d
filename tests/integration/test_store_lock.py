"""The state lock: one holder at a time, the others told who it is; released on release."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncd.errors import AlreadyRunningError, StateError
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
