"""The pass over one export file: duplicate, rejected, or parsed and accepted.

It decides which way the file goes; parsing, storing and setting aside are the other
modules' jobs. Never talks to Hemnet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from syncd.config import Config, FormatRule
from syncd.core.domain import Listing, listing_from_plain
from syncd.core.errors import ExportError
from syncd.formats import Mapping, load_mapping
from syncd.formats.fingerprint import can_fingerprint
from syncd.formats.mapping import FieldSpec
from syncd.store.engine import Store
from syncd.store.files import latest_copy_of
from syncd.store.listings import KnownRecords, desired_plain, known_records
from syncd.usecases import reprocess
from syncd.usecases.ingest.accept import accept
from syncd.usecases.ingest.archive import MAX_NAME_BYTES
from syncd.usecases.ingest.export import AlreadyTaken, IngestResult, Take
from syncd.usecases.ingest.images import probe_new_images
from syncd.usecases.ingest.parse import parse
from syncd.usecases.ingest.setaside import duplicate, reject
from syncd.usecases.ingest.spill import Spill


def ingest_file(
    store: Store, config: Config, path: Path, now: datetime, *, read_again: bool = False
) -> IngestResult:
    """Take one export file; never raises for a bad file (it is rejected, with a reason).

    ``read_again``: the file was taken before and changed where it went (its writer was not
    done); it is taken like any file, and its receipt and an event say so.

    OSError (the file vanished, a full disk) is raised: that is not the file's fault and
    the caller may try again.
    """
    sha256 = _sha256_of(path)
    take = Take(
        store, config, path, sha256, now, again=reprocess.asked(path, sha256), reread=read_again
    )
    try:
        return _ingest(take)
    finally:
        if take.again and not path.exists():
            reprocess.done(path)


def _ingest(take: Take) -> IngestResult:
    store, config, path = take.store, take.config, take.path
    with store.read() as session:
        first = latest_copy_of(session, take.sha256)
    # Only a copy of the latest export of its source is a duplicate. A copy of an older one
    # is read again (a correct export after a broken one restores the listings), and so is
    # a rejected file dropped again: the mapping or config may have been fixed. So is one
    # an operator sent back with 'syncd reprocess' (take.again).
    if first is not None and not take.again:
        return duplicate(take, first)
    name_bytes = len(os.fsencode(path.name))
    if name_bytes > MAX_NAME_BYTES:
        reason = (
            f"the file name is {name_bytes} bytes long, more than {MAX_NAME_BYTES}: "
            "too long to keep with its receipt; give the export a shorter name"
        )
        return reject(take, ExportError(reason, path.name), None)
    rule = config.format_for(path.name)
    if rule is None:
        reason = f"no [[formats]] pattern matches {path.name}"
        return reject(take, ExportError(reason, path.name), None)
    with Spill(config.paths.database.parent) as spill:
        try:
            mapping = _mapping_for(rule)
            # Not held in a local: the known records go with the parse, before the write
            # (at 100,000 listings they would stand under the write's own peak).
            known = _known_records(store, config, mapping)
            parsed = parse(path, mapping, config, spill, _stored_listing(store), known=known)
            del known
        except ExportError as error:
            return reject(take, error, rule.mapping)
        probe_new_images(take, parsed)
        try:
            return accept(take, parsed)
        except AlreadyTaken as taken:
            return duplicate(take, taken.first)


def _sha256_of(path: Path) -> str:
    # The same digest as watch.sha256_of; ingest sits below watch and must not import it.
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _mapping_for(rule: FormatRule) -> Mapping:
    mapping = load_mapping(rule.mapping_path)
    if rule.export_mode is not None:
        # The config's export_mode overrides whatever the mapping reads or assumes.
        mapping = dataclasses.replace(mapping, mode=FieldSpec(value=rule.export_mode))
    return mapping


def _known_records(store: Store, config: Config, mapping: Mapping) -> KnownRecords | None:
    """The record each listing was last read from, when unchanged records may be taken
    unread: not when their images are to be probed ([images] probe_new asks about every
    image Hemnet lacks, and only a record read names its images)."""
    if config.images.probe_new or not can_fingerprint(mapping):
        return None
    with store.read() as session:
        return known_records(session, by_digest=mapping.format != "xml")


def _stored_listing(store: Store) -> Callable[[str], Listing | None]:
    """The stored desired listing of a key: what a partial record is laid over."""

    def stored(key: str) -> Listing | None:
        with store.read() as session:
            plain = desired_plain(session, [key]).get(key)
        return None if plain is None else listing_from_plain(plain)

    return stored
