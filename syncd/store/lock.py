"""The state lock: one process at a time writes a state database (the daemon or one command).

On SQLite, an OS lock (``flock``) on ``<database>.lock``, which the kernel drops when its
holder dies, however it dies; the file also names the holder (PID and command) for the
others' message. On PostgreSQL, a session advisory lock (pglock.py) that the server drops
with its connection. Knows nothing of tables; deciding what a refused command does instead
is the caller's job.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncd.core.errors import AlreadyRunningError, StateError
from syncd.store import pglock
from syncd.store.location import Database, shown, sqlite_file

LOCK_SUFFIX = ".lock"
DAEMON = "syncd run"  # the holder's command as the lock file names it
# The holder writes its name just after taking the lock; a reader in between sees the file
# empty (or the last holder's name) and looks again for this long.
_NAME_WAIT_S = 1.0


@dataclass(frozen=True)
class Holder:
    """Who holds the lock: the process and the command it runs (None if it cannot be read)."""

    pid: int | None
    command: str | None

    @property
    def is_daemon(self) -> bool:
        return self.command == DAEMON

    def describe(self) -> str:
        pid = f"PID {self.pid}" if self.pid is not None else "PID unknown"
        return f"'{self.command or 'syncd'}' ({pid})"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + LOCK_SUFFIX)


class StateLock:
    """The held lock; ``release`` (or leaving the ``with``) lets the next writer in."""

    def __init__(self, database: Database, release: Callable[[], None]) -> None:
        self.database = database
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        if self._release is None:
            return
        release, self._release = self._release, None
        release()

    def __enter__(self) -> StateLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _flock_release(fd: int, *, named: bool) -> Callable[[], None]:
    def release() -> None:
        if named:
            # Emptied first, so nobody reads a name that no longer holds the lock.
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock

    return release


def try_lock(database: Database, command: str) -> StateLock | Holder:
    """The lock, taken for ``command``; or, if another process holds it, who that is."""
    file = sqlite_file(database)
    if file is None:
        # Several daemons may share a PostgreSQL store (docs/scaling.md): they hold the
        # lock together, and a command is refused beside any of them.
        found = pglock.try_lock(str(database), f"{os.getpid()} {command}", shared=command == DAEMON)
        if callable(found):
            return StateLock(database, found)
        return _parse_name(found or "")
    path = lock_path(file)
    named = True
    try:
        # Not inherited by child processes (Python's default): a child must not keep the
        # lock alive after its parent died.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:
        # Another user's file (the daemon's): flock needs no write access, only the name
        # of this holder cannot be written.
        fd, named = _open_read_only(path), False
    except OSError as error:
        raise StateError(f"cannot open the state lock {path}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return _holder(path)
    except BaseException:
        os.close(fd)
        raise
    if named:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command}\n".encode(), 0)
    return StateLock(file, _flock_release(fd, named=named))


def _open_read_only(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY)
    except OSError as error:
        raise StateError(f"cannot open the state lock {path}: {error.strerror}") from None


def take_lock(database: Database, command: str) -> StateLock:
    """The lock for ``command``; AlreadyRunningError naming the holder if it is taken."""
    found = try_lock(database, command)
    if isinstance(found, StateLock):
        return found
    raise refused(found, database)


def refused(holder: Holder, database: Database) -> AlreadyRunningError:
    file = sqlite_file(database)
    where = f"lock {lock_path(file)}" if file else "its advisory lock"
    return AlreadyRunningError(
        f"{holder.describe()} is already writing the state database {shown(database)} ({where})",
        holder.pid,
    )


def named_daemon(database: Database) -> Holder | None:
    """The daemon the lock file names, if that process is alive; takes no lock.

    For a hint only (waking the daemon after a change it should act on): the name can be a
    moment stale, but taking the lock to be sure could make a daemon starting just then
    refuse to start.
    """
    file = sqlite_file(database)
    if file is None:
        found = _parse_name(pglock.holder(str(database)) or "")
    else:
        found = _read_name(lock_path(file))
    if found.is_daemon and found.pid is not None and _alive(found.pid):
        return found
    return None


def _holder(path: Path) -> Holder:
    deadline = time.monotonic() + _NAME_WAIT_S
    while True:
        found = _read_name(path)
        if (found.pid is not None and _alive(found.pid)) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _read_name(path: Path) -> Holder:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return Holder(None, None)
    return _parse_name(text)


def _parse_name(text: str) -> Holder:
    pid_text, _, command = text.partition(" ")
    pid = int(pid_text) if pid_text.isdigit() else None
    return Holder(pid, command or None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True
