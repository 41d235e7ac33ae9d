"""Many small values held at once (per listing, at 100,000 listings), in few large objects.

One Python object per listing (a bytes value, a dict entry, its key's string) costs a few
hundred bytes, and such small allocations, interleaved with the pages or rows being
decoded meanwhile, leave the heap fragmented after them. Here records are
zlib-compressed in blocks of BLOCK (what varies between listings is little: their ids and
stamps), and texts are found through hashes kept in arrays, so a listing costs a few
dozen bytes in a handful of large buffers. Data structures only: pure, no I/O.

"""

from __future__ import annotations

import heapq
import marshal
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from syncd.core.packed_keys import KeyPositions

# A 4-byte array item (C int on every platform syncd runs on); a hash keeps its low 31 bits.
_INT32 = "i" if array("i").itemsize == 4 else "l"
_LOW_BITS = 2**31 - 1

# Records per compressed block: large enough that zlib finds what listings share (URL
# prefixes, stamps), small enough that reading one record decodes little (about 12 KB).
BLOCK = 64


def _encode(block: list[Any]) -> bytes:
    # marshal: plain values of this process's run, never stored, never read by another version.
    return zlib.compress(marshal.dumps(block))


def _decode(blob: bytes) -> list[Any]:
    decoded: list[Any] = marshal.loads(zlib.decompress(blob))  # noqa: S302 (encoded above)
    return decoded


class PackedRecords:
    """Tuples of plain values (what ``marshal`` encodes), appended in order and read back by
    their index; the last block decoded is kept, so reading in order decodes each once."""

    def __init__(self) -> None:
        self._blocks: list[bytes] = []
        self._open: list[tuple[Any, ...]] = []  # the block being filled
        # The last block decoded, as one value: a reader on another thread sees a block
        # and its number together, never one without the other.
        self._cached: tuple[int, list[Any]] = (-1, [])

    def append(self, record: tuple[Any, ...]) -> int:
        """Add ``record``; its index."""
        self._open.append(record)
        if len(self._open) == BLOCK:
            self._blocks.append(_encode(self._open))
            self._open = []
        return len(self) - 1

    def __len__(self) -> int:
        return len(self._blocks) * BLOCK + len(self._open)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        block, at = divmod(index, BLOCK)
        if block == len(self._blocks):
            return self._open[at]
        cached = self._cached
        if cached[0] != block:
            cached = self._cached = (block, _decode(self._blocks[block]))
        found: tuple[Any, ...] = tuple(cached[1][at])
        return found

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for index in range(len(self)):
            yield self[index]


class TextIndex:
    """Which rows carry a text (an id), by the text's hash: 4 bytes a row for its hash's
    low bits, 4 for its row, 8 for the table at most half full; ``text_of`` reads a row's
    text to confirm a candidate, so rows whose hashes agree but texts differ are told apart
    (a few more reads, never a wrong answer). Rows and texts fewer than 2**31."""

    def __init__(self, text_of: Callable[[int], str | None]) -> None:
        self._text_of = text_of
        self._hashes = array(_INT32)
        self._rows = array(_INT32)
        self._slots = _zeros(8)  # position in _rows + 1; 0: empty

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, text: str, row: int) -> None:
        if 2 * (len(self._rows) + 1) > len(self._slots):
            self._grow()
        self._hashes.append(hash(text) & _LOW_BITS)
        self._rows.append(row)
        self._place(len(self._rows) - 1)

    def rows(self, text: str) -> list[int]:
        """The rows added with ``text``, ascending."""
        wanted = hash(text) & _LOW_BITS
        mask = len(self._slots) - 1
        slot = wanted & mask
        found: list[int] = []
        while position := self._slots[slot]:
            position -= 1
            if self._hashes[position] == wanted:
                row = self._rows[position]
                if self._text_of(row) == text:
                    found.append(row)
            slot = (slot + 1) & mask
        found.sort()
        return found

    def _place(self, position: int) -> None:
        mask = len(self._slots) - 1
        slot = self._hashes[position] & mask
        while self._slots[slot]:
            slot = (slot + 1) & mask
        self._slots[slot] = position + 1

    def _grow(self) -> None:
        self._slots = _zeros(2 * len(self._slots))
        for position in range(len(self._rows)):
            self._place(position)


def _zeros(count: int) -> array[int]:
    return array(_INT32, [0]) * count  # without a temporary of the same size


class TextSet:
    """Distinct texts (ids seen), packed as ``KeyPositions`` packs an export's keys: about
    20 bytes a text beside its own UTF-8, where a ``set`` of strings holds a string object
    (50 bytes and more) and 30-odd bytes of table for each."""

    def __init__(self) -> None:
        self._positions = KeyPositions()

    def add(self, text: str) -> bool:
        """Add ``text``; False when it was there already."""
        return self._positions.place(text) < 0

    def __contains__(self, text: object) -> bool:
        return self._positions.find(text) >= 0

    def __len__(self) -> int:
        return len(self._positions)


class PackedKeys:
    """Texts (a run's listing keys) read by index once ``sort`` is called, compressed like
    ``PackedRecords``. Keys added in order are packed as they come; others are sorted at
    ``sort`` (a store whose collation orders them otherwise than Python does)."""

    def __init__(self) -> None:
        self._records = PackedRecords()
        self._last: str | None = None
        self._in_order = True

    def add(self, key: str) -> None:
        if self._last is not None and key < self._last:
            self._in_order = False
        self._records.append((key,))
        self._last = key

    def sort(self) -> None:
        if self._in_order:
            return
        taken = sorted(self[n] for n in range(len(self)))
        self._records = PackedRecords()
        for key in taken:
            self._records.append((key,))
        self._in_order = True

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> str:
        key: str = self._records[index][0]
        return key

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self)):
            yield self[index]


def distinct_keys(*sources: Iterable[str]) -> PackedKeys:
    """The distinct texts of ``sources``, sorted, packed. Each source is packed and sorted
    alone (a store's collation may order keys otherwise than Python does), then the sorted
    sources are merged: no string of every text is held at once, unless a source comes
    out of order."""
    packed: list[PackedKeys] = []
    for source in sources:
        keys = PackedKeys()
        for key in source:
            keys.add(key)
        keys.sort()
        packed.append(keys)
    merged = PackedKeys()
    last: str | None = None
    for key in heapq.merge(*packed):
        if key != last:
            merged.add(key)
            last = key
    return merged


__all__ = ["BLOCK", "PackedKeys", "PackedRecords", "TextIndex", "TextSet", "distinct_keys"]
