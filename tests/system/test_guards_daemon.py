"""The removal guards with ``syncd run`` and a sandbox as real processes: a released hold
covers the shrink it held and no later one, and a correct export dropped again after a
broken one restores the listings even when its bytes were seen before."""

# The daemon and sandbox fixtures come from test_daemon; pytest passes them by name.

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from syncd.sandbox import wire
from tests.system.support import (
    TOKEN,
    DaemonProcess,
    Notifications,
    drop,
    row,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

KEYS = [f"K{n}" for n in range(1, 7)]
FULL = [row(key, 2_000_000 + n) for n, key in enumerate(KEYS)]
SHRUNK = FULL[:1]  # a broken full export: only K1, the five others look gone


def published(sandbox_url: str) -> set[str]:
    response = httpx.get(
        f"{sandbox_url}/listings",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    response.raise_for_status()
    listings = response.json()["listings"]
    return {item["externalId"] for item in listings if item["publicationStatus"]["isPublished"]}


def unpublish_calls(sandbox_url: str) -> int:
    """Unpublish requests the sandbox answered, from its own request statistics."""
    root = sandbox_url.removesuffix("/v1")
    response = httpx.get(f"{root}{wire.ADMIN_PREFIX}/stats")
    response.raise_for_status()
    counts: dict[str, int] = response.json()["requests"]
    return sum(
        n for request, n in counts.items() if request.startswith("POST") and "/unpublish" in request
    )


def holds_in_store(database: Path) -> list[tuple[int, list[str]]]:
    """The open holds, read from the state file (cheaper to poll than a CLI process)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT id, listing_keys_json FROM holds "
            "WHERE released_at IS NULL AND superseded_at IS NULL ORDER BY id"
        ).fetchall()
    return [(int(hold_id), sorted(json.loads(keys))) for hold_id, keys in rows]


def missing(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT listing_key, missing_since FROM listings WHERE missing_since IS NOT NULL"
        ).fetchall()
    return {str(key): str(since) for key, since in rows}


def started(
    start_daemon: Callable[..., DaemonProcess], config: Path, notifications: Notifications
) -> DaemonProcess:
    """A daemon process, once it told systemd it is ready (the inbox exists then)."""
    before = notifications.count("READY=1")
    daemon = start_daemon(config, NOTIFY_SOCKET=str(notifications.path))
    notifications.wait("READY=1", 30, after=before)
    return daemon


def test_a_release_covers_the_shrink_it_held_and_a_later_one_is_held_again(
    tmp_path: Path,
    sandbox: str,
    start_daemon: Callable[..., DaemonProcess],
    notifications: Notifications,
) -> None:
    config = write_config(tmp_path, sandbox)
    # No grace: a removal the guard lets through is sent at once.
    text = config.read_text(encoding="utf-8").replace(
        "[sync]\n", "[sync]\nremoval_grace_s = 0\nmass_removal_share = 0.5\nmass_removal_min = 1\n"
    )
    config.write_text(text, encoding="utf-8")
    inbox, database = tmp_path / "inbox", tmp_path / "state" / "syncd.db"
    daemon = started(start_daemon, config, notifications)
    drop(inbox, "full-1.csv", *FULL)
    wait_for(lambda: published(sandbox) == set(KEYS), 60, "the six listings published")

    # A broken full export: held, nothing unpublished.
    drop(inbox, "shrunk-1.csv", *SHRUNK)
    [(first, held)] = wait_for(lambda: holds_in_store(database), 30, "the shrink to be held")
    assert held == KEYS[1:]
    # The correct export again, byte for byte: the listings are back, the hold has lapsed.
    drop(inbox, "full-2.csv", *FULL)
    wait_for(lambda: not missing(database), 30, "the listings to be back")
    wait_for(lambda: holds_in_store(database) == [], 30, "the hold to be superseded")
    assert published(sandbox) == set(KEYS)
    assert unpublish_calls(sandbox) == 0

    # Releasing the lapsed hold releases nothing, and says so; the plan agrees.
    late = syncd("--config", str(config), "hold", "release", str(first))
    assert late.returncode == 3, late.stdout + late.stderr
    assert "superseded" in late.stderr and "nothing to release" in late.stderr
    assert "remedy: see the open holds with 'syncd hold list'" in late.stderr
    plan = syncd("--config", str(config), "plan")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout == "nothing to send\n"

    # Weeks later the same broken export again: the guard holds it again.
    drop(inbox, "shrunk-2.csv", *SHRUNK)
    [(second, held)] = wait_for(lambda: holds_in_store(database), 30, "the shrink held again")
    assert second != first
    assert held == KEYS[1:]
    assert daemon.stop() == 0
    assert unpublish_calls(sandbox) == 0
    assert published(sandbox) == set(KEYS)

    # This time the operator confirms it: what the release prints is what the plan shows.
    released = syncd("--config", str(config), "hold", "release", str(second))
    assert released.returncode == 0, released.stderr
    head, *said = released.stdout.splitlines()
    assert head.startswith(f"hold {second} released for 5 listing(s): 5 unpublished")
    plan = syncd("--config", str(config), "plan")
    assert plan.returncode == 0, plan.stderr
    assert [line.strip() for line in said] == plan.stdout.splitlines()
    assert sum("unpublish" in line for line in said) == 5

    applied = syncd("--config", str(config), "apply", env={"SYNCD_HEMNET_TOKEN": TOKEN})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert published(sandbox) == {"K1"}
    assert unpublish_calls(sandbox) == 5


def test_a_correct_export_dropped_again_after_a_broken_one_restores_the_listings(
    tmp_path: Path,
    sandbox: str,
    start_daemon: Callable[..., DaemonProcess],
    notifications: Notifications,
) -> None:
    config = write_config(tmp_path, sandbox)
    # A long grace and a shrink below the guard's limit: only the grace protects them.
    text = config.read_text(encoding="utf-8").replace(
        "[sync]\n", "[sync]\nremoval_grace_s = 3600\nmass_removal_min = 5\n"
    )
    config.write_text(text, encoding="utf-8")
    inbox, database = tmp_path / "inbox", tmp_path / "state" / "syncd.db"
    keys = KEYS[:3]
    daemon = started(start_daemon, config, notifications)
    drop(inbox, "full-1.csv", *FULL[:3])
    wait_for(lambda: published(sandbox) == set(keys), 60, "the three listings published")

    drop(inbox, "broken.csv", *FULL[:1])
    wait_for(lambda: sorted(missing(database)) == keys[1:], 30, "K2, K3 missing")
    drop(inbox, "full-1.csv", *FULL[:3])  # the same name and bytes, as CRMs re-send
    wait_for(lambda: not missing(database), 30, "missing_since cleared")
    assert holds_in_store(database) == []
    assert daemon.stop() == 0
    assert daemon.text().count("ingest full-1.csv: accepted") == 2

    plan = syncd("--config", str(config), "plan", "--json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout) == {"ops": [], "holds": [], "waiting": []}
    assert published(sandbox) == set(keys)
    assert unpublish_calls(sandbox) == 0
