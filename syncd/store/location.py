"""Where the state lives: a SQLite file (a Path) or a PostgreSQL URL (a string).

Every entry point of the store (open_store, migrate, the state lock, db copy) takes one of
these and picks its engine's own way from here; nothing above the store tells them apart.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from syncd.core.errors import StateError

Database = Path | str  # a SQLite file, or a SQLAlchemy URL (sqlite:/// or postgresql+psycopg://)
SQLITE_PREFIX = "sqlite:///"
POSTGRES_DRIVER = "postgresql+psycopg"


def sqlite_file(database: Database) -> Path | None:
    """The SQLite file ``database`` names; None for PostgreSQL."""
    if isinstance(database, Path):
        return database
    if database.startswith(SQLITE_PREFIX):
        return Path(database.removeprefix(SQLITE_PREFIX))
    if make_url(database).drivername != POSTGRES_DRIVER:
        raise StateError(f"state store {shown(database)}: only SQLite and {POSTGRES_DRIVER}")
    return None


def shown(database: Database) -> str:
    """The store as messages name it: the file, or the URL with its password hidden."""
    if isinstance(database, Path):
        return str(database)
    return make_url(database).render_as_string(hide_password=True)
