"""``syncd reconcile [--dry-run]`` through the real command line group, sandbox and database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncd import metrics
from syncd.cli import cli
from syncd.config import load_config
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle
from syncd.store import listings
from syncd.store.engine import open_store
from tests.fakes.readback_world import MovableClock, World, a_listing

SANDBOX_OPTIONS = {"image_delay_s": 0.02}
SANDBOX_PER_TEST = True


def test_reconcile_command_dry_run_then_repair(
    sandbox: SandboxHandle, config_file: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file.write_text(
        config_file.read_text() + f'\n[hemnet]\nbase_url = "{sandbox.base_url}"\n'
    )
    config = load_config(config_file)
    assert config.paths.database == db_path
    monkeypatch.setenv("SYNCD_HEMNET_TOKEN", sandbox.token)
    with open_store(db_path) as store, HemnetClient(sandbox.base_url, lambda: sandbox.token) as c:
        world = World(sandbox, store, c, config, MovableClock(datetime.now(UTC)))
        listing = a_listing("C1", images=1)
        world.want(listing)
        hemnet_id = world.put_on_hemnet(listing, record=False)
        stranger = world.put_on_hemnet(a_listing("C2", images=0), record=False)

    runner = CliRunner()
    dry = runner.invoke(cli, ["--config", str(config_file), "reconcile", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing changed" in dry.output
    assert "would be adopted (already on Hemnet): C1" in dry.output
    assert f"unknown on Hemnet (left alone): {stranger}" in dry.output
    assert sandbox.token not in dry.output

    done = runner.invoke(cli, ["--config", str(config_file), "reconcile"])
    assert done.exit_code == 0, done.output
    assert "adopted (already on Hemnet): C1" in done.output
    assert "would be" not in done.output
    with open_store(db_path) as store, store.read() as session:
        row = listings.get_listing(session, "C1")
        assert row is not None and row.hemnet_id == hemnet_id


def test_reconcile_counts_its_requests_in_the_metrics_as_apply_does(
    sandbox: SandboxHandle, config_file: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command builds its client through syncd.runtime.services, as apply and the daemon do.
    config_file.write_text(
        config_file.read_text() + f'\n[hemnet]\nbase_url = "{sandbox.base_url}"\n'
    )
    monkeypatch.setenv("SYNCD_HEMNET_TOKEN", sandbox.token)

    def answered() -> float:
        return (
            metrics.REGISTRY.get_sample_value("syncd_api_responses_total", {"status": "2xx"}) or 0
        )

    before = answered()
    result = CliRunner().invoke(cli, ["--config", str(config_file), "reconcile", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert answered() > before
