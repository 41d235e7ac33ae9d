"""``syncd run`` restarted on a store of 1,200 listings (the status book's first build in
each process, over many chunks), with Hemnet out of reach: status.json, ``syncd status
--json`` and a full read of the store say the same of every listing, and a listing that
left the CRM before it reached Hemnet is not shown as one syncd will create (nor, in its
history, as one to unpublish)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.config import load_config
from syncd.core.clock import utc_now
from syncd.status import read_status_rows
from syncd.store.engine import open_store
from tests.system.support import DaemonProcess, free_port, status_of, syncd, wait_for, write_config

pytestmark = [pytest.mark.system, pytest.mark.slow]

COUNT = 1_200
HEADER = "objektnummer;maklarbyra;status;gatuadress;postnummer;ort;utgangspris;boendeform;"
HEADER += "upplatelseform;rubrik;bild_1"
# Keys a store's collation and Python order differently (case, letters past Z, symbols).
SHAPES = ("K{n}", "k{n}", "Å{n}", "a-{n}", "Z_{n}")
DROPPED = range(0, COUNT, 60)  # left the CRM before syncd could send them
BROKEN = range(7, COUNT, 127)  # a negative price: skipped, the listing keeps its state
TIMEOUT_S = 60.0


def key(n: int) -> str:
    return SHAPES[n % len(SHAPES)].format(n=n)


def export(path: Path, *, second: bool) -> None:
    lines = [HEADER]
    for n in range(COUNT):
        if second and n in DROPPED:
            continue
        price = "-5" if second and n in BROKEN else str(2_000_000 + n)
        agency = "byra-1" if n % 3 else "byra-2"
        lines.append(
            f"{key(n)};{agency};till salu;Gatan {n};11122;Stockholm;{price};villa;"
            f"äganderätt;Villa {key(n)};http://img.example/{n}.jpg"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def full_read(config: Path) -> list[dict[str, Any]]:
    """Every listing's status row built from the store, as a full write makes them."""
    store = open_store(load_config(config).paths.database)
    try:
        return [row.file_record() for row in read_status_rows(store, utc_now())]
    finally:
        store.close()


def test_status_after_restarts_on_a_store_of_thousands_equals_a_full_read(
    tmp_path: Path, start_daemon: Callable[..., DaemonProcess]
) -> None:
    # Nothing listens there: Hemnet is out of reach, and the daemon only plans.
    page = f"http://127.0.0.1:{free_port()}"
    agencies = '[agencies.byra-1]\nname = "Byrå 1"\n\n[agencies.byra-2]\nname = "Byrå 2"\n'
    config = write_config(
        tmp_path,
        f"http://127.0.0.1:{free_port()}/v1",
        extra=f'\n{agencies}\n[http]\nlisten = "{page.removeprefix("http://")}"\n',
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first, second = tmp_path / "crm-1.csv", tmp_path / "crm-2.csv"
    export(first, second=False)
    export(second, second=True)
    for command in (("db", "upgrade"), ("ingest", str(first))):
        taken = syncd("--config", str(config), *command)
        assert taken.returncode == 0, taken.stderr

    def stages(expected: Counter[str]) -> Callable[[], bool]:
        def reached() -> bool:
            return Counter(r["stage"] for r in status_of(inbox).values()) == expected

        return reached

    daemon = start_daemon(config)
    wait_for(stages(Counter(creating=COUNT)), TIMEOUT_S, "every listing creating")
    assert daemon.stop() == 0, daemon.text()[-3000:]
    assert "Traceback" not in daemon.text()

    # While it is down, the CRM drops some listings and breaks a few rows.
    taken = syncd("--config", str(config), "ingest", str(second))
    assert taken.returncode == 0, taken.stderr
    daemon = start_daemon(config)
    expected = Counter(creating=COUNT - len(DROPPED), unpublished=len(DROPPED))
    wait_for(stages(expected), TIMEOUT_S, "the dropped listings unpublished")

    def gauged() -> bool:  # the metrics the status page's counts come from
        try:
            text = httpx.get(f"{page}/metrics").text
        except httpx.TransportError:
            return False
        counted = {
            stage: f'syncd_listings{{stage="{stage}"}} {float(n)}' in text
            for stage, n in expected.items()
        }
        return all(counted.values())

    wait_for(gauged, TIMEOUT_S, "the stage gauges at the stages status.json shows")
    listing = httpx.get(f"{page}/listing/{key(DROPPED[1])}").text
    assert "unpublished" in listing and "creates it" not in listing
    # Its history says the same: it never reached Hemnet, so nothing is left to unpublish.
    assert "will not be created" in listing
    assert "unpublished after the removal grace" not in listing
    assert daemon.stop() == 0, daemon.text()[-3000:]
    assert "Traceback" not in daemon.text()

    truth = full_read(config)
    assert len(truth) == COUNT
    document = json.loads((inbox / "status.json").read_text(encoding="utf-8"))
    assert document["listings"] == truth
    shown = syncd("--config", str(config), "status", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == truth
    gone = next(r for r in truth if r["listing_key"] == key(DROPPED[1]))
    assert "creates it" not in gone["next_action"]
    broken = next(r for r in truth if r["listing_key"] == key(BROKEN[0]))
    assert broken["stage"] == "creating"
    assert "price" in broken["last_error"]
