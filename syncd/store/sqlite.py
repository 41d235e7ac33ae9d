"""SQLite engines for the state database: WAL, foreign keys and a busy timeout on connect.

Only builds engines; knows nothing of tables or revisions.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "syncd_read_only"  # execution option: open the transaction with a plain BEGIN
DURABLE = "syncd_durable"  # execution option: the commit is on disk before it returns
# The database holds personal identity numbers: only syncd's own user may read it. SQLite
# gives its -wal and -shm files the database file's mode, so creating this one is enough.
STATE_FILE_MODE = 0o600


def create_private(db_path: Path) -> None:
    """Create an empty database file readable by its owner only, unless one exists."""
    try:
        fd = os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, STATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def database_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


def create_sqlite_engine(db_path: Path, *, foreign_keys: bool = True) -> Engine:
    """An engine whose every connection is in WAL mode and takes write locks up front.

    Migrations pass ``foreign_keys=False``: batch mode copies tables, which would otherwise
    trip foreign keys that point at the table being copied.
    """
    create_private(db_path)
    # A pooled connection per thread: opening one (and its PRAGMAs) per transaction cost
    # more than the transaction itself.
    engine = create_engine(database_url(db_path), poolclass=QueuePool, pool_size=5)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so a transaction that reads and then
        # writes cannot fail half-way because another writer got in between.
        options = conn.get_execution_options()
        read_only = options.get(READ_ONLY, False)
        if not read_only:
            # WAL with synchronous=NORMAL survives a killed process; only power loss can drop
            # the last commits. A durable commit (FULL) syncs the log, and with it every
            # commit before it: apply uses one just before each call to Hemnet and ingest one
            # per file (the file moves right after), so what an outage can lose is only ever
            # settled by reading Hemnet back. One fsync per op instead of one per commit.
            level = "FULL" if options.get(DURABLE, False) else "NORMAL"
            conn.exec_driver_sql(f"PRAGMA synchronous={level}")
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
