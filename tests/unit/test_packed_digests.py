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
