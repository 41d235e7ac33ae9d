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
from syncd.commands.invocation import Invocation
from syncd.config_location import CONFIG_ENV, DEFAULT_CONFIG_PATH
from syncd.core.errors import SyncdError
from syncd.runtime.logline import OneLineFormatter

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
