"""The real daemon against a sandbox process: a CSV export's image right (bildrätt) reaches
Hemnet's /listings/{id}/image_right; a changed right is PUT again, a removed one DELETEd, a
removed field cleared (DELETE, then PUT), and an unchanged right sends nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.sandbox import wire
from tests.system import support
from tests.system.support import (
    TOKEN,
    DaemonProcess,
    SandboxProcess,
    need_syncd,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]

HEADER = (
    "objektnummer;status;gatuadress;postnummer;ort;utgangspris;boendeform;upplatelseform;"
    "bild_1;bildratt_villkor;fotobyra;fotobyra_namn;fotograf"
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PUT = f"PUT {wire.API_PREFIX}{wire.IMAGE_RIGHT} 200"
DELETE = f"DELETE {wire.API_PREFIX}{wire.IMAGE_RIGHT} 204"


def row(key: str, right: str, price: int = 3_000_000) -> str:
    return (
        f"{key};till salu;Storgatan {key};11122;Stockholm;{price};villa;äganderätt;"
        f"http://img.example/{key}.jpg;{right}"
    )


def drop(inbox: Path, name: str, *rows: str) -> None:
    support.drop(inbox, name, *rows, header=HEADER)


@pytest.fixture
def sandbox() -> Iterator[str]:
    """A sandbox process: its root URL (the API under /v1)."""
    need_syncd()
    made = SandboxProcess("--image-delay", "0.1")
    try:
        made.start()
        yield made.base_url.removesuffix("/v1")
    finally:
        made.stop()


def listings(root: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{root}/v1/listings", params={"limit": 100}, headers=AUTH)
    response.raise_for_status()
    return {item["externalId"]: item for item in response.json()["listings"]}


def image_right(root: str, key: str) -> dict[str, Any] | None:
    """The listing's image right on the sandbox; None when it has none (or no listing yet)."""
    found = listings(root).get(key)
    if found is None:
        return None
    response = httpx.get(f"{root}/v1/listings/{found['id']}/image_right", headers=AUTH)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    right: dict[str, Any] = response.json()[wire.IMAGE_RIGHT_ONE]
    return right


def calls(root: str) -> tuple[int, int]:
    counts = httpx.get(f"{root}{wire.ADMIN_PREFIX}/stats").json()["requests"]
    return counts.get(PUT, 0), counts.get(DELETE, 0)


def test_an_exports_image_right_is_put_changed_cleared_and_left_alone(
    tmp_path: Path, sandbox: str, start_daemon: Callable[..., DaemonProcess]
) -> None:
    config = write_config(tmp_path, f"{sandbox}/v1")
    inbox = tmp_path / "inbox"
    daemon = start_daemon(config)
    wait_for(inbox.is_dir, 30, "the daemon to make its inbox")

    drop(
        inbox,
        "export-1.csv",
        row("A", "6 månader;frilans;Foto Fia;Fia Ek"),
        row("B", "ingen licens;Diakrit;;"),
        row("C", "obegränsad;SE360;;Per Bild"),
    )
    first = {
        "A": {
            "terms": "SIX_MONTHS_LICENSE",
            "photoAgency": "FREELANCE",
            "photoAgencyName": "Foto Fia",
            "photographer": "Fia Ek",
        },
        "B": {"terms": "NO_LICENSE", "photoAgency": "DIAKRIT"},
        "C": {"terms": "INDEFINITE_LICENSE", "photoAgency": "SE360", "photographer": "Per Bild"},
    }
    wait_for(
        lambda: {key: image_right(sandbox, key) for key in first} == first,
        60,
        "the three image rights on the sandbox",
    )

    # A: other terms (PUT again); B: no right any more (DELETE); C: the photographer gone
    # (a PUT keeps what it is not sent, so DELETE, then PUT).
    drop(
        inbox,
        "export-2.csv",
        row("A", "obegränsad;frilans;Foto Fia;Fia Ek"),
        row("B", ";;;"),
        row("C", "obegränsad;SE360;;"),
    )
    second = {
        "A": {**first["A"], "terms": "INDEFINITE_LICENSE"},
        "B": None,
        "C": {"terms": "INDEFINITE_LICENSE", "photoAgency": "SE360"},
    }
    wait_for(
        lambda: {key: image_right(sandbox, key) for key in second} == second,
        60,
        "the changed, removed and cleared image rights",
    )
    shown = syncd("--config", str(config), "show", "A").stdout
    assert "INDEFINITE_LICENSE, FREELANCE (Foto Fia), photographer Fia Ek" in shown, shown

    # The same rights again, with A at a new price: the price is sent, no image right is.
    before = calls(sandbox)
    drop(
        inbox,
        "export-3.csv",
        row("A", "obegränsad;frilans;Foto Fia;Fia Ek", price=2_950_000),
        row("B", ";;;"),
        row("C", "obegränsad;SE360;;"),
    )
    wait_for(lambda: listings(sandbox)["A"].get("askingPrice") == 2_950_000, 60, "A's new price")
    wait_for(
        lambda: "nothing to send" in syncd("--config", str(config), "plan").stdout,
        60,
        "an empty plan",
    )
    assert calls(sandbox) == before
    assert {key: image_right(sandbox, key) for key in second} == second
    assert daemon.stop() == 0
