"""Notice export files in the inbox and hand each one over, once, when it is complete.

Decides only when a file is ready and in what order; it never parses, moves or archives a
file (ingest does) and never reads one except through ``sha256_of`` on ingest's behalf.
``InboxWatcher`` (here) looks at the inbox; ``settle`` holds the readiness rules, ``events``
the watchdog handler and ``taken`` the following of files already handed over.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from syncd.core.errors import ConfigError, SyncdError
from syncd.runtime.watch.events import InboxEvents
from syncd.runtime.watch.settle import (
    ALWAYS_IGNORED,
    DEFAULT_IGNORE,
    DONE_SUFFIX,
    OPEN_WRITER_TIMEOUT_S,
    Settle,
    is_ignored,
    sha256_of,
)
from syncd.runtime.watch.taken import TAKEN_WATCH_MAX, TAKEN_WATCH_S, TakenFiles

logger = logging.getLogger(__name__)

__all__ = [
    "ALWAYS_IGNORED",
    "DEFAULT_IGNORE",
    "DONE_SUFFIX",
    "OPEN_WRITER_TIMEOUT_S",
    "TAKEN_WATCH_MAX",
    "TAKEN_WATCH_S",
    "InboxWatcher",
    "Settle",
    "is_ignored",
    "sha256_of",
]

_MIN_CYCLE_S = 0.02


def _observer() -> BaseObserver:
    """watchdog's observer; on Linux one that reports a file renamed in from another folder
    as moved in (complete), where the default reports it as created (which a writer's new
    file is too)."""
    if sys.platform.startswith("linux"):
        from watchdog.observers.inotify import InotifyObserver

        return InotifyObserver(generate_full_events=True)
    return Observer()


_PAUSE_AFTER_FAILURE_S = 5.0


class InboxWatcher:
    """Hands each complete export file in ``inbox`` to ``on_ready``, one at a time.

    A file is complete when its writer says so: watchdog's close-after-write event, or the
    file renamed into the inbox (from a temporary name or another folder); it is taken at
    once then, unchanged since. Without such an event (a file already there, a network
    filesystem, missed events, a writer that keeps it open) it must stay unchanged for
    ``settle_s``. watchdog events make it look sooner; a rescan every
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
        self._stopping = threading.Event()
        self._taken = TakenFiles(
            on_ready,
            settle_s=settle_s,
            watch_s=taken_watch_s,
            clock=clock,
            stopping=self._stopping,
        )
        # Short enough to notice settling promptly, long enough not to spin.
        self._tick_s = min(max(settle_s / 4, 0.05), 0.5)
        self._lock = threading.Lock()
        self._poked: dict[Path, bool | None] = {}
        self._created: set[Path] = set()
        self._rescan_requested = True
        self._wake = threading.Event()
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None
        # Names in the inbox that are not regular files, already reported once.
        self._strangers: set[str] = set()

    def start(self) -> None:
        """Begin watching; files already in the inbox are found by the first rescan."""
        if not self.inbox.is_dir():
            raise ConfigError([f"inbox {self.inbox} is not a directory"])
        observer = _observer()
        try:
            observer.schedule(InboxEvents(self._poke), str(self.inbox), recursive=False)
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
                self._look_at(path)  # the content its writer called complete
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
        self._taken.look()
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
            self._taken.watch(went, *seen)
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
