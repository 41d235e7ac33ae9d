"""A CSV export read as UTF-8 at first sight (encoding.utf8_at_first_sight: its first bytes,
the rest checked as it is read) stores and says exactly what decoding all of it first
does: when a line further on is not UTF-8 (the file read again from its start), in a first
ingest and in a re-drop whose rows before that line are found by their bytes, at its end
(a character cut short) and on its first line; and a file broken as CSV is read whole
first before it is rejected."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd.formats import csv_reader, encoding, load_mapping, parse_file
from syncd.formats.encoding import Utf8GuessWrong
from syncd.usecases.apply import current_plan
from syncd.usecases.ingest import IngestResult, ingest_file
from syncd.usecases.ingest import parse as parse_module
from syncd.usecases.ingest.receipts import ERROR_SUFFIX
from tests.fakes.ingest_world import csv_text, listing_state, open_world
from tests.integration.test_ingest_row_digests import NOW, _receipt, rows

COUNT = 20
MARK = "Q-latin-Q"  # where a row gets a byte that is not UTF-8 (é in ISO-8859-1)


def _utf8(exported: list[dict[str, str]]) -> bytes:
    return csv_text(exported).encode("utf-8")


def _latin_at(key: str, *, price: str = "3495000") -> bytes:
    marked = rows(COUNT, **{key: {"rubrik": f"Caf{MARK}", "utgangspris": price}})
    return _utf8(marked).replace(MARK.encode(), b"\xe9")


EXPORTS = [
    _utf8(rows(COUNT)),  # a first ingest
    _utf8(rows(COUNT, K3={"utgangspris": "1995000"})),  # a re-drop: most rows found
    _latin_at("K15"),  # K0-K14 found as UTF-8 rows, K15 not UTF-8: all read again
    _utf8(rows(COUNT)),  # UTF-8 again after ISO-8859-1: read, found by nothing
    _utf8(rows(COUNT, K3={"utgangspris": "1995000"}))[:-1] + b"\xc3\n",  # cut short at the end
    _latin_at("K0", price="2995000"),  # not UTF-8 in the first bytes: never guessed
    _utf8(rows(COUNT, K8={"rubrik": '"a quote never closed'})),  # broken as CSV: rejected
]


def _error(result: IngestResult) -> dict[str, Any]:
    assert result.moved_to is not None
    path = result.moved_to.with_name(result.moved_to.name + ERROR_SUFFIX)
    return {"reason": result.reason, **json.loads(path.read_text(encoding="utf-8"))}


def _story(root: Path, *, guess: bool) -> tuple[list[Any], list[list[bool]]]:
    """What each export did (result, receipt, stored state, plan), and the guesses each
    parse made in turn."""
    seen: list[Any] = []
    parses: list[list[bool]] = []
    real_parse = parse_module._parse

    def recorded(*args: Any, guess_utf8: bool, **kwargs: Any) -> Any:
        parses[-1].append(guess_utf8)
        return real_parse(*args, guess_utf8=guess_utf8, **kwargs)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(encoding, "CHUNK_BYTES", 300)  # first sight: the header and a row
        patched.setattr(parse_module, "_parse", recorded)
        if not guess:
            patched.setattr(csv_reader, "utf8_at_first_sight", lambda *_args: False)
        with open_world(root) as world:
            for n, data in enumerate(EXPORTS):
                parses.append([])
                at = NOW + timedelta(minutes=n)
                result = ingest_file(
                    world.store, world.config, world.drop(f"crm-{n}.csv", data), at
                )
                seen.append(
                    (
                        (result.outcome, result.records, result.accepted, result.unchanged),
                        result.changed_keys,
                        _receipt(result) if result.outcome != "rejected" else _error(result),
                        listing_state(world.store),
                        current_plan(world.store, world.config, at).ops,
                    )
                )
    return seen, parses


def test_a_guess_read_again_stores_and_says_what_decoding_all_first_does() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "guess").mkdir()
        (root / "whole").mkdir()
        guessed, parses = _story(root / "guess", guess=True)
        whole, _ = _story(root / "whole", guess=False)
    assert guessed == whole
    # Guessed UTF-8 each time but the last; read again where a line further on was not.
    assert parses == [[True], [True], [True, False], [True], [True, False], [True], [True, False]]
    assert guessed[-1][0][0] == "rejected"
    unchanged = [seen[0][3] for seen in guessed]
    assert unchanged[1] == COUNT - 1  # the re-drop's rows found by their bytes
    assert "never closed" in guessed[-1][2]["reason"]
    said = [seen[2].get("warnings") for seen in guessed]
    assert all(not warnings for warnings in (said[0], said[1], said[3]))
    for at in (2, 4, 5):
        assert any("not UTF-8; read as" in str(w) for w in said[at]), said[at]


def test_reading_records_raises_where_a_line_is_not_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoding, "CHUNK_BYTES", 300)
    path = tmp_path / "crm.csv"
    path.write_bytes(_latin_at("K15"))
    mapping = load_mapping("generic-csv")
    assert parse_file(path, mapping).encoding == "cp1252"  # decoded whole first
    guessed = parse_file(path, mapping, guess_utf8=True)
    assert guessed.encoding == "utf-8"
    with pytest.raises(Utf8GuessWrong):
        list(guessed.items)
    assert list(parse_file(path, mapping).items)  # read whole first: no guess to go wrong
    path.write_bytes(_latin_at("K0"))
    assert parse_file(path, mapping, guess_utf8=True).encoding == "cp1252"
