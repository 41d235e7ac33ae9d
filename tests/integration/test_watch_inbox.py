"""The inbox watcher on a real folder, with real watchdog events and real rescans."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import syncd.runtime.watch
from syncd.core.errors import ConfigError
from syncd.runtime.watch import InboxWatcher, sha256_of


class Ingest:
    """Stands in for ingest: records what it was handed and moves it to archive/."""

    def __init__(self, archive: Path, *, move: bool = True) -> None:
        self.archive = archive
        self.move = move
        self.taken: list[tuple[str, bytes, float]] = []
        self.lock = threading.Lock()
        self.active = 0
        self.overlapped = False
        self.fail_next = 0

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.active += 1
            self.overlapped |= self.active > 1
        try:
            data = path.read_bytes()
            with self.lock:
                self.taken.append((path.name, data, time.monotonic()))
                if self.fail_next:
                    self.fail_next -= 1
                    raise RuntimeError("database is locked")
            time.sleep(0.05)  # long enough for a second worker to overlap, if there were one
            if self.move:
                path.rename(self.archive / path.name)
        finally:
            with self.lock:
                self.active -= 1

    def names(self) -> list[str]:
        with self.lock:
            return [name for name, _, _ in self.taken]


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    archive.mkdir()
    return inbox, archive


@pytest.fixture
def run_watcher() -> Iterator[Callable[..., InboxWatcher]]:
    started: list[InboxWatcher] = []

    def start(inbox: Path, ingest: Ingest, **kwargs: Any) -> InboxWatcher:
        options: dict[str, Any] = {"settle_s": 0.3, "rescan_interval_s": 30.0, "done_marker": False}
        options.update(kwargs)
        watcher = InboxWatcher(inbox, ingest, **options)
        watcher.start()
        started.append(watcher)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()


def test_slowly_written_file_is_taken_only_when_complete(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = Ingest(archive)
    run_watcher(inbox, ingest, settle_s=1.0)
    target = inbox / "vitec.xml"
    chunks = [f"<chunk n='{i}'/>\n".encode() for i in range(7)]
    with target.open("wb") as stream:
        for chunk in chunks:  # appended every 0.5 s for about 3 s
            stream.write(chunk)
            stream.flush()
            time.sleep(0.5)
    finished_at = time.monotonic()
    wait_for(lambda: ingest.names() != [])
    time.sleep(0.5)
    assert len(ingest.taken) == 1
    name, data, taken_at = ingest.taken[0]
    assert name == "vitec.xml"
    assert data == b"".join(chunks)
    assert taken_at >= finished_at
    assert (archive / "vitec.xml").exists()


def test_temporary_names_and_subfolders_are_ignored_and_renamed_in_files_taken(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = Ingest(archive)
    run_watcher(inbox, ingest)
    for name in ("a.xml.tmp", "b.csv.part", "c.xml~", ".d.xml", "e.xml.done", "status.json"):
        (inbox / name).write_text("ignored")
    (inbox / "sub").mkdir()
    (inbox / "sub" / "f.xml").write_text("ignored")
    (inbox / "g.xml.part").write_text("<all/>")
    (inbox / "g.xml.part").rename(inbox / "g.xml")
    wait_for(lambda: ingest.names() == ["g.xml"])
    time.sleep(1.0)  # several settle periods: nothing else may turn up
    assert ingest.names() == ["g.xml"]
    assert ingest.taken[0][1] == b"<all/>"
    assert (inbox / "a.xml.tmp").exists()


def test_done_marker_mode_waits_for_marker_then_removes_it(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = Ingest(archive)
    # The ignore list as config.example.toml gives it: markers are never exports anyway.
    ignore = ("*.tmp", "*.part", ".*")
    run_watcher(inbox, ingest, settle_s=0.1, done_marker=True, ignore=ignore)
    (inbox / "export.csv").write_text("key;price\nA1;100\n")
    time.sleep(1.0)  # long settled, yet not marked done
    assert ingest.names() == []
    (inbox / "export.csv.done").touch()
    wait_for(lambda: ingest.names() == ["export.csv"])
    wait_for(lambda: not (inbox / "export.csv.done").exists())
    assert (archive / "export.csv").exists()
    time.sleep(0.3)
    assert ingest.names() == ["export.csv"]


def test_files_present_before_start_are_found_in_arrival_order_one_at_a_time(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = Ingest(archive)
    for name, mtime in (("c.xml", 3000), ("a.xml", 2000), ("b.xml", 1000), ("d.xml", 2000)):
        (inbox / name).write_text(name)
        os.utime(inbox / name, (mtime, mtime))
    run_watcher(inbox, ingest)
    wait_for(lambda: len(ingest.names()) == 4)
    assert ingest.names() == ["b.xml", "a.xml", "d.xml", "c.xml"]
    assert not ingest.overlapped


class _NoEventsObserver:
    """An observer that cannot start, as when the inotify watch limit is reached."""

    def schedule(self, *args: object, **kwargs: object) -> None:
        pass

    def start(self) -> None:
        raise OSError(28, "inotify watch limit reached")


def test_periodic_rescan_finds_files_when_events_are_missed(
    folders: tuple[Path, Path],
    run_watcher: Callable[..., InboxWatcher],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, archive = folders
    monkeypatch.setattr(syncd.runtime.watch, "_observer", _NoEventsObserver)
    ingest = Ingest(archive)
    run_watcher(inbox, ingest, settle_s=0.2, rescan_interval_s=0.5)
    assert "relying on rescans" in caplog.text
    time.sleep(0.3)
    (inbox / "late.xml").write_text("<late/>")
    wait_for(lambda: ingest.names() == ["late.xml"], timeout_s=5.0)


def test_explicit_rescan_is_honoured(
    folders: tuple[Path, Path],
    run_watcher: Callable[..., InboxWatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, archive = folders
    monkeypatch.setattr(syncd.runtime.watch, "_observer", _NoEventsObserver)
    ingest = Ingest(archive)
    watcher = run_watcher(inbox, ingest, settle_s=0.1, rescan_interval_s=3600.0)
    time.sleep(0.3)
    (inbox / "now.xml").write_text("<now/>")
    time.sleep(0.5)
    assert ingest.names() == []  # no events, no periodic rescan due yet
    watcher.rescan()
    wait_for(lambda: ingest.names() == ["now.xml"], timeout_s=5.0)
    assert watcher.alive
    watcher.stop()
    assert not watcher.alive


def test_file_left_in_inbox_is_not_taken_again_until_it_changes(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = Ingest(archive, move=False)
    watcher = run_watcher(inbox, ingest, settle_s=0.1, rescan_interval_s=0.2)
    target = inbox / "stuck.xml"
    target.write_text("v1")
    wait_for(lambda: len(ingest.names()) == 1)
    time.sleep(1.0)  # several rescans later
    watcher.rescan()
    time.sleep(0.3)
    assert ingest.names() == ["stuck.xml"]
    target.write_text("v2, longer")
    wait_for(lambda: len(ingest.names()) == 2)
    assert ingest.taken[1][1] == b"v2, longer"


def test_failing_hand_over_backs_off_instead_of_looping(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = Ingest(archive)
    ingest.fail_next = 2
    run_watcher(inbox, ingest, settle_s=0.1, failure_backoff_s=0.4, max_failure_backoff_s=10.0)
    (inbox / "retry.xml").write_text("<r/>")
    wait_for(lambda: len(ingest.names()) == 3, timeout_s=5.0)
    times = [at for _, _, at in ingest.taken]
    assert times[1] - times[0] >= 0.4
    assert times[2] - times[1] >= 0.8  # doubled
    wait_for(lambda: (archive / "retry.xml").exists())


def test_missing_inbox_is_a_config_error(tmp_path: Path) -> None:
    watcher = InboxWatcher(
        tmp_path / "nope", lambda p: None, settle_s=1, rescan_interval_s=1, done_marker=False
    )
    with pytest.raises(ConfigError, match="not a directory"):
        watcher.start()


def test_sha256_of_streams_large_files(tmp_path: Path) -> None:
    target = tmp_path / "big.xml"
    data = os.urandom(3 * 1024 * 1024 + 17)
    target.write_bytes(data)
    assert sha256_of(target) == hashlib.sha256(data).hexdigest()


class ArchivingIngest(Ingest):
    """Ingest that says where the file went (archive/NAME, NAME-2, ...), as the daemon's."""

    def __call__(self, path: Path) -> Path | None:  # type: ignore[override]
        number = 1
        target = self.archive / path.name
        while target.exists():
            number += 1
            target = self.archive / f"{path.stem}-{number}{path.suffix}"
        data, taken_at = path.read_bytes(), time.monotonic()
        path.rename(target)
        # Recorded once it is where it went: a test that changes it there must not race
        # the rename (which would put the first version back over the change).
        with self.lock:
            self.taken.append((path.name, data, taken_at))
        return target


