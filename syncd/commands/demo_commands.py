"""``syncd demo``: run the sandbox and the daemon, drop the demo exports, show convergence."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_TIMEOUT_S = 180.0


@click.command("demo")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds the whole demo may take before it fails.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the workspace, and the sandbox and daemon running until Ctrl-C.",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Use this new or empty folder instead of a temporary one (it is kept).",
)
def demo(timeout_s: float, keep: bool, workdir: Path | None) -> None:
    """Show syncd at work: 20 demo listings from CSV and XML exports onto a local Hemnet.

    Exits 0 when every listing reached its expected stage, 1 with the reason otherwise.
    """
    # Imported here: the demo pulls in the status views, which other commands need not load.
    from syncd.demo import DemoOptions, run_demo

    options = DemoOptions(timeout_s=timeout_s, keep=keep, workdir=workdir)
    code = run_demo(options, sys.stdout)
    if code:
        sys.exit(code)


COMMANDS: list[click.Command] = [demo]
