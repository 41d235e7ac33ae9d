"""What a status write costs with one listing changed, at N listings: a full write beside
the status book's refresh and file write, in the same run.

Full write (the baseline): every listing's row built and both files encoded
(``status_rows`` + ``write_status_files``). The status book: ``refresh`` builds and stores
the marked listings only (here the one changed), ``write_files`` streams both files from
the stored entries. Timed in one thread, medians of ``--runs``; the book's first refresh
(every listing, as after the first ingest) is printed too. Not a timed test.

    .venv/bin/python bench/status_write.py [--listings 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import exports

from syncd.config import load_config
from syncd.status import StatusBook, status_rows, write_status_files
from syncd.store import migrate
from syncd.store.engine import open_store
from syncd.store.listings import record_failure
from syncd.store.status_entries import stored_listing_keys
from syncd.usecases.ingest import ingest_file

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CONFIG = """\
[paths]
inbox = "inbox"
state_dir = "state"

[[formats]]
pattern = "*.xml"
mapping = "openimmo"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "inbox").mkdir()
        (root / "config.toml").write_text(CONFIG, encoding="utf-8")
        config = load_config(root / "config.toml")
        migrate.upgrade(config.paths.database)
        store = open_store(config.paths.database)
        export = root / "inbox" / "export.xml"
        exports.write_xml(export, args.listings)
        ingest_file(store, config, export, NOW)
        with store.read() as session:
            keys = list(stored_listing_keys(session))
        full, refresh_s, write_s, rebuilt = [], [], [], []
        book = StatusBook()
        started = time.perf_counter()
        first = book.refresh(store, NOW)
        book.write_files(store, root / "book")
        first_s = time.perf_counter() - started
        for run in range(args.runs):
            # One listing changed since the last write (Hemnet refused it, say).
            key = keys[run % len(keys)]
            with store.transaction() as session:
                record_failure(session, key, f"refused ({run})", NOW, None)
            started = time.perf_counter()
            update = book.refresh(store, NOW)
            refreshed = time.perf_counter()
            book.write_files(store, root / "book")
            write_s.append(time.perf_counter() - refreshed)
            refresh_s.append(refreshed - started)
            rebuilt.append(update.rebuilt)
            started = time.perf_counter()
            write_status_files(status_rows(store, NOW), root / "full")
            full.append(time.perf_counter() - started)
            for name in ("status.json", "status.csv"):
                same = (root / "book" / name).read_bytes() == (root / "full" / name).read_bytes()
                assert same, f"{name} differs from a full write"
        store.close()
    book_s = [r + w for r, w in zip(refresh_s, write_s, strict=True)]
    print(f"status write at {args.listings:,} listings, one changed, median of {args.runs}:")
    print(f"  full write (every row built and encoded): {statistics.median(full):.3f} s")
    print(
        f"  status book: refresh (built {max(rebuilt)}) {statistics.median(refresh_s):.3f} s"
        f" + write_files {statistics.median(write_s):.3f} s = {statistics.median(book_s):.3f} s"
        f" ({statistics.median(book_s) / statistics.median(full):.2f}x the full write)"
    )
    print(f"  the book's first refresh + write ({first.rebuilt:,} built): {first_s:.2f} s")


if __name__ == "__main__":
    main()
