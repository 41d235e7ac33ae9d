"""The malformed-input corpus (tests/corpus): each file through ingest_file into a store whose
listings are already live on Hemnet; its outcome is the one expected.toml names, and the
live listings change only where a valid export says so.
"""

from __future__ import annotations

import json
import shutil
import tomllib
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from syncd.store import holds, listings
from syncd.usecases.ingest import IngestResult, ingest_file
from tests.fakes.ingest_world import listing_state, open_world, seed_live

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expected.toml").read_text(encoding="utf-8")
)
LIVE = {"live": ("L1", "L2", "L3"), "default": ("D1",), "kyero": ("KY1",)}
KEYS = frozenset(
    {
        "outcome",
        "reason",
        "records",
        "accepted",
        "skipped",
        "error_field",
        "error",
        "warning",
        "missing",
        "changed_live",
        "held_keys",
        "clean_text",
        "known_issue",
    }
)


def test_every_corpus_file_has_an_expectation_and_there_are_enough() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.toml"}
    assert files == set(EXPECTED)
    assert len(files) >= 40
    for name, expected in EXPECTED.items():
        assert set(expected) <= KEYS, name
        assert expected["outcome"] in {"accepted", "rejected", "held"}, name


def _findings(result: IngestResult) -> dict[str, Any]:
    assert result.moved_to is not None
    suffix = ".error.json" if result.outcome == "rejected" else ".result.json"
    data: dict[str, Any] = json.loads(
        result.moved_to.with_name(result.moved_to.name + suffix).read_text(encoding="utf-8")
    )
    return data


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _has_control_characters(value: object) -> bool:
    return any(
        unicodedata.category(c) == "Cc" and c not in "\n\t" for s in _strings(value) for c in s
    )


def _cases() -> list[Any]:
    return [
        pytest.param(
            name,
            marks=pytest.mark.xfail(strict=True, reason=EXPECTED[name]["known_issue"]),
        )
        if "known_issue" in EXPECTED[name]
        else name
        for name in sorted(EXPECTED)
    ]


@pytest.mark.parametrize("name", _cases())
def test_corpus_file(name: str, tmp_path: Path, now: datetime) -> None:
    expected = EXPECTED[name]
    with open_world(tmp_path) as world:
        for agency, keys in LIVE.items():
            seed_live(world.store, keys, now, agency=agency)
        before = listing_state(world.store)
        path = world.inbox / name
        shutil.copyfile(CORPUS / name, path)

        result = ingest_file(world.store, world.config, path, now)
        after = listing_state(world.store)
        with world.store.read() as session:
            open_holds = holds.open_holds(session)
            stored = [
                row.desired_json
                for row in listings.all_listings(session)
                if row.desired_json is not None
            ]

    assert result.outcome == expected["outcome"], result.reason
    assert not path.exists() and result.moved_to is not None and result.moved_to.is_file()
    if "reason" in expected:
        assert result.reason is not None and expected["reason"] in result.reason
    for count in ("records", "accepted", "skipped"):
        if count in expected:
            assert getattr(result, count) == expected[count], count
    findings = _findings(result)
    if "error_field" in expected:
        errors = [e for e in findings["errors"] if e["field"] == expected["error_field"]]
        assert errors, findings["errors"]
        if "error" in expected:
            assert any(expected["error"] in e["reason"] for e in errors), errors
    if "warning" in expected:
        assert any(expected["warning"] in w["reason"] for w in findings["warnings"])

    # The live listings: untouched unless a valid export says otherwise.
    missing = set(expected.get("missing", ()))
    changed = set(expected.get("changed_live", ()))
    for key, state in before.items():
        if key in missing:
            assert after[key][0] is None and after[key][6] == now, key
        elif key in changed:
            assert after[key][0] is not None and after[key][1:4] != state[1:4], key
        else:
            assert after[key] == state, key
    held = sorted(key for hold in open_holds for key in hold.listing_keys_json)
    assert held == sorted(expected.get("held_keys", ()))
    if expected.get("clean_text"):
        assert not any(_has_control_characters(desired) for desired in stored)
