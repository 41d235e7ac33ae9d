"""Shared set-up for the apply and keys tests: a config on a sandbox, a real store, listings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncd.config import Config, load_config, store_database
from syncd.core.domain import (
    Address,
    Agency,
    HousingForm,
    Image,
    ImageState,
    Listing,
    ListingStatus,
    Tenure,
    normalise,
)
from syncd.hemnet import HemnetClient
from syncd.hemnet.budget import TokenBucket
from syncd.sandbox.testing import SandboxHandle
from syncd.store import migrate
from syncd.store.engine import Store, open_store
from syncd.store.listings import get_listing, known_images, save_agency
from syncd.store.location import Database
from syncd.usecases.apply import Applier
from syncd.usecases.poll import Poller
from tests.fakes.store_state import save_desired

AGENCY = Agency("AG1", "Mäklarhuset Söder", "556677-8899")


def write_config(tmp_path: Path, base_url: str, **sections: dict[str, Any]) -> Config:
    """A config on ``base_url``; ``sections`` add keys, e.g. sync={"removal_grace_s": 0}."""
    hemnet = {"base_url": base_url, "requests_per_second": 500.0, "burst": 100}
    hemnet.update(sections.pop("hemnet", {}))
    parts = ['[paths]\ninbox = "inbox"\nstate_dir = "state"\n']
    for name, values in {"hemnet": hemnet, **sections}.items():
        lines = [f"[{name}]"]
        for key, value in values.items():
            text = (
                f'"{value}"'
                if isinstance(value, str | Path)
                else str(value).lower()
                if isinstance(value, bool)
                else repr(value)
            )
            lines.append(f"{key} = {text}")
        parts.append("\n".join(lines) + "\n")
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return load_config(path)


def open_state(config: Config) -> Store:
    """The config's state store (SQLite, or PostgreSQL where [store] names it), at head."""
    database = store_database(config)
    migrate.upgrade(database)
    return open_store(database)


def image(key: str, n: int) -> Image:
    return Image(url=f"https://images.example.test/{key}/{n}.jpg", order=n, caption=f"Bild {n}")


def a_listing(key: str, images: int = 2, **changes: Any) -> Listing:
    base = Listing(
        listing_key=key,
        agency_key=AGENCY.key,
        status=ListingStatus.FOR_SALE,
        # every address part: the sandbox refuses the nulls the payload sends for missing ones
        address=Address("Götgatan 12", "11646", "Stockholm", "Stockholm", "1102"),
        housing_form=HousingForm.HOUSE,
        tenure=Tenure.FREEHOLD,
        asking_price=3_950_000,
        title="Ljus villa",
        images=tuple(image(key, n) for n in range(images)),
    )
    return normalise(replace(base, **changes))


def save(store: Store, *listings: Listing, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with store.transaction() as session:
        save_agency(session, AGENCY, now)
        for listing in listings:
            save_desired(session, listing, now)


def hemnet_id(store: Store, key: str) -> str:
    with store.read() as session:
        row = get_listing(session, key)
        assert row is not None and row.hemnet_id is not None, f"{key} has no hemnet id"
        return row.hemnet_id


def wait_for_images(store: Store, poller: Poller, keys: list[str], timeout_s: float = 10) -> None:
    """Poll until every known image of these listings is processed (the sandbox is quick)."""
    deadline = time.monotonic() + timeout_s
    while True:
        for key in keys:
            poller.poll_listing(key)
        with store.read() as session:
            states = [img.state for key in keys for img in known_images(session, key)]
        if all(s != ImageState.IN_PROGRESS.value for s in states):
            return
        assert time.monotonic() < deadline, f"images still processing: {states}"
        time.sleep(0.05)


class VirtualTime:
    """A monotonic clock whose sleep only moves it: budget waits cost no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Env:
    sandbox: SandboxHandle
    config: Config
    store: Store
    client: HemnetClient
    clock: Callable[[], datetime]
    moved: list[timedelta]

    def applier(self, **kwargs: Any) -> Applier:
        return Applier(self.store, self.client, self.config, clock=self.clock, **kwargs)

    def virtual_applier(self) -> Applier:
        """An applier whose request budget (and Retry-After pauses) use virtual time."""
        t = VirtualTime()
        budget = TokenBucket(
            self.config.hemnet.requests_per_second,
            self.config.hemnet.burst,
            clock=t.clock,
            sleep=t.sleep,
        )
        return self.applier(budget=budget)

    def poller(self) -> Poller:
        return Poller(self.store, self.client, self.config, clock=self.clock)

    def advance(self, seconds: float) -> None:
        """Move apply's clock on (to let backoffs run out)."""
        self.moved.append(timedelta(seconds=seconds))

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.sandbox.stats()["requests"]
        return counts


@contextmanager
def apply_env(
    sandbox: SandboxHandle,
    tmp_path: Path,
    database: Database | None = None,
    **sections: dict[str, Any],
) -> Iterator[Env]:
    """``database``: a PostgreSQL URL puts the state there ([store] url); the SQLite file
    under ``tmp_path`` otherwise."""
    if isinstance(database, str):
        sections = {**sections, "store": {"url": database}}
    config = write_config(tmp_path, sandbox.base_url, **sections)
    store = open_state(config)
    moved: list[timedelta] = []

    def clock() -> datetime:
        return datetime.now(UTC) + sum(moved, timedelta())

    client = HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10)
    try:
        yield Env(sandbox, config, store, client, clock, moved)
    finally:
        client.close()
        store.close()
