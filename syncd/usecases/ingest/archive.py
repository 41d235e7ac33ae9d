"""Where a taken file goes in archive/ or rejected/: a free name that fits, and the move.

It decides nothing about the file's outcome and writes no receipt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

# A file keeps its name in archive/ or rejected/, with a receipt named after it and a
# temporary dot-file while the receipt is written; file systems allow 255 bytes a name.
# Longer names are rejected (their copy in rejected/ is shortened to fit).
MAX_NAME_BYTES = 200


def free_path(directory: Path, name: str, receipt_suffix: str) -> Path:
    """``directory/name``, or ``name-2``, ``name-3``… when that (or its receipt) is taken."""
    name = _fitting_name(name)
    candidate = directory / name
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    number = 1
    while candidate.exists() or candidate.with_name(candidate.name + receipt_suffix).exists():
        number += 1
        candidate = directory / f"{stem}-{number}{dot}{ext}"
    return candidate


def _fitting_name(name: str) -> str:
    """``name``, or when longer than MAX_NAME_BYTES its start, a digest of the whole name
    (two long names sharing a start stay apart) and its extension."""
    encoded = os.fsencode(name)
    if len(encoded) <= MAX_NAME_BYTES:
        return name
    stem, ext = os.path.splitext(name)
    ext_bytes = os.fsencode(ext)
    if len(ext_bytes) > 16:
        ext_bytes = b""
    digest = hashlib.sha256(encoded).hexdigest()[:12].encode()
    keep = MAX_NAME_BYTES - len(ext_bytes) - len(digest) - 1
    # Cut on a character boundary where the bytes are UTF-8; other bytes stay as they were.
    start = os.fsencode(stem)[:keep].decode("utf-8", "ignore").encode("utf-8")
    if not os.fsencode(stem).startswith(start):
        start = os.fsencode(stem)[:keep]
    return os.fsdecode(start + b"~" + digest + ext_bytes)


def move(source: Path, target: Path) -> None:
    """The taken file to its place; callers reach it as ``archive.move``, the one seam a
    test replaces to die between the commit and the move."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)
