"""A feed of several record types, then incremental partial records, through ``syncd run``
against ``syncd sandbox`` (both real processes): each step changes on Hemnet exactly what
its record carries; a blanking update is held; the DOCTYPE's DTD is never fetched.

Feeds: tests/fakes/estate_feed (written for these tests). Expectations are read back from
the sandbox's state, never from syncd's own parser.
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from syncd.config import CONFIG_ENV, TOKEN_ENV
from syncd.demo import processes
from tests.fakes import estate_feed
from tests.fakes.estate_feed import MAPPING

pytestmark = [pytest.mark.system]

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STEP_TIMEOUT_S = 30.0
KEYS = ("H1", "R1", "R2", "T1")


class _DtdRecorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY street "Injected 1">')

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def dtd_url() -> Iterator[str]:
    _DtdRecorder.hits = []
    server = http.server.ThreadingHTTPServer((HOST, 0), _DtdRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/estate.dtd"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class World:
    config: Path
    inbox: Path
    archive: Path
    env: dict[str, str]
    http: httpx.Client
    daemon: processes.Child

    def drop(self, name: str, text: str) -> None:
        partial = self.inbox / f".{name}.part"
        partial.write_text(text, encoding="utf-8")
        partial.rename(self.inbox / name)

    def state(self) -> dict[str, Any]:
        document: dict[str, Any] = self.http.get("/_sandbox/state").json()["state"]
        return document

    def remote(self) -> dict[str, dict[str, Any]]:
        """Each listing on the sandbox by our key, with its image URLs and its sale."""
        state = self.state()
        images: dict[str, list[str]] = {}
        for image in state["images"]:
            images.setdefault(image["listing_id"], []).append(image["url"])
        sales = {sale["listing_id"]: sale for sale in state.get("sales", [])}
        out: dict[str, dict[str, Any]] = {}
        for listing in state["listings"]:
            key = listing["fields"]["externalId"]
            assert key not in out, f"duplicate listing {key} on the sandbox"
            out[key] = {
                "fields": listing["fields"],
                "published": listing["is_published"],
                "images": sorted(images.get(listing["id"], [])),
                "sale": sales.get(listing["id"]),
            }
        return out

    def receipt(self, name: str) -> dict[str, Any]:
        (path,) = self.archive.rglob(f"{name}.result.json")
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return found

    def syncd(self, *args: str) -> str:
        return processes.run_syncd(["--config", str(self.config), *args], self.env)

    def wait(self, condition: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            code = self.daemon.exit_code()
            assert code is None, f"daemon exited {code}:\n{self.daemon.log_tail(40)}"
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out: {what}\n{self.daemon.log_tail(30)}")
            time.sleep(0.2)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    sandbox_port = processes.free_port(HOST)
    http_port = processes.free_port(HOST)
    root_url = f"http://{HOST}:{sandbox_port}"
    config = tmp_path / "config.toml"
    # A copy, so that a test can fix the mapping while the daemon runs.
    mapping = tmp_path / "estate-feed.toml"
    mapping.write_text(MAPPING.read_text(encoding="utf-8"), encoding="utf-8")
    config.write_text(
        f"""\
[paths]
inbox = "inbox"
state_dir = "state"

[hemnet]
base_url = "{root_url}/v1"
requests_per_second = 200
burst = 100

[agency]
key = "estate"
name = "Estate Mäklare AB"

[sync]
publish = true
poll_interval_fast_s = 0.3
poll_interval_slow_s = 0.5
reconcile_interval_s = 3600

[watch]
settle_s = 0.2
rescan_interval_s = 1

[[formats]]
pattern = "*.xml"
mapping = "{mapping.as_posix()}"

