"""A throwaway PostgreSQL server for the tests: initdb and pg_ctl in a temporary folder.

One server per test session, on a unix socket in its own folder (no port to collide with);
one database per test, made from a template already migrated to head, so a test pays for a
CREATE DATABASE, not for the migrations. The server runs as a non-root user: initdb refuses
root, and CI runs as root (the ``postgres`` user of the system's package is used then).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from syncd.store import migrate
from syncd.store.tables import metadata

USER = "syncd"  # the database superuser the tests connect as (trust on the socket)
TEMPLATE = "syncd_head"
_SEARCHED = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin")
START_TIMEOUT_S = 60


class PostgresUnavailable(Exception):
    """Why no server can be started here (the tests that need one skip with this reason)."""


def find_bin_dir() -> Path:
    """The folder of the newest PostgreSQL server binaries on this machine."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        (p for pattern in _SEARCHED for p in Path("/").glob(pattern.lstrip("/"))),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")],
    )
    for folder in reversed(candidates):
        if (folder / "pg_ctl").is_file() and (folder / "initdb").is_file():
            return folder
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (pg_ctl, initdb) found on PATH or in "
        + ", ".join(_SEARCHED)
        + ": install postgresql (.ci/run does)"
    )


def _run_as() -> Sequence[str]:
    """The command prefix that runs the server as a user initdb accepts."""
    if os.geteuid() != 0:
        return ()
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no 'postgres' user to run the server as "
            "(initdb refuses root)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser:
        return (runuser, "-u", "postgres", "--")
    raise PostgresUnavailable("running as root and no runuser to start the server as postgres")


class PostgresServer:
    """A running server; ``database()`` makes a fresh database and returns its URL."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self._as = _run_as()
        self.folder = Path(tempfile.mkdtemp(prefix="syncd-pg-"))
        self.data = self.folder / "data"
        self._numbers = itertools.count(1)
        self._clean: list[str] = []  # emptied databases at head, for the next test
        if self._as:
            entry = pwd.getpwnam("postgres")
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.folder.chmod(0o700)

    def _call(self, *command: str) -> None:
        result = subprocess.run(
            [*self._as, *command],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            # Binaries found but failing: a broken set-up to see, not a reason to skip.
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-800:]}"
            )

    def start(self) -> None:
        self._call(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        # Durability is not what these tests check of PostgreSQL (the server's own promise):
        # without fsync a test database costs milliseconds.
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.folder}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300 -c shared_buffers=32MB"
        )
        self._call(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "start",
        )
        self._admin("postgres", f"CREATE DATABASE {TEMPLATE}")
        migrate.upgrade(self.url(TEMPLATE))

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._call(
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{USER}@/{name}?host={self.folder}"

    def database(self, *, migrated: bool = True) -> str:
        """A new, empty database (at head, or with no table): its URL."""
        name = f"t{os.getpid()}_{next(self._numbers)}"
        template = TEMPLATE if migrated else "template0"
        self._admin("postgres", f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._admin("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def reused(self) -> str:
        """A database at head with no row: one a finished test left (emptied), or a new one.

        Emptying a database takes milliseconds where making one from the template takes the
        better part of a second on a busy machine: most tests only need the rows gone.
        """
        return self._clean.pop() if self._clean else self.database()

    def recycle(self, url: str) -> None:
        """Empty a test's database for the next test; dropped instead if it is not simply
        at head with its tables (a test migrated it) or cannot be emptied at once."""
        name = make_url(url).database
        tables = ", ".join(table.name for table in metadata.sorted_tables)
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(text("SET lock_timeout = '2s'"))
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).all()
                if revision != [(migrate.head(),)]:
                    raise LookupError(f"{name} is at {revision}")
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        except (SQLAlchemyError, LookupError):
            engine.dispose()
            self.drop(url)
            return
        engine.dispose()
        self._clean.append(url)

    def _admin(self, database: str, statement: str) -> None:
        engine = create_engine(self.url(database), poolclass=NullPool)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()
