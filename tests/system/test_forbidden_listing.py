"""A 403 on one listing, with the real daemon and a real sandbox process of two accounts.

``syncd sandbox --account`` makes a second account; one listing syncd follows is handed to
it (as when a broker agency moves to another integrator). The daemon fails that listing
alone (403), keeps its key (no renewal, the same token still works), and the other
listing's change still reaches Hemnet.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.system.support import (
    SYNCD,
    TOKEN,
    DaemonProcess,
    drop,
    free_port,
    row,
    status_of,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

OTHER_TOKEN = "otheraccountkey00000.otheraccountsecret00"


@pytest.fixture
def two_accounts() -> Iterator[str]:
    """A sandbox process with the bootstrap account and a second one, "Andra"."""
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    port = free_port()
    process = subprocess.Popen(
        [
            str(SYNCD),
            "sandbox",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--account",
            f"Andra={OTHER_TOKEN}",
            "--auto-approve-after",
            "0.5",
            "--image-delay",
            "0.1",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{root}/openapi.json").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, 30, "the sandbox to answer")
        yield root
    finally:
        process.terminate()
        process.wait(timeout=10)


def remote(root: str, token: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(
        f"{root}/v1/listings",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    return {item["externalId"]: item for item in response.json()["listings"]}


def test_a_403_fails_one_listing_keeps_the_key_and_the_other_moves_on(
    tmp_path: Path, two_accounts: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    root = two_accounts
    accounts = httpx.get(f"{root}/_sandbox/accounts").json()["accounts"]
    [other] = [a["id"] for a in accounts if a["name"] == "Andra"]
    config = write_config(tmp_path, f"{root}/v1")
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config)
    wait_for(inbox.is_dir, 30, "the daemon to make its inbox")

    drop(inbox, "export-1.csv", row("F1", 2_500_000, "Villa"), row("F2", 3_100_000, "Radhus"))
    wait_for(lambda: len(remote(root, TOKEN)) == 2, 30, "both listings on Hemnet")
    moved = remote(root, TOKEN)["F1"]["id"]
    httpx.put(
        f"{root}/_sandbox/listings/{moved}/account", json={"accountId": other}
    ).raise_for_status()
    httpx.delete(f"{root}/_sandbox/stats").raise_for_status()

    drop(
        inbox,
        "export-2.csv",
        row("F1", 2_400_000, "Villa, nytt pris"),
        row("F2", 3_000_000, "Radhus, nytt pris"),
    )

    def f2_converged() -> bool:
        f2 = remote(root, TOKEN).get("F2", {})
        return f2.get("askingPrice") == 3_000_000 and f2.get("title") == "Radhus, nytt pris"

    wait_for(f2_converged, 30, "F2's change to reach Hemnet")

    def f1_failed() -> dict[str, Any] | None:
        record = status_of(inbox).get("F1")
        return record if record and record.get("stage") == "failed" else None

    record = wait_for(f1_failed, 30, "F1 to fail")
    assert "another account" in str(record)
    # The listing stays the other account's, unchanged by syncd.
    assert remote(root, OTHER_TOKEN)["F1"]["askingPrice"] == 2_500_000

    # No renewal: no key made or deleted, and the very same token still works.
    requests = httpx.get(f"{root}/_sandbox/stats").json()["requests"]
    assert not [r for r in requests if r.startswith(("POST /v1/keys", "DELETE /v1/keys"))]
    assert sorted(remote(root, TOKEN)) == ["F2"]
    assert "renewed" not in daemon.text()
    assert daemon.stop() == 0
