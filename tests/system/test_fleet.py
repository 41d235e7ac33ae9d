"""Several daemons, one truth: ``syncd run`` processes sharing one PostgreSQL store and one
inbox spread the agencies, take a dead or paused holder's agencies over within the lease,
never send anything twice, and ingest each file once.

Short lease timings (tests/system/fleet_support.py) keep each test within seconds.
"""

from __future__ import annotations

import random
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaos.fleet import Fleet, duplicates
from chaos.kill_restart import (
    Row,
    compare,
    desired_listings,
    drop_export,
    export_text,
    initial_rows,
)
from syncd.core.domain import Listing
from syncd.sandbox.testing import SandboxHandle, serve_sandbox
from tests.pausing_syncd import PAUSING
from tests.pausing_syncd import SCRIPT as PAUSING_SCRIPT
from tests.system.support import need_syncd, wait_for

pytestmark = [pytest.mark.system]

AGENCIES = ("north", "south")
NAMES = "".join(f'\n[agencies.{key}]\nname = "Mäkleri {key.title()} AB"\n' for key in AGENCIES)


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    need_syncd()
    with serve_sandbox(
        fetch_mode="simulate", image_delay_s=0.05, auto_approve_after_s=0.3
    ) as handle:
        yield handle


def rows_for(agencies: tuple[str, ...], per_agency: int, seed: int = 7) -> list[Row]:
    rows = initial_rows(random.Random(seed), per_agency * len(agencies))
    for n, row in enumerate(rows):
        row.agency = agencies[n % len(agencies)]
    return rows


def drop(inbox: Path, name: str, rows: list[Row]) -> dict[str, Listing]:
    """Drop an export; what it asks for, read from a copy (the daemon moves the file)."""
    text = export_text(rows)
    copy = inbox.parent / f"{name}.copy"
    copy.write_text(text, encoding="utf-8")
    drop_export(inbox, name, text)
    return desired_listings(copy)


def converged(sandbox: SandboxHandle, desired: dict[str, Listing]) -> Any:
    return compare(sandbox.state(), desired).converged


def test_two_instances_spread_the_agencies_and_take_over_a_killed_ones(
    tmp_path: Path, pg_url: str, sandbox: SandboxHandle
) -> None:
    fleet = Fleet(tmp_path, pg_url, sandbox.base_url, sandbox.token, 2, extra=NAMES)
    try:
        fleet.start_all()
        rows = rows_for(AGENCIES, 3)
        export = drop(fleet.inbox, "first.csv", rows)
        wait_for(lambda: converged(sandbox, export), 60, "the first export on Hemnet")
        # One agency each: the fleet spreads them (M/N).
        holders = wait_for(
            lambda: (h := fleet.holders()) and len(set(h.values())) == 2 and h,
            20,
            "each instance holding one agency",
        )
        victim = fleet.instance_of(holders["north"])
        assert victim is not None and victim.process is not None
        victim.process.kill()
        victim.process.wait()
        killed_at = time.monotonic()
        for row in rows:
            row.price += 50_000
        update = drop(fleet.inbox, "second.csv", rows)
        wait_for(lambda: converged(sandbox, update), 60, "the update on Hemnet after the kill")
        survivor = next(i for i in fleet.instances if i is not victim)
        taken = wait_for(
            lambda: (
                set(fleet.holders()) == set(AGENCIES)
                and set(fleet.holders().values()) == {(survivor.health() or {}).get("instance")}
            ),
            10,
            "the survivor holding both agencies",
        )
        assert taken
        # within the lease's bound (3 s + one renewal) plus the time to see it
        assert time.monotonic() - killed_at < 30
        assert "took agency:north" in survivor.text()
        assert duplicates(sandbox.state()) == (0, 0)
    finally:
        fleet.stop_all()


def test_a_paused_holder_is_fenced_off_after_a_takeover_and_nothing_is_sent_twice(
    tmp_path: Path, pg_url: str, sandbox: SandboxHandle
) -> None:
    # One agency, held by the first instance, which pauses at its first create between
    # marking the op in flight and the call; a second instance, started then, must take
    # over, and the first, resumed, must neither send the create nor write its outcome.
    fleet = Fleet(tmp_path, pg_url, sandbox.base_url, sandbox.token, 2, extra=NAMES)
    paused, other = fleet.instances
    try:
        fleet.start(paused, sys.executable, str(PAUSING_SCRIPT), "create_listing:before_call")
        rows = rows_for(("north",), 3)
        export = drop(fleet.inbox, "first.csv", rows)
        wait_for(lambda: PAUSING in paused.text(), 30, "the holder to pause before a create")
        fleet.start(other)
        # The other instance takes over and does the work, the paused one's op included.
        wait_for(lambda: converged(sandbox, export), 60, "Hemnet converged by the other")
        assert "over from" in other.text()
        assert paused.process is not None
        paused.process.send_signal(signal.SIGCONT)
        # Its call is not sent (the budget or the client refuses: its leases are stale)
        # and what it then writes to the outbox is refused: by the fence (the token moved
        # on) or, when it was paused inside a transaction, by the server, which ended that
        # session after idle_in_transaction_session_timeout (store/leases.py; the driver
        # raises OperationalError at its next statement). Which of the
        # two depends on where in its transaction the pause fell.
        refusals = ("the outbox write is refused", "OperationalError")
        wait_for(
            lambda: any(sign in paused.text() for sign in refusals),
            20,
            "the resumed holder's write refused",
        )
        assert "outcome=succeeded" not in paused.text().split(PAUSING)[1]
        assert duplicates(sandbox.state()) == (0, 0)
        assert len(sandbox.state()["listings"]) == len(rows)
    finally:
        fleet.stop_all()


def test_instances_sharing_an_inbox_ingest_each_file_once(
    tmp_path: Path, pg_url: str, sandbox: SandboxHandle
) -> None:
    fleet = Fleet(tmp_path, pg_url, sandbox.base_url, sandbox.token, 2, extra=NAMES)
    try:
        fleet.start_all()
        wait_for(lambda: all(i.health() for i in fleet.instances), 30, "both instances up")
        rows = rows_for(AGENCIES, 2)
        names = [f"export{n}.csv" for n in range(8)]
        for n, name in enumerate(names):
            for row in rows:
                row.price += 1_000 * (n + 1)
            drop_export(fleet.inbox, name, export_text(rows))
        wait_for(lambda: not any(fleet.inbox.glob("export*.csv")), 60, "every file taken")
        logs = "".join(i.text() for i in fleet.instances)
        taken = {name: logs.count(f"ingest {name}: ") for name in names}
        assert taken == dict.fromkeys(names, 1), logs[-3000:]
    finally:
        fleet.stop_all()
