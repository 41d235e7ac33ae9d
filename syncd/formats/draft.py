"""``syncd mapping new``: a first mapping file, proposed from a sample export's survey.

Each canonical field is matched to the field path whose name says it (Swedish, English,
German, French, Italian and Spanish words) and whose values have its shape (a postcode, a
price, an area, an e-mail ...). The draft is a commented TOML file that loads as it is;
every guess and every field left open is marked, so an operator knows what to check.
Pure: takes a ``Survey``, returns text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from syncd.formats.draft_words import (
    CAPTION_NAMES,
    HOUSING_WORDS,
    IMAGE_FILE,
    IMAGE_NAMES,
    NAMES,
    NON_WORD,
    SHAPES,
    STATUS_WORDS,
    TENURE_WORDS,
    TEXT,
    all_of,
)
from syncd.formats.survey import FieldPath, Survey, numbered_columns


@dataclass(frozen=True)
class Choice:
    """A canonical field and the path it was matched to, with the words for the comment."""

    field: str
    path: str
    why: str
    extra: dict[str, object] = dataclasses.field(default_factory=dict)  # beside expr


@dataclass
class Draft:
    """The proposal: what each canonical field reads, the images, and what is left."""

    survey: Survey
    choices: list[Choice]
    images: dict[str, object] | None
    left: list[str]
    unused: list[FieldPath]


def _steps(path: str) -> list[str]:
    return [
        NON_WORD.sub("_", s.split(":")[-1].lstrip("@").lower()).strip("_") for s in path.split("/")
    ]


LANGUAGES = ("sv", "en")  # a text in several languages: Swedish first, then English


def _name_score(canonical: str, path: str) -> float:
    """3 for the exact word (earlier words in ``NAMES`` a little more), 2 for a word in a
    longer name, 0 for none."""
    words = NAMES.get(canonical, ())
    steps = _steps(path)
    last = steps[-1]
    if len(steps) > 1 and steps[-2] in words:
        if last in ("value", "text", "amount"):
            last = steps[-2]
        elif canonical == "energy_class" and last in ("consumption", "class", "rating"):
            return 2.5
        elif last in LANGUAGES:  # desc/en, title/sv
            return 3 - LANGUAGES.index(last) / 10 - words.index(steps[-2]) / 1000
    if last in words:
        return 3 - words.index(last) / 1000
    tokens = set(last.split("_"))
    if any(w in tokens for w in words if len(w) > 2):
        return 2
    return 0


def propose(survey: Survey) -> Draft:
    """Match canonical fields to the survey's paths; one path serves one field."""
    single = [f for f in survey.fields if f.most_per_record <= 1 or survey.format == "csv"]
    taken: set[str] = set()
    choices: list[Choice] = []
    left: list[str] = []
    for canonical in NAMES:
        best: tuple[float, FieldPath] | None = None
        for item in single:
            if item.path in taken or not item.filled:
                continue
            score = _name_score(canonical, item.path)
            if not score:
                continue
            shape = SHAPES.get(canonical)
            if shape is not None and not shape(item.values):
                continue
            rank = score + survey.fill(item)
            if best is None or rank > best[0]:
                best = (rank, item)
        if best is None:
            left.append(canonical)
            continue
        item = best[1]
        taken.add(item.path)
        choices.append(
            Choice(
                canonical,
                item.path,
                f"fill {survey.fill(item):.0%}, e.g. {', '.join(map(repr, item.examples))}",
                _extra(canonical, item),
            )
        )
    _house_number(survey, choices, taken)
    _from_header(survey, choices, left)
    _key_fallback(survey, choices, left, taken)
    images = _images(survey, taken)
    unused = [f for f in survey.fields if f.path not in taken and f.filled]
    return Draft(survey, choices, images, left, unused)


HOUSE_NUMBER_NAMES = ("hausnummer", "husnummer", "house_number", "street_number", "numero", "nr")


