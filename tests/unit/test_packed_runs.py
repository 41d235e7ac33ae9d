"""A full export's stored keys checked a run at a time (``KeyPositions.holds_run``,
``AgencyOf.without_runs``): the answer is ``without``'s, key by key, whatever the runs'
order, and whether or not a run lines up with the parse's key positions."""

from __future__ import annotations

import random

import pytest

from syncd.core.packed_keys import KeyPositions
from syncd.usecases.ingest.winning import AgencyOf


def _keys(texts: list[str]) -> KeyPositions:
    keys = KeyPositions()
    for text in texts:
        keys.place(text)
    return keys


def test_a_run_holds_only_the_keys_at_its_positions_in_order() -> None:
    texts = ["K0", "Åsgränd-1", "", "日本", "K4", "K40", "K400"]
    keys = _keys(texts)
    for start in range(len(texts)):
        for stop in range(start + 1, len(texts) + 1):
            assert keys.holds_run(texts[start:stop], start)
            assert not keys.holds_run(texts[start:stop], start + 1)
    assert not keys.holds_run(["K4", "K40"], 3)  # another place
    assert not keys.holds_run(["K40", "K4"], 4)  # another order
    # The same bytes cut elsewhere: the ends tell them apart.
    assert not keys.holds_run(["K4K", "40"], 4)
    assert not keys.holds_run(["K", "4K40"], 4)
    assert not keys.holds_run(["K4", "K40", "K400", "K4000"], 4)  # past the last position
    assert not keys.holds_run(["K0"], -1)
    assert not keys.holds_run([], 0)


def test_a_key_with_a_lone_surrogate_is_left_to_the_probe() -> None:
    keys = _keys(["a", "\udcff", "b"])
    assert not keys.holds_run(["a", "\udcff", "b"], 0)
    agency_of = AgencyOf(keys)
    agency_of.put(1, "byra")
    assert list(agency_of.without_runs([["a", "\udcff", "b"]])) == ["a", "b"]


@pytest.mark.parametrize("run", [1, 7, 64])
def test_runs_give_without_s_answer_aligned_or_not(run: int) -> None:
    rng = random.Random(run)
    texts = [f"L-{n:05d}" for n in range(2_000)]
    keys = _keys(texts)
    agency_of = AgencyOf(keys)
    for at in range(len(texts)):
        if rng.random() > 0.01:  # a few of the stored keys left out of the export
            agency_of.put(at, rng.choice(["A", "B"]))
    new = [f"N-{n}" for n in range(50)]  # the export's new keys, after the known ones
    for text in new:
        agency_of.put(-1 - keys.place(text), "A")
    stored_in_order = [*texts, *new]
    shuffled = [*stored_in_order, "never-placed", "L-99999"]
    rng.shuffle(shuffled)
    for asked in (stored_in_order, shuffled, stored_in_order[1:], stored_in_order[::2]):
        runs = [asked[i : i + run] for i in range(0, len(asked), run)]
        assert list(agency_of.without_runs(runs)) == list(agency_of.without(asked))
    assert list(agency_of.without_runs([])) == []
    assert list(agency_of.without_runs([[]])) == []
