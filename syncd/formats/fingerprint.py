"""Fingerprints of export records, so that a record read before and unchanged since is
taken without being read again (most of a CRM's export is the same every time).

A record's fingerprint is a digest of everything its listing is made from: the record
itself (an XML record's element as bytes, a CSV row's bytes with its file's encoding,
delimiter and header, a BLM row's cells with its file's header), for
XML the values of its identity fields (key, agency, agency name and number: these may be
read from outside the record; a CSV row's are read from the row alone), the mapping (its
whole spec), the code that turns records into listings (the source of ``syncd.formats``
and ``syncd.core``, Python's and lxml's versions), what the caller adds (the config's
default agency) and, for a mapping that could see ``$today``, the date (an XML mapping
using it is never fingerprinted: see can_fingerprint).
A change to any of these gives another fingerprint, and the record is read again.
Decides nothing about what is stored; no I/O but reading syncd's own source once per
process.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from hashlib import sha256
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import Any

import orjson
from lxml import etree

from syncd.core.packed_keys import KeyPositions
from syncd.formats.csv_lines import BlockFinder, RowFinder
from syncd.formats.csv_reader import TabularRecord
from syncd.formats.mapping import IDENTITY_FIELDS, Expr, Mapping
from syncd.formats.values import Record
from syncd.formats.xml_reader import XmlRecord

# IDENTITY_FIELDS are read for every record, unchanged or not, so they are in the
# fingerprint as values: an XML mapping may read them from outside the record (OpenImmo's
# agency is its <anbieter>'s).

# An XPath that may read outside its record: another fingerprint would then be needed than
# the record's own bytes. Over-cautious on purpose (an element named "parent" matches): a
# false match only means the mapping's records are always read.
_OUTSIDE = re.compile(
    r"ancestor|parent|preceding|following|\.\.|\$|\bid\s*\(|document\s*\(|key\s*\("
    r"|(?:^|[(\[,|=<>!+*\s])/"
)
# The code that turns a record into its stored listing: reading and mapping (formats), the
# domain and its rules (core), and ingest's own choices for a record (usecases/ingest: the
# agency a record falls back to, its stored form). A row found unread keeps the listing
# this code stored from it, so a change anywhere here must have it read again.
_CODE_PACKAGES = ("formats", "core", "usecases/ingest")
_DIGEST = methodcaller("digest")
_FIRST_16 = itemgetter(slice(0, 16))  # a row's fingerprint: its sha256's first 16 bytes


def _row_bytes_digest(prefix: bytes, row: bytes) -> bytes:
    """A CSV row's fingerprint by its bytes, after its file's form's ``prefix``
    (``Fingerprints.block_finder`` makes the same, C-level, for a block of rows)."""
    return sha256(prefix + row).digest()[:16]


@functools.cache
def code_digest() -> bytes:
    """A digest of the code that turns records into listings: an upgrade that changes it
    makes every record be read again."""
    return digest_of_code(Path(__file__).resolve().parent.parent)


def digest_of_code(root: Path) -> bytes:
    """``code_digest`` of the syncd package at ``root``."""
    digest = hashlib.sha256()
    # What the code runs on reads records too (libxml2's text, Python's str methods).
    digest.update(repr((sys.version_info[:3], etree.LXML_VERSION, etree.LIBXML_VERSION)).encode())
    sources = [path for package in _CODE_PACKAGES for path in (root / package).rglob("*.py")]
    for path in sorted(sources):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    if not sources:
        # Installed without its source: no way to see an upgrade, so records are taken
        # unread only within this process's life (nothing it stored is trusted after it).
        digest.update(os.urandom(16))
    return digest.digest()


def _stays_inside(expr: Expr) -> bool:
    return not isinstance(expr, str) or _OUTSIDE.search(expr) is None


def _expressions(mapping: Mapping) -> Iterable[Expr]:
    """Every expression a listing is read with, but the identity fields'."""
    for typed in (mapping, *mapping.types.values()):
        for name, spec in typed.fields.items():
            if name not in IDENTITY_FIELDS:
                yield from spec.expressions()
        for group in (*typed.images, *typed.viewings):
            if group.each is not None:
                yield group.each
            for spec in group.fields.values():
                yield from spec.expressions()


def can_fingerprint(mapping: Mapping) -> bool:
    """Whether a record of ``mapping`` is all its listing is made from (with its identity):
    not for partial records (laid over the stored listing), nor XML read from outside."""
    if any(typed.partial is not None for typed in (mapping, *mapping.types.values())):
        return False
    return mapping.format != "xml" or all(_stays_inside(e) for e in _expressions(mapping))