[http]
listen = "{HOST}:{http_port}"
""",
        encoding="utf-8",
    )
    (tmp_path / "inbox").mkdir()
    token = secrets.token_urlsafe(24)
    env = {
        k: v
        for k, v in processes.child_environment(token, config).items()
        if not k.startswith("SYNCD_") or k in (TOKEN_ENV, CONFIG_ENV)
    }
    processes.run_syncd(["--config", str(config), "db", "upgrade"], env)
    sandbox = processes.Child(
        "sandbox",
        [
            "sandbox",
            "--host",
            HOST,
            "--port",
            str(sandbox_port),
            "--fetch-mode",
            "simulate",
            "--image-delay",
            "0.05",
            "--auto-approve-after",
            "0",
            "--log-level",
            "warning",
        ],
        env,
        tmp_path / "sandbox.log",
    )
    daemon: processes.Child | None = None
    try:
        sandbox.wait_listening(HOST, sandbox_port, START_TIMEOUT_S)
        daemon = processes.Child(
            "daemon", ["--config", str(config), "-v", "run"], env, tmp_path / "daemon.log"
        )
        daemon.wait_listening(HOST, http_port, START_TIMEOUT_S)
        with httpx.Client(base_url=root_url, timeout=10) as client:
            yield World(
                config,
                tmp_path / "inbox",
                tmp_path / "state" / "archive",
                env,
                client,
                daemon,
            )
    finally:
        if daemon is not None:
            assert daemon.stop() == 0, daemon.log_tail(40)
        sandbox.stop()


def without(remote: dict[str, dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in remote.items() if k != key}


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    names = set(before["fields"]) | set(after["fields"])
    return {n for n in names if before["fields"].get(n) != after["fields"].get(n)}


def test_mixed_types_then_partial_records_change_only_what_they_carry(
    world: World, dtd_url: str
) -> None:
    # 1. A mixed-type file whose header names a DTD on a loopback server.
    doctype = f'<!DOCTYPE feed SYSTEM "{dtd_url}">'
    world.drop("mixed.xml", estate_feed.mixed_feed(doctype=doctype))

    def all_visible() -> dict[str, dict[str, Any]] | None:
        remote = world.remote()
        ready = set(remote) == set(KEYS) and all(r["published"] for r in remote.values())
        return remote if ready else None

    start = world.wait(all_visible, "the four typed listings published")
    assert _DtdRecorder.hits == []  # the DTD was never fetched
    forms = {key: r["fields"]["housingForm"] for key, r in start.items()}
    assert forms["R1"] == forms["R2"] != forms["H1"] != forms["T1"]
    receipt = world.receipt("mixed.xml")
    assert receipt["accepted"] == 4
    assert any("garage ×1" in w["reason"] for w in receipt["warnings"])
    assert "G1" not in start

    # 2. A price-only record: R1's price changes, nothing else anywhere.
    world.drop("price.xml", estate_feed.price_update("R1", 2_875_000))
    priced = world.wait(
        lambda: (r := world.remote())["R1"]["fields"]["askingPrice"] == 2_875_000 and r,
        "R1's new price on Hemnet",
    )
    assert field_changes(start["R1"], priced["R1"]) == {"askingPrice"}
    assert priced["R1"]["images"] == start["R1"]["images"] and priced["R1"]["published"]
    assert without(priced, "R1") == without(start, "R1")

    # 3. A status-only withdrawal: R2 is unpublished, its fields and images stay.
    world.drop("withdrawn.xml", estate_feed.withdrawn("R2"))
    withdrawn = world.wait(
        lambda: not (r := world.remote())["R2"]["published"] and r, "R2 unpublished"
    )
    assert withdrawn["R2"]["fields"] == start["R2"]["fields"]
    assert withdrawn["R2"]["images"] == start["R2"]["images"]
    assert without(withdrawn, "R2") == without(priced, "R2")

    # 4. The sale details alone: R1 is sold with that price; its fields stay.
    world.drop("sold.xml", estate_feed.sold("R1", 2_990_000, "2026-11-30"))
    sold = world.wait(lambda: (r := world.remote())["R1"]["sale"] and r, "R1 sold")
    assert sold["R1"]["sale"]["price"] == 2_990_000
    assert sold["R1"]["fields"] == priced["R1"]["fields"]
    assert without(sold, "R1") == without(withdrawn, "R1")

    # 5. A whole record with only a street (the default-street workaround) for the live
    # house: held as suspicious, shown by plan and hold list; Hemnet keeps the listing.
    world.drop("blank.xml", estate_feed.blanking("H1", "Tallstigen 9"))
    listed = world.wait(
        lambda: "H1" in (out := world.syncd("hold", "list")) and out, "the blanking held"
    )
    assert "update of published listing held" in listed
    assert "delete all 2 image(s)" in listed
    plan = world.syncd("plan")
    assert "HELD agency estate: update of published listing held" in plan
    assert world.remote()["H1"] == sold["H1"]


def test_reprocess_reads_an_archived_file_again_after_the_mapping_is_fixed(world: World) -> None:
    # The CRM writes <pris>, the mapping reads <price>: the listing arrives without a price.
    text = estate_feed.feed(estate_feed.full_record("house", "P1", "Prisvägen 1", 2_250_000))
    world.drop("crm.xml", text.replace("<price>", "<pris>").replace("</price>", "</pris>"))
    first = world.wait(lambda: world.remote().get("P1"), "P1 created on the sandbox")
    assert "askingPrice" not in first["fields"]
    (archived,) = world.archive.rglob("crm.xml")

    mapping = world.config.parent / "estate-feed.toml"
    fixed = mapping.read_text(encoding="utf-8").replace(
        'asking_price = "price"', 'asking_price = "pris"'
    )
    mapping.write_text(fixed, encoding="utf-8")
    said = world.syncd("reprocess", str(archived))
    assert "read again with today's mappings" in said

    priced = world.wait(
        lambda: (world.remote()["P1"]["fields"].get("askingPrice") == 2_250_000) and world.remote(),
        "P1's price after the reprocess",
    )
    assert set(priced) == {"P1"}  # the same listing, updated: no duplicate
    assert field_changes(first, priced["P1"]) == {"askingPrice"}
