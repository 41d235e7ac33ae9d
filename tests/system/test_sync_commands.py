"""`syncd plan --json`, `syncd apply` and `syncd hold list|release` as real processes on a
real store: an empty full export and one dropping 60 % are held until released."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncd.config import TOKEN_ENV, Config
from syncd.core.domain import Agency
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle, serve_sandbox
from syncd.store.listings import save_agency
from syncd.usecases.apply import Applier
from syncd.usecases.poll import Poller
from tests.fakes.store_state import mark_missing
from tests.integration.apply_env import a_listing, open_state, save, wait_for_images, write_config
from tests.system.support import SYNCD

pytestmark = pytest.mark.system

AG2 = Agency("AG2", "Mäklarhuset Norr")
EMPTIED = [f"E{n}" for n in range(5)]  # agency AG1: its full export comes back empty
SHRUNK = [f"F{n}" for n in range(5)]  # agency AG2: its full export drops three of five


def syncd(config: Config, sandbox: SandboxHandle, *args: str) -> subprocess.CompletedProcess[str]:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    env[TOKEN_ENV] = sandbox.token
    return subprocess.run(
        [str(SYNCD), "--config", str(config.source), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def unpublishes(sandbox: SandboxHandle) -> int:
    counts: dict[str, int] = sandbox.stats()["requests"]
    return counts.get("POST /v1/listings/{listing_id}/unpublish 200", 0)


def published(client: HemnetClient) -> set[str]:
    return {str(r.external_id) for r in client.list_listings() if r.is_published}


def test_mass_removals_are_held_until_an_operator_releases_them(tmp_path: Path) -> None:
    with serve_sandbox(image_delay_s=0.01) as sandbox:
        config = write_config(
            tmp_path,
            sandbox.base_url,
            hemnet={"max_concurrency": 8},
            sync={"removal_grace_s": 0.0, "mass_removal_share": 0.5, "mass_removal_min": 1},
        )
        store = open_state(config)
        client = HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10)
        now = datetime.now(UTC)
        with store.transaction() as session:
            save_agency(session, AG2, now)
        save(
            store,
            *(a_listing(k, images=1) for k in EMPTIED),
            *(replace(a_listing(k, images=1), agency_key=AG2.key) for k in SHRUNK),
        )
        applier = Applier(store, client, config)
        applier.run_pass()
        wait_for_images(store, Poller(store, client, config), EMPTIED + SHRUNK)
        applier.run_pass()
        assert published(client) == set(EMPTIED + SHRUNK)

        with store.transaction() as session:
            mark_missing(session, EMPTIED, now)
            mark_missing(session, SHRUNK[:3], now)

        plan = syncd(config, sandbox, "plan", "--json")
        assert plan.returncode == 0, plan.stderr
        data: dict[str, Any] = json.loads(plan.stdout)
        assert [op for op in data["ops"] if op["kind"] == "unpublish"] == []
        held = {h["agency_key"]: sorted(h["listing_keys"]) for h in data["holds"]}
        assert held == {"AG1": EMPTIED, "AG2": SHRUNK[:3]}

        sandbox.reset_stats()
        first = syncd(config, sandbox, "apply")
        assert first.returncode == 5, first.stdout + first.stderr  # held
        assert "2 removal(s) held" in first.stdout
        assert unpublishes(sandbox) == 0

        listed = syncd(config, sandbox, "hold", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        holds = {h["agency_key"]: h for h in json.loads(listed.stdout)}
        assert sorted(holds) == ["AG1", "AG2"]
        assert sorted(holds["AG2"]["listing_keys"]) == SHRUNK[:3]

        released = syncd(config, sandbox, "hold", "release", str(holds["AG2"]["id"]))
        assert released.returncode == 0, released.stderr
        after = syncd(config, sandbox, "apply")
        assert after.returncode == 5, after.stdout + after.stderr  # AG1 is still held
        assert unpublishes(sandbox) == 3
        assert published(client) == set(EMPTIED + SHRUNK[3:])

        again = syncd(config, sandbox, "hold", "release", str(holds["AG2"]["id"]))
        assert again.returncode == 3 and "already released" in again.stderr

        assert syncd(config, sandbox, "hold", "release", str(holds["AG1"]["id"])).returncode == 0
        last = syncd(config, sandbox, "apply")
        assert last.returncode == 0, last.stdout + last.stderr
        assert unpublishes(sandbox) == 8
        assert published(client) == set(SHRUNK[3:])
        client.close()
        store.close()
