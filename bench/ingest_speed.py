"""Benchmark 1: ingest of generated 10,000- and 100,000-listing exports, XML and CSV.

Each step runs in a fresh child process (time and peak RSS are its own): a bare baseline
(lxml iterparse or csv.reader, plus an executemany of the same rows into a fresh SQLite
table), syncd's parse alone, and the real ``ingest_file`` into a freshly migrated store.
Prints each beside the baseline as a ratio, of elapsed time and of the process's CPU time (on
a machine shared with other work, the CPU ratio is the steadier one). Not a timed test.

    .venv/bin/python bench/ingest_speed.py [--quick] [--sizes 10000,100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
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


# --- children --------------------------------------------------------------------------------


def _bare(fmt: str, path: Path, db: Path) -> dict[str, Any]:
    """Read every record with the plain library and insert its raw data in one executemany."""
    started, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE listing (listing_key TEXT PRIMARY KEY, data TEXT)")
    with connection:  # one transaction; rows stream in, as ingest's do
        connection.executemany("INSERT INTO listing VALUES (?, ?)", _raw_rows(fmt, path))
    (count,) = connection.execute("SELECT count(*) FROM listing").fetchone()
    connection.close()
    return _figures(count, count, started, cpu)


def _figures(records: int, usable: int, started: float, cpu: float) -> dict[str, Any]:
    """Counts, elapsed seconds and CPU seconds since ``started`` / ``cpu``."""
    return {
        "records": records,
        "usable": usable,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
    }


def _raw_rows(fmt: str, path: Path) -> Iterator[tuple[str, str]]:
    if fmt == "xml":
        from lxml import etree

        for _event, element in etree.iterparse(str(path), events=("end",), tag="immobilie"):
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
                yield row[0], json.dumps(row, ensure_ascii=False)


def _parse(fmt: str, path: Path) -> dict[str, Any]:
    from syncd.formats import load_mapping, parse_file

    started, cpu = time.perf_counter(), time.process_time()
    records = usable = 0
    for record in parse_file(path, load_mapping(MAPPINGS[fmt])).records:
        records += 1
        usable += record.listing is not None
    return _figures(records, usable, started, cpu)


def write_config(folder: Path) -> Path:
    """A config for a bench run: everything under ``folder``, both bundled mappings."""
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
    from syncd.config import load_config
    from syncd.store import migrate
    from syncd.store.engine import open_store
    from syncd.usecases.ingest import ingest_file

    config = load_config(write_config(folder))
    migrate.upgrade(config.paths.database)
    inbox_copy = config.paths.inbox / path.name
    inbox_copy.hardlink_to(path)  # ingest moves the file it takes; the original stays
    with open_store(config.paths.database) as store:
        started, cpu = time.perf_counter(), time.process_time()
        result = ingest_file(store, config, inbox_copy, datetime.now(UTC))
        figures = _figures(result.records, result.accepted, started, cpu)
    if result.outcome != "accepted":
        raise SystemExit(f"ingest did not accept the export: {result.outcome} {result.reason}")
    return figures


def run_child(mode: str, fmt: str, path: str, extra: str) -> None:
    if mode == "bare":
        figures = _bare(fmt, Path(path), Path(extra))
    elif mode == "parse":
        figures = _parse(fmt, Path(path))
    else:
        figures = _ingest(Path(path), Path(extra))
    child.report(figures)


# --- driver ---------------------------------------------------------------------------------


def _ratio(figures: dict[str, Any], baseline: dict[str, Any], key: str) -> float:
    return figures[key] / baseline[key] if baseline[key] else float("nan")


@dataclass
class Row:
    name: str
    figures: dict[str, Any] | None
    baseline: dict[str, Any]
    note: str = ""

    def text(self) -> str:
        if self.figures is None:
            blanks = " ".join(f"{'-':>{w}}" for w in (9, 9, 8, 9, 7, 8, 9))
            return f"{self.name:44} {blanks}  {self.note}"
        f = self.figures
        ratio, cpu_ratio = (
            _ratio(f, self.baseline, "seconds"),
            _ratio(f, self.baseline, "cpu_seconds"),
        )
        return (
            f"{self.name:44} {f['records']:>9,} {f['usable']:>9,} {f['seconds']:>8.2f} "
            f"{f['peak_rss_mb']:>9.1f} {ratio:>6.1f}x {f['cpu_seconds']:>8.2f} {cpu_ratio:>8.1f}x"
            f"  {self.note}"
        )


HEADER = (
    f"{'step':44} {'records':>9} {'usable':>9} {'time s':>8} {'peak MiB':>9} {'ratio':>7} "
    f"{'CPU s':>8} {'CPU ratio':>9}"
)


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


def _ingest_available() -> bool:
    try:
        from syncd.usecases.ingest import ingest_file  # noqa: F401
    except ImportError:
        return False
    return True


def measure(sizes: list[int], keep: Path | None = None) -> Outcome:
    out = Outcome()
    have_ingest = _ingest_available()
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as scratch:
        folder = keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            for fmt in ("xml", "csv"):
                export = folder / f"bench-{size}.{fmt}"
                started = time.perf_counter()
                exports.write_export(fmt, export, size)
                made = time.perf_counter() - started
                mib = export.stat().st_size / 2**20
                out.lines.append(
                    f"{size:,} listings, {fmt.upper()} ({MAPPINGS[fmt]}), {mib:.0f} MiB "
                    f"(generated in {made:.1f}s)"
                )
                out.lines.append(HEADER)
                work = Path(tempfile.mkdtemp(dir=folder))
                bare = child.run(HERE, "bare", fmt, str(export), str(work / "bare.db"))
                rows = [
                    Row(
                        f"bare {'lxml iterparse' if fmt == 'xml' else 'csv.reader'} "
                        "+ SQLite executemany",
                        bare,
                        bare,
                    ),
                    Row(
                        f"syncd parse ({MAPPINGS[fmt]} mapping)",
                        child.run(HERE, "parse", fmt, str(export), "-"),
                        bare,
                    ),
                ]
                if have_ingest:
                    ingest = child.run(HERE, "ingest", fmt, str(export), str(work))
                    rows.append(Row("syncd ingest_file (parse + store + archive)", ingest, bare))
                    ratio = _ratio(ingest, bare, "seconds")
                    cpu_ratio = _ratio(ingest, bare, "cpu_seconds")
                    verdict = "meets" if ratio <= GOAL_RATIO else "MISSES"
                    peak = ingest["peak_rss_mb"]
                    out.findings.append(
                        f"{size:,} {fmt.upper()}: ingest {ratio:.1f}x the bare baseline "
                        f"({verdict} the {GOAL_RATIO:.0f}x goal; CPU time {cpu_ratio:.1f}x), "
                        f"peak {peak:.0f} MiB"
                    )
                    if size >= 100_000:
                        verdict = "under" if ingest["peak_rss_mb"] < GOAL_RSS_MB else "OVER"
                        out.findings[-1] += f" ({verdict} the {GOAL_RSS_MB:.0f} MB budget)"
                else:
                    rows.append(
                        Row("syncd ingest_file", None, bare, "syncd.usecases.ingest not available")
                    )
                out.lines.extend(row.text() for row in rows)
                out.lines.append("")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 10,000 listings")
    parser.add_argument("--sizes", help="comma-separated listing counts")
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
    outcome = measure(sizes, args.keep)
    print("\n".join(outcome.lines))
    print("\n".join(outcome.findings))


if __name__ == "__main__":
    main()
