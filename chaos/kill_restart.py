"""Chaos run: SIGKILL the daemon at random moments while it syncs, then prove Hemnet is right.

Drives a real ``syncd run`` process against an in-process sandbox through an initial sync,
updates, sales and withdrawals, killing it ``--kills`` times (seeded RNG) and restarting it.
A final clean run must converge: one listing per externalId, one image per URL per listing,
no outbox row left unsettled, and the sandbox equal to the desired state. ``--sweep`` also
runs the daemon (no kills) under sandbox 5xx, 429, latency and accept-then-drop faults.

    python chaos/kill_restart.py --kills 100 --listings 50 --seed 1 --sweep

Test-only tooling: it reads the state database with sqlite3 and never changes syncd's data.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from syncd.core.domain import Listing, ListingStatus
from syncd.formats import RecordResult, load_mapping, parse_file
from syncd.hemnet import payload, wire
from syncd.sandbox.testing import SandboxHandle, serve_sandbox

RUNNING = b"syncd running"  # syncd.runtime.daemon's startup line: work begins after it
APPLY_PASS = b"apply pass:"  # syncd.usecases.apply's summary of one pass
SETTLED = frozenset({"succeeded", "failed", "superseded"})
AGENCY_KEY = "chaos-agency"
COLUMNS = [
    "objektnummer", "status", "boendeform", "upplatelseform", "gatuadress", "postnummer",
    "ort", "utgangspris", "boarea", "antal_rum", "rubrik", "beskrivning", "bild_1",
    "bildtext_1", "bild_2", "bildtext_2", "bild_3", "bildtext_3", "slutpris",
    "slutpris_publikt", "kontraktsdatum", "maklarbyra",
]  # fmt: skip
STREETS = ["Storgatan", "Kungsgatan", "Ängsvägen", "Björkvägen", "Sjövägen", "Götgatan"]
CITIES = [("Stockholm", "11846"), ("Uppsala", "75320"), ("Lund", "22100"), ("Umeå", "90326")]


# --- the CRM side: exports ----------------------------------------------------------------


@dataclass
class Row:
    key: str
    status: str = "Till salu"
    street: str = ""
    city: str = ""
    postal_code: str = ""
    price: int = 0
    area: str = ""
    rooms: str = ""
    title: str = ""
    description: str = ""
    images: list[tuple[str, str]] = field(default_factory=list)  # (url, caption)
    sale_price: int | None = None
    agency: str = AGENCY_KEY

    def cells(self) -> dict[str, str]:
        out = {
            "objektnummer": self.key,
            "status": self.status,
            "boendeform": "Villa",
            "upplatelseform": "Äganderätt",
            "gatuadress": self.street,
            "postnummer": self.postal_code,
            "ort": self.city,
            "utgangspris": f"{self.price:,}".replace(",", " ") + " kr",
            "boarea": self.area,
            "antal_rum": self.rooms,
            "rubrik": self.title,
            "beskrivning": self.description,
            "maklarbyra": self.agency,
        }
        for n, (url, caption) in enumerate(self.images, start=1):
            out[f"bild_{n}"], out[f"bildtext_{n}"] = url, caption
        if self.sale_price is not None:
            out |= {
                "slutpris": str(self.sale_price),
                "slutpris_publikt": "ja",
                "kontraktsdatum": "2026-11-01",
            }
        return out


def image(key: str, n: int) -> tuple[str, str]:
    return f"https://img.example/chaos/{key}/{n}.jpg", f"Bild {n}"


def initial_rows(rng: random.Random, count: int) -> list[Row]:
    rows = []
    for i in range(count):
        key = f"C{i:04d}"
        city, postal = rng.choice(CITIES)
        rows.append(
            Row(
                key=key,
                street=f"{rng.choice(STREETS)} {rng.randint(1, 99)}",
                city=city,
                postal_code=postal,
                price=rng.randrange(1_000_000, 9_000_000, 5_000),
                area=f"{rng.randint(40, 250)},{rng.randint(0, 9)}",
                rooms=str(rng.randint(1, 8)),
                title=f"Chaos-objekt {i}",
                description=f"Beskrivning av objekt {i}.",
                images=[image(key, n) for n in range(1, rng.randint(1, 3) + 1)],
            )
        )
    return rows


Change = Callable[[random.Random, list[Row]], list[Row]]


def unchanged(rng: random.Random, rows: list[Row]) -> list[Row]:
    return rows


def updated(rng: random.Random, rows: list[Row]) -> list[Row]:
    """About half the listings change: price, title, and an image replaced or added."""
    for row in rng.sample(rows, k=max(1, len(rows) // 2)):
        row.price += rng.choice([-100_000, 50_000, 250_000])
        row.title += " (nytt pris)"
        if len(row.images) < 3 and rng.random() < 0.5:
            row.images.append(image(row.key, 10 + len(row.images)))
        elif row.images:
            row.images[-1] = image(row.key, 20 + len(row.images))
    return rows


def sold(rng: random.Random, rows: list[Row]) -> list[Row]:
    for_sale = [r for r in rows if r.status == "Till salu"]
    for row in rng.sample(for_sale, k=max(1, len(for_sale) // 5)):
        row.status, row.sale_price = "Såld", row.price + rng.randrange(-200_000, 400_000, 5_000)
    return rows


def withdrawn(rng: random.Random, rows: list[Row]) -> list[Row]:
    for_sale = [r for r in rows if r.status == "Till salu"]
    for row in rng.sample(for_sale, k=max(1, len(for_sale) // 5)):
        row.status = "Återkallad"
    return rows


def export_text(rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, delimiter=";", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.cells())
    return buffer.getvalue()


def drop_export(inbox: Path, name: str, text: str) -> Path:
    """Written under a temporary name, then renamed in: how a careful CRM delivers."""
    tmp = inbox / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    final = inbox / name
    tmp.rename(final)
    return final


def desired_listings(export: Path) -> dict[str, Listing]:
    """The desired state, read with syncd's own mapping (what the daemon will see)."""
    listings: dict[str, Listing] = {}
    rejected: list[RecordResult] = []
    for record in parse_file(export, load_mapping("generic-csv")).records:
        if record.listing is not None:
            listings[record.listing.listing_key] = record.listing  # the last duplicate wins
        elif record.ignored is None and record.patch is None:
            rejected.append(record)
    if rejected:
        raise SystemExit(f"chaos export has rejected records: {rejected[0].problems}")
    return listings


