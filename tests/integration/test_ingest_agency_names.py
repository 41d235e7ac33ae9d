"""The agency's name and organisation number an export's rows carry, when those rows are
taken unread (found by their bytes): stored as reading every row stores them, never wiped
because nothing of the rows was read.

Each story runs twice on a migrated store: as ingest takes it, and with no stored record
offered to it (every row read).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncd.store import listings
from syncd.usecases.apply import current_plan
from syncd.usecases.ingest import ingest_file
from syncd.usecases.ingest import take as take_module
from tests.fakes.ingest_world import World, csv_row, csv_text, open_world

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ORG = "556000-0001"
# The config names byra-1 but gives no organisation number: the export's is used.
NAMED = '[agencies.byra-1]\nname = "Byrå Ett AB"\n'


@contextmanager
def world_at(root: Path, *, read_everything: bool, extra: str) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patched:
        if read_everything:
            patched.setattr(
                take_module, "known_records", lambda _session, **_kw: listings.KnownRecords()
            )
        with open_world(root, extra=extra) as world:
            yield world


Agencies = list[tuple[str, str | None, str | None]]


def _story(
    root: Path, exports: list[list[dict[str, str]]], *, read_everything: bool, extra: str
) -> tuple[list[tuple[Agencies, list[str]]], int]:
    """After each export: every agency's (key, name, number) and the plan's op kinds; the
    rows taken unread in all."""
    seen: list[tuple[Agencies, list[str]]] = []
    unread = 0
    with world_at(root, read_everything=read_everything, extra=extra) as world:
        for n, exported in enumerate(exports):
            # A blank line more each time: other bytes, never a duplicate of the one before.
            path = world.drop(f"crm-{n}.csv", csv_text(exported) + "\n" * n)
            at = NOW + timedelta(minutes=n)
            result = ingest_file(world.store, world.config, path, at)
            assert result.outcome == "accepted"
            unread += result.unchanged
            with world.store.read() as session:
                rows = listings.all_agencies(session)
            agencies: Agencies = sorted((r.key, r.name, r.organisation_number) for r in rows)
            ops = sorted(
                type(op).__name__ for op in current_plan(world.store, world.config, at).ops
            )
            seen.append((agencies, ops))
    return seen, unread


def _same_as_reading_everything(exports: list[list[dict[str, str]]], extra: str) -> Agencies:
    """Asserts both ways store the same agencies and plan the same; the last agencies."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "fast").mkdir()
        (root / "full").mkdir()
        fast, unread = _story(root / "fast", exports, read_everything=False, extra=extra)
        full, none_unread = _story(root / "full", exports, read_everything=True, extra=extra)
    assert unread > 0 and none_unread == 0  # the story did take rows unread
    assert fast == full
    return fast[-1][0]


def _rows(changed: dict[str, dict[str, str]] | None = None) -> list[dict[str, str]]:
    named = {"maklarbyra_namn": "Byrå Ett i Uppsala AB", "maklarbyra_orgnr": ORG}
    return [csv_row(f"K{n}") | named | (changed or {}).get(f"K{n}", {}) for n in range(4)]


def test_an_export_taken_unread_keeps_the_organisation_number_its_rows_carry() -> None:
    agencies = _same_as_reading_everything([_rows(), _rows(), _rows()], NAMED)
    assert agencies == [("byra-1", "Byrå Ett AB", ORG)]


def test_an_agency_named_only_by_its_rows_keeps_their_name_when_they_are_taken_unread() -> None:
    agencies = _same_as_reading_everything([_rows(), _rows()], "")
    assert agencies == [("byra-1", "Byrå Ett i Uppsala AB", ORG)]


def test_a_new_organisation_number_in_a_read_row_is_stored_as_reading_every_row_does() -> None:
    moved = {f"K{n}": {"maklarbyra_orgnr": "556000-0002"} for n in range(4)}
    changed_price = {"K2": {"utgangspris": "1995000"}}
    exports = [_rows(), _rows(changed_price), _rows(moved), _rows(moved)]
    agencies = _same_as_reading_everything(exports, NAMED)
    assert agencies == [("byra-1", "Byrå Ett AB", "556000-0002")]
