"""A block of a re-dropped CSV export's rows taken at once: each lookup, agency and image
host answer is the one the row-at-a-time calls give, shared buckets, digests added twice
and rows past the first (agency, hosts) included."""

from __future__ import annotations

import hashlib
import random
from array import array
from itertools import pairwise

import pytest

from syncd.core.packed_digests import DIGEST_BYTES, DigestIndex
from syncd.core.packed_keys import KeyPositions
from syncd.store.listings import KnownRecords
from syncd.usecases.ingest.winning import AgencyOf


def _digest(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()[:16]


def test_a_block_of_digests_finds_the_rows_each_digest_finds_alone() -> None:
    index = DigestIndex()
    index.extend(b"".join(map(_digest, range(3000))), [f"K{n}" for n in range(3000)])
    index.add(_digest(7), "K7-again")  # one digest, two keys: found by neither
    # Digests sharing a bucket (their first 4 bytes) but not the rest.
    index.add(_digest(9)[:4] + bytes(12), "K-bucket")
    asked = [*map(_digest, random.Random(5).sample(range(4000), 1500)), _digest(9)]
    asked += [_digest(9)[:4] + bytes(12), _digest(9)[:4] + b"\1" * 12, _digest(7)]
    rows = index.rows_of(b"".join(asked))
    alone = [-1 if (found := index.found(d)) is None else found[1] for d in asked]
    assert rows.tolist() == alone
    assert rows[-1] == -1 and rows[-4] == 9 and rows[-3] == 3001
    assert index.rows_of(b"").tolist() == []
    with pytest.raises(ValueError, match="whole number"):
        index.rows_of(bytes(DIGEST_BYTES + 1))


def test_a_run_of_positions_put_at_once_is_as_put_one_at_a_time() -> None:
    keys = KeyPositions()
    for n in range(40):
        keys.place(f"K{n}")
    at_once, one_by_one = AgencyOf(keys), AgencyOf(keys)
    for of in (at_once, one_by_one):
        of.put(3, "byra-1")
        of.put(30, "byra-2")
    run = array("i", [5, 3, 12, 39, 30, 0])
    assert at_once.put_all(run, "byra-2") == [3, 30]  # had won before: duplicates
    had = [p for p in run if one_by_one.put(p, "byra-2")]
    assert had == [3, 30]
    assert list(at_once) == list(one_by_one) and len(at_once) == len(one_by_one) == 6
    assert at_once.agencies() == one_by_one.agencies() == {"byra-2"}
    assert at_once.put_all(array("i"), "byra-3") == []
    assert list(at_once.without([f"K{n}" for n in range(8)])) == ["K1", "K2", "K4", "K6", "K7"]


def test_rows_cut_by_their_agency_and_hosts_are_what_each_key_has() -> None:
    known = KnownRecords(by_digest=True)
    rows: list[tuple[str, str, str, str | None]] = []
    for n in range(60):
        hosts = "img.example 2\n" if n % 7 == 3 else None
        rows.append((f"K{n}", _digest(n).hex(), "byra-2" if n in (10, 11, 40) else "byra-1", hosts))
    known.extend(rows[:25])
    for key, fingerprint, agency, hosts in rows[25:]:
        known.add(key, fingerprint, agency, hosts or "")
    order = array("i", random.Random(3).sample(range(60), 60))
    parts = list(known.shared_runs(order))
    assert parts[0][0] == 0 and parts[-1][1] == 60
    assert all(a[1] == b[0] for a, b in pairwise(parts))
    for start, stop, shared in parts:
        for row in order[start:stop]:
            assert known.shared_at(row) == shared == known.agency_and_hosts(f"K{row}")
    plain = array("i", [n for n in range(60) if n % 7 != 3 and n not in (10, 11, 40)])
    assert list(known.shared_runs(plain)) == [(0, len(plain), ("byra-1", ()))]
