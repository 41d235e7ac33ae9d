"""``syncd db upgrade|downgrade|current``: the state database's schema (Alembic)."""

from __future__ import annotations

from pathlib import Path

import click

from syncd.commands.invocation import Invocation, pass_invocation
from syncd.core.errors import StateError

EXIT_OK = 0


@click.group("db")
def db_group() -> None:
    """Create and migrate the state database."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_invocation
def db_upgrade(invocation: Invocation, revision: str) -> None:
    """Create the database or migrate it to the newest schema."""
    from syncd.store import migrate

    database, shown = invocation.database, _shown(invocation)
    before = migrate.current(database)
    migrate.upgrade(database, revision, invocation.config.paths.migrations_dir)
    after = migrate.current(database)
    if before == after:
        click.echo(f"database {shown}: already at revision {after}")
    else:
        click.echo(f"database {shown}: upgraded from {before or 'nothing'} to {after}")


@db_group.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_invocation
def db_downgrade(invocation: Invocation, revision: str, yes: bool) -> None:
    """Migrate the database back to REVISION ('base' removes every table and its data)."""
    from syncd.store import migrate

    database, shown = invocation.database, _shown(invocation)
    if not yes:
        click.confirm(
            f"downgrade {shown} to {revision}? Data in removed tables is lost",
            abort=True,
        )
    migrate.downgrade(database, revision, invocation.config.paths.migrations_dir)
    click.echo(f"database {shown}: at revision {migrate.current(database)}")


@db_group.command("current")
@pass_invocation
def db_current(invocation: Invocation) -> int:
    """Show the database's revision; exit 3 when it is not at head."""
    from syncd.store import migrate

    database, where = invocation.database, _shown(invocation)
    revision = migrate.current(database)
    head = migrate.head(invocation.config.paths.migrations_dir)
    if revision == head:
        click.echo(f"database {where}: revision {revision} (head)")
        return EXIT_OK
    missing = isinstance(database, Path) and not database.exists()
    shown = revision or ("none (no database)" if missing else "none")
    click.echo(f"database {where}: revision {shown}, head is {head}: run 'syncd db upgrade'")
    return StateError.exit_code


def _shown(invocation: Invocation) -> str:
    from syncd.config.store_url import shown

    return shown(invocation.database)


@db_group.command("copy")
@click.argument("source")
@click.argument("target")
@pass_invocation
def db_copy(invocation: Invocation, source: str, target: str) -> None:
    """Copy the whole state from SOURCE into the new, empty TARGET (docs/scaling.md).

    Each is sqlite:///PATH (or a file path) or postgresql+psycopg://USER@HOST/DATABASE; a
    PostgreSQL password comes from env SYNCD_STORE_PASSWORD or the credential store-password
    when the URL has none. The daemon must be stopped: the copy is refused while it runs.
    """
    from syncd.config.store_url import database_named, shown
    from syncd.store.copy import copy_state

    origin, destination = database_named(source), database_named(target)
    copied = copy_state(origin, destination, _migrations_dir(invocation))
    for table, rows in copied.rows:
        click.echo(f"  {table}: {rows} row(s)")
    click.echo(
        f"copied {copied.total} row(s) from {shown(origin)} to {shown(destination)}: point "
        "[store] url at the target, then start syncd"
    )


def _migrations_dir(invocation: Invocation) -> Path | None:
    """The configured migrations, when a config file is there to say; the bundled ones else."""
    if not invocation.config_path.exists():
        return None
    return invocation.config.paths.migrations_dir


COMMANDS: list[click.Command] = [db_group]