def _house_number(survey: Survey, choices: list[Choice], taken: set[str]) -> None:
    """A street given without its number: the number field beside it joins it."""
    for index, choice in enumerate(choices):
        if choice.field != "address.street":
            continue
        parent = choice.path.rpartition("/")[0]
        for item in survey.fields:
            if (
                item.path not in taken
                and item.path.rpartition("/")[0] == parent
                and _steps(item.path)[-1] in HOUSE_NUMBER_NAMES
            ):
                taken.add(item.path)
                template: dict[str, object] = {"template": f"{{{choice.path}}} {{{item.path}}}"}
                why = f"{choice.why}; with the number from {item.path!r}"
                choices[index] = Choice(choice.field, choice.path, why, template)
        return


HOLDERS = ("agent", "agency", "anbieter", "office", "branch", "company", "makler", "broker")
HEADER_FIELDS = ("agency_key", "broker.name", "broker.email", "broker.phone")


def _from_header(survey: Survey, choices: list[Choice], left: list[str]) -> None:
    """The agency (and its contact, when the records have none) from the file's header:
    an id under an agent/anbieter/office element, or a field named like an agency key."""
    for canonical in [c for c in HEADER_FIELDS if c in left]:
        ranked: list[tuple[float, FieldPath]] = []
        for item in survey.outside:
            steps = _steps(item.path.split("::", 1)[1])
            score = _name_score(canonical, item.path)
            if canonical == "agency_key" and not score:
                held = any(h in step for step in steps[:-1] for h in HOLDERS)
                score = 1.0 if held and steps[-1] in ("id", "anid", "nr", "code", "ref") else 0
            shape = SHAPES.get(canonical)
            if score and (shape is None or shape(item.values)):
                ranked.append((score, item))
        if ranked:
            item = max(ranked, key=lambda pair: pair[0])[1]
            left.remove(canonical)
            why = f"from the file's header, e.g. {', '.join(map(repr, item.examples))}"
            choices.append(Choice(canonical, item.path, why))


def _extra(canonical: str, item: FieldPath) -> dict[str, object]:
    """A map for the enumerations, from the sample's own values."""
    if canonical == "status":
        return _word_map(item.values, STATUS_WORDS, "for_sale")
    if canonical == "housing_form":
        return _word_map(item.values, HOUSING_WORDS, "other")
    if canonical == "tenure":  # no catch-all: a value the map lacks is an error to see
        return {"map": _word_map(item.values, TENURE_WORDS, "")["map"]}
    if canonical == "description" and any("<" in v for v in item.values):
        return {"html": True}
    return {}


def _word_map(
    values: Sequence[str], words: dict[str, tuple[str, ...]], otherwise: str
) -> dict[str, object]:
    seen = sorted({v.strip().lower() for v in values if v.strip()})
    table: dict[str, str] = {}
    for value in seen:
        for canonical, known in words.items():
            if any(w in value for w in known):
                table[value] = canonical
                break
    return {"map": table, "map_default": otherwise}


def _key_fallback(survey: Survey, choices: list[Choice], left: list[str], taken: set[str]) -> None:
    """No path named like a key: the first always-filled path whose values are all distinct."""
    if "listing_key" not in left:
        return
    for item in survey.fields:
        if (
            item.path not in taken
            and item.filled == survey.record_count
            and survey.record_count > 1
            and len(set(item.values)) == len(item.values)
        ):
            left.remove("listing_key")
            taken.add(item.path)
            choices.insert(0, Choice("listing_key", item.path, "GUESS: every value distinct"))
            return


def _images(survey: Survey, taken: set[str]) -> dict[str, object] | None:
    if survey.format == "csv":
        return _csv_images(survey, taken)
    urls = [
        f
        for f in survey.fields
        if f.path not in taken
        and all_of(lambda v: bool(IMAGE_FILE.search(v)))(f.values)
        and (f.most_per_record > 1 or any(s in IMAGE_NAMES for s in _steps(f.path)))
    ]
    if not urls:
        return None
    url = max(urls, key=lambda f: (f.filled, f.most_per_record))
    taken.add(url.path)
    steps = url.path.split("/")
    # The repeated element: the first step of the URL's path that occurs many times a record.
    each_depth = min(
        (d for d in range(1, len(steps) + 1) if survey.repeating.get("/".join(steps[:d]))),
        default=len(steps),
    )
    each = "/".join(steps[:each_depth])
    group: dict[str, object] = {"each": each, "url": "/".join(steps[each_depth:]) or "."}
    for item in survey.fields:
        if item.path.startswith(each + "/") and item.path not in taken:
            rest = item.path[len(each) + 1 :]
            if _steps(rest)[-1] in CAPTION_NAMES and TEXT(item.values):
                group["caption"] = rest
                taken.add(item.path)
                break
    return group


