"""``syncd reprocess FILE``: send an export file from rejected/ or archive/ back to the inbox
to be read again with today's mappings (after a mapping fix). Parses options and prints.
"""

from __future__ import annotations

from pathlib import Path

import click

from syncd.commands.invocation import Invocation, pass_invocation
from syncd.usecases.reprocess import send_back


@click.command("reprocess")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@pass_invocation
def reprocess_command(invocation: Invocation, file: Path) -> None:
    """Read FILE (in rejected/ or archive/) again, although its bytes were taken before.

    Moves it back into the inbox, marked: the running daemon reads it with the mappings
    it has now (or 'syncd ingest' on the inbox file does), instead of calling it a
    duplicate.
    """
    target = send_back(invocation.config, file)
    click.echo(f"{file.name} moved to {target}; it is read again with today's mappings")


COMMANDS: list[click.Command] = [reprocess_command]
