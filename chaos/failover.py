"""Failover chaos run: several daemons on one PostgreSQL store; the instance holding some
agency's lease is SIGKILLed again and again while the listings go through their lives.

Three ``syncd run`` processes share one throwaway PostgreSQL server (tests/pg.py), one
inbox and one in-process sandbox. Through four exports (initial, updates, sales,
withdrawals) the holder of a randomly chosen agency is killed ``--kills`` times and
restarted after its agencies were taken over; the time from the kill until another
instance holds the agency is printed per kill, with p50 and max. In the end Hemnet must
equal the last export: one listing per externalId, one image per URL, every op settled.

``--throughput R`` instead runs two instances against a sandbox limited to R requests a
second: the fleet together must stay within R (no 429 answer) and reach 0.9 R.

    python -m chaos.failover --instances 3 --listings 200 --kills 20 --seed 1
    python -m chaos.failover --throughput 20 --listings 150

Test-only tooling: it reads the store with its own connection and never changes it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from chaos.fleet import Fleet, Instance, duplicates
from chaos.kill_restart import (
    SETTLED,
    Row,
    chaos_sandbox,
    compare,
    desired_listings,
    drop_export,
    export_text,
    initial_rows,
    sold,
    unchanged,
    updated,
    withdrawn,
)
from syncd.core.domain import Listing
from syncd.sandbox.testing import SandboxHandle, serve_sandbox
from tests.pg import PostgresServer

# The defaults' proportions (15 s, 3 s, 5 s) at a third, so twenty takeovers take minutes.
LEASES = "[fleet]\nlease_ttl_s = 6\nlease_renew_s = 1\nlease_margin_s = 2\n"
HEMNET = "connect_timeout_s = 2\nread_timeout_s = 5\nrequests_per_second = 200\nburst = 200\n"
AGENCY_COUNT = 6


def agencies_for(rows: list[Row], count: int) -> list[str]:
    keys = [f"agency{n}" for n in range(count)]
    for n, row in enumerate(rows):
        row.agency = keys[n % count]
    return keys


def names_of(keys: Sequence[str]) -> str:
    return "".join(f'\n[agencies.{key}]\nname = "Mäkleri {key} AB"\n' for key in keys)


def drop(inbox: Path, name: str, rows: Sequence[Row]) -> dict[str, Listing]:
    """Drop an export; what it asks for, read from a copy (the daemon moves the file)."""
    body = export_text(rows)
    copy = inbox.parent / f"{name}.copy"
    copy.write_text(body, encoding="utf-8")
    drop_export(inbox, name, body)
    return desired_listings(copy)


def outbox_counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT status, count(*) FROM operations GROUP BY status")
            ).all()
    finally:
        engine.dispose()
    return {str(status): int(n) for status, n in rows}


@contextlib.contextmanager
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def wait(condition: Any, timeout_s: float, step_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step_s)
    return None


# --- failover -----------------------------------------------------------------------------


@dataclass
class FailoverReport:
    seed: int
    instances: int
    listings: int
    kills: int
    takeover_s: list[float] = field(default_factory=list)
    duplicate_listings: int = 0
    duplicate_images: int = 0
    converged: bool = False
    convergence_s: float = 0.0
    outbox: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    @property
    def unsettled(self) -> int:
        return sum(n for status, n in self.outbox.items() if status not in SETTLED)

    @property
    def ok(self) -> bool:
        return (
            self.converged
            and self.duplicate_listings == self.duplicate_images == 0
            and self.unsettled == 0
            and len(self.takeover_s) == self.kills
        )


def kill_holder(fleet: Fleet, agency: str, say: Any) -> tuple[Instance, float] | None:
    """SIGKILL the instance holding ``agency``; the seconds until another holds it."""
    holder = fleet.holders().get(agency)
    victim = fleet.instance_of(holder) if holder else None
    if victim is None or victim.process is None:
        return None
    victim.process.kill()
    killed_at = time.monotonic()
    victim.process.wait()
    taken = wait(
        lambda: (now := fleet.holders().get(agency)) is not None and now != holder, 60, 0.05
    )
    if not taken:
        say(f"  agency {agency}: not taken over within 60 s")
        return victim, float("inf")
    return victim, time.monotonic() - killed_at


def failover(
    kills: int, listings: int, instances: int, seed: int, workdir: Path, *, say: Any = print
) -> FailoverReport:
    rng = random.Random(seed)
    rows = initial_rows(rng, listings)
    agencies = agencies_for(rows, AGENCY_COUNT)
    report = FailoverReport(seed, instances, listings, kills)
    phases = [("initial", unchanged), ("updates", updated), ("sales", sold)]
    phases.append(("withdrawals", withdrawn))
    per_phase = [kills // len(phases) + (1 if n < kills % len(phases) else 0) for n in range(4)]
    with postgres() as server, chaos_sandbox() as sandbox:
        url = server.database()
        fleet = Fleet(
            workdir,
            url,
            sandbox.base_url,
            sandbox.token,
            instances,
            extra=names_of(agencies),
            hemnet=HEMNET,
            leases=LEASES,
        )
        try:
            fleet.start_all()
            desired: dict[str, Listing] = {}
            for (name, change), count in zip(phases, per_phase, strict=True):
                rows = change(rng, rows)
                desired = drop(fleet.inbox, f"{name}.csv", rows)
                export = fleet.inbox / f"{name}.csv"
                wait(lambda e=export: not e.exists(), 60)
                for _ in range(count):
                    time.sleep(rng.uniform(0.5, 3.0))  # let the work go on a while
                    agency = rng.choice(agencies)
                    found = wait(lambda a=agency: kill_holder(fleet, a, say), 60, 0.5)
                    if found is None:
                        say(f"  no holder of {agency} found to kill")
                        continue
                    victim, took_s = found
                    report.takeover_s.append(took_s)
                    say(
                        f"phase {name}: kill {len(report.takeover_s)}/{kills} "
                        f"({victim.root.name}, holder of {agency}): taken over in {took_s:.2f} s"
                    )
                    fleet.start(victim)
                    wait(lambda v=victim: v.health() is not None, 30)
            started = time.monotonic()

            def settled() -> bool:
                verdict = compare(sandbox.state(), desired)
                counts = outbox_counts(url)
                unsettled = sum(n for s, n in counts.items() if s not in SETTLED)
                return verdict.converged and unsettled == 0

            report.converged = bool(wait(settled, 300, 0.5))
            report.convergence_s = time.monotonic() - started
            state = sandbox.state()
            report.duplicate_listings, report.duplicate_images = duplicates(state)
            report.mismatches = compare(state, desired).mismatches[:10]
            report.outbox = outbox_counts(url)
        finally:
            fleet.stop_all()
    return report


# --- throughput ---------------------------------------------------------------------------


@dataclass
class ThroughputReport:
    rate_limit: float
    instances: int
    listings: int
    requests: int
    answers_429: int
    sustained_rate: float
    converged: bool

    @property
    def ok(self) -> bool:
        return (
            self.converged
            and self.answers_429 == 0
            and self.sustained_rate <= self.rate_limit * 1.02  # the sampling's own error
            and self.sustained_rate >= 0.9 * self.rate_limit
        )


def _api_counts(sandbox: SandboxHandle) -> tuple[int, int]:
    counts: dict[str, int] = sandbox.stats()["requests"]
    api = {k: n for k, n in counts.items() if " /v1/" in k}
    return sum(api.values()), sum(n for k, n in api.items() if k.endswith(" 429"))


def throughput(
    rate: float, listings: int, seed: int, workdir: Path, *, say: Any = print
) -> ThroughputReport:
    rng = random.Random(seed)
    rows = initial_rows(rng, listings)
    for row in rows:  # three images each: plenty of calls queued for both instances
        row.images = [(f"https://img.example/tp/{row.key}/{n}.jpg", f"Bild {n}") for n in (1, 2, 3)]
    agencies = agencies_for(rows, 4)
    burst = max(2, int(rate // 2))
    hemnet = (
        f"connect_timeout_s = 2\nread_timeout_s = 5\nrequests_per_second = {rate}\n"
        f"burst = {burst}\n"
    )
    with (
        postgres() as server,
        serve_sandbox(
            fetch_mode="simulate",
            image_delay_s=0.05,
            auto_approve_after_s=0.5,
            rate_per_s=rate,
            burst=burst,
        ) as sandbox,
    ):
        url = server.database()
        fleet = Fleet(
            workdir,
            url,
            sandbox.base_url,
            sandbox.token,
            2,
            extra=names_of(agencies),
            hemnet=hemnet,
            leases=LEASES,
        )
        try:
            fleet.start_all()
            wait(lambda: all(i.health() for i in fleet.instances), 60)
            sandbox.reset_stats()
            desired = drop(fleet.inbox, "initial.csv", rows)
            samples: list[tuple[float, int]] = []
            started = time.monotonic()
            converged = False
            while time.monotonic() - started < 600:
                total, _ = _api_counts(sandbox)
                samples.append((time.monotonic(), total))
                if compare(sandbox.state(), desired).converged:
                    converged = True
                    break
                time.sleep(0.5)
            total, rejected = _api_counts(sandbox)
            holders = fleet.holders()
        finally:
            fleet.stop_all()
    say(f"agencies held: {json.dumps(holders)}")
    return ThroughputReport(
        rate, 2, listings, total, rejected, sustained(samples, total), converged
    )


def sustained(samples: Sequence[tuple[float, int]], total: int) -> float:
    """Requests a second over the middle of the run (from 10 % to 90 % of all requests):
    the start (ingest, before the first call) and the tail (the last approvals awaited,
    one instance done before the other) are not the fleet at full speed."""

    def first_time(count: float) -> float:
        return next(t for t, n in samples if n >= count)

    low, high = 0.1 * total, 0.9 * total
    if not samples or samples[-1][1] < high:
        return 0.0
    took = first_time(high) - first_time(low)
    return (high - low) / took if took > 0 else 0.0


# --- the command line ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--listings", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--throughput", type=float, default=None, metavar="R")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        result: ThroughputReport | FailoverReport
        if args.throughput is not None:
            rate = throughput(args.throughput, args.listings, args.seed, workdir)
            print(json.dumps(asdict(rate), indent=2))
            print(
                f"fleet of 2 against a limit of {args.throughput:g}/s: "
                f"{rate.sustained_rate:.2f} requests/s sustained, "
                f"{rate.answers_429} answer(s) 429, {rate.requests} requests"
            )
            result = rate
        else:
            result = failover(args.kills, args.listings, args.instances, args.seed, workdir)
            print(json.dumps(asdict(result), indent=2))
            times = result.takeover_s
            if times:
                print(
                    f"takeover after {len(times)} kill(s): p50 {statistics.median(times):.2f} s, "
                    f"max {max(times):.2f} s; duplicates: {result.duplicate_listings} listing(s), "
                    f"{result.duplicate_images} image(s); converged: {result.converged}"
                )
        print("OK" if result.ok else "FAILED")
        return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
