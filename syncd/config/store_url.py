"""The state store's URL as syncd opens it: the SQLite file, or PostgreSQL with its password.

The TOML file holds ``[store] url`` without a password. The password comes from env
``SYNCD_STORE_PASSWORD`` or the systemd credential ``store-password``; env
``SYNCD_STORE_URL`` replaces the whole URL (password included), for installations that
keep it in one secret. Knows nothing of SQLAlchemy (only the store does): URLs are text here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from syncd.config.credentials import CREDENTIALS_ENV, _read_secret_file
from syncd.config.model import Config
from syncd.core.errors import ConfigError

SQLITE_SCHEME = "sqlite:///"
POSTGRES_SCHEME = "postgresql+psycopg://"
STORE_URL_ENV = "SYNCD_STORE_URL"
STORE_PASSWORD_ENV = "SYNCD_STORE_PASSWORD"  # noqa: S105 (a variable name, not a secret)
STORE_PASSWORD_CREDENTIAL = "store-password"  # noqa: S105 (a file name)

# What a store location is to the rest of syncd: the SQLite file, or a PostgreSQL URL.
Database = Path | str


def password_problem(url: str) -> str | None:
    """Why ``url`` must not stand in the TOML file: it carries a password."""
    if urlsplit(url).password is None:
        return None
    return (
        "secrets do not belong in the config file: remove the password from the URL and set "
        f"env {STORE_PASSWORD_ENV}, the systemd credential {STORE_PASSWORD_CREDENTIAL} "
        f"($CREDENTIALS_DIRECTORY/{STORE_PASSWORD_CREDENTIAL}), or the whole URL in env "
        f"{STORE_URL_ENV}"
    )


def store_database(config: Config, environ: Mapping[str, str] | None = None) -> Database:
    """The state store to open: the SQLite file's path, or the PostgreSQL URL with its password.

    Env SYNCD_STORE_URL wins over [store] url; without either, the SQLite file
    ``paths.database``, exactly as before PostgreSQL was possible.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(STORE_URL_ENV, "").strip()
    url = from_env or config.store.url
    if url is None:
        return config.paths.database
    if url.startswith(SQLITE_SCHEME):
        return Path(url.removeprefix(SQLITE_SCHEME))
    if not url.startswith(POSTGRES_SCHEME):
        raise ConfigError(
            [f"env {STORE_URL_ENV}: must start with {SQLITE_SCHEME} or {POSTGRES_SCHEME}"]
        )
    if from_env or urlsplit(url).password is not None:
        return url
    password = _store_password(env)
    return url if password is None else with_password(url, password)


def database_named(argument: str, environ: Mapping[str, str] | None = None) -> Database:
    """A store named on the command line ('syncd db copy'): a SQLite URL or file path, or a
    PostgreSQL URL; without a password in it, the one from env or the credential is used
    (so none need stand in the shell's history)."""
    if argument.startswith(SQLITE_SCHEME):
        return Path(argument.removeprefix(SQLITE_SCHEME))
    if not argument.startswith(POSTGRES_SCHEME):
        if "://" in argument:
            raise ConfigError(
                [f"{argument!r}: a store is {SQLITE_SCHEME}PATH, a file, or {POSTGRES_SCHEME}..."]
            )
        return Path(argument)
    if urlsplit(argument).password is not None:
        return argument
    password = _store_password(os.environ if environ is None else environ)
    return argument if password is None else with_password(argument, password)


def describe_store(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """For 'config check': which store, and where its password comes from (never the
    password itself)."""
    env = os.environ if environ is None else environ
    database = store_database(config, env)
    if isinstance(database, Path):
        return f"SQLite {database}"
    if env.get(STORE_URL_ENV, "").strip():
        source = f"the whole URL from env {STORE_URL_ENV}"
    elif urlsplit(database).password is None:
        source = "no password (peer or .pgpass authentication)"
    elif env.get(STORE_PASSWORD_ENV, "").strip():
        source = f"password from env {STORE_PASSWORD_ENV}"
    else:
        source = f"password from the systemd credential {STORE_PASSWORD_CREDENTIAL}"
    return f"PostgreSQL {shown(database)} ({source})"


def _store_password(env: Mapping[str, str]) -> str | None:
    from_env = env.get(STORE_PASSWORD_ENV, "")
    if from_env.strip():
        return from_env.strip()
    credentials = env.get(CREDENTIALS_ENV)
    if credentials:
        return _read_secret_file(Path(credentials) / STORE_PASSWORD_CREDENTIAL)
    return None


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` set for its user (quoted, so any character is safe)."""
    scheme, rest = url.split("://", 1)
    authority, slash, tail = rest.partition("/")
    user, at, host = authority.rpartition("@")
    if not at:
        raise ConfigError(
            [
                f"[store] url names no user, so the password from {STORE_PASSWORD_ENV} or the "
                f"credential {STORE_PASSWORD_CREDENTIAL} has none to go with: write "
                f"{POSTGRES_SCHEME}USER@{host}/..."
            ]
        )
    user = user.split(":", 1)[0]
    secret = quote(password, safe="")
    return f"{scheme}://{user}:{secret}@{host}{slash}{tail}"


def shown(database: Database) -> str:
    """The store as a message names it: the file, or the URL with its password hidden."""
    if isinstance(database, Path):
        return str(database)
    parts = urlsplit(database)
    if parts.password is None:
        return database
    user = unquote(parts.username or "")
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
