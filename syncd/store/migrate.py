"""Schema migrations of the state database through Alembic's command API.

Uses the bundled migrations (or a configured folder) with no alembic.ini on disk. The only
way the schema changes; never called implicitly by open_store.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from syncd.config import bundled_migrations_dir
from syncd.core.errors import StateError
from syncd.store.location import Database, shown, sqlite_file
from syncd.store.lock import take_lock
from syncd.store.sqlite import READ_ONLY, create_sqlite_engine

log = logging.getLogger(__name__)


def alembic_config(migrations_dir: Path | None = None) -> AlembicConfig:
    """An Alembic Config built in memory: the script location (the caller passes a connection)."""
    cfg = AlembicConfig()
    location = migrations_dir or bundled_migrations_dir()
    # configparser interpolation: a '%' in a path must be doubled
    cfg.set_main_option("script_location", str(location).replace("%", "%%"))
    return cfg


def _engine(database: Database) -> Engine:
    """An engine for migrating: on SQLite without foreign keys (batch mode copies tables,
    which would otherwise trip foreign keys that point at the table being copied)."""
    file = sqlite_file(database)
    if file is None:
        return create_engine(str(database), poolclass=NullPool)
    return create_sqlite_engine(file, foreign_keys=False)


def _run(db_path: Database, migrations_dir: Path | None, action: str, revision: str) -> None:
    file = sqlite_file(db_path)
    if file is not None:
        # A folder made here holds only state: its owner's alone (the mode applies to the last).
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    cfg = alembic_config(migrations_dir)
    # Never beside a running daemon (or a command writing): a schema changed under a writer
    # breaks it. Refused with AlreadyRunningError naming the holder.
    with take_lock(db_path, f"syncd db {action}"):
        engine = _engine(db_path)
        try:
            with engine.connect() as connection:
                cfg.attributes["connection"] = connection
                if action == "upgrade":
                    command.upgrade(cfg, revision)
                else:
                    command.downgrade(cfg, revision)
                connection.commit()
        finally:
            engine.dispose()


def upgrade(db_path: Database, revision: str = "head", migrations_dir: Path | None = None) -> None:
    """Bring the database (created when missing) up to ``revision``."""
    before = current(db_path)
    _run(db_path, migrations_dir, "upgrade", revision)
    log.info("database %s upgraded from %s to %s", shown(db_path), before, current(db_path))


def downgrade(db_path: Database, revision: str, migrations_dir: Path | None = None) -> None:
    """Take the database down to ``revision`` ("base" drops every table)."""
    file = sqlite_file(db_path)
    if file is not None and not file.exists():
        raise StateError(f"database at {file} does not exist")
    before = current(db_path)
    _run(db_path, migrations_dir, "downgrade", revision)
    log.info("database %s downgraded from %s to %s", shown(db_path), before, current(db_path))


def current(db_path: Database) -> str | None:
    """The database's revision; None when it does not exist or was never migrated."""
    file = sqlite_file(db_path)
    if file is not None and not file.exists():
        return None
    engine = _engine(db_path)
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as error:
        if file is not None:
            raise
        raise StateError(f"cannot reach the state store {shown(db_path)}: {error.orig}") from None
    finally:
        engine.dispose()


def head(migrations_dir: Path | None = None) -> str:
    """The newest revision of the migrations."""
    script = ScriptDirectory.from_config(alembic_config(migrations_dir))
    revision = script.get_current_head()
    if revision is None:
        raise StateError(f"no migrations found in {migrations_dir or bundled_migrations_dir()}")
    return revision


def is_known(revision: str, migrations_dir: Path | None = None) -> bool:
    script = ScriptDirectory.from_config(alembic_config(migrations_dir))
    return any(rev.revision == revision for rev in script.walk_revisions())
