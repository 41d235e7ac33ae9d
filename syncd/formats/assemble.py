"""Build one canonical ``Listing`` from one export record, as its mapping says.

Applies the transforms, then ``domain.normalise`` and ``domain.problems``; every failure
becomes a ``Problem`` naming field, value and reason. Knows no file formats: records come
from the readers through the small ``Record`` protocol.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol

from syncd.domain import (
    Address,
    BillingInformation,
    Broker,
    Coordinates,
    HousingForm,
    Image,
    ImageRight,
    ImageRightTerms,
    Listing,
    ListingStatus,
    PhotoAgency,
    Problem,
    Sale,
    SellerInformation,
    SellerType,
    Tenure,
    Viewing,
    normalise,
    problems,
)
from syncd.formats import transforms
from syncd.formats.field_plan import (
    REQUIRED_EMPTY,
    SECRET_FIELDS,
    IgnoredRecord,
    Reader,
    field_reader,
    read_text,
)
from syncd.formats.mapping import (
    ENUMS,
    FIELD_KINDS,
    IGNORE,
    IMAGE_KINDS,
    MONEY_FIELDS,
    VIEWING_KINDS,
    Expr,
    FieldSpec,
    GroupSpec,
    Mapping,
    expand_repeat,
)

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# The key of a patch's values that only a default or a constant gave (see _partial).
DEFAULTS = "@defaults"
# Template, concat and first_of parts: an element holding elements is refused there too.
_PARTS = FieldSpec()
# SECRET_FIELDS (values never repeated in problems, logs or reports) lives in field_plan.
__all__ = ["SECRET_FIELDS", "Assembled", "Assembler", "Record", "build_listing", "merge_partial"]
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}")
_ABSOLUTE = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
# str.isalnum() as a regex (\w without the underscore): one C call instead of a generator.
_ALNUM = re.compile(r"[^\W_]")
_BLANKS = re.compile(r"[ \t]{2,}")
# Enum values by their lower-case spelling, built once rather than per converted value.
_FOLDED_ENUMS = {name: {a.lower(): a for a in allowed} for name, allowed in ENUMS.items()}


class Record(Protocol):
    """What a reader hands over: values of an expression, and repeated sub-records."""

    def values(self, expr: Expr) -> list[str]: ...

    def each(self, expr: str) -> Sequence[Record]: ...


class _Indexed:
    """A tabular record seen through one repeat index n ("bild_{n}" -> "bild_3")."""

    __slots__ = ("cache", "n", "record")

    def __init__(self, record: Record, n: int, cache: dict[tuple[Expr, int], Expr]) -> None:
        self.record = record
        self.n = n
        self.cache = cache  # shared by all records: expanding names per row is costly

    def values(self, expr: Expr) -> list[str]:
        name = self.cache.get((expr, self.n))
        if name is None:
            name = self.cache[(expr, self.n)] = expand_repeat(expr, self.n)
        return self.record.values(name)

    def each(self, expr: str) -> Sequence[Record]:
        return []


_MemberReaders = tuple[Reader, tuple[tuple[str, Reader], ...]]  # main field's, the others'


@dataclass(frozen=True, slots=True)
class _GroupPlan:
    """A group's fields compiled: ``numbered`` has one set of readers per n when the
    columns' names can be put in once (no templates), else members go through _Indexed."""

    group: GroupSpec
    main: str
    readers: _MemberReaders
    numbered: tuple[_MemberReaders, ...]
    main_specs: tuple[FieldSpec, ...]  # of each numbered member's main field
    # member position -> the names its fields' problems carry ("images[3]", "images[3].url", ...),
    # made once: a CSV row has ~50 image members, mostly empty, and formatting cost per row.
    names: dict[int, tuple[str, str, tuple[str, ...]]] = dataclasses.field(default_factory=dict)

    def member_names(self, kind: str, position: int) -> tuple[str, str, tuple[str, ...]]:
        """``where``, the main field's name and the other fields' names of one member."""
        found = self.names.get(position)
        if found is None:
            where = f"{kind}[{position}]"
            rest = tuple(f"{where}.{name}" for name, _read in self.readers[1])
            found = self.names[position] = (where, f"{where}.{self.main}", rest)
        return found


