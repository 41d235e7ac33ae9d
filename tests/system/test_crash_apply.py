"""Crash safety with the real process: ``syncd apply`` dies (exit 137, as SIGKILL) between
intent and call and between call and outcome, at every op kind of a listing's life.

``tests/crashing_syncd.py "<op kind>:<before_call|after_call>"`` runs syncd with a hook at
that checkpoint (syncd/usecases/apply/checkpoints.py) that makes the process exit there. After each
crash the next run must settle what the dead one may have done: in the end exactly one
listing per key, one image per URL, one sale.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from syncd.config import TOKEN_ENV, Config
from syncd.core.domain import (
    BillingInformation,
    ImageRight,
    ImageRightTerms,
    Listing,
    ListingStatus,
    Sale,
    SellerInformation,
    SellerType,
)
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle, serve_sandbox
from syncd.store.engine import Store
from syncd.usecases.apply import current_plan
from syncd.usecases.poll import Poller
from tests.conftest import ENGINES
from tests.crashing_syncd import CRASH_EXIT, SCRIPT
from tests.integration.apply_env import a_listing, image, open_state, save, write_config
from tests.pg import PostgresServer
from tests.system.support import SYNCD

pytestmark = [pytest.mark.system, pytest.mark.slow]

MIGRATE_LOCK = threading.Lock()
SALE = Sale(price=4_250_000, price_is_public=False, sold_on=date(2026, 3, 20))

FIRST = a_listing(
    "C1",
    status=ListingStatus.UPCOMING,
    seller=SellerInformation("Anna Svensson", "anna@example.se", None, SellerType.INDIVIDUAL),
    billing=BillingInformation("Anna Svensson", "Götgatan 12", "11646", "Stockholm"),
    image_right=ImageRight(ImageRightTerms.SIX_MONTHS_LICENSE, photographer="Fia Ek"),
)
# image 0 goes, image 1 moves to the front, image 2 is new; a new price; no image right
CHANGED = replace(
    FIRST,
    asking_price=3_850_000,
    images=(replace(image("C1", 1), order=0), replace(image("C1", 2), order=1)),
    image_right=None,
)
WITHDRAWN = replace(CHANGED, status=ListingStatus.WITHDRAWN)
SOLD = replace(CHANGED, status=ListingStatus.SOLD, sale=SALE)

CONVERGE = "converge"  # not an op kind: run apply without a crash until nothing is left
# (desired state to save first, or None) and the op kinds to crash at, in lifecycle order
STEPS: list[tuple[Listing | None, list[str]]] = [
    (
        FIRST,
        [
            "ensure_agency",
            "create_listing",
            "set_market_state",
            "send_seller_information",
            "send_billing_information",
            "set_image_right",
            "add_image",
            "publish",
        ],
    ),
    # converge: published again with the new image before it is withdrawn
    (
        CHANGED,
        ["update_listing", "delete_image_right", "delete_image", "update_image", CONVERGE],
    ),
    (WITHDRAWN, ["unpublish"]),
    (SOLD, ["mark_sold"]),
]


class Run:
    """One store + sandbox, driven by ``syncd apply`` processes."""

    def __init__(self, sandbox: SandboxHandle, config: Config, store: Store) -> None:
        self.sandbox = sandbox
        self.config = config
        self.store = store
        self.client = HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10)
        self.poller = Poller(store, self.client, config)

    def apply(self, crash_at: str | None) -> int:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
        env[TOKEN_ENV] = self.sandbox.token
        program = [sys.executable, str(SCRIPT), crash_at] if crash_at else [str(SYNCD)]
        assert self.config.source is not None
        result = subprocess.run(
            [*program, "--config", str(self.config.source), "apply"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert result.returncode in (0, 6, CRASH_EXIT), result.stderr
        return result.returncode

    def crash_at(self, kind: str, where: str) -> None:
        """Run apply until it dies at ``kind`` (reading Hemnet back between runs)."""
        for _ in range(6):
            if self.apply(f"{kind}:{where}") == CRASH_EXIT:
                return
            self.poller.poll_listing("C1")  # images processed, publication state
        raise AssertionError(f"apply never reached {kind}")

    def finish(self) -> None:
        for _ in range(10):
            code = self.apply(None)
            self.poller.poll_listing("C1")
            if code == 0 and current_plan(self.store, self.config, datetime.now(UTC)).is_empty:
                return
        raise AssertionError("apply did not converge after the crashes")


def lifecycle(where: str, tmp_path: Path, url: str | None) -> tuple[dict[str, int], Run]:
    """``url``: the state in that PostgreSQL database; in a SQLite file when None."""
    with serve_sandbox(image_delay_s=0.02) as sandbox:
        store_section = {"store": {"url": url}} if url else {}
        config = write_config(
            tmp_path, sandbox.base_url, hemnet={"max_concurrency": 1}, **store_section
        )
        with MIGRATE_LOCK:  # Alembic keeps global state: one migration at a time
            store = open_state(config)
        run = Run(sandbox, config, store)
        for desired, kinds in STEPS:
            if desired is not None:
                save(store, desired)
            for kind in kinds:
                if kind == CONVERGE:
                    run.finish()
                else:
                    run.crash_at(kind, where)
        run.finish()
        remote = run.client.list_listings(external_id="C1")
        images = run.client.list_images(remote[0].hemnet_id) if remote else []
        result = {
            "listings": len(remote),
            "images": len(images),
            "image_urls": len({img.url for img in images}),
            "sold_private": int(
                bool(remote and remote[0].sale and not remote[0].sale.is_price_public)
            ),
            "published": int(bool(remote and remote[0].is_published)),
            "price": int(remote[0].raw.get("askingPrice", 0)) if remote else 0,
        }
        counts = {k: v for k, v in sandbox.stats()["requests"].items() if " /v1/" in k}
        result["creates"] = counts.get("POST /v1/listings 201", 0)
        result["sales"] = counts.get("POST /v1/listings/{listing_id}/sale 201", 0)
        result["image_adds"] = counts.get("POST /v1/listings/{listing_id}/images 201", 0)
        wanted = sorted(i.url for i in SOLD.images)
        result["urls_right"] = int(sorted(img.url for img in images) == wanted)
        right = run.client.get_image_right(remote[0].hemnet_id) if remote else None
        result["image_right"] = int(right is not None)  # the CRM dropped it: gone
        run.client.close()
        store.close()
        return result, run


@pytest.fixture
def skip_without_script() -> Iterator[None]:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    yield


@pytest.mark.usefixtures("skip_without_script")
@pytest.mark.parametrize("engine", ENGINES)
def test_killed_at_every_op_kind_before_and_after_the_call_ends_right(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    chains = ("before_call", "after_call")
    urls: dict[str, str | None] = dict.fromkeys(chains)
    if engine == "postgresql":
        # Dropped with the session's server: the databases are small.
        server: PostgresServer = request.getfixturevalue("pg_server")
        urls = {where: server.database() for where in chains}
    # The two chains are independent (own sandbox, own store): run them side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            where: pool.submit(lifecycle, where, tmp_path / where, urls[where]) for where in chains
        }
        results = {where: future.result()[0] for where, future in futures.items()}
    for where, result in results.items():
        assert result == {
            "listings": 1,
            "images": 2,
            "image_urls": 2,
            "sold_private": 1,
            "published": 0,
            "price": CHANGED.asking_price,
            "creates": 1,  # never created twice
            "sales": 1,  # never sold twice
            "image_adds": 3,  # image 0, 1 and 2, each once
            "urls_right": 1,
            "image_right": 0,
        }, where
