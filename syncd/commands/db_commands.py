"""``syncd db upgrade|downgrade|current``: the state database's schema (Alembic)."""

from __future__ import annotations

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

    paths = invocation.config.paths
    before = migrate.current(paths.database)
    migrate.upgrade(paths.database, revision, paths.migrations_dir)
    after = migrate.current(paths.database)
    if before == after:
        click.echo(f"database {paths.database}: already at revision {after}")
    else:
        click.echo(f"database {paths.database}: upgraded from {before or 'nothing'} to {after}")


@db_group.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_invocation
def db_downgrade(invocation: Invocation, revision: str, yes: bool) -> None:
    """Migrate the database back to REVISION ('base' removes every table and its data)."""
    from syncd.store import migrate

    paths = invocation.config.paths
    if not yes:
        click.confirm(
            f"downgrade {paths.database} to {revision}? Data in removed tables is lost",
            abort=True,
        )
    migrate.downgrade(paths.database, revision, paths.migrations_dir)
    click.echo(f"database {paths.database}: at revision {migrate.current(paths.database)}")


@db_group.command("current")
@pass_invocation
def db_current(invocation: Invocation) -> int:
    """Show the database's revision; exit 3 when it is not at head."""
    from syncd.store import migrate

    paths = invocation.config.paths
    revision = migrate.current(paths.database)
    head = migrate.head(paths.migrations_dir)
    if revision == head:
        click.echo(f"database {paths.database}: revision {revision} (head)")
        return EXIT_OK
    shown = revision or ("none" if paths.database.exists() else "none (no database)")
    click.echo(
        f"database {paths.database}: revision {shown}, head is {head}: run 'syncd db upgrade'"
    )
    return StateError.exit_code


COMMANDS: list[click.Command] = [db_group]
