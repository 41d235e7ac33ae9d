"""CSV rows found by their digest alone: a row that is the very one its listing was last
read from is taken before any of it is read (its identity neither), and ingest stores,
reports and plans exactly what reading every row does.

Each test ingests real exports into a migrated store; "read everything" is the same ingest
with no stored fingerprints offered to it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.formats import csv_reader
from syncd.formats.assemble import Assembler
from syncd.store import events, listings
from syncd.usecases.apply import current_plan
from syncd.usecases.ingest import IngestResult, ingest_file
from syncd.usecases.ingest import take as take_module
from tests.fakes.ingest_world import World, csv_row, csv_text, listing_state, open_world

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
KEYS = 6


def rows(count: int = KEYS, /, **changed: dict[str, str]) -> list[dict[str, str]]:
    # count is positional-only so that no unpacked mapping of changes can fill it.
    return [csv_row(f"K{i}") | changed.get(f"K{i}", {}) for i in range(count)]


def ingest(world: World, n: int, exported: list[dict[str, str]]) -> IngestResult:
    # A blank line more each time: other bytes, never a duplicate of the one before.
    path = world.drop(f"crm-{n}.csv", csv_text(exported) + "\n" * n)
    return ingest_file(world.store, world.config, path, NOW + timedelta(minutes=n))


@contextmanager
def world_at(root: Path, *, read_everything: bool) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patched:
        if read_everything:
            patched.setattr(
                take_module, "known_records", lambda _session, **_kw: listings.KnownRecords()
            )
        with open_world(root) as world:
            yield world


def _receipt(result: IngestResult) -> dict[str, Any]:
    assert result.moved_to is not None
    path = result.moved_to.with_name(result.moved_to.name + ".result.json")
    written = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in written.items() if k not in ("sha256", "received_at")}


def _story(
    root: Path, exports: list[list[dict[str, str]]], *, read_everything: bool
) -> tuple[list[Any], int]:
    """What each export did (result, receipt, stored state, plan), then every event."""
    seen: list[Any] = []
    unread = 0
    with world_at(root, read_everything=read_everything) as world:
        for n, exported in enumerate(exports):
            result = ingest(world, n, exported)
            unread += result.unchanged
            at = NOW + timedelta(minutes=n)
            seen.append(
                (
                    (result.outcome, result.records, result.accepted, result.skipped),
                    result.changed_keys,
                    _receipt(result),
                    listing_state(world.store),
                    current_plan(world.store, world.config, at).ops,
                )
            )
        with world.store.read() as session:
            said = [(e.listing_key, e.kind, e.message) for e in events.recent_events(session, 500)]
    seen.append(sorted(said, key=repr))
    return seen, unread


def _same_as_reading_everything(exports: list[list[dict[str, str]]]) -> int:
    """Asserts both ways store and say the same; the number of rows taken unread."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "fast").mkdir()
        (root / "full").mkdir()
        fast, unread = _story(root / "fast", exports, read_everything=False)
        full, none_unread = _story(root / "full", exports, read_everything=True)
    assert none_unread == 0
    assert fast == full
    return unread


def test_one_changed_row_at_any_position_is_read_and_only_it() -> None:
    exports = [rows()] + [
        rows(**{f"K{p}": {"utgangspris": str(2_000_000 + p)}}) for p in range(KEYS)
    ]
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        assert ingest(world, 0, exports[0]).unchanged == 0
        for p in range(KEYS):
            result = ingest(world, p + 1, exports[p + 1])
            # Row p changed; row p - 1 is back to what it was before (read, changed back).
            expected = {f"K{p}", f"K{p - 1}"} if p else {"K0"}
            assert set(result.changed_keys) == expected
            assert result.unchanged == KEYS - len(expected)
    assert _same_as_reading_everything(exports) == sum(
        KEYS - (1 if p == 0 else 2) for p in range(KEYS)
    )


def test_rows_with_quoted_line_breaks_are_found_and_a_change_inside_them_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # csv_text joins cells as given: these are quoted cells of more than one line.
    k1 = {"rubrik": '"Villa\nmed ""utsikt"""'}
    base = rows(K1=k1, K2={"rubrik": '"Villa\r\n\r\nK2"'})
    changed = rows(K1=k1, K2={"rubrik": '"Villa\r\n\r\nK2 ny"'})
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        ingest(world, 0, base)
        split: list[str] = []  # the rows csv.reader split into cells

        class Counted(csv_reader.TabularRecord):
            __slots__ = ()

            def __init__(self, row: list[str], *args: Any) -> None:
                split.append(row[0])
                super().__init__(row, *args)

        monkeypatch.setattr(csv_reader, "TabularRecord", Counted)
        assert ingest(world, 1, base).unchanged == KEYS
        # Found before csv.reader saw them, K1 and K2 too; the first row is always read.
        assert split == ["K0"]
        result = ingest(world, 2, changed)
        assert (result.unchanged, result.changed_keys) == (KEYS - 1, ("K2",))
    assert _same_as_reading_everything([base, base, changed, base]) > 0


