"""Benchmark 1: ingest of generated exports, XML and CSV, beside the parser's floor.

The floor is what any importer of the file must do, and no more: the bare parser (lxml
iterparse of the record elements, or csv.reader) and one SQLite transaction inserting one
row per record, holding its key and its data as the parser hands it over (the record's XML
text, the row's fields joined). No JSON, no hashing, no validation.

Each step runs in a fresh child process, so its CPU time and peak RSS (VmHWM) are its own:

- the floor;
- syncd's parse alone (``parse_file`` with the bundled mapping, every record assembled);
- ``ingest_file`` of the export into a freshly migrated, empty store (the first ingest),
  then, in the same process, of the same export with one listing changed (what every later
  export of a CRM costs: its unchanged records are taken unread). The peak RSS is that
  process's, over both.

Up to 10,000 listings every step runs ``--runs`` times (default 3) and the median is shown;
the ratio is the median CPU time of the step over the median CPU time of the floor (CPU
time, because elapsed time on a shared machine measures the neighbours too). Larger sizes
run once, without the parse alone: peak RSS is their figure. The configuration is syncd's
shipped defaults: the config gives only paths, a Hemnet base URL and the two
``[[formats]]`` rules.

    .venv/bin/python bench/ingest_speed.py [--quick] [--sizes 10000,100000] [--runs 3]
                                           [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import child
import exports
import machine

HERE = Path(__file__).resolve()
MAPPINGS = {"xml": "openimmo", "csv": "generic-csv"}
GOAL_RATIO = 5.0
GOAL_RSS_MB = 150.0
REPEATED_UP_TO = 10_000  # sizes above this run once (peak RSS is the figure there)
CHANGED = 7  # the listing the re-drop changes


# --- children --------------------------------------------------------------------------------


def _floor(fmt: str, path: Path, db: Path) -> dict[str, Any]:
    """Every record read with the bare parser and inserted in one transaction."""
    started, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE listing (listing_key TEXT PRIMARY KEY, data TEXT)")
    with connection:  # one transaction; rows stream in, as ingest's do
        connection.executemany("INSERT INTO listing VALUES (?, ?)", _floor_rows(fmt, path))
    (count,) = connection.execute("SELECT count(*) FROM listing").fetchone()
    connection.close()
    return _figures(count, count, started, cpu)


def _floor_rows(fmt: str, path: Path) -> Iterator[tuple[str, str]]:
    """(key, the record's data as the parser gives it): the least a row of it can hold."""
    if fmt == "xml":
        from lxml import etree

        # The options syncd's reader opens the file with (no DTD, no network): they cost
        # nothing, and the floor reads the file the same way.
        for _event, element in etree.iterparse(
            str(path),
            events=("end",),
            tag="immobilie",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
        ):
            key = element.findtext("verwaltung_techn/objektnr_extern") or ""
            yield key, etree.tostring(element, encoding="unicode")
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]
    else:
        with path.open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream, delimiter=";")
            next(reader)
            for row in reader:
                yield row[0], "\x1f".join(row)


def _figures(records: int, usable: int, started: float, cpu: float) -> dict[str, Any]:
    """Counts, elapsed seconds and CPU seconds since ``started`` / ``cpu``."""
    return {
        "records": records,
        "usable": usable,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
    }


def _parse(fmt: str, path: Path) -> dict[str, Any]:
    from syncd.formats import load_mapping, parse_file

    started, cpu = time.perf_counter(), time.process_time()
    records = usable = 0
    for record in parse_file(path, load_mapping(MAPPINGS[fmt])).records:
        records += 1
        usable += record.listing is not None
    return _figures(records, usable, started, cpu)


def write_config(folder: Path) -> Path:
    """The shipped defaults: only paths, an unused Hemnet URL and both bundled mappings."""
    config = folder / "syncd.toml"
    config.write_text(
        '[paths]\ninbox = "inbox"\nstate_dir = "state"\n\n'
        '[hemnet]\nbase_url = "http://127.0.0.1:9/v1"\n\n'
        '[[formats]]\npattern = "*.xml"\nmapping = "openimmo"\n\n'
        '[[formats]]\npattern = "*.csv"\nmapping = "generic-csv"\n',
        encoding="utf-8",
    )
    for name in ("inbox", "state"):
        (folder / name).mkdir(exist_ok=True)
    return config


def _ingest(path: Path, folder: Path) -> dict[str, Any]:
    """``path`` ingested into a fresh store, then the same export with one listing changed
    ("changed-" beside it): the figures of each, and the process's peak RSS."""
    from syncd.config import load_config
    from syncd.store import migrate
    from syncd.store.engine import open_store
    from syncd.usecases.ingest import ingest_file

    config = load_config(write_config(folder))
    migrate.upgrade(config.paths.database)
    figures: dict[str, Any] = {}
    with open_store(config.paths.database) as store:
        for step, export in (("first", path), ("again", path.with_name("changed-" + path.name))):
            inbox_copy = config.paths.inbox / export.name
            inbox_copy.hardlink_to(export)  # ingest moves the file it takes; the original stays
            started, cpu = time.perf_counter(), time.process_time()
            result = ingest_file(store, config, inbox_copy, datetime.now(UTC))
            figures[step] = _figures(result.records, result.accepted, started, cpu)
            figures[step]["changed"] = len(result.changed_keys)
            if result.outcome != "accepted":
                raise SystemExit(f"ingest did not accept {export.name}: {result.outcome}")
    return figures


