"""Drive syncd in-process for the benchmarks: a config on a sandbox, then apply and poll
passes until nothing is left to do (every listing visible and no op due).

Uses the real Applier, Poller and ingest_file; waits the way the scheduler would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from exports import AGENCY

from syncd.config import Config, load_config
from syncd.core.clock import utc_now
from syncd.hemnet import HemnetClient
from syncd.hemnet.budget import TokenBucket
from syncd.store import migrate
from syncd.store.engine import Store, open_store
from syncd.store.listings import all_listings
from syncd.usecases.apply import Applier, current_plan
from syncd.usecases.poll import Poller


def write_config(
    folder: Path,
    base_url: str,
    *,
    rate: float = 1000.0,
    burst: int = 100,
    concurrency: int = 4,
    fast_poll_s: float = 0.5,
) -> Path:
    """A config under ``folder`` talking to ``base_url``; both bundled mappings."""
    for name in ("inbox", "state"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    path = folder / "syncd.toml"
    path.write_text(
        '[paths]\ninbox = "inbox"\nstate_dir = "state"\n\n'
        f'[hemnet]\nbase_url = "{base_url}"\nrequests_per_second = {rate}\nburst = {burst}\n'
        f"max_concurrency = {concurrency}\n\n"
        f"[sync]\npoll_interval_fast_s = {fast_poll_s}\npoll_interval_slow_s = {fast_poll_s}\n"
        "mass_removal_share = 1.0\n\n"
        # The exports name their agency by key only: the config names it, as an operator would.
        f'[agencies.{AGENCY}]\nname = "Bench Mäkleri AB"\n\n'
        "[watch]\nsettle_s = 0.2\nrescan_interval_s = 1\n\n"
        '[[formats]]\npattern = "*.xml"\nmapping = "openimmo"\n\n'
        '[[formats]]\npattern = "*.csv"\nmapping = "generic-csv"\n',
        encoding="utf-8",
    )
    return path


def open_config(path: Path) -> tuple[Config, Store]:
    config = load_config(path)
    migrate.upgrade(config.paths.database)
    return config, open_store(config.paths.database)


@dataclass
class Settled:
    seconds: float
    passes: int
    ops: int
    stages: dict[str, int]


def stages(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    with store.read() as session:
        for row in all_listings(session):
            counts[str(row.stage)] = counts.get(str(row.stage), 0) + 1
    return counts


def sync_until_settled(
    store: Store, client: HemnetClient, config: Config, *, timeout_s: float = 900
) -> Settled:
    """Apply and poll until the plan is empty and no poll is due; raises on timeout."""
    budget = TokenBucket(config.hemnet.requests_per_second, config.hemnet.burst)
    applier = Applier(store, client, config, budget=budget)
    poller = Poller(store, client, config, budget=budget)
    started = time.monotonic()
    passes = ops = 0
    while True:
        report = applier.run_pass()
        polled = poller.poll_due()
        passes += 1
        ops += report.ops_total
        now = utc_now()
        idle = report.ops_total == 0 and polled.next_due_at is None
        if idle and current_plan(store, config, now).is_empty:
            return Settled(time.monotonic() - started, passes, ops, stages(store))
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"not settled after {timeout_s:.0f}s: {stages(store)}")
        time.sleep(_pause_s(now, report.ops_total, report.next_retry_at, polled.next_due_at))


def _pause_s(now: datetime, ops: int, retry_at: datetime | None, due_at: datetime | None) -> float:
    if ops:
        return 0.0  # the pass did work: more may be due at once
    times = [t for t in (retry_at, due_at) if t is not None]
    if not times:
        return 0.05
    return min(max((min(times) - now).total_seconds(), 0.01), 1.0)
