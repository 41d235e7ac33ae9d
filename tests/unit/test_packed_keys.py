"""KeyPositions (core/packed_keys.py) and ingest's AgencyOf answer as a dict would."""

from __future__ import annotations

import random

from syncd.core.packed_keys import KeyPositions
from syncd.usecases.ingest.winning import AgencyOf


class _SameHash(str):
    """A key whose hash every other one shares: the index must tell them apart by text."""

    __slots__ = ()

    def __hash__(self) -> int:
        return 12345


def test_place_numbers_keys_in_order_and_finds_them_again() -> None:
    keys = KeyPositions()
    rng = random.Random(16)
    texts = [f"K-{rng.randrange(10**9)}-{n}" for n in range(5_000)]
    for n, text in enumerate(texts):
        assert keys.place(text) == -1 - n
    assert len(keys) == len(texts)
    for n, text in enumerate(texts):
        assert keys.place(text) == n  # seen again: its position, nothing added
        assert keys.find(text) == n
        assert keys.key(n) == text
    assert len(keys) == len(texts)
    assert list(keys) == texts
    assert keys.find("not added") == -1
    assert keys.find(17) == -1


def test_keys_whose_hashes_agree_are_told_apart_by_their_text() -> None:
    keys = KeyPositions()
    texts = [_SameHash(f"k{n}") for n in range(40)]
    for n, text in enumerate(texts):
        assert keys.place(text) == -1 - n
    for n, text in enumerate(texts):
        assert keys.find(text) == n
    assert keys.find(_SameHash("k40")) == -1


def test_non_ascii_and_empty_keys_round_trip() -> None:
    keys = KeyPositions()
    texts = ["", "Åsgränd-12", "\udcff-lone-surrogate", "日本"]
    for text in texts:
        keys.place(text)
    assert [keys.key(n) for n in range(len(texts))] == texts
    assert [keys.find(text) for text in texts] == [0, 1, 2, 3]


def test_agency_of_matches_a_dict_through_overwrites() -> None:
    keys = KeyPositions()
    agency_of = AgencyOf(keys)
    expected: dict[str, str] = {}
    rng = random.Random(7)
    for _ in range(3_000):
        key = f"L{rng.randrange(1_000)}"
        at = keys.place(key)
        at = -1 - at if at < 0 else at
        if rng.random() < 0.2:
            continue  # a record of the key that was skipped: no agency
        agency = rng.choice(["A1", "A2", "B"])
        assert agency_of.put(at, agency) == (key in expected)  # won before: a duplicate
        expected[key] = agency
    assert len(agency_of) == len(expected)
    assert set(agency_of) == set(expected)
    assert agency_of.agencies() == set(expected.values())
    for key in keys:
        assert (key in agency_of) == (key in expected)
    assert "never placed" not in agency_of
    asked = [*keys, "never placed", "L1000"]
    assert list(agency_of.without(asked)) == [k for k in asked if k not in expected]
    assert not AgencyOf(KeyPositions())
