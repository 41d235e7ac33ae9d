"""Which failures mean the disk refuses writes (full, read-only, failing), in words, and
whether a disk is (nearly) full now.

Only classifies an exception already raised or reads a file system's free space; never
retries, logs or writes a file.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError

# errno values of a disk that takes no more writes (or lost the ability to).
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG})
# SQLite's primary result codes for the same (the low byte of an extended code).
_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_READONLY, _SQLITE_CANTOPEN = 13, 10, 8, 14
_SQLITE_CODES = frozenset({_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_READONLY, _SQLITE_CANTOPEN})


def disk_failure(error: BaseException) -> str | None:
    """A short reason when ``error`` (or what caused it) is a refused write, else None."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _DISK_ERRNOS:
            where = f": {current.filename}" if current.filename else ""
            return f"{current.strerror or current}{where}"
        if isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _SQLITE_CODES:
                return f"the state database: {current}"
        if isinstance(current, DBAPIError):
            pending.append(current.orig)
        pending.extend((current.__cause__, current.__context__))
    return None


# ASSUMED: below this, a SQLite transaction or a status file may no longer fit.
LOW_SPACE_BYTES = 1 << 20


def low_space(places: Sequence[tuple[str, Path]]) -> list[str]:
    """ "state_dir /var/lib/syncd: 0 bytes free" for each place whose disk is (nearly) full."""
    out = []
    for name, path in places:
        try:
            free = shutil.disk_usage(path).free
        except OSError:
            continue  # not there (yet): nothing to say about its disk
        if free < LOW_SPACE_BYTES:
            out.append(f"{name} {path}: {free} bytes free")
    return out
