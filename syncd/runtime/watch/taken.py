"""Taken files followed where ingest put them: one that changes there (its writer was not
done after all) settles again and is handed over once more, from there.

Runs on the watcher's worker thread only; never looks at the inbox (``InboxWatcher`` does).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from syncd.core.errors import SyncdError
from syncd.runtime.watch.settle import Settle

# The watcher's name, as these lines have always shown.
logger = logging.getLogger("syncd.runtime.watch")

# How long, and for how many files, a taken file is watched where ingest put it, to read it
# again if its writer was not done after all.
TAKEN_WATCH_S = 900.0
TAKEN_WATCH_MAX = 256


@dataclass
class _Taken:
    """A file handed over, where ``on_ready`` said it went, as it was when taken."""

    size: int
    mtime_ns: int
    until: float  # watched for changes until then


class TakenFiles:
    """The taken files being followed; those that changed settle in their own ``Settle``
    (no events where they went: stability alone)."""

    def __init__(
        self,
        on_ready: Callable[[Path], Path | None],
        *,
        settle_s: float,
        watch_s: float,
        clock: Callable[[], float],
        stopping: threading.Event,
    ) -> None:
        self._on_ready = on_ready
        self._watch_s = watch_s
        self._clock = clock
        self._stopping = stopping
        self._taken: dict[Path, _Taken] = {}
        self._changed = Settle(settle_s)

    def watch(self, went: Path, size: int, mtime_ns: int) -> None:
        self._taken[went] = _Taken(size, mtime_ns, until=self._clock() + self._watch_s)
        while len(self._taken) > TAKEN_WATCH_MAX:
            oldest = next(iter(self._taken))
            del self._taken[oldest]
            self._changed.forget(oldest)

    def look(self) -> None:
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
            self.watch(went, *seen)
