"""What a reconcile run holds for hours at 100,000 listings, packed: records come back as
they were added, in any order of reading, and an index finds every row of a text and no
other; the list's listings given twice, or carrying a key syncd follows, are told apart
as the run's begin needs."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from syncd.core.packed import (
    BLOCK,
    PackedKeys,
    PackedRecords,
    TextIndex,
    TextSet,
    distinct_keys,
)
from syncd.hemnet.models import RemoteListing
from syncd.hemnet.payload import listing_body
from syncd.usecases.reconcile.glimpse import ListGlimpses
from tests.fakes.readback_world import a_listing


def test_records_come_back_as_added_in_any_order() -> None:
    records = PackedRecords()
    added = [
        (f"id-{n}", n, None if n % 3 else b"\x00" * 16, ("a", n % 2 == 0))
        for n in range(3 * BLOCK + 5)
    ]
    for n, record in enumerate(added):
        assert records.append(record) == n
    assert len(records) == len(added)
    for n in [len(added) - 1, 0, BLOCK, 2 * BLOCK + 7, 1, len(added) - 6]:
        assert records[n] == added[n]
    assert list(records) == added
    with pytest.raises(IndexError):
        records[len(added)]
    with pytest.raises(IndexError):
        records[-1]


def test_an_index_finds_every_row_of_a_text_and_no_other() -> None:
    texts = [f"K{n % 997}" for n in range(5000)]  # each text on five or six rows
    index = TextIndex(texts.__getitem__)
    for row, text in enumerate(texts):
        index.add(text, row)
    assert len(index) == len(texts)
    for text in ["K0", "K13", "K996"]:
        assert index.rows(text) == [row for row, t in enumerate(texts) if t == text]
    assert index.rows("K997") == []
    assert index.rows("") == []


def test_an_index_tells_apart_texts_whose_rows_it_reads() -> None:
    # A row is confirmed by its text, read back: a hash alone never answers.
    read: list[int] = []
    texts = ["a", "b", "c"]

    def text_of(row: int) -> str:
        read.append(row)
        return texts[row]

    index = TextIndex(text_of)
    for row, text in enumerate(texts):
        index.add(text, row)
    assert index.rows("b") == [1]
    assert 1 in read


def test_a_text_set_says_which_texts_it_has_had() -> None:
    seen = TextSet()
    texts = [str(n) for n in range(3000)] + ["", "ö-ä", "x" * 300, "\udc80"]
    assert all(seen.add(text) for text in texts)
    assert len(seen) == len(texts)
    assert not seen.add("17") and not seen.add("ö-ä") and not seen.add("\udc80")
    assert len(seen) == len(texts)
    assert "2999" in seen and "3000" not in seen and 17 not in seen


def test_packed_keys_come_back_sorted_however_they_were_added() -> None:
    keys = [f"agency/{n:06d}" for n in range(2 * BLOCK + 3)]
    for added in [keys, [*keys[BLOCK + 1 :], *reversed(keys[: BLOCK + 1])]]:
        packed = PackedKeys()
        for key in added:
            packed.add(key)
        packed.sort()
        assert len(packed) == len(keys)
        assert [packed[n] for n in range(len(keys))] == keys


def test_distinct_keys_are_each_key_of_every_source_once_sorted() -> None:
    keys = [f"agency/{n:06d}" for n in range(3 * BLOCK + 7)]
    in_order = keys[::2] + keys[1::6]  # a store's order, then a stretch out of it
    repeated = [key for key in keys[: BLOCK + 2] for _ in range(2)]
    out_of_order = set(reversed(keys[BLOCK:]))
    packed = distinct_keys(iter(in_order), repeated, out_of_order, [])
    assert list(packed) == sorted(set(in_order) | set(repeated) | out_of_order) == keys
    assert list(distinct_keys()) == []


def remote(hemnet_id: str, key: str | None, **facts: Any) -> RemoteListing:
    body = dict(listing_body(a_listing(key or "X1", images=0), "900")["listing"])
    return dataclasses.replace(
        RemoteListing(hemnet_id=hemnet_id, external_id=key, raw=body), **facts
    )


def test_a_listing_the_list_gives_twice_is_kept_once_as_given_last() -> None:
    glimpses = ListGlimpses()
    glimpses(remote("1", "A", url="https://hemnet.example/1-first"))
    glimpses(remote("2", "B"))
    glimpses(remote("1", "A2", url="https://hemnet.example/1-last"))
    assert len(glimpses) == 2
    kept = glimpses.get("1")
    assert kept is not None and kept.state.url == "https://hemnet.example/1-last"
    assert list(glimpses.ids()) == [("1", "A2"), ("2", "B")]
    # Followed under the key it was given with last: syncd's, not unknown.
    glimpses.follow([("A2", None)])
    assert list(glimpses.unknown()) == ["2"]


def test_the_list_s_listings_not_followed_by_id_or_key_are_unknown() -> None:
    glimpses = ListGlimpses()
    for n in range(2 * BLOCK):  # past the first block: records read back from it
        glimpses(remote(str(100 + n), f"K{n}"))
    glimpses(remote("7", None))
    glimpses(remote("8", "DUP"))
    glimpses(remote("9", "DUP"))
    followed: list[tuple[str, str | None]] = [
        (f"K{n}", str(100 + n)) for n in range(0, 2 * BLOCK, 2)
    ]
    followed += [("ELSEWHERE", "7"), ("DUP", "9"), ("LOST", None)]
    several = glimpses.follow(followed)
    assert several == {"DUP": "9"}
    assert list(glimpses.unknown()) == [str(100 + n) for n in range(1, 2 * BLOCK, 2)]
    assert [g.hemnet_id for g in glimpses.carrying("DUP")] == ["8", "9"]
    # A key followed under the listing carrying it is not looked up again.
    assert "K0" not in glimpses
    with pytest.raises(RuntimeError):
        glimpses.follow([])
