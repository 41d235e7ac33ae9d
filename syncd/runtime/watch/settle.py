"""When an export file in the inbox is complete: the names that are never export files, and
``Settle``, the readiness rules over what the watcher observed.

Pure rules (no I/O but ``sha256_of``, no clock, no threads); watching is ``InboxWatcher``'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from syncd.usecases.reprocess import MARKER_SUFFIX

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
# ASSUMED: a writer that keeps a file open without writing for this long has died or its
# close event was missed; the file is then taken on stability alone (and read again if it
# changes after all).
OPEN_WRITER_TIMEOUT_S = 300.0


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

    A file is ready as soon as its writer said it is done (closed it after writing, or
    renamed it in) and it has not changed since; otherwise when its (size, mtime) has not
    changed for ``settle_s`` as measured by the caller's clock (writers whose close is not
    seen: network filesystems, missed events); with ``done_marker``, as soon as its marker
    was observed. A
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
        # (size, mtime_ns) of each file when its writer said it was done: complete at once
        # while it stays so (a change after the close waits for the quiet time again).
        self._closed: dict[Path, tuple[int, int]] = {}

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
        self._closed.pop(path, None)

    def closed(self, path: Path) -> None:
        """The writer closed ``path`` after writing (or renamed it in, complete): ready at
        once as last observed (observe it first), without waiting for the quiet time."""
        self._writing.discard(path)
        track = self._tracks.get(path)
        if track is not None:
            self._closed[path] = (track.size, track.mtime_ns)

    def forget(self, path: Path) -> None:
        """The file is gone (taken away by ingest, or deleted)."""
        self._tracks.pop(path, None)
        self._writing.discard(path)
        self._closed.pop(path, None)

    def retain(self, present: Collection[Path]) -> None:
        """Forget every file not in ``present`` (the result of a full listing)."""
        for path in [p for p in self._tracks if p not in present]:
            del self._tracks[path]
        self._writing.intersection_update(present)
        for path in [p for p in self._closed if p not in present]:
            del self._closed[path]

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
            elif self._closed.get(path) == (track.size, track.mtime_ns):
                complete = True  # its writer said so: the quiet time is only the fallback
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
