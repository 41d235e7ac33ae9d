"""The same migrations on PostgreSQL: the models match them, down and up work, and the data
migrations write what they write on SQLite (naive UTC times whatever the server's zone,
64-bit sizes as SQLite's integers are)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from syncd.store import migrate
from syncd.store.engine import Store
from syncd.store.tables import ExportFile, metadata
from tests.integration.test_migrations import TABLES
from tests.pg import PostgresServer


@pytest.fixture
def empty_url(pg_server: PostgresServer) -> Iterator[str]:
    url = pg_server.database(migrated=False)
    try:
        yield url
    finally:
        pg_server.drop(url)


def _connect(url: str) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    for connection in _connect(url):
        return set(inspect(connection).get_table_names()) - {"alembic_version"}
    raise AssertionError("unreachable")


def test_the_models_match_the_migrations_on_postgresql(pg_url: str) -> None:
    for connection in _connect(pg_url):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = connection
        command.check(cfg)  # raises when autogenerate would write a migration


def test_downgrade_to_base_and_upgrade_again_on_postgresql(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert _tables(empty_url) == TABLES
    migrate.downgrade(empty_url, "base")
    assert migrate.current(empty_url) is None
    assert _tables(empty_url) == set()
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()
    assert _tables(empty_url) == TABLES


def test_0002_on_postgresql_closes_old_holds_at_utc_and_downgrades(
    empty_url: str, pg_server: PostgresServer
) -> None:
    name = make_url(empty_url).database
    # A server far from UTC: a time written in its zone would be hours off.
    for connection in _connect(pg_server.url("postgres")):
        connection.execute(text(f"ALTER DATABASE {name} SET timezone = 'America/Los_Angeles'"))
    migrate.upgrade(empty_url, "0001")
    for connection in _connect(empty_url):
        connection.execute(
            text(
                "INSERT INTO holds (agency_key, reason, listing_keys_json, created_at, "
                "released_at) VALUES ('ag', 'open', '[\"A\"]', '2026-01-01 00:00:00', NULL), "
                "('ag', 'released', '[\"B\"]', '2026-01-01 00:00:00', '2026-01-02 00:00:00')"
            )
        )
    before = datetime.now(UTC).replace(tzinfo=None)
    migrate.upgrade(empty_url)
    for connection in _connect(empty_url):
        holds = connection.execute(
            text("SELECT reason, superseded_at, missing_since_json FROM holds ORDER BY id")
        ).all()
        assert [(r, s is not None, m) for r, s, m in holds] == [
            ("open", True, None),
            ("released", False, None),
        ]
        assert abs(holds[0][1] - before) < timedelta(minutes=5)
        for n in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO export_files (id, name, sha256, size_bytes, received_at, "
                    "outcome, records, accepted, skipped, warnings) "
                    f"VALUES ({n}, 'f{n}.csv', 'same', 1, '2026-01-0{n} 00:00:00', "
                    "'accepted', 0, 0, 0, 0)"
                )
            )
        connection.execute(text("UPDATE holds SET export_file_id = 1"))
    migrate.downgrade(empty_url, "0001")
    for connection in _connect(empty_url):
        assert connection.execute(text("SELECT id FROM export_files")).all() == [(2,)]
        kept = connection.execute(text("SELECT DISTINCT export_file_id FROM holds")).all()
        assert kept == [(2,)]
    with pytest.raises(IntegrityError, match="uq_export_files_sha256"):
        for connection in _connect(empty_url):
            connection.execute(
                text(
                    "INSERT INTO export_files (name, sha256, size_bytes, received_at, outcome, "
                    "records, accepted, skipped, warnings) "
                    "VALUES ('f3.csv', 'same', 1, '2026-01-03 00:00:00', 'accepted', 0, 0, 0, 0)"
                )
            )


def test_an_export_of_more_than_2_gib_is_recorded_on_postgresql(store: Store) -> None:
    big = 3 * 2**30  # past a 32-bit INTEGER, PostgreSQL's before 0006
    with store.transaction() as session:
        session.add(
            ExportFile(
                name="huge.xml",
                sha256="0" * 64,
                size_bytes=big,
                received_at=datetime.now(UTC),
                outcome="accepted",
            )
        )
    with store.read() as session:
        assert session.scalars(select(ExportFile.size_bytes)).all() == [big]
