"""Command groups of the ``syncd`` command line, one module per area, imported on use.

Each module exposes ``COMMANDS``: the click commands it adds to the top-level group in
``syncd.cli``. Commands parse options, call into syncd and print; they hold no logic.

A command's module is imported only when that command runs (or its help is shown), so
``syncd --version`` or ``syncd status`` does not pay for the daemon's, the sandbox's or the
ingest's libraries. ``COMMAND_MODULES`` names each command's module; a test checks it
against every module's ``COMMANDS``.
"""

from __future__ import annotations

import importlib

import click

COMMAND_MODULES: dict[str, str] = {
    "config": "config_commands",
    "db": "db_commands",
    "check": "ingest_commands",
    "ingest": "ingest_commands",
    "plan": "sync_commands",
    "apply": "sync_commands",
    "retry": "sync_commands",
    "hold": "sync_commands",
    "keys": "sync_commands",
    "status": "view_commands",
    "show": "view_commands",
    "run": "daemon_commands",
    "sandbox": "sandbox_commands",
    "reconcile": "reconcile_commands",
    "demo": "demo_commands",
    "mapping": "mapping_commands",
    "reprocess": "reprocess_commands",
}


def load_command(name: str) -> click.Command | None:
    """The command ``name`` from its module, importing that module now; None if unknown."""
    module_name = COMMAND_MODULES.get(name)
    if module_name is None:
        return None
    module = importlib.import_module(f"{__name__}.{module_name}")
    for command in module.COMMANDS:
        if command.name == name:
            return command  # type: ignore[no-any-return]
    raise LookupError(f"{module.__name__} does not define the command {name!r}")


class LazyGroup(click.Group):
    """A click group whose table-listed commands are imported when first looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or load_command(cmd_name)
