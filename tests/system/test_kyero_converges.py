"""The 133-listing Kyero sample converges through ``syncd run`` against ``syncd sandbox``.

Both run as real processes (started with ``syncd.demo.processes``); the test only drops the
export and reads back: the sandbox's state and request counts, the daemon's status.json and
the ingest receipt. The expectations come from the feed itself, read with the standard
library, never from syncd's own parser.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.config import CONFIG_ENV, TOKEN_ENV
from syncd.demo import processes
from syncd.hemnet.client import HemnetClient

pytestmark = [pytest.mark.system, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
FEED = REPO.parent / "shared" / "samples" / "kyero" / "cmproperties-feed" / "kyero.xml"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
CONVERGE_TIMEOUT_S = 75.0
# The record syncd must skip: no street address (no location_detail, no town).
INVALID_KEY = "O*318"
# Usable, but the feed lists no image for it: Hemnet refuses to publish it, and syncd says so.
IMAGELESS_KEY = "T176"
SHM = Path("/dev/shm")
STATE_ON_DISK = os.environ.get("SYNCD_TEST_STATE_ON_DISK") == "1"  # to time the disk too
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
TIMINGS: dict[str, float] = {}


@dataclass(frozen=True)
class Feed:
    """What the Kyero feed holds, read independently of syncd's mapping."""

    records: int
    image_urls: int  # every <image><url> in the file, duplicates included
    urls_by_key: dict[str, set[str]]  # listing_key -> distinct image URLs, spaces encoded


def read_feed(path: Path) -> Feed:
    root = ET.parse(path).getroot()
    urls_by_key: dict[str, set[str]] = {}
    records = image_urls = 0
    for prop in root.iter("property"):
        records += 1
        key = (prop.findtext("ref") or prop.findtext("id") or "").strip()
        urls = [(u.text or "").strip() for u in prop.findall("images/image/url")]
        image_urls += len(urls)
        # The feed writes raw spaces ("01 fachada.jpg"); a URL sent to Hemnet must not.
        urls_by_key[key] = {u.replace(" ", "%20") for u in urls if u}
    return Feed(records, image_urls, urls_by_key)


@pytest.fixture(scope="module")
def feed() -> Feed:
    if not FEED.is_file():
        pytest.skip(f"the Kyero sample feed is not available at {FEED}")
    return read_feed(FEED)