def test_a_moved_row_is_taken_unread_and_a_key_changed_alone_is_read() -> None:
    base = rows()
    moved = [base[3], *base[:3], *base[4:]]
    # K3's row with another key and nothing else changed: a new listing, K3 missing.
    rekeyed = [*base[:3], base[3] | {"objektnummer": "K9"}, *base[4:]]
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        ingest(world, 0, base)
        again = ingest(world, 1, moved)
        assert (again.unchanged, again.changed_keys) == (KEYS, ())
        result = ingest(world, 2, rekeyed)
        assert (result.unchanged, result.changed_keys) == (KEYS - 1, ("K9",))
        assert listing_state(world.store)["K3"][6] is not None  # missing_since: left out
    assert _same_as_reading_everything([base, moved, rekeyed, base]) > 0


def test_a_row_taken_unread_reads_not_even_its_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        ingest(world, 0, rows())

        def no_identity(*_args: object) -> None:
            raise AssertionError("an unchanged row's identity was read")

        monkeypatch.setattr(Assembler, "identity", no_identity)
        result = ingest(world, 1, rows(K2={"utgangspris": "1995000"}))
        assert (result.unchanged, result.changed_keys) == (KEYS - 1, ("K2",))


def test_bad_rows_and_repeated_rows_still_give_their_findings() -> None:
    base = rows()
    bad = rows(K4={"utgangspris": "-5"})
    # The same row twice: found by its digest both times, the second warned as a duplicate.
    repeated = [*base, base[1]]
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        ingest(world, 0, base)
        for n in (1, 2):  # a bad row keeps no fingerprint: read, and said, every time
            result = ingest(world, n, bad)
            assert (result.skipped, result.unchanged) == (1, KEYS - 1)
            errors = _receipt(result)["errors"]
            assert [e["listing_key"] for e in errors] == ["K4"]
        twice = ingest(world, 3, repeated)
        warned = [w for w in _receipt(twice)["warnings"] if w.get("field") == "listing_key"]
        assert [(w["listing_key"], w["record"]) for w in warned] == [("K1", KEYS + 1)]
    _same_as_reading_everything([base, bad, bad, repeated, base])


def test_two_listings_with_one_fingerprint_are_found_by_neither() -> None:
    known = listings.KnownRecords(by_digest=True)
    digest = "ab" * 16
    known.add("K1", digest, "byra-1", "")
    assert known.owner(bytes.fromhex(digest)) == "K1"
    known.add("K2", digest, "byra-1", "")
    assert known.owner(bytes.fromhex(digest)) is None
    assert listings.KnownRecords().owner(bytes.fromhex(digest)) is None  # not kept by digest


def test_a_listing_found_by_digest_keeps_its_own_agency_and_image_hosts() -> None:
    known = listings.KnownRecords(by_digest=True)
    known.add("K1", "ab" * 16, "byra-1", "img.example 2\n")
    known.add("K2", "cd" * 16, "byra-2", "")
    known.add("K3", "ef" * 16, "byra-1", "img.example 2\n")
    assert len(known) == 3
    found = {known.owner(bytes.fromhex(d * 16)): d for d in ("ab", "cd", "ef")}
    assert found == {"K1": "ab", "K2": "cd", "K3": "ef"}
    assert known.agency_and_hosts("K1") == ("byra-1", (("img.example", 2),))
    assert known.agency_and_hosts("K2") == ("byra-2", ())
    assert known.agency_and_hosts("K3") == ("byra-1", (("img.example", 2),))
    assert listings.KnownRecords(by_digest=True).agency_and_hosts("K1") is None


_ROW_CHANGES = st.sampled_from(
    [
        {"utgangspris": "1995000"},
        {"utgangspris": "-5"},  # an error: the row is skipped
        {"maklarbyra": "byra-2"},
        {"objektnummer": "K9"},  # the key alone
        {"postnummer": "753"},
        {"gatuadress": "Storgatan 1; Uppsala"},  # unquoted delimiter: a misaligned row
    ]
)


@st.composite
def _exports(draw: st.DrawFn) -> list[list[dict[str, str]]]:
    made = []
    for _ in range(draw(st.integers(2, 4))):
        exported = rows()
        for index in draw(st.lists(st.integers(0, KEYS - 1), max_size=2)):
            exported[index] = exported[index] | draw(_ROW_CHANGES)
        order = draw(st.permutations(range(KEYS)))
        keep = draw(st.integers(KEYS - 1, KEYS))  # a full export may leave one out
        made.append([exported[i] for i in order][:keep])
    return made


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_exports())
def test_rows_found_by_digest_store_and_say_what_reading_every_row_does(
    exports: list[list[dict[str, str]]],
) -> None:
    _same_as_reading_everything(exports)