def _csv_images(survey: Survey, taken: set[str]) -> dict[str, object] | None:
    names = [f.path for f in survey.fields]
    by_name = {f.path: f for f in survey.fields}
    for stem, numbers in numbered_columns(names).items():
        if not any(w in _steps(stem)[-1].split("_") or w == _steps(stem)[-1] for w in IMAGE_NAMES):
            continue
        columns = [n for n in names if n.startswith(stem) and n[len(stem) :].isdigit()]
        values = [v for n in columns for v in by_name[n].values]
        if not all_of(lambda v: bool(IMAGE_FILE.search(v)) or v.startswith("http"))(values):
            continue
        width = len(columns[0]) - len(stem)
        index = "{n:0%d}" % width if columns[0][len(stem)] == "0" else "{n}"  # noqa: UP031
        taken.update(columns)
        return {"repeat": max(numbers) - min(numbers) + 1, "start": min(numbers),
                "url": stem + index}  # fmt: skip
    return None


# --- the TOML text ----------------------------------------------------------------------------


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        items = (f"{_key(str(k))} = {_toml(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml(name)


def render(draft: Draft, name: str) -> str:
    """The draft as a commented mapping file that loads as it is."""
    survey = draft.survey
    out = [
        f"# Draft mapping {name!r}, written by 'syncd mapping new' from {survey.path.name}",
        f"# ({survey.record_count} record(s)). Every line is a guess from field names and",
        "# values: check each against the export's documentation, then run",
        f"#   syncd check {survey.path.name} --mapping <this file>",
        "# Reference: docs/mappings.md.",
        "",
        "[mapping]",
        f"name = {_toml(name)}",
        f"format = {_toml(survey.format)}",
    ]
    if survey.record:
        out.append(f"record = {_toml(survey.record)}")
    if survey.namespaces:
        out.append(f"namespaces = {_toml(survey.namespaces)}")
    out += [
        '# GUESS: incremental (absence removes nothing). Set "full" only if every file lists',
        "# every current listing: listings missing from a full export are unpublished.",
        'mode = "incremental"',
        "",
        "[fields]",
    ]
    chosen = {c.field: c for c in draft.choices}
    for canonical in NAMES:
        choice = chosen.get(canonical)
        if choice is None:
            continue
        spec: dict[str, object] = (
            dict(choice.extra)
            if "template" in choice.extra
            else {"expr": choice.path, **choice.extra}
        )
        if canonical == "listing_key":
            spec["required"] = True
        out.append(f"# GUESSED from the name {choice.path!r}: {choice.why}")
        out.append(f"{_key(canonical)} = {_toml(spec)}")
    for canonical, constant, why in (
        ("listing_key", None, "no field looks like the listing's own reference"),
        ("agency_key", "default", "one agency for the whole file"),
        ("status", "for_sale", "every record is for sale"),
        ("address.street", None, "no street found"),
    ):
        if canonical in chosen:
            continue
        out.append(f"# LEFT: {why}; say where it comes from")
        if constant is None:
            out.append(f'{_key(canonical)} = {{ value = "" }}  # TODO')
        else:
            out.append(f"{_key(canonical)} = {{ value = {_toml(constant)} }}")
    if draft.images:
        out += ["", "# GUESSED: the image URLs", "[[images]]"]
        out += [f"{k} = {_toml(v)}" for k, v in draft.images.items()]
    optional = [c for c in draft.left if c not in ("listing_key", "address.street")]
    if optional:
        out += ["", "# Not found in the sample (add them if the export has them):"]
        out += [f"#   {c}" for c in optional]
    if draft.unused:
        out += ["", "# Fields of the sample no line above reads (fill rate, examples):"]
        out += [
            f"#   {f.path}  {survey.fill(f):.0%}  {', '.join(map(repr, f.examples))}"
            for f in draft.unused
        ]
    return "\n".join(out) + "\n"
