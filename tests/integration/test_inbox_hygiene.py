"""What the inbox must survive: names too long for a receipt, names that would forge log
lines, control characters in listing keys, symlinks and folders, and its own archive."""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from syncd.runtime.logline import OneLineFormatter, one_line
from syncd.runtime.watch import InboxWatcher
from syncd.store import listings
from syncd.usecases.ingest import MAX_NAME_BYTES, ingest_file
from tests.fakes.ingest_world import World, csv_row, csv_text, listing_state, open_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as made:
        yield made


@pytest.mark.parametrize("stem", ["x" * 251, "å" * 125 + "x", "x" * 197])
def test_a_name_too_long_for_its_receipt_is_rejected_not_retried(
    world: World, now: datetime, stem: str
) -> None:
    name = stem + ".csv"
    assert len(os.fsencode(name)) > MAX_NAME_BYTES
    state = listing_state(world.store)
    path = world.drop(name, csv_text([csv_row("L1")]))

    result = ingest_file(world.store, world.config, path, now)

    assert result.outcome == "rejected"
    assert f"the file name is {len(os.fsencode(name))} bytes long" in (result.reason or "")
    assert not path.exists()
    assert result.moved_to is not None and result.moved_to.is_file()
    kept = result.moved_to.name
    assert len(os.fsencode(kept)) <= MAX_NAME_BYTES and kept.endswith(".csv")
    assert result.moved_to.with_name(kept + ".error.json").is_file()
    assert listing_state(world.store) == state
    # The same long name again does not collide with the first one's shortened copy.
    again = ingest_file(world.store, world.config, world.drop(name, "other bytes\n"), now)
    assert again.moved_to is not None and again.moved_to.name != kept


def test_a_name_at_the_limit_is_taken(world: World, now: datetime) -> None:
    name = "x" * (MAX_NAME_BYTES - 4) + ".csv"
    result = ingest_file(world.store, world.config, world.drop(name, csv_text([])), now)
    assert result.outcome != "rejected", result.reason
    assert result.moved_to is not None and result.moved_to.name == name


@pytest.mark.parametrize("key", ["A\x001", "A\t1", "A\x1b[31m1", "A\x851"])
def test_a_control_character_in_a_listing_key_skips_that_record(
    world: World, now: datetime, key: str
) -> None:
    text = csv_text([csv_row(key), csv_row("OK1")])
    result = ingest_file(world.store, world.config, world.drop("keys.csv", text), now)
    assert (result.accepted, result.skipped) == (1, 1)
    with world.store.read() as session:
        assert listings.get_listing(session, key) is None
        assert listings.get_listing(session, "OK1") is not None
    assert result.moved_to is not None
    receipt = result.moved_to.with_name(result.moved_to.name + ".result.json").read_text()
    assert "contains a control character" in receipt


def test_a_log_line_stays_one_line_whatever_the_name() -> None:
    forged = "x.csv\nERROR syncd.apply: op=delete listing_key=A1 status=200"
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.inbox_hygiene")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("ingest %s: rejected", forged)
    finally:
        logger.removeHandler(handler)
    assert out.getvalue().count("\n") == 1
    assert "x.csv\\x0aERROR syncd.apply" in out.getvalue()
    assert one_line("Storgatan 1, Göteborg\t\u2028") == "Storgatan 1, Göteborg\\x09\\u2028"
    assert one_line(os.fsdecode(b"bad-\xff.csv")) == "bad-\\xff.csv"


def test_symlinks_and_folders_in_the_inbox_get_one_log_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "elsewhere.csv").write_text("secret\n", encoding="utf-8")
    (inbox / "link.csv").symlink_to(tmp_path / "elsewhere.csv")
    (inbox / "folder.csv").mkdir()
    scans = _count_scans(monkeypatch, inbox)
    taken: list[Path] = []
    watcher = InboxWatcher(
        inbox, taken.append, settle_s=0.05, rescan_interval_s=0.02, done_marker=False
    )
    with caplog.at_level(logging.WARNING, logger="syncd.runtime.watch"):
        watcher.start()
        try:
            _wait(lambda: scans["n"] >= 5)
            (inbox / "link.csv").unlink()
            seen = scans["n"]
            _wait(lambda: scans["n"] >= seen + 2)
            (inbox / "link.csv").symlink_to(tmp_path / "elsewhere.csv")
            seen = scans["n"]
            _wait(lambda: scans["n"] >= seen + 3)
        finally:
            watcher.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "syncd.runtime.watch"]
    link = "inbox: link.csv is a symlink, not an export file; left where it is and not taken"
    folder = "inbox: folder.csv is a folder, not an export file; left where it is and not taken"
    assert lines.count(link) == 2  # once, and once more after it was gone and came back
    assert lines.count(folder) == 1
    assert taken == []


def _count_scans(monkeypatch: pytest.MonkeyPatch, inbox: Path) -> dict[str, int]:
    scans = {"n": 0}
    real = os.scandir

    def counting(path: Any) -> Any:
        if Path(path) == inbox:
            scans["n"] += 1
        return real(path)

    # On os itself: every scan of the inbox counts, whichever module makes it.
    monkeypatch.setattr(os, "scandir", counting)
    return scans


def _wait(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_a_log_line_names_its_module_as_operators_have_always_read_it() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("syncd.usecases.apply", "syncd.runtime.daemon", "syncd.core.plan", "syncd.store"):
        record = logging.LogRecord(name, logging.INFO, __file__, 1, "went", None, None)
        handler.handle(record)
    assert out.getvalue().splitlines() == [
        "INFO syncd.apply: went",
        "INFO syncd.daemon: went",
        "INFO syncd.plan: went",
        "INFO syncd.store: went",
    ]