# --- the daemon ---------------------------------------------------------------------------


@dataclass
class Site:
    """One daemon's world: config file, folders, the sandbox it talks to."""

    root: Path
    sandbox: SandboxHandle
    config: Path = field(init=False)
    inbox: Path = field(init=False)
    log: Path = field(init=False)
    log_offset: int = field(init=False, default=0)  # where the last start's lines begin

    def __post_init__(self) -> None:
        self.inbox = self.root / "inbox"
        state = self.root / "state"
        for folder in (self.inbox, state):
            folder.mkdir(parents=True, exist_ok=True)
        self.log = self.root / "daemon.log"
        self.config = self.root / "config.toml"
        self.config.write_text(
            f"""[paths]
inbox = "{self.inbox}"
state_dir = "{state}"

[hemnet]
base_url = "{self.sandbox.base_url}"
connect_timeout_s = 2
read_timeout_s = 5
requests_per_second = 200
burst = 200

[agency]
key = "{AGENCY_KEY}"
name = "Kaos Mäkleri AB"

[sync]
poll_interval_fast_s = 0.5
poll_interval_slow_s = 1
reconcile_interval_s = 5

[watch]
settle_s = 0.2
rescan_interval_s = 1

[[formats]]
pattern = "*.csv"
mapping = "generic-csv"
""",
            encoding="utf-8",
        )
        self.syncd("db", "upgrade")

    @property
    def database(self) -> Path:
        return self.root / "state" / "syncd.db"

    def env(self) -> dict[str, str]:
        return {**os.environ, "SYNCD_HEMNET_TOKEN": self.sandbox.token, "PYTHONUNBUFFERED": "1"}

    def syncd(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "syncd", "--config", str(self.config), *args],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def wait_running(self, timeout_s: float = 15) -> bool:
        """Until the daemon started last says it runs (its startup line in the log)."""
        return self.wait_for(RUNNING, timeout_s)

    def wait_for(self, marker: bytes, timeout_s: float = 15) -> bool:
        """Until ``marker`` appears in the log of the daemon started last."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log.read_bytes()[self.log_offset :].count(marker):
                return True
            time.sleep(0.02)
        return False

    def start(self) -> subprocess.Popen[bytes]:
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "syncd", "--config", str(self.config), "run"],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


def kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes], timeout_s: float = 20) -> int | None:
    """SIGTERM and wait: the daemon must finish or record its call in flight, then exit."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill(process)
        return None


