"""``syncd reprocess FILE``: an export file from rejected/ or archive/ back into the inbox,
to be read again with today's mappings although its bytes were taken before.

The file goes back with a marker beside it (``.NAME.reprocess``, holding its digest): ingest
reads marked bytes again instead of calling them a duplicate. Moves files only; the daemon
(or ``syncd ingest``) does the reading, so no second writer ever touches the database.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from syncd.config import Config
from syncd.core.errors import ExportError

MARKER_SUFFIX = ".reprocess"
_RECEIPTS = (".result.json", ".error.json")


def marker_for(path: Path) -> Path:
    """The marker beside an inbox file (a dotfile: the watcher ignores it)."""
    return path.with_name(f".{path.name}{MARKER_SUFFIX}")


def asked(path: Path, sha256: str) -> bool:
    """Whether an operator sent exactly these bytes back to be read again."""
    try:
        return marker_for(path).read_text(encoding="ascii").strip() == sha256
    except (OSError, UnicodeDecodeError):
        return False


def done(path: Path) -> None:
    marker_for(path).unlink(missing_ok=True)


def send_back(config: Config, file: Path) -> Path:
    """Move ``file`` (in rejected/ or archive/) into the inbox, marked; its new path."""
    source = file.resolve()
    roots = [config.paths.rejected.resolve(), config.paths.archive.resolve()]
    if not any(source.is_relative_to(root) for root in roots):
        raise ExportError(
            f"only a file in {config.paths.rejected} or {config.paths.archive} can be "
            "reprocessed (a new file goes straight into the inbox)",
            str(file),
        )
    if source.name.endswith(_RECEIPTS) or not source.is_file():
        raise ExportError("not an export file (give the file, not its receipt)", str(file))
    with source.open("rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    inbox = config.paths.inbox
    target = inbox / source.name
    number = 1
    while target.exists() or marker_for(target).exists():
        number += 1
        stem, dot, ext = source.name.partition(".")
        target = inbox / f"{stem}-{number}{dot}{ext}"
    # The marker first, so the file is never in the inbox unmarked; then the file under a
    # dotname, renamed in whole: the watcher never sees half of it.
    marker = marker_for(target)
    temporary = marker.with_name(marker.name + ".tmp")
    temporary.write_text(digest + "\n", encoding="ascii")
    os.replace(temporary, marker)
    staging = inbox / f".{target.name}.part"
    shutil.move(source, staging)
    os.replace(staging, target)
    return target
