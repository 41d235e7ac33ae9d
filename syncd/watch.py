"""Notice export files in the inbox and hand each one over, once, when it is complete.

Decides only when a file is ready and in what order; it never parses, moves or archives a
file (ingest does) and never reads one except through ``sha256_of`` on ingest's behalf.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from syncd.errors import ConfigError, SyncdError
from syncd.reprocess import MARKER_SUFFIX

logger = logging.getLogger(__name__)

DONE_SUFFIX = ".done"

# Never export files, whatever the configured ignore list says: the markers themselves,
# and what syncd itself may write beside the exports.
ALWAYS_IGNORED: tuple[str, ...] = (
    "*" + DONE_SUFFIX,
    "*.error.json",
    "status.json",
    "status.csv",
    "*" + MARKER_SUFFIX,  # 'syncd reprocess' marks a file sent back with it
)

# Names a CRM or an editor uses while a file is still being written.
DEFAULT_IGNORE: tuple[str, ...] = ("*.tmp", "*.part", "*.partial", "*~", ".*")

# Event kinds that can mean a file appeared, grew, was renamed in or went away; opens
# and read-only closes (our own reads among them) say nothing new.
_RELEVANT_EVENTS = frozenset({"created", "modified", "moved", "closed", "deleted"})

_MIN_CYCLE_S = 0.02

# ASSUMED: a writer that keeps a file open without writing for this long has died or its
# close event was missed; the file is then taken on stability alone (and read again if it
# changes after all).
OPEN_WRITER_TIMEOUT_S = 300.0
# How long, and for how many files, a taken file is watched where ingest put it, to read it
# again if its writer was not done after all.
TAKEN_WATCH_S = 900.0
TAKEN_WATCH_MAX = 256
_PAUSE_AFTER_FAILURE_S = 5.0


def is_ignored(name: str, ignore: Sequence[str] = DEFAULT_IGNORE) -> bool:
    """True for names that are not export files: ``ignore`` plus ``ALWAYS_IGNORED``.

    Case-insensitive: CRMs on Windows shares write ``.TMP`` as readily as ``.tmp``.
    """
    lowered = name.lower()
    return any(fnmatchcase(lowered, pattern.lower()) for pattern in (*ignore, *ALWAYS_IGNORED))


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks so memory stays flat."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@dataclass
class _Track:
    size: int
    mtime_ns: int
    stable_since: float  # when the watcher first saw this (size, mtime)
    marked: bool = False
    handed: bool = False
    failures: int = 0
    retry_at: float = 0.0


class Settle:
    """Which files are complete, from what the watcher observed; pure, no I/O, no clock.

    A file is ready when its (size, mtime) has not changed for ``settle_s`` as measured by
    the caller's clock, or, with ``done_marker``, as soon as its marker was observed. A
    file handed over is not ready again until its (size, mtime) changes; one whose
    hand-over failed is ready again only after a backoff that doubles per failure.
    """

    def __init__(
        self,
        settle_s: float,
        *,
        done_marker: bool = False,
        failure_backoff_s: float = 5.0,
        max_failure_backoff_s: float = 300.0,
        open_writer_timeout_s: float = OPEN_WRITER_TIMEOUT_S,
    ) -> None:
        self.settle_s = settle_s
        self.done_marker = done_marker
        self.failure_backoff_s = failure_backoff_s
        self.max_failure_backoff_s = max_failure_backoff_s
        self.open_writer_timeout_s = max(open_writer_timeout_s, settle_s)
        self._tracks: dict[Path, _Track] = {}
        # Files written to since their last close-after-write, as the events told.
        self._writing: set[Path] = set()

    def observe(
        self, path: Path, size: int, mtime_ns: int, now: float, *, marked: bool = False
    ) -> None:
        """Record what a stat of ``path`` showed at ``now``."""
        track = self._tracks.get(path)
        if track is None or (track.size, track.mtime_ns) != (size, mtime_ns):
            # New or changed: a fresh file as far as readiness goes, failures forgotten.
            self._tracks[path] = _Track(size, mtime_ns, stable_since=now, marked=marked)
        else:
            track.marked = marked

    def writing(self, path: Path) -> None:
        """A writer wrote to ``path`` (created or modified): not complete before it closes."""
        self._writing.add(path)

    def closed(self, path: Path) -> None:
        """The writer closed ``path`` after writing (or renamed it in, complete)."""
        self._writing.discard(path)

    def forget(self, path: Path) -> None:
        """The file is gone (taken away by ingest, or deleted)."""
        self._tracks.pop(path, None)
        self._writing.discard(path)

    def retain(self, present: Collection[Path]) -> None:
        """Forget every file not in ``present`` (the result of a full listing)."""
        for path in [p for p in self._tracks if p not in present]:
            del self._tracks[path]
        self._writing.intersection_update(present)

    def seen(self, path: Path) -> tuple[int, int] | None:
        """The (size, mtime_ns) last observed for ``path``."""
        track = self._tracks.get(path)
        return None if track is None else (track.size, track.mtime_ns)

    def pending(self) -> list[Path]:
        """Files not yet handed over: the ones worth a fresh stat."""
        return [p for p, t in self._tracks.items() if not t.handed]

    def ready(self, now: float) -> list[Path]:
        """Files to hand over now, in arrival order (mtime, then name)."""
        due = []
        for path, track in self._tracks.items():
            if track.handed or track.retry_at > now:
                continue
            stable_s = now - track.stable_since
            if self.done_marker:
                complete = track.marked
            elif path in self._writing:
                # Still open for writing: a writer pausing longer than settle_s is not done.
                # Past the timeout it is taken anyway (a close event can be missed, and an
                # attribute change reads as a write); a later change is read again.
                complete = stable_s >= self.open_writer_timeout_s
            else:
                complete = stable_s >= self.settle_s
            if complete:
                due.append((track.mtime_ns, path.name, path))
        return [path for _, _, path in sorted(due)]

    def handed(self, path: Path) -> None:
        """``path`` was handed over and the receiver returned normally."""
        track = self._tracks.get(path)
        if track is not None:
            track.handed = True
            track.failures = 0

    def failed(self, path: Path, now: float) -> float:
        """The receiver raised for ``path``; returns the seconds until it is tried again."""
        track = self._tracks.get(path)
        if track is None:
            return 0.0
        track.failures += 1
        delay = min(
            self.failure_backoff_s * 2.0 ** (track.failures - 1), self.max_failure_backoff_s
        )
        track.retry_at = now + delay
        return delay


class _InboxEvents(FileSystemEventHandler):
    """Turns watchdog events into "look at this path again" requests, each saying whether
    a writer still has the file open (True), closed it (False) or the event says neither."""

    def __init__(self, poke: Callable[..., None]) -> None:
        self._poke = poke

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if event.is_directory or kind not in _RELEVANT_EVENTS:
            return
        # "closed" is the close after a write (inotify IN_CLOSE_WRITE); read-only closes,
        # ours among them, are "closed_no_write" and ignored above. "created" says nothing:
        # watchdog reports a file renamed in from another folder (complete) as created too;
        # a writer's first write is "modified".
        writing = {"modified": True, "closed": False}.get(kind)
        self._poke(Path(os.fsdecode(event.src_path)), writing, created=kind == "created")
        if event.dest_path:
            self._poke(Path(os.fsdecode(event.dest_path)), False)  # renamed in: complete


@dataclass
class _Taken:
    """A file handed over, where ``on_ready`` said it went, as it was when taken."""

    size: int
    mtime_ns: int
    until: float  # watched for changes until then


class InboxWatcher:
    """Hands each complete export file in ``inbox`` to ``on_ready``, one at a time.

    A file is complete when its writer closed it (watchdog's close-after-write event) and
    it stayed unchanged for ``settle_s``; without events (a file already there, missed
    events) stability alone decides. watchdog events make it look sooner; a rescan every
    ``rescan_interval_s`` (and one at start) finds what events missed. ``on_ready`` runs on
    the watcher's single worker thread, is expected to move the file out of the inbox and
    returns where it went: a file that changes there (its writer was not done after all)
    is handed over again from there, never lost.
    """

    def __init__(
        self,
        inbox: Path,
        on_ready: Callable[[Path], Path | None],
        *,
        settle_s: float,
        rescan_interval_s: float,
        done_marker: bool,
        ignore: Sequence[str] = DEFAULT_IGNORE,
        clock: Callable[[], float] = time.monotonic,
        failure_backoff_s: float = 5.0,
        max_failure_backoff_s: float = 300.0,
        open_writer_timeout_s: float = OPEN_WRITER_TIMEOUT_S,
        taken_watch_s: float = TAKEN_WATCH_S,
    ) -> None:
        self.inbox = Path(os.path.abspath(inbox))
        self._on_ready = on_ready
        self._rescan_interval_s = rescan_interval_s
        self._done_marker = done_marker
        self._ignore = tuple(ignore)
        self._clock = clock
        # Settle is touched by the worker thread only; other threads just poke.
        self._settle = Settle(
            settle_s,
            done_marker=done_marker,
            failure_backoff_s=failure_backoff_s,
            max_failure_backoff_s=max_failure_backoff_s,
            open_writer_timeout_s=open_writer_timeout_s,
        )
        # Taken files, watched where they went; those that changed settle in their own
        # Settle (no events there: stability alone).
        self._taken_watch_s = taken_watch_s
        self._taken: dict[Path, _Taken] = {}
        self._changed = Settle(settle_s)
        # Short enough to notice settling promptly, long enough not to spin.
        self._tick_s = min(max(settle_s / 4, 0.05), 0.5)
        self._lock = threading.Lock()
        self._poked: dict[Path, bool | None] = {}
        self._created: set[Path] = set()
        self._rescan_requested = True
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None
        # Names in the inbox that are not regular files, already reported once.
        self._strangers: set[str] = set()

    def start(self) -> None:
        """Begin watching; files already in the inbox are found by the first rescan."""
        if not self.inbox.is_dir():
            raise ConfigError([f"inbox {self.inbox} is not a directory"])
        observer = Observer()
        try:
            observer.schedule(_InboxEvents(self._poke), str(self.inbox), recursive=False)
            observer.start()
        except OSError as exc:
            # e.g. the inotify watch limit: slower, but rescans alone still find every file.
            logger.warning(
                "cannot watch %s for events (%s); relying on rescans every %.0f s",
                self.inbox,
                exc,
                self._rescan_interval_s,
            )
        else:
            self._observer = observer
        self._worker = threading.Thread(target=self._run, name="syncd-watch", daemon=True)
        self._worker.start()
        logger.info(
            "watching %s (%s, rescan every %.0f s)",
            self.inbox,
            "done markers" if self._done_marker else f"settle {self._settle.settle_s:g} s",
            self._rescan_interval_s,
        )

    def stop(self) -> None:
        """Stop watching; waits for a hand-over in progress to return."""
        self._stopping.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None
        if self._worker is not None:
            self._worker.join()
            self._worker = None

    @property
    def alive(self) -> bool:
        """True while the worker runs; the daemon checks it before feeding the watchdog."""
        return self._worker is not None and self._worker.is_alive()

    def rescan(self) -> None:
        """Ask for a full listing of the inbox now; returns at once (thread-safe)."""
        with self._lock:
            self._rescan_requested = True
        self._wake.set()

    def _poke(self, path: Path, writing: bool | None = None, *, created: bool = False) -> None:
        if path.parent != self.inbox:
            return  # moved out (e.g. to archive/) or inside a subfolder
        if self._done_marker and path.name.endswith(DONE_SUFFIX):
            # A marker appearing is news about the file it marks.
            path = path.with_name(path.name[: -len(DONE_SUFFIX)])
            writing = None
        with self._lock:
            # The newest event that says open or closed wins; the others keep it.
            if writing is not None or path not in self._poked:
                self._poked[path] = writing
            if created:
                self._created.add(path)
        self._wake.set()

    def _run(self) -> None:
        next_rescan = self._clock()
        while not self._stopping.is_set():
            # Cleared before looking, so a poke that arrives meanwhile wakes the next wait.
            self._wake.clear()
            try:
                next_rescan = self._cycle(next_rescan)
            except Exception:
                # A dead worker would silently stop all ingestion; log, pause, go on.
                logger.exception("inbox watcher failed a cycle; carrying on")
                self._stopping.wait(_PAUSE_AFTER_FAILURE_S)
            self._wake.wait(self._tick_s)
            # Coalesce bursts: copying a large file raises thousands of modify events.
            self._stopping.wait(_MIN_CYCLE_S)

    def _cycle(self, next_rescan: float) -> float:
        with self._lock:
            poked, self._poked = self._poked, {}
            created, self._created = self._created, set()
            rescan, self._rescan_requested = self._rescan_requested, False
        for path, writing in poked.items():
            if writing or (writing is None and path in created and self._empty(path)):
                # Modified, or created and still empty: a writer that opened it and has not
                # written yet (a file renamed in from elsewhere is reported as created too,
                # but it has its content already).
                self._settle.writing(path)
            elif writing is not None:
                self._settle.closed(path)
        if rescan or self._clock() >= next_rescan:
            self._scan_all()
            next_rescan = self._clock() + self._rescan_interval_s
        for path in set(poked).union(self._settle.pending()):
            self._look_at(path)
        for path in self._settle.ready(self._clock()):
            if self._stopping.is_set():
                break
            self._hand(path)
        self._look_at_taken()
        return next_rescan

    def _scan_all(self) -> None:
        try:
            entries = list(os.scandir(self.inbox))
        except OSError as exc:
            logger.warning("cannot list inbox %s: %s", self.inbox, exc)
            return
        names = {entry.name for entry in entries}
        present = set()
        strangers = set()
        for entry in entries:
            if is_ignored(entry.name, self._ignore):
                continue
            try:
                # Symlinks are not followed: the inbox must not reach files elsewhere.
                stat = entry.stat(follow_symlinks=False)
                if not S_ISREG(stat.st_mode):
                    strangers.add(entry.name)
                    self._report_stranger(entry.name, stat.st_mode)
                    continue
            except OSError:
                continue  # vanished between listing and stat
            path = self.inbox / entry.name
            present.add(path)
            self._settle.observe(
                path,
                stat.st_size,
                stat.st_mtime_ns,
                self._clock(),
                marked=entry.name + DONE_SUFFIX in names,
            )
        self._settle.retain(present)
        # Forgotten once gone, so one that comes back is reported again.
        self._strangers &= strangers

    def _report_stranger(self, name: str, mode: int) -> None:
        if name in self._strangers:
            return
        self._strangers.add(name)
        kind = "a symlink" if S_ISLNK(mode) else "a folder" if S_ISDIR(mode) else "not a file"
        logger.warning(
            "inbox: %s is %s, not an export file; left where it is and not taken", name, kind
        )

    def _look_at(self, path: Path) -> None:
        if is_ignored(path.name, self._ignore):
            return
        try:
            stat = path.lstat()
        except OSError:
            self._settle.forget(path)
            return
        if not S_ISREG(stat.st_mode):  # lstat: a symlink is not a regular file here
            self._settle.forget(path)
            self._report_stranger(path.name, stat.st_mode)
            return
        try:
            marked = self._done_marker and self._marker(path).exists()
        except OSError:
            marked = False  # e.g. a name too long to take the marker's suffix: ingest says so
        self._settle.observe(path, stat.st_size, stat.st_mtime_ns, self._clock(), marked=marked)

    @staticmethod
    def _empty(path: Path) -> bool:
        try:
            return path.lstat().st_size == 0
        except OSError:
            return False

    def _marker(self, path: Path) -> Path:
        return path.with_name(path.name + DONE_SUFFIX)

    def _hand(self, path: Path) -> None:
        logger.debug("export file %s is complete; handing it over", path.name)
        seen = self._settle.seen(path)
        try:
            went = self._on_ready(path)
        except SyncdError as error:
            # Expected (a full disk): the receiver said it once with its remedy already.
            delay = self._settle.failed(path, self._clock())
            logger.info(
                "export file %s was not taken (%s); trying again in %.1f s", path, error, delay
            )
            return
        except Exception:
            delay = self._settle.failed(path, self._clock())
            logger.exception("export file %s was not taken; trying again in %.1f s", path, delay)
            return
        if went is not None and seen is not None and went != path:
            self._watch_taken(went, *seen)
        if self._done_marker:
            try:
                self._marker(path).unlink(missing_ok=True)
            except OSError as exc:
                logger.warning("cannot remove done marker for %s: %s", path.name, exc)
        self._settle.handed(path)
        self._look_at(path)
        if path in self._settle.pending():
            return  # changed while it was being taken: a new version, taken in turn
        if path.exists():
            logger.warning(
                "export file %s is still in the inbox after it was taken; "
                "it is taken again only when it changes",
                path,
            )

    def _watch_taken(self, went: Path, size: int, mtime_ns: int) -> None:
        self._taken[went] = _Taken(size, mtime_ns, until=self._clock() + self._taken_watch_s)
        while len(self._taken) > TAKEN_WATCH_MAX:
            oldest = next(iter(self._taken))
            del self._taken[oldest]
            self._changed.forget(oldest)

    def _look_at_taken(self) -> None:
        """Read again a taken file that changed where it went (its writer was not done)."""
        now = self._clock()
        for path, taken in list(self._taken.items()):
            try:
                stat = path.lstat()
            except OSError:
                stat = None
            if stat is None or not S_ISREG(stat.st_mode) or now > taken.until:
                del self._taken[path]
                self._changed.forget(path)
                continue
            if (stat.st_size, stat.st_mtime_ns) != (taken.size, taken.mtime_ns):
                self._changed.observe(path, stat.st_size, stat.st_mtime_ns, now)
        for path in self._changed.ready(now):
            if self._stopping.is_set():
                break
            self._hand_changed(path)

    def _hand_changed(self, path: Path) -> None:
        seen = self._changed.seen(path)
        logger.warning(
            "export file %s changed after it was taken (its writer was not done); reading it again",
            path,
        )
        try:
            went = self._on_ready(path)
        except SyncdError as error:
            delay = self._changed.failed(path, self._clock())
            logger.info("changed file %s was not taken (%s); again in %.1f s", path, error, delay)
            return
        except Exception:
            delay = self._changed.failed(path, self._clock())
            logger.exception("changed file %s was not taken; trying again in %.1f s", path, delay)
            return
        del self._taken[path]
        self._changed.forget(path)
        if went is not None and seen is not None and went != path:
            self._watch_taken(went, *seen)
