"""Listing keys found by a 16-byte digest (a CSV row's fingerprint), for every listing of
a store at once, in a handful of large buffers (see core/packed.py for why not a dict).

A dict from digest to key costs about 150 bytes a listing (the digest's bytes object,
the key's string and the entry); here a listing costs its digest's 16 bytes, its key's
UTF-8 bytes, and 16 bytes of index: the digests' first 8 bytes, sorted, searched with
``bisect`` (C-level), and where each sorted one came from. A candidate is confirmed by
comparing its whole digest, so a shared prefix never answers alone. Pure, no I/O.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left

DIGEST_BYTES = 16

# A 4-byte array item (C int on every platform syncd runs on): rows fewer than 2**31.
_INT32 = "i" if array("i").itemsize == 4 else "l"


class DigestIndex:
    """Digest -> the key added with it, when exactly one key was (two keys added with one
    digest: neither is found). ``add`` in any order; the index is rebuilt at the first
    ``owner`` after an ``add`` (one sort, C-level), so build first, then look up."""

    def __init__(self) -> None:
        self._digests = bytearray()  # DIGEST_BYTES a row, in the order added
        self._keys = bytearray()  # the keys' UTF-8, back to back
        self._ends = array("q")  # where each row's key ends in _keys
        self._prefixes = array("Q")  # the digests' first 8 bytes, ascending
        self._rows = array(_INT32)  # the row of each of _prefixes
        self._indexed = 0  # rows in _prefixes

    def __len__(self) -> int:
        return len(self._ends)

    def add(self, digest: bytes, key: str) -> None:
        if len(digest) != DIGEST_BYTES:
            raise ValueError(f"a digest of {len(digest)} bytes, not {DIGEST_BYTES}")
        self._digests += digest
        self._keys += key.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._keys))

    def owner(self, digest: bytes) -> str | None:
        """The one key added with ``digest``; None: none, or more than one."""
        if self._indexed != len(self._ends):
            self._index()
        prefix = int.from_bytes(digest[:8], sys.byteorder)
        prefixes, digests = self._prefixes, self._digests
        at = bisect_left(prefixes, prefix)
        found = -1
        while at < len(prefixes) and prefixes[at] == prefix:
            row = self._rows[at]
            start = row * DIGEST_BYTES
            if digests[start : start + DIGEST_BYTES] == digest:
                if found != -1:
                    return None
                found = row
            at += 1
        return None if found == -1 else self._key(found)

    def _key(self, row: int) -> str:
        start = self._ends[row - 1] if row else 0
        return self._keys[start : self._ends[row]].decode("utf-8", "surrogatepass")

    def _index(self) -> None:
        count = len(self._ends)
        # Each digest's first 8 bytes as one native integer, read in place (no object a
        # row is kept); int.from_bytes(..., sys.byteorder) in ``owner`` reads the same.
        with memoryview(self._digests) as whole, whole.cast("Q") as words:
            firsts = words[:: DIGEST_BYTES // 8]
            order = sorted(range(count), key=firsts.__getitem__)
            self._prefixes = array("Q", map(firsts.__getitem__, order))
            firsts.release()
        self._rows = array(_INT32, order)
        self._indexed = count


__all__ = ["DIGEST_BYTES", "DigestIndex"]
