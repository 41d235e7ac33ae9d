"""``syncd sandbox``: the local Hemnet, for demos, tests and an operator's first trial."""

from __future__ import annotations

import click

from syncd.sandbox.command import sandbox

COMMANDS: list[click.Command] = [sandbox]
