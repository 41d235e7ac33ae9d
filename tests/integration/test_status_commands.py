"""'syncd status' and 'syncd show KEY' over a real config and state database."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from syncd.cli import cli
from syncd.status import STATUS_FILE_COLUMNS
from syncd.store.engine import Store
from syncd.store.listings import get_listing
from tests.conftest import VENV_BIN
from tests.fakes.status_listings import EXPECTED_STAGES, IDENTITY_NUMBER, seed_listings


def _run(config_file: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config_file), *args])
    return result.exit_code, result.output


def test_status_prints_a_table_and_a_summary(
    store: Store, now: datetime, config_file: Path
) -> None:
    seed_listings(store, now)
    code, output = _run(config_file, "status")
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].split()[:4] == ["listing", "address", "hemnet_id", "stage"]
    for key, stage in EXPECTED_STAGES.items():
        line = next(text for text in lines if text.startswith(key + " "))
        assert stage.value in line
    assert "13 listing(s): 1 new, 1 creating" in output
    assert "approve A07: https://portal.example/listings/H7/approve" in output
    failed = next(text for text in lines if text.startswith("A04 "))
    assert "1/2 (1 failed)" in failed
    held = next(text for text in lines if text.startswith("A11 "))
    assert "missing (held)" in held  # the hold beside the stage, the stage still true


def test_show_puts_the_hold_beside_the_stage(
    store: Store, now: datetime, config_file: Path
) -> None:
    seed_listings(store, now)
    code, output = _run(config_file, "show", "A11")
    assert code == 0, output
    assert "  stage: missing  (held: a removal guard holds this listing" in output
    assert "its removal is held: review with 'syncd hold list'" in output
    assert re.search(r"^  published +yes$", output, re.MULTILINE), output  # facts in view


def test_status_reads_only(store: Store, now: datetime, config_file: Path) -> None:
    seed_listings(store, now)
    _run(config_file, "status")
    with store.read() as session:
        row = get_listing(session, "A08")
        assert row is not None
        assert row.stage is None


def test_status_json_has_the_status_file_form(
    store: Store, now: datetime, config_file: Path
) -> None:
    seed_listings(store, now)
    code, output = _run(config_file, "status", "--json")
    assert code == 0
    rows = json.loads(output)
    assert [list(r) for r in rows] == [list(STATUS_FILE_COLUMNS)] * len(EXPECTED_STAGES)
    assert {r["listing_key"]: r["stage"] for r in rows} == {
        k: s.value for k, s in EXPECTED_STAGES.items()
    }


def test_status_of_an_empty_database(store: Store, config_file: Path) -> None:
    code, output = _run(config_file, "status")
    assert code == 0
    assert output.startswith("0 listing(s)")


def test_watch_and_json_are_refused_together(store: Store, config_file: Path) -> None:
    code, output = _run(config_file, "status", "--watch", "--json")
    assert code == 2
    assert "--watch and --json" in output


def test_show_prints_facts_history_and_remedy(
    store: Store, now: datetime, config_file: Path
) -> None:
    seed_listings(store, now)
    code, output = _run(config_file, "show", "A10")
    assert code == 0, output
    assert "stage: failed" in output
    assert "last error: Hemnet refused the listing" in output
    assert "remedy:     correct the listing in the CRM" in output
    assert "failed 422" in output
    code, output = _run(config_file, "show", "A04")
    assert "image could not be decoded (not a JPEG)" in output


def test_show_never_prints_the_identity_number(
    store: Store, now: datetime, config_file: Path
) -> None:
    seed_listings(store, now)
    for extra in ((), ("--json",)):
        code, output = _run(config_file, "show", "A07", *extra)
        assert code == 0
        assert IDENTITY_NUMBER not in output
    data = json.loads(_run(config_file, "show", "A07", "--json")[1])
    assert data["status"]["approval_url"] == "https://portal.example/listings/H7/approve"


def test_show_unknown_key_fails_with_a_hint(store: Store, config_file: Path) -> None:
    code, output = _run(config_file, "show", "NOPE")
    assert code == 1
    assert "no listing 'NOPE'" in output


def test_status_watch_refreshes_until_interrupted(
    store: Store, now: datetime, config_file: Path
) -> None:
    seed_listings(store, now)
    process = subprocess.Popen(
        [str(VENV_BIN / "syncd"), "--config", str(config_file), "status", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "160", "TERM": "dumb"},
    )
    assert process.stdout is not None
    refreshes, deadline = 0, time.monotonic() + 20
    while refreshes < 2 and time.monotonic() < deadline:
        line = process.stdout.readline().decode()
        refreshes += line.startswith("13 listing(s)")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=10)
    assert refreshes == 2
    assert process.returncode == 0, err