class _Nothing:
    """A record in which every expression is empty: what the columns a file lacks give."""

    def values(self, expr: Expr) -> list[str]:
        return []

    def each(self, expr: str) -> Sequence[Record]:
        return []


_NOTHING = _Nothing()


def _lacks_all(spec: FieldSpec, absent: Callable[[Expr], bool]) -> bool:
    expressions = spec.expressions()
    return spec.value is None and bool(expressions) and all(absent(e) for e in expressions)


def _settled(read: Reader, name: str, spec: FieldSpec, absent: Callable[[Expr], bool]) -> Reader:
    """``read``, or its constant result when every column it reads is absent and reading
    nothing reports nothing (a required field still reports itself on every record)."""
    if not _lacks_all(spec, absent):
        return read
    out: list[Problem] = []
    value = read(_NOTHING, name, out)
    if out:
        return read
    return lambda _record, _name, _out: value


def _always_empty(read: Reader, name: str, spec: FieldSpec, absent: Callable[[Expr], bool]) -> bool:
    """Whether a group member's main field is empty on every record of the layout."""
    if not _lacks_all(spec, absent):
        return False
    out: list[Problem] = []
    return read(_NOTHING, name, out) is None and not out


def _image_right(v: MappingABC[str, Any]) -> ImageRight | None:
    """The right when the record gives any part of it (normalise drops an empty one)."""
    terms, agency = v.get("image_right.terms"), v.get("image_right.photo_agency")
    return ImageRight(
        terms=ImageRightTerms(terms) if terms else None,
        photo_agency=PhotoAgency(agency) if agency else None,
        photo_agency_name=v.get("image_right.photo_agency_name"),
        photographer=v.get("image_right.photographer"),
    )


def _numbered(spec: FieldSpec, n: int) -> FieldSpec:
    """The spec of member n of a repeated group: "bild_{n}" -> "bild_3" in its expressions."""
    return dataclasses.replace(
        spec,
        expr=None if spec.expr is None else expand_repeat(spec.expr, n),
        concat=tuple(expand_repeat(e, n) for e in spec.concat),
        first_of=tuple(expand_repeat(e, n) for e in spec.first_of),
    )


@dataclass(frozen=True, slots=True)
class Assembled:
    listing: Listing | None
    listing_key: str | None
    agency_key: str | None
    filled: frozenset[str]  # canonical fields the record gave a value (for coverage)
    problems: list[Problem]
    agency_name: str | None = None
    agency_organisation_number: str | None = None
    # A partial record: canonical field -> value of what it carries (and "images",
    # "viewings" when it carries any). ``listing`` is then None: see merge_partial.
    patch: MappingABC[str, Any] | None = None
    ignored: str | None = None  # why the mapping ignores this record on purpose


