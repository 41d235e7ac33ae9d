"""The ``syncd`` command line: a click group that commands are added to, and its one handler.

Commands parse options, call into syncd and print; they hold no logic of their own. Every
SyncdError ends here as ``error:`` and ``remedy:`` lines and the error's exit code.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from syncd import __version__
from syncd.commands import LazyGroup
from syncd.commands.invocation import Invocation, pass_invocation
from syncd.config import CONFIG_ENV, DEFAULT_CONFIG_PATH
from syncd.errors import ConfigError, MappingError, StateError, SyncdError
from syncd.logline import OneLineFormatter

# Only what every command needs is imported above; a command's own libraries are imported
# when it runs (see syncd.commands), so that `syncd --version` or `syncd status` starts at
# once and a SIGTERM during start-up meets the handler installed first thing in main().

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_OTHER = 1

EXIT_CODES_HELP = """\b
Exit codes:
  0  ok
  1  other error
  2  configuration (or command-line usage) error
  3  state database error (e.g. not at head: run 'syncd db upgrade')
  4  export file unusable
  5  plan held by a removal guard (release with 'syncd hold release')
  6  Hemnet API error
  7  Hemnet authentication error (key expired or revoked)
"""


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    # One record, one line, whatever file names or CRM text a message carries.
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


@click.group(
    cls=LazyGroup,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="syncd")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar=CONFIG_ENV,
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    show_envvar=True,
    help="Configuration file.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: int) -> None:
    """Keep Hemnet in step with a CRM that can only export files."""
    _configure_logging(verbose)
    ctx.obj = Invocation(config_path)


# --- config ------------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@pass_invocation
def config_check(invocation: Invocation, file: Path | None) -> None:
    """Validate FILE (default: --config) and show resolved paths and mappings."""
    from syncd.config import (
        find_token,
        http_access_problems,
        load_config,
        load_http_token,
        load_webhook_secrets,
    )
    from syncd.formats import load_mapping

    config = load_config(file) if file is not None else invocation.config
    paths = config.paths
    click.echo(f"config {config.source}: ok")
    click.echo("paths:")
    for name in ("inbox", "archive", "rejected", "state_dir", "database"):
        click.echo(f"  {name:<15}{getattr(paths, name)}")
    click.echo(f"  {'mappings_dir':<15}{paths.mappings_dir}")
    click.echo(f"  {'migrations_dir':<15}{paths.migrations_dir}")
    click.echo("formats (first match wins):")
    missing: list[str] = []
    for index, rule in enumerate(config.formats):
        mode = f" [{rule.export_mode}]" if rule.export_mode else ""
        if not rule.mapping_path.is_file():
            state = "MISSING"
            missing.append(f"formats[{index}].mapping: no mapping file at {rule.mapping_path}")
        else:
            # Load it as ingest will, so a broken mapping is found now, not at the first file.
            try:
                load_mapping(rule.mapping_path)
                state = "ok"
            except MappingError as error:
                state = "INVALID"
                missing.append(f"formats[{index}].mapping: {error}")
        click.echo(f"  {rule.pattern:<15}-> {rule.mapping}{mode} ({rule.mapping_path}: {state})")
    if not config.formats:
        click.echo("  (none: every export file would be rejected)")
    found = find_token(config)
    click.echo(f"hemnet token: {found[1] if found else 'not set (needed by run and apply)'}")
    secrets = load_webhook_secrets(config)
    click.echo(f"webhook secrets: {len(secrets)} set")
    if config.http.listen:
        token = "set" if load_http_token(config) else "not set (pages open to whoever can connect)"
        click.echo(f"http access token: {token}")
    missing.extend(http_access_problems(config))
    if missing:
        raise ConfigError(missing, str(config.source))


# --- db ------------------------------------------------------------------------------------


@cli.group("db")
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


# --- the one handler -----------------------------------------------------------------------


def _fail(message: str, remedy: str, exit_code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    click.echo(f"remedy: {remedy}", err=True)
    sys.exit(exit_code)


class _Terminated(BaseException):
    """SIGTERM before the command installed its own handling (a BaseException, so that no
    ``except Exception`` on the way out mistakes it for a failure)."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console entry point: runs the group and turns every failure into one exit code."""
    # systemd may stop the service while it is still importing and opening the store. Until
    # the daemon (or `apply`) installs its own handling, a SIGTERM unwinds what was opened and
    # exits 0, as a later one does; nothing has been sent or half-written by then.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = cli.main(args=argv, prog_name="syncd", standalone_mode=False)
    except _Terminated:
        click.echo("syncd stopped: SIGTERM during start-up, before anything was done", err=True)
        sys.exit(EXIT_OK)
    except SyncdError as error:
        log.debug("command failed", exc_info=True)
        _fail(str(error), error.remedy, error.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_OTHER)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        log.exception("unexpected failure")
        _fail(
            f"unexpected {type(error).__name__}: {error}",
            "this is a bug in syncd: report it with the log above (-vv for more)",
            EXIT_OTHER,
        )
    sys.exit(result if isinstance(result, int) else EXIT_OK)
