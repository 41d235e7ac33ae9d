"""Ingest's known records at 100,000 listings, packed: a digest finds the one key added
with it and nothing else, digests sharing their first 8 bytes are told apart by the rest,
and a digest added for two keys finds neither."""

from __future__ import annotations

import hashlib
import random

import pytest

from syncd.core.packed_digests import DigestIndex


def _digest(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()[:16]


def test_every_digest_finds_its_key_and_no_other_digest_finds_one() -> None:
    index = DigestIndex()
    assert index.owner(_digest(0)) is None  # nothing added yet
    added = {_digest(n): f"K{n}-ä" for n in range(2000)}  # keys not ASCII too
    for digest, key in added.items():
        index.add(digest, key)
    assert len(index) == len(added)
    for digest, key in added.items():
        assert index.owner(digest) == key
    for n in range(2000, 2500):
        assert index.owner(_digest(n)) is None
    assert index.owner(b"") is None


def test_digests_with_one_prefix_are_told_apart_by_the_rest() -> None:
    index = DigestIndex()
    prefix = b"\x07" * 8
    tails = [bytes([n]) * 8 for n in range(10)]
    order = list(range(10))
    random.Random(16).shuffle(order)  # not added in order
    for n in order:
        index.add(prefix + tails[n], f"K{n}")
    for n in range(10):
        assert index.owner(prefix + tails[n]) == f"K{n}"
    assert index.owner(prefix + b"\xff" * 8) is None
    assert index.owner(b"\x06" * 8 + tails[0]) is None


def test_a_digest_of_two_keys_finds_neither_and_adding_after_a_lookup_is_seen() -> None:
    index = DigestIndex()
    index.add(_digest(1), "K1")
    assert index.owner(_digest(1)) == "K1"
    assert index.owner(_digest(2)) is None
    index.add(_digest(2), "K2")
    index.add(_digest(1), "K3")
    assert index.owner(_digest(2)) == "K2"
    assert index.owner(_digest(1)) is None


def test_a_digest_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError, match="15 bytes"):
        DigestIndex().add(b"\x00" * 15, "K1")


def test_many_added_at_once_are_found_as_added_one_by_one() -> None:
    one_by_one, at_once = DigestIndex(), DigestIndex()
    keys = [f"K{n}-ä" for n in range(300)]
    for n, key in enumerate(keys[:100]):
        one_by_one.add(_digest(n), key)
        at_once.add(_digest(n), key)
    at_once.extend(b"".join(_digest(n) for n in range(100, 300)), keys[100:])
    for n, key in enumerate(keys[100:], start=100):
        one_by_one.add(_digest(n), key)
    assert len(at_once) == len(one_by_one) == 300
    for n in range(310):
        assert at_once.owner(_digest(n)) == one_by_one.owner(_digest(n))
    assert at_once.owner(_digest(250)) == "K250-ä"
    with pytest.raises(ValueError, match="for 2 keys"):
        at_once.extend(_digest(1), ["K1", "K2"])


def test_known_records_read_in_chunks_are_those_added_one_by_one() -> None:
    from syncd.store.listings import KnownRecords

    rows: list[tuple[str, str, str, str | None]] = [
        (f"K{n}", _digest(n).hex(), f"byra-{n % 3}", "img.example 2\n" if n % 2 else None)
        for n in range(50)
    ]
    rows.append(("K-odd", "not hex", "byra-0", ""))  # not one ingest wrote: read again
    one_by_one = KnownRecords(by_digest=True)
    for key, fingerprint, agency, hosts in rows:
        one_by_one.add(key, fingerprint, agency, hosts or "")
    chunked = KnownRecords(by_digest=True)
    chunked.extend(rows[:20])  # all digests
    chunked.extend(rows[20:])  # one that is not
    assert len(chunked) == len(one_by_one) == 50
    for n in range(50):
        assert chunked.owner(_digest(n)) == one_by_one.owner(_digest(n)) == f"K{n}"
        found = chunked.agency_and_hosts(f"K{n}")
        assert found == one_by_one.agency_and_hosts(f"K{n}")
        assert found == (f"byra-{n % 3}", (("img.example", 2),) if n % 2 else ())