class Assembler:
    """Turns records into listings for one mapping (holds nothing between records but what
    the records' shared layout says: which columns a file lacks)."""

    def __init__(self, mapping: Mapping, *, exact_filled: bool = False) -> None:
        self.mapping = mapping
        self.exact_filled = exact_filled  # ``filled`` leaves out default-filled fields
        self.date_formats = mapping.date_formats or transforms.DEFAULT_DATE_FORMATS
        self._names: dict[tuple[Expr, int], Expr] = {}
        # Resolved once: the per-record loop then does no kind lookups or template parsing.
        self._fields = [(name, FIELD_KINDS[name], spec) for name, spec in mapping.fields.items()]
        self._templates: dict[str, tuple[str, ...]] = {}
        self._constants = frozenset(
            n for n, spec in mapping.fields.items() if spec.value is not None
        )
        self._defaulted = [
            (n, spec)
            for n, spec in mapping.fields.items()
            if spec.value is None and spec.default is not None
        ]
        # Each field compiled once into one function per record (see field_plan).
        self._readers = [
            (name, field_reader(self, name, kind, spec)) for name, kind, spec in self._fields
        ]
        self._image_groups = [self._group_plan(g, IMAGE_KINDS) for g in mapping.images]
        self._viewing_groups = [self._group_plan(g, VIEWING_KINDS) for g in mapping.viewings]
        # For records of one layout (a CSV header): the readers with every field whose columns
        # the file lacks settled once, and the numbered group members that are always empty.
        self._layout: object = None
        self._live = self._readers
        self._dead: dict[int, frozenset[int]] = {}

    def _settle(self, record: Record) -> None:
        """Read what a file lacks once per layout, not once per row (bild_1..bild_50 when it
        has three pictures): a reader of absent columns gives the same every time."""
        absent = getattr(record, "absent", None)  # only tabular records know their columns
        layout = getattr(record, "layout", None)
        if absent is None or layout is None:
            self._layout, self._live, self._dead = None, self._readers, {}
            return
        if layout is self._layout:
            return
        self._layout = layout
        self._live = [
            (name, _settled(read, name, self.mapping.fields[name], absent))
            for name, read in self._readers
        ]
        self._dead = {
            id(plan): frozenset(
                n
                for n, (readers, spec) in enumerate(
                    zip(plan.numbered, plan.main_specs, strict=True)
                )
                if _always_empty(readers[0], plan.main, spec, absent)
            )
            for plan in (*self._image_groups, *self._viewing_groups)
        }

    # --- one value ------------------------------------------------------------------

    def _first(self, record: Record, expr: Expr) -> str | None:
        for value in record.values(expr):
            text = read_text(value, _PARTS).strip()
            if text:
                return text
        return None

    def raw(self, record: Record, spec: FieldSpec) -> Any:
        """The value before conversion: text, a typed constant, or None when empty."""
        if spec.value is not None:
            return spec.value
        text: str | None = None
        if spec.expr is not None:
            if spec.multiple == "first":
                for found_value in record.values(spec.expr):
                    stripped = read_text(found_value, spec).strip()
                    if stripped:
                        text = stripped
                        break
            else:
                values = record.values(spec.expr)
                found = [v for v in (read_text(v, spec).strip() for v in values) if v]
                text = spec.separator.join(found) if found else None
        elif spec.template is not None:
            text = self._fill_template(record, spec.template)
        elif spec.first_of:
            text = next((v for v in (self._first(record, e) for e in spec.first_of) if v), None)
        elif spec.concat:
            parts = [self._first(record, expr) for expr in spec.concat]
            text = spec.separator.join(p for p in parts if p) or None
        if text is not None and spec.html:
            text = transforms.strip_html(text).strip() or None
        if text is not None and not (text and text[0].isalnum()) and not _ALNUM.search(text):
            return None  # "-", "---", "/": CRMs write these for "none"
        return text

    def _fill_template(self, record: Record, template: str) -> str | None:
        """The template with its placeholders filled; None when every one is empty."""
        parts = self._templates.get(template)
        if parts is None:
            # split() alternates literal text and placeholder expressions: lit, expr, lit, ...
            parts = self._templates[template] = tuple(_PLACEHOLDER.split(template))
        pieces: list[str] = []
        filled = False
        for position, part in enumerate(parts):
            if position % 2 == 0:
                pieces.append(part)
                continue
            value = self._first(record, part)
            if value is not None:
                filled = True
                pieces.append(value)
        if not filled:
            return None
        return _BLANKS.sub(" ", "".join(pieces)).strip(" ,;-")

    def convert(self, name: str, kind: str, spec: FieldSpec, value: Any) -> Any:
        """Typed value of a raw value; raises ValueError with the reason."""
        if spec.map is not None and isinstance(value, str):
            key = value.strip().lower()
            raw_value = value
            if key in spec.map:
                value = spec.map[key]
            elif spec.map_default is not None:
                value = spec.map_default
            else:
                known = ", ".join(sorted(spec.map)) or "nothing"
                raise ValueError(f"{value!r} is not in the map of {name} (known: {known})")
            if value == IGNORE:
                raise IgnoredRecord(
                    f"{name} {raw_value.strip()!r}: ignored on purpose by the mapping"
                )
        if value is None or value == "":
            return None  # a map may send a value to "" to mean "leave it out"
        if kind == "text":  # the commonest kind: no further checks
            return str(value)
        dec_sep = spec.decimal_separator or self.mapping.decimal_separator
        if kind in ("enum", "mode"):
            found = _FOLDED_ENUMS[name].get(str(value).strip().lower())
            if found is None:
                allowed = ENUMS[name]
                raise ValueError(f"{value!r} is not one of {', '.join(allowed)}; add a map")
            return found
        if kind == "bool":
            return value if isinstance(value, bool) else transforms.parse_bool(str(value))
        if kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            return transforms.parse_int(str(value), dec_sep)
        if kind == "decimal":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return Decimal(str(value))
            return transforms.parse_decimal(str(value), dec_sep)
        if kind == "coordinate":
            return transforms.parse_coordinate(str(value))
        if kind == "date":
            return transforms.parse_date(str(value), spec.formats or self.date_formats)
        if kind == "order":
            # Image ids such as "front", "kitchen": the images keep their order of appearance.
            try:
                return transforms.parse_int(str(value), dec_sep)
            except ValueError:
                return None
        if kind == "end_time" and _CLOCK.fullmatch(str(value).strip()):
            hours, minutes = re.split(r"[:.]", str(value).strip())
            return time(int(hours), int(minutes))  # joined to the start's date
        if kind in ("datetime", "end_time"):
            return transforms.parse_datetime(str(value), spec.formats or self.date_formats)
        return str(value)

    def value(
        self, record: Record, name: str, kind: str, spec: FieldSpec, out: list[Problem]
    ) -> Any:
        """The converted value of one field, or None (with a Problem when that is wrong)."""
        try:
            raw = self.raw(record, spec)
        except ValueError as exc:
            out.append(Problem(name, None, str(exc)))
            return None
        try:
            result = self.convert(name, kind, spec, raw) if raw is not None else None
            if result is None and spec.default is not None:
                result = self.convert(name, kind, FieldSpec(), spec.default)
        except ValueError as exc:
            shown, reason = None if raw is None else str(raw)[:200], str(exc)
            if name in SECRET_FIELDS:
                shown, reason = "(hidden)", "not a valid value"  # never echo it
            severity = "ignored" if isinstance(exc, IgnoredRecord) else "error"
            out.append(Problem(name, shown, reason, severity))
            return None
        if result is None and spec.required:
            out.append(Problem(name, None, REQUIRED_EMPTY))
        return result

    def mode(self, record: Record) -> str:
        """'full' or 'incremental', from the mapping (a constant or the first record)."""
        found = self.value(record, "mode", "mode", self.mapping.mode, [])
        return str(found or "full")

    # --- one listing ---------------------------------------------------------------

    def assemble(self, record: Record) -> Assembled:
        out: list[Problem] = []
        v: dict[str, Any] = {}
        self._settle(record)
        for name, read in self._live:
            v[name] = read(record, name, out)
        images = self._images(record, out)
        viewings = self._viewings(record, out)
        partial = self._is_partial(record, out)
        # What the record itself carries costs a second read of defaulted fields: only for
        # partial records and for coverage (syncd check), not for every ingested record.
        if partial or self.exact_filled:
            filled = self._carried(record, v)
        else:
            filled = {name for name, value in v.items() if value is not None}
        if images:
            filled.add("images")
        if viewings:
            filled.add("viewings")
        key = v.get("listing_key")
        agency = v.get("agency_key")
        ignored = next((p.reason for p in out if p.severity == "ignored"), None)
        if ignored is not None:
            return Assembled(None, key, agency, frozenset(filled), [], ignored=ignored)
        self._in_sek(v, out)
        if partial:
            return self._partial(key, v, filled, images, viewings, out)
        status = v.get("status")
        if status is None and not any(p.field == "status" for p in out):
            out.append(Problem("status", None, "no status (map it or give a default)"))
        named = v.get("agency.name"), v.get("agency.organisation_number")
        if any(p.severity == "error" for p in out) or status is None:
            return Assembled(None, key, agency, frozenset(filled), out, *named)
        listing = build_listing(v, images, viewings, out, self.mapping.limits)
        usable = not any(p.severity == "error" for p in out)
        return Assembled(
            listing if usable else None,
            listing.listing_key or key,
            agency,
            frozenset(filled),
            out,
            *named,
        )

    def _in_sek(self, v: dict[str, Any], out: list[Problem]) -> None:
        """Money in SEK: another currency is converted at the mapping's rate, or an error."""
        currency = v.get("currency")
        if currency is None or currency.strip().upper() in ("SEK", "KR"):
            return
        code = currency.strip().upper()
        rate = self.mapping.currency_rates.get(code)
        amounts = [name for name in MONEY_FIELDS if v.get(name) is not None]
        if rate is None:
            if amounts:
                reason = (
                    f"amounts in {code}: Hemnet takes SEK; add [mapping.currency_rates] "
                    f"{code} = SEK per {code}"
                )
                out.append(Problem("currency", code, reason))
            return
        for name in amounts:
            v[name] = int((Decimal(v[name]) * rate).to_integral_value(ROUND_HALF_EVEN))
        if amounts:
            out.append(
                Problem("currency", code, f"converted to SEK at {rate} SEK/{code}", "warning")
            )

    def _carried(self, record: Record, v: dict[str, Any]) -> set[str]:
        """The fields the record itself gave a value: not those only a default or a constant
        filled (coverage counts these, and a partial record changes only these)."""
        carried = {name for name, value in v.items() if value is not None} - self._constants
        for name, spec in self._defaulted:
            if name in carried and self.raw(record, spec) is None:
                carried.discard(name)
        return carried

    def _is_partial(self, record: Record, out: list[Problem]) -> bool:
        spec = self.mapping.partial
        if spec is None:
            return False
        return bool(self.value(record, "partial", "bool", spec, out))

    def _partial(  # noqa: PLR0917
        self,
        key: str | None,
        v: dict[str, Any],
        carried: set[str],
        images: list[Image],
        viewings: list[Viewing],
        out: list[Problem],
    ) -> Assembled:
        """A record with its key and what changed: the fields it carries, to be merged
        onto the stored listing (``merge_partial``); nothing else is required of it."""
        kept = [p for p in out if p.reason != REQUIRED_EMPTY or p.field == "listing_key"]
        if not key and not any(p.field == "listing_key" for p in kept):
            kept.append(Problem("listing_key", None, "a partial record needs its listing key"))
        patch: dict[str, Any] = {name: v[name] for name in carried if name in v}
        # What only a default or a constant gives fills a field the listing has no value
        # for (a sale's price_is_public), never one it has (a status default of for_sale).
        patch[DEFAULTS] = {
            name: value for name, value in v.items() if value is not None and name not in carried
        }
        if "images" in carried:
            patch["images"] = tuple(images)
        if "viewings" in carried:
            patch["viewings"] = tuple(viewings)
        agency = patch.get("agency_key")
        if any(p.severity == "error" for p in kept):
            return Assembled(None, key, agency, frozenset(carried), kept)
        return Assembled(None, key, agency, frozenset(carried), kept, patch=patch)

    def _group_plan(self, group: GroupSpec, kinds: dict[str, str]) -> _GroupPlan:
        main = "url" if "url" in kinds else "starts_at"

        def readers(fields: MappingABC[str, FieldSpec]) -> _MemberReaders:
            compiled = {
                name: field_reader(self, name, kinds[name], spec) for name, spec in fields.items()
            }
            rest = tuple((name, read) for name, read in compiled.items() if name != main)
            return compiled[main], rest

        if group.each is not None or any(spec.template for spec in group.fields.values()):
            return _GroupPlan(group, main, readers(group.fields), (), ())
        # Columns "bild_{n}": the names of every n put in once, not looked up per row.
        specs = [
            {name: _numbered(spec, n) for name, spec in group.fields.items()}
            for n in range(group.start, group.start + group.repeat)
        ]
        numbered = tuple(readers(fields) for fields in specs)
        mains = tuple(fields[main] for fields in specs)
        return _GroupPlan(group, main, readers(group.fields), numbered, mains)

    def _members(
        self, record: Record, plan: _GroupPlan
    ) -> Iterator[tuple[Record, _MemberReaders | None]]:
        """Each member of a group with the readers of its fields (None: always empty here)."""
        group = plan.group
        if plan.numbered:
            dead = self._dead.get(id(plan), frozenset())
            for n, readers in enumerate(plan.numbered):
                yield record, None if n in dead else readers
        elif group.each is not None:
            for sub in record.each(group.each):
                yield sub, plan.readers
        else:
            names = self._names
            for n in range(group.start, group.start + group.repeat):
                yield _Indexed(record, n, names), plan.readers

    @staticmethod
    def _group_values(
        sub: Record,
        main: str,
        readers: _MemberReaders,
        names: tuple[str, str, tuple[str, ...]],
        out: list[Problem],
    ) -> dict[str, Any] | None:
        """The values of one group member, or None when its main value is empty."""
        read_main, rest = readers
        _where, main_name, rest_names = names
        first = read_main(sub, main_name, out)
        if first is None:
            return None  # most of bild_1..bild_50 are empty: skip the rest cheaply
        got: dict[str, Any] = {main: first}
        for (name, read), full_name in zip(rest, rest_names, strict=True):
            got[name] = read(sub, full_name, out)
        return got

    def _images(self, record: Record, out: list[Problem]) -> list[Image]:
        images: list[Image] = []
        position = 0  # counts every image the export names, so problems point at it
        for plan in self._image_groups:
            for sub, readers in self._members(record, plan):
                if readers is None:
                    position += 1  # an image the export's layout names, though never filled
                    continue
                names = plan.member_names("images", position)
                where = names[0]
                position += 1
                got = self._group_values(sub, plan.main, readers, names, out)
                if got is None:
                    continue
                try:
                    url, warnings = transforms.image_url(got["url"], self.mapping.base_url)
                except ValueError as exc:  # e.g. "http://[bad": one bad picture, not the file
                    out.append(Problem(f"{where}.url", got["url"], f"{exc}; left out", "warning"))
                    continue
                out.extend(Problem(f"{where}.url", got["url"], w, "warning") for w in warnings)
                if not _ABSOLUTE.match(url):
                    # A file name from a transfer ZIP: a listing without that picture is
                    # still worth publishing, so this only warns.
                    reason = "not an absolute http(s) URL and the mapping has no base_url; left out"
                    out.append(Problem(f"{where}.url", got["url"], reason, "warning"))
                    continue
                order = got.get("order")
                images.append(
                    Image(
                        url=url,
                        caption=got.get("caption"),
                        order=len(images) if order is None else order,
                        is_floor_plan=bool(got.get("floor_plan")),
                        revision=got.get("revision"),
                    )
                )
        return images

    def _viewings(self, record: Record, out: list[Problem]) -> list[Viewing]:
        viewings: list[Viewing] = []
        for plan in self._viewing_groups:
            for sub, readers in self._members(record, plan):
                if readers is None:
                    continue
                names = plan.member_names("viewings", len(viewings))
                got = self._group_values(sub, plan.main, readers, names, out)
                if got is None:
                    continue
                starts_at, ends_at = got["starts_at"], got.get("ends_at")
                if isinstance(ends_at, time):
                    ends_at = datetime.combine(starts_at.date(), ends_at)
                viewings.append(Viewing(starts_at=starts_at, ends_at=ends_at, note=got.get("note")))
        return viewings


