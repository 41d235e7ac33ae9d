"""The listing keys a file's accepted records name, and each one's agency, held packed:
an export of 100,000 listings keeps them through its whole ingest, and a dict of them
cost about 90 bytes a listing beside the parse's own duplicate check.

The keys are the parse's (``ParseResult.keys``, formats/parse.py), by their position there;
here only an agency's index (into the file's few agencies) by that position.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress, repeat

from syncd.core.packed_keys import KeyPositions

_NONE = -1  # a position whose key no accepted record names (yet)


class AgencyOf:
    """Listing key -> the agency of the record of it that wins; a ``Collection`` of the
    keys (what ``in``, ``len`` and iterating read)."""

    def __init__(self, keys: KeyPositions) -> None:
        self._keys = keys
        self._of = array("i")  # by the key's position: index into _agencies, or _NONE
        self._agencies: list[str] = []
        self._index: dict[str, int] = {}
        self._count = 0
        # The agency put last and its index: most keys of an export share it.
        self._last: tuple[str | None, int] = (None, _NONE)

    def has(self, at: int) -> bool:
        """Whether the key at position ``at`` has an agency (an accepted record)."""
        return 0 <= at < len(self._of) and self._of[at] != _NONE

    def put(self, at: int, agency: str) -> bool:
        """The key at position ``at`` (of the parse's keys) wins with ``agency``; whether
        it had won before (a duplicate: the last one wins)."""
        of = self._of
        last, index = self._last
        if at == len(of) and agency == last:  # a new key of the agency before: most
            of.append(index)
            self._count += 1
            return False
        if at >= len(of):
            of.extend(array("i", [_NONE]) * (at + 1 - len(of)))
        if agency != last:
            index = self._index_of(agency)
        had = of[at] != _NONE
        of[at] = index
        self._count += not had
        return had

    def put_all(self, positions: Sequence[int], agency: str) -> list[int]:
        """``put`` of each of ``positions`` (distinct) with ``agency``, C-level (a run of
        rows found unchanged): those of them that had won before, in order."""
        if not positions:
            return []
        of = self._of
        top = max(positions) + 1
        if top > len(of):
            of.extend(array("i", [_NONE]) * (top - len(of)))
        index = self._index_of(agency)
        had = list(compress(positions, map(_NONE.__ne__, map(of.__getitem__, positions))))
        deque(map(of.__setitem__, positions, repeat(index)), 0)
        self._count += len(positions) - len(had)
        return had

    def _index_of(self, agency: str) -> int:
        index = self._index.get(agency, _NONE)
        if index == _NONE:
            index = self._index[agency] = len(self._agencies)
            self._agencies.append(agency)
        self._last = (agency, index)
        return index

    def without(self, keys: Iterable[str]) -> Iterator[str]:
        """``keys`` that no accepted record names, as ``not in`` would pick them (one
        call for many: a full export's check of every stored key)."""
        of, length = self._of, len(self._of)
        for key, at in self._keys.find_each(keys):
            if not 0 <= at < length or of[at] == _NONE:
                yield key

    def without_runs(self, runs: Iterable[Sequence[str]]) -> Iterator[str]:
        """``without`` of each run's keys, in order; a run that holds, from its first key's
        position on, the keys there, each with an agency, is passed C-level: a full
        export's stored keys, read in key order, line up with the parse's keys where these
        were seeded from the known records in that order (store.listings.known_records,
        which SQLite reads from its index, key first). Any other run is probed a key at a
        time, so the answer never depends on that order, only its cost."""
        keys, of = self._keys, self._of
        for run in runs:
            start = keys.find(run[0]) if run else -1
            stop = start + len(run)
            if (
                start >= 0
                and stop <= len(of)
                and _NONE not in of[start:stop]
                and keys.holds_run(run, start)
            ):
                continue
            yield from self.without(run)

    def agencies(self) -> set[str]:
        """The agencies of the winning records."""
        names = self._agencies
        return {names[index] for index in set(self._of) if index != _NONE}

    def __contains__(self, key: object) -> bool:
        return self.has(self._keys.find(key))

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        for at, index in enumerate(self._of):
            if index != _NONE:
                yield self._keys.key(at)


__all__ = ["AgencyOf"]
