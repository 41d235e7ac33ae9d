"""Keys packed from a DigestIndex (its rows their positions) answer as keys placed one by one."""

from __future__ import annotations

import hashlib

import pytest

from syncd.core.packed_digests import DigestIndex
from syncd.core.packed_keys import KeyPositions


def _digest(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()[:16]


@pytest.mark.parametrize("texts", [[f"K{n}" for n in range(3_000)], ["Å-1", "", "日本", "\udcff"]])
def test_a_digest_s_row_is_its_key_s_position(texts: list[str]) -> None:
    index = DigestIndex()
    for n, text in enumerate(texts):
        index.add(_digest(n), text)
    keys = index.positions()
    assert len(keys) == len(texts)
    assert list(keys) == texts
    for n, text in enumerate(texts):
        assert index.found(_digest(n)) == (text, n)
        assert keys.find(text) == n
        assert keys.place(text) == n  # known: its row, nothing added
    assert index.found(_digest(len(texts))) is None
    assert keys.place("new one") == -1 - len(texts)  # a new key goes after the known ones
    assert keys.find("new one") == len(texts)
    assert keys.place("new one") == len(texts)


def test_keys_packed_twice_are_refused() -> None:
    index = DigestIndex()
    index.add(_digest(1), "K1")
    index.add(_digest(2), "K2")
    index.add(_digest(3), "K1")
    with pytest.raises(ValueError, match="'K1' packed twice"):
        index.positions()


def test_packed_keys_are_found_as_placed_ones_are() -> None:
    texts = [f"L-{n * 7919 % 10_007}" for n in range(2_000)]
    placed = KeyPositions()
    for text in texts:
        placed.place(text)
    encoded = [text.encode() for text in texts]
    ends = [sum(map(len, encoded[: n + 1])) for n in range(len(encoded))]
    packed = KeyPositions.packed(b"".join(encoded), ends)
    probes = [*texts, "L-x", "", "L-10008"]
    assert [packed.find(t) for t in probes] == [placed.find(t) for t in probes]
    assert list(packed.find_each(probes)) == list(placed.find_each(probes))