# --- building a listing from canonical values (records and merged partial records) ---------


def build_listing(
    v: MappingABC[str, Any],
    images: Sequence[Image],
    viewings: Sequence[Viewing],
    out: list[Problem],
    limits: MappingABC[str, Decimal] | None = None,
) -> Listing:
    """The normalised listing of canonical values (``v["status"]`` must be set); adds its
    problems to ``out``."""
    status = ListingStatus(v["status"])
    listing = Listing(
        listing_key=v.get("listing_key") or "",
        agency_key=v.get("agency_key") or "",
        status=status,
        address=Address(
            street=v.get("address.street") or "",
            postal_code=v.get("address.postal_code"),
            city=v.get("address.city"),
            municipality=v.get("address.municipality"),
            apartment_number=v.get("address.apartment_number"),
        ),
        housing_form=HousingForm(v["housing_form"]) if v.get("housing_form") else None,
        tenure=Tenure(v["tenure"]) if v.get("tenure") else None,
        coordinates=_coordinates(v, out),
        asking_price=v.get("asking_price"),
        monthly_fee=v.get("monthly_fee"),
        operating_cost=v.get("operating_cost"),
        living_area=v.get("living_area"),
        supplemental_area=v.get("supplemental_area"),
        plot_area=v.get("plot_area"),
        rooms=v.get("rooms"),
        floor=v.get("floor"),
        construction_year=v.get("construction_year"),
        energy_class=v.get("energy_class"),
        new_construction=bool(v.get("new_construction") or False),
        title=v.get("title"),
        description=v.get("description"),
        images=tuple(images),
        viewings=tuple(viewings),
        broker=_broker(v, out),
        seller=_seller(v, out),
        billing=_billing(v, out),
        sale=_sale(v, status),
        image_right=_image_right(v),
    )
    listing = normalise(listing)
    out.extend(problems(listing, limits))
    return listing