class Fingerprints:
    """Fingerprints of one file's records; ``known(key)`` is the fingerprint stored for a
    listing (None: none), to tell which records are unchanged."""

    def __init__(
        self,
        mapping: Mapping,
        known: Callable[[str], str | None],
        context: str = "",
        today: date | None = None,
        *,
        any_known: bool = True,
        owner: Callable[[bytes], tuple[str, int] | None] | None = None,
        keys: KeyPositions | None = None,
        rows_of: Callable[[bytes], array[int]] | None = None,
    ) -> None:
        self.known = known
        self.any_known = any_known  # False: ``known`` has none (a first export)
        # The listing whose record has this row fingerprint (``row_digest``), if any: a CSV
        # row found there is taken unread before any of it is read, its identity included.
        self.owner = owner
        # The keys ``owner``'s rows are positions in: the parse's keys start from them.
        if (owner is None) != (keys is None):
            raise ValueError("an owner of row digests comes with the keys its rows place")
        self.keys = keys
        # ``owner``'s row of each of many digests at once (-1: none): a block of rows.
        self.rows_of = rows_of
        salt = hashlib.sha256(code_digest())
        salt.update(repr(mapping).encode())
        salt.update(b"\0" + context.encode())
        if "$" in repr(mapping):  # an expression that can see $today
            salt.update(b"\0" + (today or date.today()).isoformat().encode())
        self._salt = salt
        self._layouts: dict[int, tuple[object, Any]] = {}
        self._last: tuple[object, Any] | None = None
        self._digested: tuple[object, bytes] = (None, b"")
        self._forms: dict[bytes, bytes] = {}

    def of(self, record: Record, identity: Sequence[Any]) -> str | None:
        """The record's fingerprint (hex), or None for a record of no known kind."""
        if isinstance(record, XmlRecord):
            digest = self._salt.copy()
            digest.update(etree.tostring(record.element, with_tail=False))
        elif isinstance(record, TabularRecord):
            return self.row_digest(record).hex()
        else:
            return None
        digest.update(orjson.dumps([None if v is None else str(v) for v in identity]))
        return digest.hexdigest()[:32]

    def row_digest(self, record: TabularRecord) -> bytes:
        """A row's fingerprint (16 bytes): a CSV row's bytes with its file's form
        (encoding, delimiter and header), a BLM row's cells with its file's header. Its
        identity is not in it: a row's identity fields are read from the row alone (with
        the mapping and the context, in the salt), so equal digests mean equal
        identities, and a row can be looked up by its digest before anything is read
        from it."""
        if record is self._digested[0]:  # a row not found is digested once, not twice
            return self._digested[1]
        if record.raw is not None:
            whole = self._bytes_digest(record.form, record.raw)
        else:
            digest = self._with_layout(record.columns)
            # orjson's JSON array keeps cell boundaries unambiguous (a cell holding the
            # separator of a plain join would make two rows one).
            digest.update(orjson.dumps(record.row))
            whole = digest.digest()[:16]
        self._digested = (record, whole)
        return whole

    def row_finder(self, form: bytes) -> RowFinder | None:
        """What finds a CSV row of a file of this form by its bytes alone (csv_lines), or
        None when no row can be found (no owners kept, or a first export)."""
        owner = self.owner
        if owner is None or not self.any_known:
            return None
        prefix = self._form_prefix(form)

        def find(row: bytes) -> tuple[str, bytes, int] | None:
            whole = _row_bytes_digest(prefix, row)
            found = owner(whole)
            return None if found is None else (found[0], whole, found[1])

        return find

    def block_finder(self, form: bytes) -> BlockFinder | None:
        """What finds many CSV rows of a file of this form at once (csv_lines): their
        digests (``row_finder``'s, back to back) and ``owner``'s row of each (-1: none),
        every step C-level: a re-dropped export's found rows cost no Python each."""
        rows_of = self.rows_of
        if self.owner is None or rows_of is None or not self.any_known:
            return None
        add_prefix = self._form_prefix(form).__add__

        def find_block(rows: list[bytes]) -> tuple[array[int], bytes]:
            digests = map(_FIRST_16, map(_DIGEST, map(sha256, map(add_prefix, rows))))
            whole = b"".join(digests)
            return rows_of(whole), whole

        return find_block

    def _bytes_digest(self, form: bytes, row: bytes) -> bytes:
        # The same digest as row_finder's ``find`` and block_finder's: a row read is found
        # by it next time.
        return _row_bytes_digest(self._form_prefix(form), row)

    def _form_prefix(self, form: bytes) -> bytes:
        """What a CSV row's bytes are digested after: the salt and the file's form, digested
        (32 bytes, not the salt's state copied: a block of rows is digested C-level)."""
        found = self._forms.get(form)
        if found is None:
            salted = self._salt.copy()
            salted.update(b"\0csv bytes\0%d\0" % len(form) + form)
            found = self._forms[form] = salted.digest()
        return found

    def _with_layout(self, columns: dict[str, int]) -> Any:
        """The salt with the file's header (the same object for every row of a file)."""
        last = self._last
        if last is not None and last[0] is columns:  # every row of a file after its first
            return last[1].copy()
        found = self._layouts.get(id(columns))
        if found is None or found[0] is not columns:
            salted = self._salt.copy()
            salted.update(orjson.dumps(sorted(columns.items())))
            found = self._layouts[id(columns)] = (columns, salted)
        self._last = found
        return found[1].copy()
