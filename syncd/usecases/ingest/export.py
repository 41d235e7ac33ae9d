"""One export file being taken (``Take``), the claim on its bytes, and what became of it.

Only the claim touches the store; it reads and moves no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncd.config import Config
from syncd.store.engine import Store
from syncd.store.files import TakenFile, claim_export_file, latest_copy_of
from syncd.store.tables import FileOutcome

if TYPE_CHECKING:
    # For annotations only: the store's queries do every database access.
    from syncd.store.engine import Session


@dataclass(frozen=True)
class IngestResult:
    """What became of one export file: outcome "accepted", "rejected", "duplicate" or "held"."""

    export_file: str
    outcome: str
    records: int
    accepted: int
    skipped: int
    warnings: int
    changed_keys: tuple[str, ...]
    moved_to: Path | None
    reason: str | None
    # Accepted records taken unread: each the very record its listing was last read from.
    unchanged: int = 0

    @property
    def summary(self) -> str:
        """The outcome as an operator reads it: "accepted, 2 skipped" when records were."""
        if self.skipped and self.outcome in (FileOutcome.ACCEPTED, FileOutcome.HELD):
            return f"{self.outcome}, {self.skipped} skipped"
        return self.outcome


@dataclass(frozen=True)
class Take:
    """One export file being taken: the file, its bytes' digest, and when."""

    store: Store
    config: Config
    path: Path
    sha256: str
    now: datetime
    again: bool = False  # sent back by 'syncd reprocess': read even if taken before
    reread: bool = False  # taken before, changed where it went: read again from there

    @property
    def name(self) -> str:
        return self.path.name


class AlreadyTaken(Exception):
    """Another ingest recorded these bytes between our read and our write."""

    def __init__(self, first: TakenFile) -> None:
        super().__init__(first.name)
        self.first = first


def claim(session: Session, *, sha256: str, again: bool = False, **fields: Any) -> int:
    """Record these bytes as taken (see ``claim_export_file``); their export file's id.

    Raises AlreadyTaken when they are a copy of their source's latest export, unless an
    operator sent them back with 'syncd reprocess' (``again``).
    """
    latest = latest_copy_of(session, sha256)
    if latest is not None and not again:
        raise AlreadyTaken(latest)
    return claim_export_file(session, sha256=sha256, again=again, **fields)