# --- the checks ---------------------------------------------------------------------------


@dataclass
class Verdict:
    duplicate_listings: int = 0
    duplicate_images: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        return not self.mismatches and not self.duplicates

    @property
    def duplicates(self) -> int:
        return self.duplicate_listings + self.duplicate_images


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def compare(state: dict[str, Any], desired: dict[str, Listing]) -> Verdict:
    """Hemnet (the sandbox's whole world) against what the CRM's last export says."""
    verdict = Verdict()
    by_external: dict[str, list[dict[str, Any]]] = {}
    for remote in state["listings"]:
        by_external.setdefault(remote["fields"].get("externalId"), []).append(remote)
    verdict.duplicate_listings = sum(len(v) - 1 for v in by_external.values())
    images: dict[str, list[dict[str, Any]]] = {}
    for img in state["images"]:
        images.setdefault(img["listing_id"], []).append(img)
    for listing_images in images.values():
        counts = Counter(img["url"] for img in listing_images)
        verdict.duplicate_images += sum(n - 1 for n in counts.values())
    sales = {s["listing_id"]: s for s in state["sales"]}
    for key, want in sorted(desired.items()):
        found = by_external.get(key, [])
        if not found:
            if want.status is ListingStatus.FOR_SALE:
                verdict.mismatches.append(f"{key}: missing on Hemnet")
            continue  # sold or withdrawn before it ever reached Hemnet: nothing is sent
        have = found[0]
        sale = sales.get(have["id"])
        if want.status is ListingStatus.SOLD:
            if sale is None or want.sale is None or sale["price"] != want.sale.price:
                verdict.mismatches.append(f"{key}: not sold at {want.sale and want.sale.price}")
            continue
        if want.status is ListingStatus.WITHDRAWN:
            if have["is_published"]:
                verdict.mismatches.append(f"{key}: withdrawn but still published")
            continue
        expected = payload.listing_body(want, "")[wire.LISTING_ONE]
        for name in set(expected) | set(have["fields"]):
            if name == "brokerAgencyId":
                continue
            got, wanted = have["fields"].get(name), expected.get(name)
            if got != wanted and not (_empty(got) and _empty(wanted)):
                verdict.mismatches.append(f"{key}: {name} is {got!r}, wanted {wanted!r}")
        urls = sorted(img["url"] for img in images.get(have["id"], []))
        wanted_urls = sorted(img.url for img in want.images)
        if urls != wanted_urls:
            verdict.mismatches.append(f"{key}: images {urls} != {wanted_urls}")
        elif any(img["state"] != "completed" for img in images.get(have["id"], [])):
            verdict.mismatches.append(f"{key}: images still processing")
        if not have["is_published"]:
            verdict.mismatches.append(f"{key}: for sale but not published")
    return verdict


