"""Commands of this area; filled in by the module that owns it."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