def wait_for(condition: Callable[[], Any], timeout_s: float, what: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s: {what()}")
        time.sleep(0.2)


def write_config(root: Path, state_dir: Path, api_url: str, http_listen: str) -> Path:
    path = root / "config.toml"
    # Short intervals and a generous request budget: the run should take seconds.
    path.write_text(
        f"""\
[paths]
inbox = "inbox"
state_dir = "{state_dir.as_posix()}"

[hemnet]
base_url = "{api_url}"
requests_per_second = 400
burst = 200
max_concurrency = 8

[agency]
key = "cmproperties"
name = "CM Properties"

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
mapping = "kyero"

# The feed names real image hosts: the tests ask no DNS server (loopback only).
[images]
resolve_hosts = false

[http]
listen = "{http_listen}"
""",
        encoding="utf-8",
    )
    return path


def drop(source: Path, inbox: Path, name: str, extra: bytes = b"") -> None:
    """Copy in under a temporary name, then rename: the watcher never sees half a file."""
    partial = inbox / f".{name}.part"
    with partial.open("wb") as out:
        out.write(source.read_bytes() + extra)
    partial.rename(inbox / name)


class World:
    """The two running processes and the ways the test reads them back."""

    def __init__(
        self,
        config: Path,
        state_dir: Path,
        sandbox_url: str,
        env: dict[str, str],
        daemon: processes.Child,
    ) -> None:
        self.config = config
        self.env = env
        self.token = env[TOKEN_ENV]
        root = config.parent
        self.inbox = root / "inbox"
        self.archive = state_dir / "archive"
        self.sandbox_url = sandbox_url
        self.daemon = daemon
        self.http = httpx.Client(base_url=sandbox_url, timeout=10)

    def state(self) -> dict[str, Any]:
        document: dict[str, Any] = self.http.get("/_sandbox/state").json()["state"]
        return document

    def stats(self) -> Counter[str]:
        return Counter(self.http.get("/_sandbox/stats").json()["requests"])

    def status(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads((self.inbox / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # not written yet (it is replaced atomically, never half-written)
        return {row["listing_key"]: row for row in document["listings"]}

    def receipts(self) -> list[dict[str, Any]]:
        found = sorted(self.archive.rglob("*.result.json"))
        return [json.loads(p.read_text(encoding="utf-8")) for p in found]

    def show(self, key: str) -> dict[str, Any]:
        """``syncd show KEY --json``, run beside the daemon as an operator would."""
        out = processes.run_syncd(["--config", str(self.config), "show", key, "--json"], self.env)
        document: dict[str, Any] = json.loads(out)
        return document

    def daemon_log(self) -> str:
        return self.daemon.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> None:
        code = self.daemon.exit_code()
        assert code is None, f"the daemon exited with {code}:\n{self.daemon.log_tail(40)}"


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """The daemon's state folder, on a RAM disk where there is one.

    Every op commits twice (intent, then outcome) and each commit waits for fsync: on a
    disk that is some 15 ms, which alone makes the 2,043 ops of this feed take a minute. The
    test proves convergence, not the disk's speed (bench/ measures that).
    """
    if SHM.is_dir() and os.access(SHM, os.W_OK) and not STATE_ON_DISK:
        made = Path(tempfile.mkdtemp(prefix="syncd-kyero-", dir=SHM))
        try:
            yield made
        finally:
            shutil.rmtree(made, ignore_errors=True)
    else:
        yield tmp_path / "state"


@pytest.fixture
def world(feed: Feed, tmp_path: Path, state_dir: Path) -> Iterator[World]:
    sandbox_port = processes.free_port(HOST)
    http_port = processes.free_port(HOST)
    root_url = f"http://{HOST}:{sandbox_port}"
    config = write_config(tmp_path, state_dir, f"{root_url}/v1", f"{HOST}:{http_port}")
    (tmp_path / "inbox").mkdir()
    token = secrets.token_urlsafe(24)
    # Nothing of the caller's SYNCD_* (a crash hook, another token) may reach the children.
    env = {
        k: v
        for k, v in processes.child_environment(token, config).items()
        if not k.startswith("SYNCD_") or k in (TOKEN_ENV, CONFIG_ENV)
    }
    processes.run_syncd(["--config", str(config), "db", "upgrade"], env)
    started = time.monotonic()
    sandbox = processes.Child(
        "sandbox",
        [
            "sandbox",
            "--host",
            HOST,
            "--port",
            str(sandbox_port),
            "--fetch-mode",
            "simulate",  # the feed's image host cannot be reached from here
            "--image-delay",
            "0.05",
            "--auto-approve-after",
            "0",
            "--rate",
            "1000",
            "--burst",
            "500",
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
        TIMINGS["start_s"] = time.monotonic() - started
        made = World(config, state_dir, root_url, env, daemon)
        try:
            yield made
        finally:
            made.http.close()
    finally:
        # The daemon first: it finishes or records its call in flight while Hemnet answers.
        if daemon is not None:
            assert daemon.stop() == 0, daemon.log_tail(40)
        sandbox.stop()


def remote_by_key(state: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for listing in state["listings"]:
        out.setdefault(listing["fields"].get("externalId"), []).append(listing)
    return out


def converged(world: World, feed: Feed) -> bool:
    """Hemnet holds every usable listing with all its images, each published and visible."""
    world.alive()
    state = world.state()
    listings = remote_by_key(state)
    usable = set(feed.urls_by_key) - {INVALID_KEY}
    if set(listings) != usable:
        return False
    if any(i["state"] != "completed" for i in state["images"]):
        return False
    urls: dict[str, set[str]] = {}
    for image in state["images"]:
        urls.setdefault(image["listing_id"], set()).add(image["url"])
    for key in usable:
        (listing,) = listings[key]
        if urls.get(listing["id"], set()) != feed.urls_by_key[key]:
            return False
        if key != IMAGELESS_KEY and not (listing["is_published"] and listing["is_approved"]):
            return False
    rows = world.status()
    return len(rows) == len(usable) and all(
        row["stage"] == ("waiting_for_data" if key == IMAGELESS_KEY else "visible")
        for key, row in rows.items()
    )


def progress(world: World) -> str:
    state = world.state()
    stages = Counter(row["stage"] for row in world.status().values())
    images = Counter(i["state"] for i in state["images"])
    return (
        f"{len(state['listings'])} listings on the sandbox, images {dict(images)}, "
        f"stages {dict(stages)}; daemon log:\n{world.daemon.log_tail(30)}"
    )


def writes(stats: Counter[str]) -> Counter[str]:
    return Counter({k: n for k, n in stats.items() if k.startswith(WRITE_METHODS) and "/v1/" in k})


def test_the_kyero_feed_converges_and_a_redrop_sends_nothing(world: World, feed: Feed) -> None:
    # The feed as the sample holds it: the figures the brief names.
    assert feed.records == 133
    assert feed.image_urls == 1918
    assert feed.urls_by_key[INVALID_KEY] == set()
    assert feed.urls_by_key[IMAGELESS_KEY] == set()
    usable = set(feed.urls_by_key) - {INVALID_KEY}
    assert len(usable) == 132

    dropped = time.monotonic()
    drop(FEED, world.inbox, "kyero.xml")
    wait_for(lambda: converged(world, feed), CONVERGE_TIMEOUT_S, lambda: progress(world))
    TIMINGS["converge_s"] = time.monotonic() - dropped

    state = world.state()
    listings = remote_by_key(state)
    # Exactly one listing per externalId: nothing created twice.
    assert sorted(listings) == sorted(usable)
    assert all(len(found) == 1 for found in listings.values())
    # One image per URL per listing, every one processed.
    per_listing = Counter((i["listing_id"], i["url"]) for i in state["images"])
    assert max(per_listing.values()) == 1
    assert len(state["images"]) == sum(len(u) for u in feed.urls_by_key.values())
    assert all(" " not in i["url"] for i in state["images"])
    # Published and visible through the API as well, except the listing without images,
    # which stays an unpublished draft with the reason given to the operator.
    hemnet = HemnetClient(f"{world.sandbox_url}/v1", lambda: world.token, timeout_s=10)
    with hemnet:
        remote = {r.external_id: r for r in hemnet.list_listings()}
    assert set(remote) == usable
    assert {k for k, r in remote.items() if not r.is_visible} == {IMAGELESS_KEY}
    assert not remote[IMAGELESS_KEY].is_published
    assert "no images in the export" in world.show(IMAGELESS_KEY)["status"]["blockers"]

    # The receipt names the skipped record and why.
    (receipt,) = world.receipts()
    assert receipt["outcome"] == "accepted"
    assert (receipt["records"], receipt["accepted"], receipt["skipped"]) == (133, 132, 1)
    assert len(receipt["errors"]) == 1
    assert INVALID_KEY in json.dumps(receipt["errors"])
    assert "street" in json.dumps(receipt["errors"])

    # In step: the same bytes again, then the same listings in different bytes. Neither
    # may send a single write to Hemnet.
    # The initial sync itself sent the minimum: each create, image and publish once.
    before = writes(world.stats())
    assert before == Counter(
        {
            "POST /v1/broker_agencies 201": 1,
            "POST /v1/listings 201": len(usable),
            "POST /v1/listings/{listing_id}/images 201": len(state["images"]),
            "POST /v1/listings/{listing_id}/publish 200": len(usable) - 1,
        }
    )
    redropped = time.monotonic()
    drop(FEED, world.inbox, "kyero.xml")
    wait_for(lambda: len(world.receipts()) == 2, 20, lambda: world.daemon.log_tail(20))
    drop(FEED, world.inbox, "kyero-again.xml", extra=b"\n<!-- the same feed, rewritten -->\n")
    wait_for(lambda: len(world.receipts()) == 3, 20, lambda: world.daemon.log_tail(20))
    outcomes = sorted(r["outcome"] for r in world.receipts())
    assert outcomes == ["accepted", "accepted", "duplicate"]
    rewritten = next(r for r in world.receipts() if r["file"] == "kyero-again.xml")
    assert rewritten["changed_keys"] == []
    # The apply pass that follows the ingest is where anything would be sent; then give
    # the poller a few rounds too.
    wait_for(
        lambda: "apply pass:" in world.daemon_log().split("ingest kyero-again.xml")[-1],
        20,
        lambda: world.daemon.log_tail(20),
    )
    time.sleep(1)
    world.alive()
    TIMINGS["redrop_s"] = time.monotonic() - redropped
    assert writes(world.stats()) == before
    assert converged(world, feed)
    print(f"\nkyero timings: {', '.join(f'{k}={v:.1f}' for k, v in TIMINGS.items())}")
