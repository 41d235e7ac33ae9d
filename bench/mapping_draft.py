"""Benchmark 7: how much of a hand-written mapping ``syncd mapping new`` gets right.

For each sample with a hand-written mapping (the bundled demo exports and, where
``../shared/samples`` exists, the OpenImmo and Kyero samples), both mappings read the same
file. Score: of the canonical fields the hand-written mapping fills, record by record, the
share the draft fills with the same value. A required field the draft leaves open is
counted, then taken from the hand-written mapping so that the other fields of those
records can still be compared. Not a timed test.

    .venv/bin/python bench/mapping_draft.py
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import machine

from syncd.core.domain import to_plain
from syncd.formats import load_mapping, parse_file
from syncd.formats.draft import propose, render
from syncd.formats.mapping import FIELD_KINDS, REQUIRED_FIELDS
from syncd.formats.mapping_file import mapping_from_dict
from syncd.formats.survey import survey

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
DEMO = Path(str(importlib.resources.files("syncd.demo") / "data"))


def cases() -> list[tuple[Path, str]]:
    found = [(DEMO / "nordhem-1.csv", "generic-csv"), (DEMO / "vastkust-1.xml", "openimmo")]
    if SAMPLES.is_dir():
        found += [(p, "openimmo") for p in sorted((SAMPLES / "openimmo").glob("*/*.xml"))]
        found += [(p, "kyero") for p in sorted((SAMPLES / "kyero").glob("*/*.xml"))]
    return found


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def _values(path: Path, mapping: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for record in parse_file(path, mapping).records:
        if record.listing is None:
            rows.append({})
            continue
        plain = _flat(to_plain(record.listing))
        row = {k: v for k, v in plain.items() if k in FIELD_KINDS and v not in (None, "", [])}
        row["images"] = [image["url"] for image in to_plain(record.listing)["images"]]
        rows.append(row)
    return rows


def score(path: Path, hand_name: str) -> tuple[int, int, list[str], Counter[str]]:
    hand = load_mapping(hand_name)
    hand_raw = tomllib.loads((REPO / "mappings" / f"{hand_name}.toml").read_text("utf-8"))
    text = render(propose(survey(path)), "draft")
    draft_raw = tomllib.loads(text)
    left = [f for f in REQUIRED_FIELDS if draft_raw["fields"][f] == {"value": ""}]
    for name in left:
        draft_raw["fields"][name] = hand_raw["fields"][name]
    draft = mapping_from_dict(draft_raw, "draft", "draft")
    filled = correct = 0
    missed: Counter[str] = Counter()
    for want, got in zip(_values(path, hand), _values(path, draft), strict=False):
        for name, value in want.items():
            if name == "images" and not value:
                continue
            filled += 1
            if got.get(name) == value:
                correct += 1
            else:
                missed[name] += 1
    return filled, correct, left, missed


def main() -> None:
    print(machine.describe())
    total_filled = total_correct = 0
    shares: list[float] = []
    for path, hand in cases():
        filled, correct, left, missed = score(path, hand)
        total_filled += filled
        total_correct += correct
        shown = path.relative_to(SAMPLES) if path.is_relative_to(SAMPLES) else path.name
        if not filled:
            print(f"     -            {shown}: the hand-written {hand} makes no listing of it")
            continue
        share = correct / filled
        shares.append(share)
        print(f"{share:6.1%}  {correct:4}/{filled:<4} {shown} (hand-written: {hand})")
        if left:
            print(f"        left open by the draft: {', '.join(left)}")
        if missed:
            print("        missed: " + ", ".join(f"{k} {n}" for k, n in missed.most_common(8)))
    share = total_correct / total_filled if total_filled else 0.0
    print(f"all: {share:.1%} of {total_filled} field values the hand-written mappings fill")
    print(f"mean of the files' shares: {sum(shares) / len(shares):.1%} over {len(shares)} files")


if __name__ == "__main__":
    main()
