"""Drive syncd in-process for the benchmarks: a config on a sandbox (the shipped defaults but
for what a benchmark names), then apply and poll passes until nothing is left to do (every
listing visible and no op due).

Uses the real Applier, Poller and ingest_file; waits the way the scheduler would.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
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

# What a user would change in their config to get the "TUNED" figures some benchmarks print
# beside the ones with the shipped defaults.
TUNED: dict[str, dict[str, float]] = {
    "watch": {"settle_s": 0.2, "rescan_interval_s": 1.0},
    "sync": {"poll_interval_fast_s": 0.5, "poll_interval_slow_s": 0.5},
}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def tuned_text(settings: Mapping[str, Mapping[str, object]] = TUNED) -> str:
    """The settings as a user writes them: "[watch] settle_s = 0.2, ...; [sync] ..."."""
    return "; ".join(
        f"[{section}] " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in keys.items())
        for section, keys in settings.items()
    )


def write_config(
    folder: Path,
    base_url: str,
    *,
    settings: Mapping[str, Mapping[str, object]] | None = None,
) -> Path:
    """A config under ``folder`` talking to ``base_url``, with both bundled mappings.

    Every other key is left out, so syncd runs with its shipped defaults; ``settings``
    (section -> key -> value) sets only what a benchmark says it changes.
    """
    for name in ("inbox", "state"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    sections: dict[str, dict[str, object]] = {
        "paths": {"inbox": "inbox", "state_dir": "state"},
        "hemnet": {"base_url": base_url},
        # The exports name reserved hosts (img.example): nothing to look up.
        "images": {"resolve_hosts": False},
    }
    for section, keys in (settings or {}).items():
        sections.setdefault(section, {}).update(keys)
    text = "".join(
        f"[{section}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in keys.items()) + "\n"
        for section, keys in sections.items()
    )
    path = folder / "syncd.toml"
    path.write_text(
        text
        # The exports name their agency by key only: the config names it, as an operator would.
        + f'[agencies.{AGENCY}]\nname = "Bench Mäkleri AB"\n\n'
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