def run_child(mode: str, fmt: str, path: str, extra: str) -> None:
    if mode == "floor":
        figures = _floor(fmt, Path(path), Path(extra))
    elif mode == "parse":
        figures = _parse(fmt, Path(path))
    else:
        figures = _ingest(Path(path), Path(extra))
    child.report(figures)


# --- driver ---------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs (counts are the same in every run)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


@dataclass
class Row:
    name: str
    figures: dict[str, Any]
    floor: dict[str, Any]
    runs: int

    @property
    def cpu_ratio(self) -> float:
        cpu = self.floor["cpu_seconds"]
        return self.figures["cpu_seconds"] / cpu if cpu else float("nan")

    def text(self) -> str:
        f = self.figures
        return (
            f"{self.name:52} {f['records']:>9,.0f} {f['usable']:>9,.0f} {self.runs:>4} "
            f"{f['cpu_seconds']:>8.2f} {self.cpu_ratio:>8.1f}x {f['seconds']:>8.2f} "
            f"{f['peak_rss_mb']:>9.1f}"
        )


HEADER = (
    f"{'step (median of runs)':52} {'records':>9} {'usable':>9} {'runs':>4} {'CPU s':>8} "
    f"{'CPU ratio':>9} {'wall s':>8} {'peak MiB':>9}"
)


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


def _runs(mode: str, fmt: str, export: Path, folder: Path, repeats: int) -> list[dict[str, Any]]:
    results = []
    for _ in range(repeats):
        work = Path(tempfile.mkdtemp(dir=folder))
        extra = str(work / "floor.db") if mode == "floor" else str(work)
        results.append(child.run(HERE, mode, fmt, str(export), extra))
    return results


def measure_one(fmt: str, size: int, folder: Path, runs: int, out: Outcome) -> None:
    export = folder / f"bench-{size}.{fmt}"
    exports.write_export(fmt, export, size)
    exports.write_export(
        fmt, export.with_name("changed-" + export.name), size, changed={CHANGED}, generation=2
    )
    mib = export.stat().st_size / 2**20
    out.lines.append(f"{size:,} listings, {fmt.upper()} ({MAPPINGS[fmt]}), {mib:.0f} MiB")
    out.lines.append(HEADER)
    repeats = runs if size <= REPEATED_UP_TO else 1
    floor = _median(_runs("floor", fmt, export, folder, repeats))
    parser = "lxml iterparse" if fmt == "xml" else "csv.reader"
    rows = [Row(f"floor: bare {parser} + one SQLite transaction", floor, floor, repeats)]
    if size <= REPEATED_UP_TO:
        parsed = _median(_runs("parse", fmt, export, folder, repeats))
        rows.append(Row(f"syncd parse only ({MAPPINGS[fmt]} mapping)", parsed, floor, repeats))
    # One process ingests the export, then again with one listing changed: the peak RSS
    # shown on both rows is that process's, over both.
    ingests = _runs("ingest", fmt, export, folder, repeats)
    for step, label in (
        ("first", "syncd ingest_file, first (empty store)"),
        ("again", f"syncd ingest_file, again with 1 of {size:,} changed"),
    ):
        figures = _median([{**run[step], "peak_rss_mb": run["peak_rss_mb"]} for run in ingests])
        rows.append(Row(label, figures, floor, repeats))
    out.lines.extend(row.text() for row in rows)
    out.lines.append("")
    first, again = rows[-2], rows[-1]
    peak = first.figures["peak_rss_mb"]
    verdicts = [
        f"{name} {row.cpu_ratio:.1f}x the floor in CPU "
        f"({'meets' if row.cpu_ratio <= GOAL_RATIO else 'MISSES'} the {GOAL_RATIO:.0f}x goal)"
        for name, row in (("first ingest", first), ("again with 1 changed", again))
    ]
    finding = f"{size:,} {fmt.upper()}: " + ", ".join(verdicts) + f"; peak {peak:.0f} MiB"
    if size >= 100_000:
        finding += f" ({'under' if peak <= GOAL_RSS_MB else 'OVER'} the {GOAL_RSS_MB:.0f} MB goal)"
    out.findings.append(finding)


def measure(sizes: list[int], runs: int, keep: Path | None = None) -> Outcome:
    out = Outcome()
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as scratch:
        folder = keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            for fmt in ("xml", "csv"):
                measure_one(fmt, size, folder, runs, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 10,000 listings")
    parser.add_argument("--sizes", help="comma-separated listing counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per step up to 10,000")
    parser.add_argument("--keep", type=Path, help="write the exports here and keep them")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([2_000, 10_000] if args.quick else [10_000, 100_000])
    )
    print(machine.describe())
    print(
        "configuration: shipped defaults (the config sets only [paths], [hemnet] base_url and "
        "the two [[formats]] rules); CPU ratio = median CPU s of the step / median of the floor"
    )
    outcome = measure(sizes, args.runs, args.keep)
    print("\n".join(outcome.lines))
    print("\n".join(outcome.findings))


if __name__ == "__main__":
    main()
