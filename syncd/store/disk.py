"""Which failures mean the disk refuses writes (full, read-only, failing), in words.

Only classifies an exception already raised; never retries, logs or touches a file.
"""

from __future__ import annotations

import errno
import sqlite3

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
