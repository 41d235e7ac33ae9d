"""What a status write costs the store worker at 10,000 listings, before and now.

Before: every listing's row built and both files encoded, on the store worker, after every
job. Now: the status book reads the store once, builds again only the listings that
changed, and writes the files from each listing's text kept in memory; on a side worker
(the store worker holds none of it). Timed here in one thread, one listing changed between
writes (desired side only, as after the first ingest); medians of ``--runs``. Not a timed test.

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
from syncd.store.listing_states import read_listing_states
from syncd.store.listings import record_failure
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
            keys = [state.listing_key for state in read_listing_states(session)]
        full, book_s, rebuilt = [], [], []
        book = StatusBook()
        status_rows(store, NOW)  # stores every stage once, as the daemon's first write does
        book.refresh(store, NOW)
        for run in range(args.runs):
            # One listing changed since the last write (Hemnet refused it, say).
            key = keys[run % len(keys)]
            with store.transaction() as session:
                record_failure(session, key, f"refused ({run})", NOW, None)
            started = time.perf_counter()
            write_status_files(status_rows(store, NOW), root / "full")
            full.append(time.perf_counter() - started)
            started = time.perf_counter()
            update = book.refresh(store, NOW)
            book.write_files(root / "book")
            book_s.append(time.perf_counter() - started)
            rebuilt.append(update.rebuilt)
        store.close()
    print(f"status write at {args.listings} listings, one changed, median of {args.runs}:")
    print(f"  before (every row built and encoded): {statistics.median(full):.3f} s")
    print(
        f"  status book (read all, build {max(rebuilt)}): {statistics.median(book_s):.3f} s,"
        " on the side worker: 0 s on the store worker"
    )


if __name__ == "__main__":
    main()
