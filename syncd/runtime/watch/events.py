"""The watchdog handler: turns file-system events in the inbox into requests to look again.

Decides nothing about a file (``Settle`` does) and never reads one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler

# Event kinds that can mean a file appeared, grew, was renamed in or went away; opens
# and read-only closes (our own reads among them) say nothing new.
_RELEVANT_EVENTS = frozenset({"created", "modified", "moved", "closed", "deleted"})


class InboxEvents(FileSystemEventHandler):
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
        # A move from or to a folder not watched has no path on that side (full events).
        if event.src_path:
            self._poke(Path(os.fsdecode(event.src_path)), writing, created=kind == "created")
        if event.dest_path:
            self._poke(Path(os.fsdecode(event.dest_path)), False)  # renamed in: complete
