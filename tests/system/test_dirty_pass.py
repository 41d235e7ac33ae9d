"""The daemon as a process with a sandbox: once 2,000 listings are on Hemnet, a new export
that changes one listing's price costs one call, from a pass that planned a handful of
listings rather than all 2,000."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.system.support import DaemonProcess, drop, wait_for, write_config

pytestmark = [pytest.mark.system, pytest.mark.slow]

LISTINGS = 2_000
# No image column: each listing is one create, so the initial sync stays a few seconds.
HEADER = "objektnummer;status;gatuadress;postnummer;ort;kommun;lagenhetsnummer;utgangspris;"
HEADER += "boendeform;upplatelseform;rubrik"
PASS_LINE = re.compile(r"apply pass: (\d+) succeeded, .*; (dirty|full), (\d+) listing\(s\) planned")


def line(n: int, price: int) -> str:
    return (
        f"K{n:04d};till salu;Storgatan {n};11122;Stockholm;Stockholm;1101;{price};villa;"
        f"äganderätt;Villa {n}"
    )


def export(prices: dict[int, int]) -> list[str]:
    return [line(n, prices.get(n, 2_000_000 + n)) for n in range(LISTINGS)]


def passes(daemon: DaemonProcess) -> list[tuple[str, int, int]]:
    """(kind, listings planned, ops succeeded) of every pass the daemon logged."""
    found = PASS_LINE.findall(daemon.text())
    return [(kind, int(planned), int(ok)) for ok, kind, planned in found]


def test_a_price_change_in_2000_listings_is_one_patch_from_a_small_pass(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path, sandbox)
    # Hemnet's own sandbox limits nothing here: the initial sync at the speed of the store.
    text = config.read_text(encoding="utf-8").replace(
        f'base_url = "{sandbox}"',
        f'base_url = "{sandbox}"\nrequests_per_second = 2000\nburst = 500\nmax_concurrency = 8',
    )
    config.write_text(text, encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = start_daemon(config)
    drop(inbox, "export-1.csv", *export({}), header=HEADER)
    root = sandbox.removesuffix("/v1")

    def writes() -> dict[str, int]:
        requests = httpx.get(f"{root}/_sandbox/stats").json()["requests"]
        return {k: v for k, v in requests.items() if " /v1/" in k and not k.startswith("GET ")}

    def all_created() -> bool:
        return writes().get("POST /v1/listings 201", 0) == LISTINGS

    wait_for(all_created, 120, f"{LISTINGS} listings created")

    def synced_then_quiet() -> bool:
        # The pass that sent the creates logs its line when its last op has settled, which
        # may come after the sandbox counted every create: until then the last line logged
        # is the start's empty pass, which is no sign the initial sync is over.
        logged = passes(daemon)
        return sum(ok for _, _, ok in logged) >= LISTINGS and logged[-1][2] == 0

    # Until a pass finds nothing more to do: the last outcomes planned and found done.
    wait_for(synced_then_quiet, 60, "the initial sync's passes, then a quiet pass")
    assert passes(daemon)[0][0] == "full"  # the first pass after a start is the safety net
    seen = len(passes(daemon))
    httpx.delete(f"{root}/_sandbox/stats").raise_for_status()

    drop(inbox, "export-2.csv", *export({1234: 1_750_000}), header=HEADER)

    wait_for(lambda: writes(), 60, "the call the new export asks for")
    wait_for(lambda: passes(daemon)[seen:] and passes(daemon)[-1][2] == 0, 30, "a quiet pass")
    assert writes() == {"PATCH /v1/listings/{listing_id} 200": 1}
    after = passes(daemon)[seen:]
    sent = [(kind, planned) for kind, planned, ok in after if ok]
    assert sent == [("dirty", 1)], after  # one listing read and planned, not 2,000
    assert all(kind == "dirty" and planned <= 5 for kind, planned, _ in after), after

    # A reload may change the planner's policy, which no write marks: every listing next.
    seen = len(passes(daemon))
    daemon.process.send_signal(signal.SIGHUP)
    full = ("full", LISTINGS, 0)
    wait_for(lambda: full in passes(daemon)[seen:], 30, "a full pass after the reload")
    assert writes() == {"PATCH /v1/listings/{listing_id} 200": 1}  # and nothing more sent
