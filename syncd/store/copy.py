"""``syncd db copy``: a stopped installation's whole state, from one store into a new one.

Every table, parents before children, read in one snapshot of the source and written in one
transaction on the target: either all of it arrives (every intent, every outcome, every
event) or nothing does. Both stores are locked for the copy (the source's lock is what a
running daemon holds, so a copy beside it is refused) and both must be at the same
revision; the target must hold no row. On PostgreSQL the id sequences then continue after
the copied ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Integer,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
)

from syncd.core.errors import AlreadyRunningError, StateError
from syncd.store import migrate
from syncd.store.engine import Store, check_revision, open_store
from syncd.store.location import Database, shown
from syncd.store.lock import StateLock, take_lock
from syncd.store.portable import json_text
from syncd.store.tables import metadata

log = logging.getLogger(__name__)

COMMAND = "syncd db copy"
# Kept by the status book from the other tables: not copied. The target's triggers mark
# every listing copied into it, so its daemon's first status refresh builds them all.
DERIVED_TABLES = frozenset({"status_marks", "status_entries"})
_BATCH = 2000  # rows per executemany: bounded memory for a large events table


@dataclass(frozen=True)
class Copied:
    """What was copied: rows per table, in the order written."""

    rows: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.rows)


def copy_state(source: Database, target: Database, migrations_dir: Path | None = None) -> Copied:
    """Copy every row of ``source`` into the empty ``target`` (migrated to head first).

    AlreadyRunningError while a daemon (or a command) writes either store; StateError when
    the source is not at head or the target holds anything.
    """
    if shown(source) == shown(target):
        raise StateError(f"db copy: source and target are the same store ({shown(source)})")
    check_revision(source, migrations_dir)  # the source as it is: never migrated here
    migrate.upgrade(target, "head", migrations_dir)  # an empty target gets the tables
    with _locked(source), _locked(target):
        source_store = open_store(source, migrations_dir, command=COMMAND)
        target_store = open_store(target, migrations_dir, command=COMMAND)
        try:
            return _copy(source_store, target_store)
        finally:
            source_store.close()
            target_store.close()


def _locked(database: Database) -> StateLock:
    try:
        return take_lock(database, COMMAND)
    except AlreadyRunningError as error:
        error.remedy = (
            "stop the daemon first (systemctl stop syncd): a copy beside a running daemon "
            "could miss what it writes meanwhile"
        )
        raise


def _copy(source: Store, target: Store) -> Copied:
    # Parents before children (foreign keys).
    tables = [table for table in metadata.sorted_tables if table.name not in DERIVED_TABLES]
    counts: list[tuple[str, int]] = []
    with source.read() as reading, target.transaction(durable=True) as writing:
        into = writing.connection()
        _refuse_non_empty(into, tables, target.database)
        for table in tables:
            written = 0
            for rows in _batches(reading.connection(), table):
                into.execute(_insert(table), rows)
                written += len(rows)
            counts.append((table.name, written))
            log.info("db copy: %s rows of %s", written, table.name)
        if target.path is None:
            _continue_sequences(into, tables)
    return Copied(tuple(counts))


def _refuse_non_empty(connection: Connection, tables: list[Table], target: Database) -> None:
    for table in tables:
        found = connection.execute(select(func.count()).select_from(table)).scalar_one()
        if found:
            raise StateError(
                f"db copy: the target {shown(target)} is not empty ({table.name} has "
                f"{found} row(s)); it only fills a new, empty database"
            )


def _json_columns(table: Table) -> set[str]:
    return {column.name for column in table.columns if isinstance(column.type, JSON)}


def _batches(connection: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    # JSON travels as its stored text: decoded and encoded again, an SQL NULL would come
    # out as JSON null (the two mean different things to some queries).
    json_columns = _json_columns(table)
    columns = [
        json_text(column).label(column.name) if column.name in json_columns else column
        for column in table.columns
    ]
    order = list(table.primary_key.columns)
    result = connection.execution_options(yield_per=_BATCH).execute(
        select(*columns).order_by(*order)
    )
    for partition in result.mappings().partitions(_BATCH):
        yield [dict(row) for row in partition]


def _insert(table: Table) -> Any:
    json_columns = _json_columns(table)
    if not json_columns:
        return insert(table)
    return insert(table).values(
        {name: cast(bindparam(name, type_=Text()), JSON) for name in json_columns}
    )


def _continue_sequences(connection: Connection, tables: list[Table]) -> None:
    """PostgreSQL: each serial id continues after the highest copied one."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        name, column = table.name, keys[0].name
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                f"COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM {name}"
            )
        )
