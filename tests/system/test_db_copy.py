"""Moving a running installation from SQLite to PostgreSQL with 'syncd db copy', mid-way
through its listings' lives: the daemon on PostgreSQL then finishes what the one on SQLite
left (an in-flight create among it) and Hemnet ends with one listing per key and one image
per URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from syncd.store.engine import open_store
from syncd.store.tables import OperationRow, OpStatus
from tests.crashing_syncd import CRASH_EXIT
from tests.system.support import (
    TOKEN,
    DaemonProcess,
    drop,
    row,
    status_of,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _visible(inbox: Path, *keys: str) -> bool:
    found = status_of(inbox)
    return all(found.get(key, {}).get("stage") == "visible" for key in keys)


def _hemnet(base_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every listing on the sandbox by its external id, each with its images."""
    response = httpx.get(f"{base_url}/listings", params={"limit": 100}, headers=AUTH)
    response.raise_for_status()
    out: dict[str, list[dict[str, Any]]] = {}
    for item in response.json()["listings"]:
        images = httpx.get(
            f"{base_url}/listings/{item['id']}/images", params={"limit": 100}, headers=AUTH
        )
        images.raise_for_status()
        out.setdefault(item["externalId"], []).append({**item, "images": images.json()["images"]})
    return out


def _unsettled(database: Path) -> int:
    """Ops the outbox still holds as intents or in flight."""
    waiting = (OpStatus.INTENT.value, OpStatus.IN_FLIGHT.value)
    with open_store(database) as store, store.read() as session:
        query = select(func.count()).where(OperationRow.status.in_(waiting))
        return int(session.scalar(query) or 0)


def test_a_copy_mid_lifecycle_converges_on_postgresql_with_no_duplicate(
    tmp_path: Path,
    sandbox: str,
    start_daemon: Callable[..., DaemonProcess],
    pg_url: str,
) -> None:
    config = write_config(tmp_path, sandbox)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sqlite = tmp_path / "state" / "syncd.db"
    drop(inbox, "export-1.csv", row("A1", 2_000_000, "Ett"), row("A2", 2_100_000, "Två"))
    daemon = start_daemon(config)
    wait_for(lambda: _visible(inbox, "A1", "A2"), 60, "A1 and A2 visible on SQLite")

    refused = syncd("--config", str(config), "db", "copy", f"sqlite:///{sqlite}", pg_url)
    assert refused.returncode == 8, refused.stderr
    assert "'syncd run'" in refused.stderr and "stop the daemon first" in refused.stderr
    assert daemon.stop() == 0

    # A new export, and a daemon killed just after Hemnet created a listing, before it
    # recorded the outcome: intents and an in-flight create left in the outbox.
    drop(
        inbox,
        "export-2.csv",
        row("A1", 1_900_000, "Ett"),
        row("A2", 2_100_000, "Två"),
        row("B1", 3_000_000, "Tre"),
        row("B2", 3_100_000, "Fyra"),
    )
    crashed = start_daemon(config, crash_at="create_listing:after_call")
    assert crashed.process.wait(timeout=60) == CRASH_EXIT
    crashed.stop()
    assert _unsettled(sqlite) > 0

    copied = syncd("--config", str(config), "db", "copy", f"sqlite:///{sqlite}", pg_url)
    assert copied.returncode == 0, copied.stderr
    assert "operations:" in copied.stdout and "point [store] url at the target" in copied.stdout
    again = syncd("--config", str(config), "db", "copy", f"sqlite:///{sqlite}", pg_url)
    assert again.returncode == 3 and "is not empty" in again.stderr

    sqlite.rename(sqlite.with_suffix(".moved"))  # the daemon must not read the old state
    config = write_config(tmp_path, sandbox, extra=f'\n[store]\nurl = "{pg_url}"\n')
    daemon = start_daemon(config)
    wait_for(lambda: _visible(inbox, "A1", "A2", "B1", "B2"), 90, "every listing visible")
    hemnet = _hemnet(sandbox)
    assert sorted(hemnet) == ["A1", "A2", "B1", "B2"]
    for key, found in hemnet.items():
        assert len(found) == 1, key  # one listing per key: the in-flight create settled
        urls = [image["url"] for image in found[0]["images"]]
        assert urls == [f"http://img.example/{key}.jpg"], key  # one image per URL
    assert hemnet["A1"][0]["askingPrice"] == 1_900_000
    assert not (tmp_path / "state" / "syncd.db").exists()  # all of it on PostgreSQL
    assert daemon.stop() == 0
