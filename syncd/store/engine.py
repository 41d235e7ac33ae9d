"""Opens the state database for use: refuses one that is missing or not at head.

Never migrates on its own (that is 'syncd db upgrade', see migrate.py); hands out
transactions, not connections.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from syncd.core.errors import StateError
from syncd.store import migrate, plan_marks
from syncd.store.fence import FENCE, Fence
from syncd.store.location import Database, shown, sqlite_file
from syncd.store.postgres import create_postgres_engine
from syncd.store.sqlite import DURABLE, READ_ONLY, create_sqlite_engine

# Session is re-exported: a use case holds the transaction it was handed and passes it to
# the store's queries; only the store imports sqlalchemy.
__all__ = ["Session", "Store", "check_revision", "open_store"]

log = logging.getLogger(__name__)


class Store:
    """The state database: ``with store.transaction() as session:`` commits or rolls back.

    Rows read in a transaction stay usable after it ends (no expiry on commit), as plain
    values; changing them outside a transaction changes nothing in the database.
    """

    def __init__(self, engine: Engine, database: Database, *, fence: Fence | None = None) -> None:
        self.engine = engine
        self.database = database
        # The SQLite file (None on PostgreSQL): its folder holds the spill files.
        self.path = sqlite_file(database)
        self.fence = fence
        # A fenced store's sessions carry the fence: its planning reads and outbox writes
        # are scoped to, and checked against, the agencies held (store/fence.py).
        info = {} if fence is None else {FENCE: fence}
        self._writer = sessionmaker(bind=engine, expire_on_commit=False, info=info)
        self._durable_writer = sessionmaker(
            bind=engine.execution_options(**{DURABLE: True}), expire_on_commit=False, info=info
        )
        # Every write marks the listings whose planned facts it changes (the dirty set).
        plan_marks.install(self._writer)
        plan_marks.install(self._durable_writer)
        self._reader = sessionmaker(
            bind=engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, info=info
        )

    def fenced(self, fence: Fence) -> Store:
        """The same database, for the work of one instance of a fleet: it plans and writes
        the outbox only for the agencies ``fence`` holds."""
        return Store(self.engine, self.database, fence=fence)

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[Session]:
        """A write transaction: takes SQLite's write lock at once, commits on success.

        ``durable``: the commit is on disk (fsync) before this returns, and so is every
        commit before it. Use it where something outside the database happens next that
        must not be forgotten after a power loss (a call to Hemnet, moving an export file).
        """
        maker = self._durable_writer if durable else self._writer
        with maker.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: a consistent snapshot that never blocks the writer.

        Closing (not rolling back) ends it, so the rows read stay loaded for the caller.
        """
        with self._reader() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def check_revision(db_path: Database, migrations_dir: Path | None = None) -> str:
    """The database's revision if it is at head; StateError naming the fix otherwise."""
    head = migrate.head(migrations_dir)
    file = sqlite_file(db_path)
    if file is not None and not file.exists():
        raise StateError(
            f"database at {file} does not exist, head is {head}: run 'syncd db upgrade'"
        )
    revision = migrate.current(db_path)
    where = shown(db_path)
    if revision == head:
        return revision
    if revision is not None and not migrate.is_known(revision, migrations_dir):
        error = StateError(
            f"database at {where} is at revision {revision}, which this syncd does not "
            f"know (head is {head}): it was written by a newer syncd"
        )
        error.remedy = "install the syncd version that wrote this database"
        raise error
    raise StateError(
        f"database at {where} is at revision {revision or 'none'}, head is {head}: "
        "run 'syncd db upgrade'"
    )


def open_store(
    database: Database, migrations_dir: Path | None = None, *, command: str | None = None
) -> Store:
    """The store over an existing database at head (see ``check_revision``).

    ``command`` names this process to a PostgreSQL server (its connections' application_name).
    """
    revision = check_revision(database, migrations_dir)
    log.debug("opened state database %s at revision %s", shown(database), revision)
    db_path = sqlite_file(database)
    if db_path is None:
        return Store(create_postgres_engine(str(database), command=command), database)
    mode = db_path.stat().st_mode & 0o777
    if mode & 0o077:
        # Not changed here: another reader (a backup job's group) may rely on it.
        log.warning(
            "state database %s is readable by other users (mode %04o) and holds personal "
            "identity numbers: chmod 600 %s",
            db_path,
            mode,
            db_path,
        )
    return Store(create_sqlite_engine(db_path), db_path)
