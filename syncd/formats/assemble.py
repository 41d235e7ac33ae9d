"""Build one canonical ``Listing`` from one export record, as its mapping says.

Reads every field through its compiled reader (``field_plan``), the groups through
``groups``, converts money to SEK, and builds the listing (``canonical``); a partial record
becomes a patch instead. Every failure becomes a ``Problem`` naming field, value and reason.
Knows no file formats: records come from the readers through the small ``Record`` protocol.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from syncd.core.domain import Image, Listing, Problem, Viewing
from syncd.formats.canonical import DEFAULTS, build_listing
from syncd.formats.field_plan import Constant, Reader, field_reader, in_layout, settled
from syncd.formats.groups import Groups
from syncd.formats.mapping import FIELD_KINDS, IDENTITY_FIELDS, MONEY_FIELDS, Mapping
from syncd.formats.values import REQUIRED_EMPTY, FieldValues, Record

__all__ = ["Assembled", "Assembler", "Record"]


# Not frozen: one is made per record, and a frozen dataclass's __init__ (object.__setattr__
# per field) cost 1.5 µs against 0.4. Read, never changed, by parse.
@dataclass(slots=True)
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
    # A whole record's identity fields as read (IDENTITY_FIELDS order), for its fingerprint.
    identity: tuple[Any, ...] = ()


class Assembler:
    """Turns records into listings for one mapping (holds nothing between records but what
    the records' shared layout says: which columns a file lacks)."""

    def __init__(self, mapping: Mapping, *, exact_filled: bool = False) -> None:
        self.mapping = mapping
        self.exact_filled = exact_filled  # ``filled`` leaves out default-filled fields
        values = FieldValues(mapping)
        self._values = values
        # Resolved once: the per-record loop then does no kind lookups or template parsing.
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
            (name, field_reader(values, name, FIELD_KINDS[name], spec))
            for name, spec in mapping.fields.items()
        ]
        self._mode = field_reader(values, "mode", "mode", mapping.mode)
        self._partial_flag = (
            None
            if mapping.partial is None
            else field_reader(values, "partial", "bool", mapping.partial)
        )
        self._groups = Groups(values)
        # For records of one layout (a CSV header): the readers with every field whose columns
        # the file lacks settled once (and the groups' members that are always empty).
        self._layout: object = None
        self._live = self._readers
        self._base, self._reading = _split(self._live)
        # Where the identity fields' readers are among them (see identity).
        self._identity_at = [
            n for n, (name, _read) in enumerate(self._readers) if name in IDENTITY_FIELDS
        ]

    def _settle(self, record: Record) -> None:
        """Read what a file lacks once per layout, not once per row (bild_1..bild_50 when it
        has three pictures): a reader of absent columns gives the same every time; and the
        others read their cell by its position in the layout."""
        absent = getattr(record, "absent", None)  # only tabular records know their columns
        layout = getattr(record, "layout", None)
        if absent is None or layout is None:
            if self._live is not self._readers:
                self._live = self._readers
                self._base, self._reading = _split(self._live)
            self._layout = None
            self._groups.settle(None)
            return
        if layout is self._layout:
            return
        self._layout = layout
        column = getattr(record, "column", None)
        self._live = [
            (name, in_layout(settled(read, name, self.mapping.fields[name], absent), column))
            for name, read in self._readers
        ]
        self._base, self._reading = _split(self._live)
        self._groups.settle(absent, column)

    def mode(self, record: Record) -> str:
        """'full' or 'incremental', from the mapping (a constant or the first record)."""
        found = self._mode(record, "mode", [])
        return str(found or "full")

    def identity(self, record: Record) -> tuple[dict[str, Any], list[Problem]]:
        """The identity fields alone (key, agency, its name and number), read as
        ``assemble`` reads them: what a record taken unchanged still says."""
        out: list[Problem] = []
        self._settle(record)
        narrow = getattr(record, "for_identity", None)  # XML: a walk over just these
        source = record if narrow is None else narrow()
        live = self._live
        found = {}
        for n in self._identity_at:
            name, read = live[n]
            found[name] = read(source, name, out)
        return found, out

    # --- one listing ---------------------------------------------------------------

    def assemble(self, record: Record) -> Assembled:
        out: list[Problem] = []
        self._settle(record)
        # Every field in the mapping's order: the constants as settled, then the rest read
        # in that order (a constant reports nothing, so the problems' order is the same).
        v = self._base.copy()
        for name, read in self._reading:
            v[name] = read(record, name, out)
        images = self._groups.images(record, out)
        viewings = self._groups.viewings(record, out)
        partial = self._is_partial(record, out)
        filled = self._filled(record, v, partial, bool(images), bool(viewings))
        key = v.get("listing_key")
        agency = v.get("agency_key")
        # Most records report nothing: no generator over an empty list for them.
        ignored = next((p.reason for p in out if p.severity == "ignored"), None) if out else None
        if ignored is not None:
            return Assembled(None, key, agency, frozenset(filled), [], ignored=ignored)
        self._in_sek(v, out)
        if partial:
            return self._partial(key, v, filled, images, viewings, out)
        return self._whole(v, frozenset(filled), images, viewings, out)

    def _filled(
        self, record: Record, v: dict[str, Any], partial: bool, images: bool, viewings: bool
    ) -> set[str]:
        """The canonical fields the record gave a value, and "images", "viewings"."""
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
        return filled

    def _whole(
        self,
        v: dict[str, Any],
        filled: frozenset[str],
        images: list[Image],
        viewings: list[Viewing],
        out: list[Problem],
    ) -> Assembled:
        """A whole record's listing; None when a field or the listing has an error."""
        key = v.get("listing_key")
        agency = v.get("agency_key")
        status = v.get("status")
        if status is None and not any(p.field == "status" for p in out):
            out.append(Problem("status", None, "no status (map it or give a default)"))
        named = v.get("agency.name"), v.get("agency.organisation_number")
        if status is None or (out and any(p.severity == "error" for p in out)):
            return Assembled(None, key, agency, filled, out, *named)
        identity = tuple(map(v.get, IDENTITY_FIELDS))  # as identity() reads them
        listing = build_listing(v, images, viewings, out, self.mapping.limits)
        usable = not out or not any(p.severity == "error" for p in out)
        return Assembled(
            listing if usable else None,
            listing.listing_key or key,
            agency,
            filled,
            out,
            *named,
            identity=identity,
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
            if name in carried and self._values.raw(record, spec) is None:
                carried.discard(name)
        return carried

    def _is_partial(self, record: Record, out: list[Problem]) -> bool:
        if self._partial_flag is None:
            return False
        return bool(self._partial_flag(record, "partial", out))

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


def _split(
    readers: list[tuple[str, Reader]],
) -> tuple[dict[str, Any], list[tuple[str, Reader]]]:
    """The values of the readers that are constants (every field, in order, the others
    None), and the readers that read the record."""
    base = {name: read.value if isinstance(read, Constant) else None for name, read in readers}
    return base, [(name, read) for name, read in readers if not isinstance(read, Constant)]