def test_an_open_file_pausing_longer_than_settle_s_is_taken_only_after_close(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = ArchivingIngest(archive)
    run_watcher(inbox, ingest, settle_s=0.2)
    chunks = [f"row {i}\n".encode() * 50 for i in range(4)]
    with (inbox / "slow.csv").open("wb") as stream:
        for chunk in chunks:
            stream.write(chunk)
            stream.flush()
            time.sleep(0.6)  # three times settle_s, the file still open
        closed_at = time.monotonic()
    wait_for(lambda: ingest.names() != [])
    [(name, data, taken_at)] = ingest.taken
    assert (name, data) == ("slow.csv", b"".join(chunks))
    assert taken_at >= closed_at


def test_a_taken_file_changed_where_it_went_is_handed_over_again(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = ArchivingIngest(archive)
    run_watcher(inbox, ingest, settle_s=0.2)
    (inbox / "crm.csv").write_bytes(b"first\n")
    wait_for(lambda: ingest.names() == ["crm.csv"])
    (archive / "crm.csv").write_bytes(b"first\nsecond\n")  # rewritten in place after archive
    wait_for(lambda: len(ingest.names()) == 2)
    assert ingest.taken[1][1] == b"first\nsecond\n"
    assert (archive / "crm-2.csv").read_bytes() == b"first\nsecond\n"
    time.sleep(0.6)  # unchanged since: not handed over a third time
    assert len(ingest.names()) == 2


def test_a_file_moved_in_from_another_folder_is_complete_at_once(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    # watchdog reports it as "created" with no close: that must not read as a writer still
    # at work (which would keep it waiting for the open-writer timeout).
    inbox, archive = folders
    ingest = ArchivingIngest(archive)
    run_watcher(inbox, ingest, settle_s=0.2, open_writer_timeout_s=60.0)
    outside = inbox.parent / "staging.csv"
    outside.write_bytes(b"complete\n")
    outside.rename(inbox / "moved.csv")
    wait_for(lambda: ingest.names() == ["moved.csv"], timeout_s=10)


def test_a_writer_that_opened_the_file_and_has_not_written_yet_is_waited_for(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = ArchivingIngest(archive)
    run_watcher(inbox, ingest, settle_s=0.2, open_writer_timeout_s=60.0)
    with (inbox / "late.csv").open("wb") as stream:
        time.sleep(0.8)  # open and empty for four times settle_s
        stream.write(b"the whole export\n")
    wait_for(lambda: ingest.names() != [])
    assert ingest.taken == [("late.csv", b"the whole export\n", ingest.taken[0][2])]


# The quiet time is far longer than any deadline below: a file taken within the deadline
# was taken on its writer's word, not on the fallback.
LONG_SETTLE_S = 60.0
PROMPT_S = 5.0


def test_a_file_closed_after_writing_is_taken_without_the_quiet_time(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = ArchivingIngest(archive)
    run_watcher(inbox, ingest, settle_s=LONG_SETTLE_S, open_writer_timeout_s=LONG_SETTLE_S)
    (inbox / "crm.csv").write_bytes(b"the whole export\n")
    wait_for(lambda: ingest.names() == ["crm.csv"], timeout_s=PROMPT_S)
    assert ingest.taken[0][1] == b"the whole export\n"


@pytest.mark.parametrize("source", ["temporary name", "another folder"])
def test_a_file_renamed_into_the_inbox_is_taken_without_the_quiet_time(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher], source: str
) -> None:
    inbox, archive = folders
    ingest = ArchivingIngest(archive)
    run_watcher(inbox, ingest, settle_s=LONG_SETTLE_S, open_writer_timeout_s=LONG_SETTLE_S)
    staging = inbox / "crm.csv.part" if source == "temporary name" else inbox.parent / "out.csv"
    staging.write_bytes(b"renamed in, complete\n")
    staging.rename(inbox / "crm.csv")
    wait_for(lambda: ingest.names() == ["crm.csv"], timeout_s=PROMPT_S)
    assert ingest.taken[0][1] == b"renamed in, complete\n"


def test_a_slow_writer_keeping_the_file_open_is_not_taken_before_it_closes(
    folders: tuple[Path, Path], run_watcher: Callable[..., InboxWatcher]
) -> None:
    inbox, archive = folders
    ingest = ArchivingIngest(archive)
    # A short quiet time: only the open file keeps it from being taken between writes.
    run_watcher(inbox, ingest, settle_s=0.1, open_writer_timeout_s=LONG_SETTLE_S)
    chunks = [f"row {i}\n".encode() * 20 for i in range(4)]
    with (inbox / "slow.csv").open("wb") as stream:
        for chunk in chunks:
            stream.write(chunk)
            stream.flush()
            time.sleep(0.4)
            assert ingest.names() == []
        closed_at = time.monotonic()
    wait_for(lambda: ingest.names() != [], timeout_s=PROMPT_S)
    [(name, data, taken_at)] = ingest.taken
    assert (name, data) == ("slow.csv", b"".join(chunks))
    assert taken_at >= closed_at
