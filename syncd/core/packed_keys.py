"""An export's listing keys, each given its position (0, 1, ... in the order first added),
held in a handful of large buffers: no Python object per key (see core/packed.py for why).

A dict from key to a value costs about 130 bytes a listing at 100,000 (the key's string,
the entry, an int object); here a key costs its UTF-8 bytes and about 20 bytes of arrays
(its end, its hash's low bits, two to four table slots: the table at most half full).
What a caller keeps per key (a record index, an agency) goes in its own array by
position. A key is found by its hash and confirmed by its text, so two keys whose hashes
agree are told apart: a few more reads, never a wrong answer. Pure, no I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, chain

# A 4-byte array item (C int on every platform syncd runs on): keys, and their UTF-8
# bytes in all, fewer than 2**31 (more raises OverflowError, never a wrong answer).
_INT32 = "i" if array("i").itemsize == 4 else "l"
_LOW_BITS = 2**31 - 1  # what is kept of a key's hash: enough to place it in the table


class KeyPositions:
    """Distinct texts and their positions. ``place`` is the one call a row costs."""

    def __init__(self) -> None:
        self._bytes = bytearray()  # the keys' UTF-8, back to back
        self._ends = array(_INT32)  # where each key ends in _bytes
        # Each key's hash's low bits: a candidate's text is read only when they agree, and
        # the table grows without decoding a key.
        self._hashes = array(_INT32)
        self._slots = array(_INT32, [0]) * 8  # position + 1; 0: empty
        self._mask = 7

    @classmethod
    def packed(cls, text: bytes | bytearray, ends: Sequence[int]) -> KeyPositions:
        """Distinct keys already packed (their UTF-8 back to back in ``text``, each ending
        at its ``ends``), each at its row there: position r is row r, so what found a row
        has its key's position without placing the key (a re-dropped export's rows found
        by their digest, formats/parse.py). ValueError if a key is there twice."""
        keys = cls()
        keys._bytes = bytearray(text)
        keys._ends = array(_INT32, ends)
        whole = keys._bytes.decode("utf-8", "surrogatepass")
        if len(whole) == len(keys._bytes):  # ASCII, most keys: sliced C-level, not decoded each
            texts: Iterable[str] = map(whole.__getitem__, map(slice, chain((0,), ends), ends))
        else:
            texts = iter(keys)
        keys._hashes = array(_INT32, map(_LOW_BITS.__and__, map(hash, texts)))
        del whole
        size = 8
        while 2 * len(keys._ends) > size - 1:  # at most half full, as place keeps it
            size *= 2
        keys._fill(size, distinct=True)
        return keys

    def __len__(self) -> int:
        return len(self._ends)

    def place(self, key: str) -> int:
        """``key``'s position if it was added before; else it is added, and -1 - its new
        position (negative) is returned: one call tells new from seen again."""
        wanted = hash(key) & _LOW_BITS
        slot = self._slot_of(key, wanted)
        if at := self._slots[slot]:
            return at - 1
        hashes = self._hashes
        position = len(hashes)
        try:
            self._bytes += key.encode()
        except UnicodeEncodeError:  # a lone surrogate, kept as it came
            self._bytes += key.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._bytes))
        hashes.append(wanted)
        self._slots[slot] = position + 1
        if 2 * (position + 1) > self._mask:  # kept at most half full: probes stay short
            self._grow()
        return -1 - position

    def find(self, key: object) -> int:
        """``key``'s position; -1 when it was never added."""
        if not isinstance(key, str):
            return -1
        return self._slots[self._slot_of(key, hash(key) & _LOW_BITS)] - 1

    def _slot_of(self, key: str, wanted: int) -> int:
        """The table slot holding ``key`` (its hash's low bits ``wanted``), or the empty
        slot where it would go."""
        slots, hashes, mask = self._slots, self._hashes, self._mask
        slot = wanted & mask
        while at := slots[slot]:
            if hashes[at - 1] == wanted and self.key(at - 1) == key:
                return slot
            slot = (slot + 1) & mask
        return slot

    def find_each(self, keys: Iterable[str]) -> Iterator[tuple[str, int]]:
        """Each of ``keys`` with its position (-1: never added), as ``find`` gives it, the
        probe inline: a call for many keys, not one each."""
        slots, hashes, mask = self._slots, self._hashes, self._mask
        ends, text = self._ends, self._bytes
        for key in keys:
            wanted = hash(key) & _LOW_BITS
            slot = wanted & mask
            found = -1
            while at := slots[slot]:
                at -= 1
                if hashes[at] == wanted:
                    start = ends[at - 1] if at else 0
                    if text[start : ends[at]].decode("utf-8", "surrogatepass") == key:
                        found = at
                        break
                slot = (slot + 1) & mask
            yield key, found

    def holds_run(self, keys: Sequence[str], start: int) -> bool:
        """Whether ``keys`` are the keys at positions ``start``, ``start`` + 1, ... in
        order, compared C-level (their UTF-8 joined, and where each ends): a run of stored
        keys checked at once where ``find_each`` would probe each. False says nothing of
        where they are (a key with a lone surrogate is never compared here)."""
        ends = self._ends
        stop = start + len(keys)
        if not keys or start < 0 or stop > len(ends):
            return False
        try:
            encoded = list(map(str.encode, keys))
        except UnicodeEncodeError:
            return False
        first = ends[start - 1] if start else 0
        if b"".join(encoded) != self._bytes[first : ends[stop - 1]]:
            return False
        # Equal bytes and equal ends: each key's UTF-8 is its position's, so each key is.
        return array(_INT32, accumulate(map(len, encoded), initial=first))[1:] == ends[start:stop]

    def key(self, position: int) -> str:
        ends = self._ends
        start = ends[position - 1] if position else 0
        return self._bytes[start : ends[position]].decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        for position in range(len(self._ends)):
            yield self.key(position)

    def _grow(self) -> None:
        self._fill(2 * len(self._slots))

    def _fill(self, size: int, *, distinct: bool = False) -> None:
        """The table made anew at ``size`` slots; ``distinct``: keys not yet known to be
        (``packed``), each compared with those whose hash bits it shares."""
        slots = self._slots = array(_INT32, [0]) * size
        mask = self._mask = size - 1
        hashes = self._hashes
        for position, wanted in enumerate(hashes):
            slot = wanted & mask
            while at := slots[slot]:
                if hashes[at - 1] == wanted and distinct and self.key(at - 1) == self.key(position):
                    raise ValueError(f"listing key {self.key(position)!r} packed twice")
                slot = (slot + 1) & mask
            slots[slot] = position + 1


__all__ = ["KeyPositions"]
