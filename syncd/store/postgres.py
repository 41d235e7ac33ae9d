"""PostgreSQL engines for the state store: the same transactions as on SQLite.

On SQLite a write transaction takes the database's one write lock at BEGIN (IMMEDIATE), so
writers never interleave and a read-then-write cannot lose an update. Here every write
transaction first takes one transaction-level advisory lock, which gives the same
guarantee; a read transaction is a read-only snapshot (REPEATABLE READ), as a WAL reader's.
Commits are durable (synchronous_commit), so ``DURABLE`` needs nothing more here.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from syncd.store.sqlite import READ_ONLY

# pg_advisory_xact_lock(WRITER_LOCK): the write lock of the state store (the two numbers
# read "sy" "wr"). The instance lock (pglock.py) uses another pair.
WRITER_LOCK = (0x7379, 0x7772)


def create_postgres_engine(url: str, *, command: str | None = None) -> Engine:
    """An engine whose write transactions take the store's write lock first.

    ``command`` names the process to the server (pg_stat_activity.application_name), so an
    operator, and the state lock's refusal, can tell who is connected.
    """
    name = f"{os.getpid()} {command or 'syncd'}"[:63]
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=5,
        # A server restart leaves dead connections in the pool: checked when taken out.
        pool_pre_ping=True,
        connect_args={"application_name": name},
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        else:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", WRITER_LOCK)

    return engine
