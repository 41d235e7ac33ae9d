"""Ingest: one export file in, the desired state of its listings stored, the file archived.

One file is one transaction, fed from a spill file in batches (memory stays flat); a bad record
is skipped, a bad file goes to rejected/ and changes nothing. Never talks to Hemnet.

- ``take``: the pass over one file (duplicate, rejected, or parsed and accepted);
- ``parse``: every record validated on its own, the accepted ones into the ``spill``;
  ``findings``: the file's errors and warnings; ``images``: new images asked before the create;
- ``accept``: the accepted file's transaction; ``desired``: the listings it stores, misses or
  holds; ``agencies``: the agencies' names and the agencies an export covers;
- ``setaside``: rejected and duplicate files; ``receipts``: what became of a file, beside it;
  ``archive``: where a file goes; ``export``: the file being taken and its ``IngestResult``;
- ``changes``: the line a listing's history gets for what an export changed.
"""

from __future__ import annotations

from syncd.usecases.ingest.archive import MAX_NAME_BYTES
from syncd.usecases.ingest.changes import describe_change
from syncd.usecases.ingest.export import IngestResult
from syncd.usecases.ingest.receipts import ERROR_SUFFIX, RESULT_SUFFIX
from syncd.usecases.ingest.take import ingest_file

__all__ = [
    "ERROR_SUFFIX",
    "MAX_NAME_BYTES",
    "RESULT_SUFFIX",
    "IngestResult",
    "describe_change",
    "ingest_file",
]
