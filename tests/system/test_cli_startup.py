"""The command line starts without the libraries of commands it does not run, and a SIGTERM
while ``syncd run`` is still starting ends it as cleanly as a later one."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.commands import COMMAND_MODULES
from tests.system.support import (
    TOKEN,
    free_port,
    syncd,
    write_config,
)

pytestmark = pytest.mark.system

HEAVY = ("sqlalchemy", "httpx", "lxml", "uvicorn", "apscheduler", "watchdog", "alembic")


def test_every_command_module_is_in_the_lazy_table() -> None:
    listed = set(COMMAND_MODULES.values())
    package = Path(importlib.import_module("syncd.commands").__file__ or "").parent
    modules = {p.stem for p in package.glob("*_commands.py")}
    assert modules == listed
    for module_name in modules:
        module = importlib.import_module(f"syncd.commands.{module_name}")
        names = {command.name for command in module.COMMANDS}
        assert names == {n for n, m in COMMAND_MODULES.items() if m == module_name}


@pytest.mark.parametrize("argv", [["--version"], ["status", "--help"], ["config", "--help"]])
def test_a_command_imports_only_what_it_needs(argv: list[str]) -> None:
    probe = (
        "import sys\n"
        "from syncd.cli import cli\n"
        f"cli.main({argv!r}, prog_name='syncd', standalone_mode=False)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_version_imports_no_config_model() -> None:
    """The option that names the config file must not import the config model and the domain
    under it: that doubled the time of ``syncd --version`` (benchmark 6)."""
    probe = (
        "import sys\n"
        "from syncd.cli import cli\n"
        "cli.main(['--version'], prog_name='syncd', standalone_mode=False)\n"
        "print(sorted(m for m in ('syncd.config', 'syncd.core.domain') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


# Where a SIGTERM may land while `syncd run` starts: each is made to happen there by a probe
# that sends the signal to its own process on entry to that function.
LANDINGS = [  # (module, class or "", function)
    ("syncd.runtime.daemon", "", "run"),  # the daemon's libraries just imported
    ("syncd.runtime.daemon", "", "open_store"),  # opening the state database
    ("syncd.runtime.daemon", "Daemon", "__init__"),  # building the client, scheduler and watcher
]


@pytest.mark.parametrize(("module", "owner", "attribute"), LANDINGS)
def test_sigterm_while_starting_ends_cleanly(
    tmp_path: Path, module: str, owner: str, attribute: str
) -> None:
    """Wherever in start-up it lands: exit 0, no traceback, as a SIGTERM after READY does."""
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    assert syncd("--config", str(config), "db", "upgrade").returncode == 0
    probe = f"""
import functools, importlib, os, signal
from syncd.cli import main
holder = importlib.import_module({module!r})
if {owner!r}:
    holder = getattr(holder, {owner!r})
original = getattr(holder, {attribute!r})

@functools.wraps(original)
def landed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return original(*args, **kwargs)

setattr(holder, {attribute!r}, landed)
main(["--config", {str(config)!r}, "run"])
"""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "NOTIFY"))}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "SYNCD_HEMNET_TOKEN": TOKEN},
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    assert "syncd stopped" in output
