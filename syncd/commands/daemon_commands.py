"""``syncd run``: the daemon (see syncd/runtime/daemon/ and docs/operations.md)."""

from __future__ import annotations

import click

from syncd.commands.invocation import Invocation, pass_invocation


@click.command("run")
@pass_invocation
def run_command(invocation: Invocation) -> int:
    """Run the daemon: watch the inbox and keep Hemnet in step until SIGTERM.

    SIGHUP reloads the configuration and mappings; exits 2 on an invalid configuration,
    3 on a database that is not at head ('syncd db upgrade') and 8 when another syncd
    writes the same state database (the message names its PID).
    """
    # Imported here: the daemon's libraries (scheduler, HTTP server) would slow every
    # other command's start for nothing.
    from syncd.runtime import daemon

    return daemon.run(invocation.config_path, invocation.config)


COMMANDS: list[click.Command] = [run_command]
