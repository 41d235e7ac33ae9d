"""The state lock on PostgreSQL: a session-level advisory lock held on its own connection.

The same rule as the flock on SQLite (lock.py): one process at a time writes the state,
the daemon or one command. The server drops the lock when the holding connection ends,
however its process died. The holder is named by its connection's application_name
("PID command"), read back from pg_stat_activity for the others' message.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from syncd.core.errors import StateError
from syncd.store.location import shown

# pg_try_advisory_lock(INSTANCE_LOCK): the numbers read "sy" "nc"; the write transactions'
# lock (postgres.py) is another pair.
INSTANCE_LOCK = (0x7379, 0x6E63)

_HOLDER_SQL = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :k1 AND l.objid = :k2 "
    "AND l.objsubid = 2 AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY a.backend_start"
)


def try_lock(url: str, name: str, *, shared: bool = False) -> Callable[[], None] | str | None:
    """Take the lock as ``name`` ("PID command"): its release, or the holder's name (None
    when the holder could not be read, e.g. it let go just now).

    ``shared``: the daemons of a fleet hold it together (they share the work by leases,
    runtime/fleet.py), while a command writing beside them is still refused.
    """
    engine = create_engine(url, poolclass=NullPool, connect_args={"application_name": name[:63]})
    try:
        connection = engine.connect()
    except SQLAlchemyError as error:
        engine.dispose()
        raise StateError(f"cannot reach the state store {shown(url)}: {error}") from None
    try:
        # Autocommit: the lock outlives transactions, and an idle open transaction would
        # hold back the server's clean-up (vacuum) for as long as the daemon runs.
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        taken = connection.execute(text(f"SELECT {function}(:k1, :k2)"), _keys()).scalar_one()
        if not taken:
            holder = _holder(connection)
            connection.close()
            engine.dispose()
            return holder
    except BaseException:
        connection.close()
        engine.dispose()
        raise

    def release() -> None:
        # Closing the session drops its advisory locks; no unlock round trip needed.
        connection.close()
        engine.dispose()

    return release


def holder(url: str) -> str | None:
    """The name of the lock's holder, if any; takes no lock."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return _holder(connection.execution_options(isolation_level="AUTOCOMMIT"))
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _holder(connection: Connection) -> str | None:
    # Several daemons of a fleet hold it shared: any one of them is named.
    found = connection.execute(_HOLDER_SQL, _keys()).scalars().first()
    return str(found) if found else None


def _keys() -> dict[str, int]:
    return {"k1": INSTANCE_LOCK[0], "k2": INSTANCE_LOCK[1]}