def canonical_values(listing: Listing) -> dict[str, Any]:
    """The canonical fields of a listing by their mapping names (``build_listing``'s input)."""
    values: dict[str, Any] = {}
    for name in FIELD_KINDS:
        value: Any = listing
        for part in name.split("."):
            value = getattr(value, part, None)
            if value is None:
                break
        values[name] = value.value if isinstance(value, enum.Enum) else value
    return values


def merge_partial(
    base: Listing | None,
    key: str,
    patch: MappingABC[str, Any],
    limits: MappingABC[str, Decimal] | None = None,
) -> tuple[Listing | None, list[Problem]]:
    """A partial record's fields laid over the stored listing: only what it carries changes.

    Without a stored listing there is nothing to lay them on: the first record of a listing
    must carry all of it.
    """
    out: list[Problem] = []
    if base is None:
        out.append(
            Problem(
                "listing_key",
                key,
                "a partial record for a listing syncd does not know; its first record "
                "must carry the whole listing",
            )
        )
        return None, out
    v = canonical_values(base)
    v.update((name, value) for name, value in patch.items() if name in FIELD_KINDS)
    for name, value in patch.get(DEFAULTS, {}).items():
        if v.get(name) is None:
            v[name] = value
    v["listing_key"] = base.listing_key
    images = patch.get("images", base.images)
    viewings = patch.get("viewings", base.viewings)
    listing = build_listing(v, images, viewings, out, limits)
    usable = not any(p.severity == "error" for p in out)
    return (listing if usable else None), out


