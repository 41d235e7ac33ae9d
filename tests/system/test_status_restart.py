"""``syncd run`` killed with a change stored but not yet in the status files: the next
start's status files show it (the change's mark was committed with it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from syncd.core.clock import utc_now
from syncd.store.engine import open_store
from syncd.store.listings import record_failure
from syncd.store.tables import ListingRow
from tests.system.support import (
    DaemonProcess,
    Notifications,
    drop,
    row,
    status_of,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_a_change_stored_before_a_kill_reaches_the_status_files_after_restart(
    tmp_path: Path,
    sandbox: str,
    notifications: Notifications,
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    config = write_config(tmp_path, sandbox)
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config, NOTIFY_SOCKET=str(notifications.path))
    notifications.wait("READY=1", 30)
    drop(inbox, "export-1.csv", row("R1", 2_500_000, "Villa"), row("R2", 3_100_000, "Radhus"))
    wait_for(lambda: {"R1", "R2"} <= set(status_of(inbox)), 30, "R1 and R2 in status.json")
    daemon.kill()  # SIGKILL: nothing of the daemon's runs after this

    # A change committed as the daemon died, before any status refresh: Hemnet refused R2's
    # current content (refused: nothing is sent for it until the CRM changes it).
    store = open_store(tmp_path / "state" / "syncd.db")
    try:
        with store.transaction() as session:
            refused = session.scalar(
                select(ListingRow.content_hash).where(ListingRow.listing_key == "R2")
            )
            record_failure(session, "R2", "refused while the daemon died", utc_now(), refused)
    finally:
        store.close()
    assert status_of(inbox)["R2"]["last_error"] is None

    start_daemon(config, NOTIFY_SOCKET=str(notifications.path))
    notifications.wait("READY=1", 30, after=1)
    shown = wait_for(
        lambda: status_of(inbox)["R2"]["last_error"] == "refused while the daemon died",
        20,
        "R2's error in status.json",
    )
    assert shown
    assert status_of(inbox)["R2"]["stage"] == "failed"
