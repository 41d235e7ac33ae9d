"""Listing keys found by a 16-byte digest (a CSV row's fingerprint), for every listing of
a store at once, in a handful of large buffers (see core/packed.py for why not a dict).

A dict from digest to key costs about 150 bytes a listing (the digest's bytes object,
the key's string and the entry); here a listing costs its digest's 16 bytes, its key's
UTF-8 bytes and about 16 bytes of index. The digests are uniform (sha256), so their
first bytes pick a bucket directly: buckets at least as many as the digests, each the
run of its rows in one array (about one row a bucket). A candidate is confirmed by
comparing its whole digest, so a shared bucket never answers alone. Pure, no I/O.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from itertools import accumulate
from operator import methodcaller

from syncd.core.packed_keys import KeyPositions

DIGEST_BYTES = 16

# A 4-byte array item (C int on every platform syncd runs on): rows fewer than 2**31.
_INT32 = "i" if array("i").itemsize == 4 else "l"


class DigestIndex:
    """Digest -> the key added with it, when exactly one key was (two keys added with one
    digest: neither is found). ``add`` in any order; the index is rebuilt at the first
    ``owner`` after an ``add``, so build first, then look up."""

    def __init__(self) -> None:
        self._digests = bytearray()  # DIGEST_BYTES a row, in the order added
        self._keys = bytearray()  # the keys' UTF-8, back to back
        self._ends = array("q")  # where each row's key ends in _keys
        self._mask = 0  # a digest's bucket: its first 4 bytes (native order) & _mask
        self._starts = array(_INT32, [0, 0])  # bucket b's rows: _rows[_starts[b]:_starts[b+1]]
        self._rows = array(_INT32)
        self._indexed = 0  # rows in _rows

    def __len__(self) -> int:
        return len(self._ends)

    def add(self, digest: bytes, key: str) -> None:
        if len(digest) != DIGEST_BYTES:
            raise ValueError(f"a digest of {len(digest)} bytes, not {DIGEST_BYTES}")
        self._digests += digest
        self._keys += key.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._keys))

    def extend(self, digests: bytes, keys: Sequence[str]) -> None:
        """``add`` of many: ``digests`` back to back, one for each of ``keys``, in order."""
        if len(digests) != DIGEST_BYTES * len(keys):
            raise ValueError(f"{len(digests)} bytes of digests for {len(keys)} keys")
        encoded = list(map(methodcaller("encode", "utf-8", "surrogatepass"), keys))
        self._digests += digests
        self._ends.extend(accumulate(map(len, encoded), initial=len(self._keys)))
        self._ends.pop(len(self._ends) - len(encoded) - 1)  # the initial: no row's end
        self._keys += b"".join(encoded)

    def owner(self, digest: bytes) -> str | None:
        """The one key added with ``digest``; None: none, or more than one."""
        found = self.found(digest)
        return None if found is None else found[0]

    def found(self, digest: bytes) -> tuple[str, int] | None:
        """``owner``'s key and its row (the order added: its position in ``positions``)."""
        if self._indexed != len(self._ends):
            self._index()
        starts = self._starts
        bucket = int.from_bytes(digest[:4], sys.byteorder) & self._mask
        at = starts[bucket]
        if starts[bucket + 1] - at != 1:  # empty, or shared: a few rows to look at
            row = self._among(at, starts[bucket + 1], digest)
            return None if row < 0 else (self._key(row), row)
        row = self._rows[at]
        start = row * DIGEST_BYTES
        if self._digests[start : start + DIGEST_BYTES] != digest:
            return None
        return self._key(row), row

    def rows_of(self, digests: bytes) -> array[int]:
        """``found``'s row of each of ``digests`` (DIGEST_BYTES each, back to back), -1
        for none: one call for a block of a file's rows, no key decoded (csv_lines)."""
        if len(digests) % DIGEST_BYTES:
            raise ValueError(f"{len(digests)} bytes are no whole number of digests")
        if self._indexed != len(self._ends):
            self._index()
        starts, rows, mine, mask = self._starts, self._rows, self._digests, self._mask
        found = array(_INT32)
        with memoryview(digests) as whole, whole.cast("I") as words:
            firsts = words[:: DIGEST_BYTES // 4].tolist()  # as ``found`` reads them
        ends = range(DIGEST_BYTES, len(digests) + 1, DIGEST_BYTES)
        for end, first in zip(ends, firsts, strict=True):
            bucket = first & mask
            at = starts[bucket]
            if starts[bucket + 1] - at == 1:  # most: one row to compare
                row = rows[at]
                start = row * DIGEST_BYTES
                same = mine[start : start + DIGEST_BYTES] == digests[end - DIGEST_BYTES : end]
                found.append(row if same else -1)
            else:
                wanted = digests[end - DIGEST_BYTES : end]
                found.append(self._among(at, starts[bucket + 1], wanted))
        return found

    def positions(self) -> KeyPositions:
        """The keys, each at its row (``found``'s row is its key's position there), for an
        export's keys to start from: keys added must be distinct (ValueError if not)."""
        return KeyPositions.packed(self._keys, self._ends)

    def _among(self, at: int, end: int, digest: bytes) -> int:
        found = -1
        for place in range(at, end):
            start = self._rows[place] * DIGEST_BYTES
            if self._digests[start : start + DIGEST_BYTES] == digest:
                if found != -1:
                    return -1
                found = self._rows[place]
        return found

    def _key(self, row: int) -> str:
        ends = self._ends
        start = ends[row - 1] if row else 0
        return self._keys[start : ends[row]].decode("utf-8", "surrogatepass")

    def _index(self) -> None:
        count = len(self._ends)
        mask = self._mask = (1 << max(count - 1, 1).bit_length()) - 1
        # Each digest's first 4 bytes read in place as one native integer (what
        # int.from_bytes(..., sys.byteorder) in ``owner`` reads), masked C-level.
        with memoryview(self._digests) as whole, whole.cast("I") as words:
            firsts = words[:: DIGEST_BYTES // 4]
            buckets = array(_INT32, map(mask.__and__, firsts))
            firsts.release()
        # A counting sort in arrays: a Counter and sorted() of the rows held an int object
        # and a table entry per row at once (13.5 MiB at 100,000, the ingest's peak), and
        # took longer than these two loops.
        sizes = _zeros(mask + 1)
        for bucket in buckets:
            sizes[bucket] += 1
        starts = self._starts = array(_INT32, accumulate(sizes, initial=0))
        del sizes
        fill = starts[:-1]  # where each bucket's next row goes
        rows = self._rows = _zeros(count)
        for row, bucket in enumerate(buckets):  # rows ascending within each bucket
            at = fill[bucket]
            rows[at] = row
            fill[bucket] = at + 1
        self._indexed = count


def _zeros(count: int) -> array[int]:
    return array(_INT32, bytes(4 * count))


__all__ = ["DIGEST_BYTES", "DigestIndex"]
