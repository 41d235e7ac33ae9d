"""The real ``syncd`` console script: version, config check, db upgrade/current, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncd import __version__
from tests.system.support import SYNCD

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    return subprocess.run(
        [str(SYNCD), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"syncd, version {__version__}"


def test_help_documents_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    for line in ("2  configuration", "3  state database", "5  plan held", "7  Hemnet auth"):
        assert line in result.stdout


def test_config_check_accepts_the_example() -> None:
    result = run("config", "check", str(REPO / "config.example.toml"))
    assert result.returncode == 0, result.stderr
    assert "config " in result.stdout and ": ok" in result.stdout
    assert f"database       {REPO / 'var' / 'state' / 'syncd.db'}" in result.stdout
    assert "*.csv" in result.stdout and "generic-csv" in result.stdout
    assert "MISSING" not in result.stdout


def test_config_check_names_every_mistake(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[paths]\ninbox = "in"\nstate_dir = "state"\n'
        "[sync]\nmass_removal_share = 1.5\n"
        "[hemnet]\nburts = 10\n"
        '[watch]\nsettle_s = "two"\n',
        encoding="utf-8",
    )
    result = run("config", "check", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith(f"error: 3 problem(s) in {config}")
    assert "sync.mass_removal_share: must be between 0 and 1, got 1.5" in err
    assert "hemnet.burts: unknown key (did you mean 'burst'?)" in err
    assert "watch.settle_s: must be a number, got string 'two'" in err
    assert "remedy: fix the configuration file and run 'syncd config check'" in err
    assert "Traceback" not in err


def test_config_check_reports_a_missing_mapping(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[paths]\ninbox = "in"\nstate_dir = "s"\n[[formats]]\npattern = "*.xml"\n'
        'mapping = "no-such-mapping"\n',
        encoding="utf-8",
    )
    result = run("--config", str(config), "config", "check")
    assert result.returncode == 2
    assert "MISSING" in result.stdout
    assert "formats[0].mapping: no mapping file at" in result.stderr


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "absent.toml"), "db", "current")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[paths]\ninbox = "in"\nstate_dir = "state"\n', encoding="utf-8")
    env = {"SYNCD_CONFIG": str(config)}  # the default for --config

    before = run("db", "current", env=env)
    assert before.returncode == 3
    assert "run 'syncd db upgrade'" in before.stdout

    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    database = tmp_path / "state" / "syncd.db"
    assert database.is_file()
    assert f"database {database}: upgraded from nothing to" in upgraded.stdout

    current = run("db", "current", env=env)
    assert current.returncode == 0
    assert current.stdout.strip().endswith("(head)")

    again = run("db", "upgrade", env=env)
    assert again.returncode == 0 and "already at revision" in again.stdout

    down = run("db", "downgrade", "base", "--yes", env=env)
    assert down.returncode == 0, down.stderr
    assert run("db", "current", env=env).returncode == 3


def test_python_dash_m_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_usage_errors_exit_2() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_config_check_names_the_token_source_never_the_token() -> None:
    env = {"SYNCD_HEMNET_TOKEN": "tok-very-secret-123"}
    result = run("config", "check", str(REPO / "config.example.toml"), env=env)
    assert result.returncode == 0
    assert "hemnet token: env SYNCD_HEMNET_TOKEN" in result.stdout
    assert "tok-very-secret-123" not in result.stdout + result.stderr
