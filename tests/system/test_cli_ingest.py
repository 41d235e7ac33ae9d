"""The real ``syncd`` console script: ``syncd check`` and ``syncd ingest``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "samples"
KYERO = SAMPLES / "kyero" / "cmproperties-feed" / "kyero.xml"
CORPUS = REPO / "tests" / "corpus"
SYNCD = Path(sys.executable).parent / "syncd"

CONFIG = """\
[paths]
inbox = "inbox"
state_dir = "state"

[[formats]]
pattern = "*.csv"
mapping = "generic-csv"

[[formats]]
pattern = "*.xml"
mapping = "openimmo"

# The shared samples name real image hosts: no DNS from the tests (loopback only).
[images]
resolve_hosts = false
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    return subprocess.run(
        [str(SYNCD), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def kyero_sample() -> Path:
    if not KYERO.is_file():
        pytest.skip(f"the shared Kyero sample is not available at {KYERO}")
    return KYERO


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    upgraded = run("--config", str(path), "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return path


def test_check_prints_count_coverage_and_errors(kyero_sample: Path, config: Path) -> None:
    result = run("--config", str(config), "check", str(kyero_sample), "--mapping", "kyero")
    assert result.returncode == 1, result.stderr  # one record would be skipped
    out = result.stdout
    assert "133 record(s), 132 usable, 1 skipped" in out
    assert "field coverage" in out and "asking_price" in out
    assert "1 error(s)" in out and "ERROR" in out


def test_check_json_is_valid_json(kyero_sample: Path, config: Path) -> None:
    result = run(
        "--config", str(config), "check", str(kyero_sample), "--mapping", "kyero", "--json"
    )
    report = json.loads(result.stdout)
    assert report["record_count"] == 133 and report["usable_count"] == 132
    assert report["mapping"] == "kyero" and report["ok"] is False
    assert 0.5 < report["coverage"]["asking_price"] <= 1.0
    assert sum(f["severity"] == "error" for f in report["findings"]) == 1


def test_check_of_an_unusable_file_exits_4_and_stores_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    shutil.copyfile(CORPUS / "xml-xxe.xml", broken)
    result = run("check", str(broken), "--mapping", "openimmo")
    assert result.returncode == 4
    assert "FILE REJECTED" in result.stdout and "DOCTYPE" in result.stdout
    assert broken.exists()  # check never moves a file


def test_check_takes_the_mapping_from_the_config(config: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    shutil.copyfile(CORPUS / "csv-baseline.csv", good)
    result = run("--config", str(config), "check", str(good))
    assert result.returncode == 0, result.stderr
    assert "via mapping generic-csv" in result.stdout and "2 usable" in result.stdout


def test_ingest_archives_rejects_and_reports_each_file(config: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    good, bad = inbox / "good.csv", inbox / "bad.xml"
    shutil.copyfile(CORPUS / "csv-baseline.csv", good)
    shutil.copyfile(CORPUS / "xml-truncated.xml", bad)

    result = run("--config", str(config), "ingest", str(good), str(bad))

    assert result.returncode == 4, result.stderr  # one file was rejected
    first, second = result.stdout.strip().splitlines()
    assert first.startswith("good.csv: accepted, 2 record(s), 2 accepted, 0 skipped")
    assert second.startswith("bad.xml: rejected (not well-formed XML")
    assert not good.exists() and not bad.exists()
    assert list((tmp_path / "state" / "archive").rglob("good.csv"))
    assert (tmp_path / "state" / "rejected" / "bad.xml.error.json").is_file()

    shutil.copyfile(CORPUS / "csv-baseline.csv", good)
    again = run("--config", str(config), "ingest", "--json", str(good))
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["outcome"] == "duplicate" and data["changed_keys"] == []
