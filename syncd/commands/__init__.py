"""Command groups of the ``syncd`` command line, one module per area.

Each module exposes ``COMMANDS``: the click commands it adds to the top-level group in
``syncd.cli``. Commands parse options, call into syncd and print; they hold no logic.
"""

from __future__ import annotations

import click

from syncd.commands import (
    daemon_commands,
    demo_commands,
    ingest_commands,
    reconcile_commands,
    sandbox_commands,
    sync_commands,
    view_commands,
)

COMMANDS: list[click.Command] = [
    *ingest_commands.COMMANDS,
    *sync_commands.COMMANDS,
    *view_commands.COMMANDS,
    *daemon_commands.COMMANDS,
    *sandbox_commands.COMMANDS,
    *reconcile_commands.COMMANDS,
    *demo_commands.COMMANDS,
]