def _coordinates(v: MappingABC[str, Any], out: list[Problem]) -> Coordinates | None:
    lat, lon = v.get("coordinates.latitude"), v.get("coordinates.longitude")
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        out.append(
            Problem(
                "coordinates",
                f"{lat},{lon}",
                "only one of latitude and longitude is given; both are left out",
                "warning",
            )
        )
        return None
    if lat == 0 and lon == 0:
        out.append(Problem("coordinates", "0,0", "0,0 is not a real place; left out", "warning"))
        return None
    return Coordinates(lat, lon)


def _broker(v: MappingABC[str, Any], out: list[Problem]) -> Broker | None:
    name = v.get("broker.name")
    if name is None:
        if v.get("broker.email") or v.get("broker.phone"):
            out.append(
                Problem("broker.name", None, "broker contact without a name is left out", "warning")
            )
        return None
    return Broker(name=name, email=v.get("broker.email"), phone=v.get("broker.phone"))


def _seller(v: MappingABC[str, Any], out: list[Problem]) -> SellerInformation | None:
    name = v.get("seller.name")
    if name is None:
        if v.get("seller.email") or v.get("seller.identity_number"):
            out.append(
                Problem(
                    "seller.name", None, "seller information without a name is left out", "warning"
                )
            )
        return None
    kind = v.get("seller.seller_type")
    return SellerInformation(
        name=name,
        email=v.get("seller.email"),
        identity_number=v.get("seller.identity_number"),
        seller_type=SellerType(kind) if kind else None,
    )


def _billing(v: MappingABC[str, Any], out: list[Problem]) -> BillingInformation | None:
    name = v.get("billing.recipient_name")
    if name is None:
        if v.get("billing.street") or v.get("billing.city"):
            out.append(
                Problem(
                    "billing.recipient_name",
                    None,
                    "billing address without a recipient is left out",
                    "warning",
                )
            )
        return None
    return BillingInformation(
        recipient_name=name,
        street=v.get("billing.street"),
        postal_code=v.get("billing.postal_code"),
        city=v.get("billing.city"),
    )


def _sale(v: MappingABC[str, Any], status: ListingStatus) -> Sale | None:
    # A sale is near-irreversible on Hemnet: only an explicit sold status makes one.
    price, sold_on = v.get("sale.price"), v.get("sale.sold_on")
    if status is not ListingStatus.SOLD or price is None or sold_on is None:
        return None
    public = v.get("sale.price_is_public")
    return Sale(price=price, price_is_public=bool(public), sold_on=sold_on)
