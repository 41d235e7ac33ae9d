"""Running a pass's per-listing sequences side by side, each in its own order.

Knows nothing of ops or Hemnet; the applier hands it the sequences and what runs one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def in_parallel(workers: int, sequences: Sequence[Any], run: Callable[[Any], None]) -> None:
    """``run`` each sequence, up to ``workers`` at once; an exception in one is raised."""
    workers = max(1, workers)
    if workers == 1 or len(sequences) <= 1:
        for sequence in sequences:
            run(sequence)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
        for future in [pool.submit(run, sequence) for sequence in sequences]:
            future.result()
