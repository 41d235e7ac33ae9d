"""Fixtures shared across the test suite: repository paths, a minimal config, a fresh store."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.store import migrate
from syncd.store.engine import Store, open_store
from syncd.store.location import Database
from tests.pg import PostgresServer, PostgresUnavailable

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _lookups_stay_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests reach loopback only: a name lookup beyond it fails at once, as a name that does
    not resolve would, instead of asking the machine's DNS server (syncd looks image hosts
    up; a daemon under test is given ``[images] resolve_hosts = false`` where it reads real
    host names)."""
    real = socket.getaddrinfo

    def lookup(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name == "localhost" or str(name).endswith(".localhost"):
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        try:
            ipaddress.ip_address(str(name).strip("[]"))
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"tests look up no names: {name}") from None
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def samples_dir() -> Path:
    """The shared sample exports; the test is skipped where they are not available."""
    if not SAMPLES.is_dir():
        pytest.skip(f"sample exports not available at {SAMPLES}")
    return SAMPLES


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


MINIMAL_CONFIG = """\
[paths]
inbox = "inbox"
state_dir = "state"

[[formats]]
pattern = "*.csv"
mapping = "generic-csv"
"""


@pytest.fixture
def config_file(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A valid config with only the required keys; paths under tmp_path. Beside the
    ``database`` fixture (``store``), on PostgreSQL it names that database in [store]."""
    path = tmp_path / "config.toml"
    text = MINIMAL_CONFIG
    if "database" in request.fixturenames:
        database = request.getfixturevalue("database")
        if isinstance(database, str):
            text += f'\n[store]\nurl = "{database}"\n'
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A state database migrated to head."""
    path = tmp_path / "state" / "syncd.db"
    migrate.upgrade(path)
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (tests/pg.py); skips, saying why, only
    where no server binaries can be found."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as why:
        pytest.skip(f"no PostgreSQL here: {why}")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL database at head with no row: its URL. Emptied for the next test after
    this one; dropped instead where a daemon process may still be connected to it."""
    url = pg_server.reused()
    try:
        yield url
    finally:
        if "start_daemon" in request.fixturenames:
            pg_server.drop(url)
        else:
            pg_server.recycle(url)


ENGINES = ("sqlite", "postgresql")


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A fresh state database at head, once on each engine: the SQLite file or the URL."""
    if request.param == "sqlite":
        path = tmp_path / "state" / "syncd.db"
        migrate.upgrade(path)
        return path
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(database: Database) -> Iterator[Store]:
    """An open Store over a fresh database at head, on SQLite and on PostgreSQL."""
    opened = open_store(database)
    try:
        yield opened
    finally:
        opened.close()
