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

from syncd.config import bundled_migrations_dir
from syncd.core.errors import StateError
from syncd.store.lock import take_lock
from syncd.store.sqlite import READ_ONLY, create_sqlite_engine, database_url

log = logging.getLogger(__name__)


def alembic_config(
    db_path: Path | None = None, migrations_dir: Path | None = None
) -> AlembicConfig:
    """An Alembic Config built in memory: script location and, when given, the database."""
    cfg = AlembicConfig()
    location = migrations_dir or bundled_migrations_dir()
    # configparser interpolation: a '%' in a path must be doubled
    cfg.set_main_option("script_location", str(location).replace("%", "%%"))
    if db_path is not None:
        cfg.set_main_option("sqlalchemy.url", database_url(db_path).replace("%", "%%"))
    return cfg


def _run(db_path: Path, migrations_dir: Path | None, action: str, revision: str) -> None:
    # A folder made here holds only state: its owner's alone (the mode applies to the last).
    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    cfg = alembic_config(db_path, migrations_dir)
    # Never beside a running daemon (or a command writing): a schema changed under a writer
    # breaks it. Refused with AlreadyRunningError naming the holder.
    with take_lock(db_path, f"syncd db {action}"):
        engine = create_sqlite_engine(db_path, foreign_keys=False)
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


def upgrade(db_path: Path, revision: str = "head", migrations_dir: Path | None = None) -> None:
    """Bring the database (created when missing) up to ``revision``."""
    before = current(db_path)
    _run(db_path, migrations_dir, "upgrade", revision)
    log.info("database %s upgraded from %s to %s", db_path, before, current(db_path))


def downgrade(db_path: Path, revision: str, migrations_dir: Path | None = None) -> None:
    """Take the database down to ``revision`` ("base" drops every table)."""
    if not db_path.exists():
        raise StateError(f"database at {db_path} does not exist")
    before = current(db_path)
    _run(db_path, migrations_dir, "downgrade", revision)
    log.info("database %s downgraded from %s to %s", db_path, before, current(db_path))


def current(db_path: Path) -> str | None:
    """The database's revision; None when it does not exist or was never migrated."""
    if not db_path.exists():
        return None
    engine = create_sqlite_engine(db_path, foreign_keys=False)
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head(migrations_dir: Path | None = None) -> str:
    """The newest revision of the migrations."""
    script = ScriptDirectory.from_config(alembic_config(None, migrations_dir))
    revision = script.get_current_head()
    if revision is None:
        raise StateError(f"no migrations found in {migrations_dir or bundled_migrations_dir()}")
    return revision


def is_known(revision: str, migrations_dir: Path | None = None) -> bool:
    script = ScriptDirectory.from_config(alembic_config(None, migrations_dir))
    return any(rev.revision == revision for rev in script.walk_revisions())