def outbox_counts(database: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT status, count(*) FROM operations GROUP BY status").fetchall()
    return {status: n for status, n in rows}


def unsettled(outbox: dict[str, int]) -> int:
    return sum(n for status, n in outbox.items() if status not in SETTLED)


def wait_converged(
    sandbox: SandboxHandle, desired: dict[str, Listing], database: Path, timeout_s: float
) -> tuple[Verdict, float]:
    """Until Hemnet equals the desired state AND the outbox has settled every op.

    The second half matters: Hemnet can already be right while the outcome of the call a
    kill interrupted is still unrecorded; the daemon must settle it by reading back.
    """
    start = time.monotonic()
    while True:
        verdict = compare(sandbox.state(), desired)
        elapsed = time.monotonic() - start
        if (verdict.converged and not unsettled(outbox_counts(database))) or elapsed > timeout_s:
            return verdict, elapsed
        time.sleep(0.25)


# --- the runs -----------------------------------------------------------------------------


@dataclass
class ChaosReport:
    seed: int
    kills: int
    listings: int
    duration_s: float
    convergence_s: float
    converged: bool
    duplicate_listings: int
    duplicate_images: int
    outbox: dict[str, int]
    unsettled_ops: int
    exit_code: int | None  # of the final run after SIGTERM; None if it had to be killed
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        return (
            self.converged
            and self.duplicate_listings == 0
            and self.duplicate_images == 0
            and (self.unsettled_ops == 0)
        )


@contextlib.contextmanager
def chaos_sandbox(**faults: float) -> Iterator[SandboxHandle]:
    # Fast images and approval so a run is about syncd, not about waiting; no rate limit.
    with serve_sandbox(
        fetch_mode="simulate", image_delay_s=0.05, auto_approve_after_s=0.5, **faults
    ) as sandbox:
        yield sandbox


def kill_restart(
    kills: int,
    listings: int,
    seed: int,
    workdir: Path,
    *,
    min_alive_s: float = 0.0,
    max_alive_s: float = 1.5,
    startup_kill_share: float = 0.1,
    final_timeout_s: float = 180,
    say: Any = print,
) -> ChaosReport:
    """Four exports (initial, updates, sales, withdrawals), ``kills`` SIGKILLs spread over them."""
    rng = random.Random(seed)
    started = time.monotonic()
    rows = initial_rows(rng, listings)
    phases: list[tuple[str, Change]] = [
        ("initial", unchanged),
        ("updates", updated),
        ("sales", sold),
        ("withdrawals", withdrawn),
    ]
    with chaos_sandbox() as sandbox:
        site = Site(workdir, sandbox)
        done = 0
        desired: dict[str, Listing] = {}
        for number, (name, change) in enumerate(phases):
            rows = change(rng, rows)
            export = drop_export(site.inbox, f"{number:02d}-{name}.csv", export_text(rows))
            desired = desired_listings(export)
            share = kills // len(phases) + (1 if number < kills % len(phases) else 0)
            for _ in range(share):
                process = site.start()
                if rng.random() < startup_kill_share:
                    time.sleep(rng.uniform(0, 1.0))  # during imports, migrations check, startup
                else:
                    site.wait_running()
                    time.sleep(rng.uniform(min_alive_s, max_alive_s))
                kill(process)
                done += 1
            on_hemnet = len(sandbox.state()["listings"])
            say(f"phase {name}: {done}/{kills} kills, {on_hemnet} listings on Hemnet")
        # The final clean run: judged only after it has started and done one apply pass,
        # so outcomes a kill left unrecorded have been settled by reading Hemnet back.
        process = site.start()
        final_start = time.monotonic()
        try:
            site.wait_for(APPLY_PASS, timeout_s=60)
            verdict, _ = wait_converged(sandbox, desired, site.database, final_timeout_s)
            convergence_s = time.monotonic() - final_start
        finally:
            exit_code = stop(process)
        verdict = compare(sandbox.state(), desired)
        outbox = outbox_counts(site.database)
    return ChaosReport(
        seed=seed,
        kills=done,
        listings=listings,
        duration_s=round(time.monotonic() - started, 1),
        convergence_s=round(convergence_s, 1),
        converged=verdict.converged,
        duplicate_listings=verdict.duplicate_listings,
        duplicate_images=verdict.duplicate_images,
        outbox=outbox,
        unsettled_ops=unsettled(outbox),
        exit_code=exit_code,
        mismatches=verdict.mismatches[:20],
    )


@dataclass
class SweepPoint:
    faults: dict[str, float]
    converged: bool
    convergence_s: float
    duplicate_listings: int
    duplicate_images: int
    unsettled_ops: int
    requests: int


FAULT_SWEEP: tuple[dict[str, float], ...] = (
    {},
    {"fault_500": 0.2},
    {"fault_503": 0.3},
    {"fault_429": 0.3},
    {"latency_ms": 200},
    {"fault_drop": 0.1},
    {"fault_drop": 0.3},
    {"fault_500": 0.1, "fault_429": 0.1, "fault_drop": 0.1, "latency_ms": 50},
)


def fault_sweep(
    listings: int, seed: int, workdir: Path, *, timeout_s: float = 300, say: Any = print
) -> list[SweepPoint]:
    """The daemon without kills under each fault mix: time to converge, duplicates.

    Five minutes each: with 30 % of answers 429 or 503, every op backs off exponentially
    and 50 listings take two to three minutes on 2 shared cores (docs/reliability.md).
    """
    points = []
    for number, faults in enumerate(FAULT_SWEEP):
        rng = random.Random(seed + number)
        rows = initial_rows(rng, listings)
        with chaos_sandbox(fault_seed=seed, **faults) as sandbox:
            site = Site(workdir / f"sweep-{number}", sandbox)
            export = drop_export(site.inbox, "00-initial.csv", export_text(rows))
            desired = desired_listings(export)
            started = time.monotonic()
            process = site.start()
            try:
                site.wait_for(APPLY_PASS, timeout_s=60)
                verdict, _ = wait_converged(sandbox, desired, site.database, timeout_s)
                elapsed = time.monotonic() - started
            finally:
                stop(process)
            outbox = outbox_counts(site.database)
            counts = sandbox.stats()["requests"]
            requests = sum(n for route, n in counts.items() if "/v1" in route or "dropped" in route)
        point = SweepPoint(
            faults=faults,
            converged=verdict.converged,
            convergence_s=round(elapsed, 1),
            duplicate_listings=verdict.duplicate_listings,
            duplicate_images=verdict.duplicate_images,
            unsettled_ops=unsettled(outbox),
            requests=requests,
        )
        say(f"faults {faults or 'none'}: {asdict(point)}")
        points.append(point)
    return points


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--listings", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", action="store_true", help="also run the fault sweep")
    parser.add_argument("--sweep-only", action="store_true", help="only the fault sweep")
    parser.add_argument("--workdir", type=Path, help="keep the run's files here")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results: dict[str, Any] = {"command": " ".join(sys.argv)}
        ok = True
        if not args.sweep_only:
            report = kill_restart(args.kills, args.listings, args.seed, workdir / "kills")
            results["kill_restart"] = asdict(report)
            print(json.dumps(asdict(report), indent=2, ensure_ascii=False))
            ok = report.ok
        if args.sweep or args.sweep_only:
            points = fault_sweep(args.listings, args.seed, workdir)
            results["fault_sweep"] = [asdict(p) for p in points]
            ok = ok and all(
                p.converged and p.duplicate_listings == p.duplicate_images == 0 for p in points
            )
        if args.json:
            args.json.write_text(
                json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8"
            )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
