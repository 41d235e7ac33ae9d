"""[store] url: SQLite by default, PostgreSQL beside it, the password never from the TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.config import (
    CREDENTIALS_ENV,
    STORE_PASSWORD_CREDENTIAL,
    STORE_PASSWORD_ENV,
    STORE_URL_ENV,
    Config,
    describe_store,
    parse_config,
    store_database,
)
from syncd.config.store_url import shown
from syncd.core.errors import ConfigError

BASE = Path("/srv/syncd")
PATHS = {"inbox": "in", "state_dir": "state"}
PG = "postgresql+psycopg://syncd@db.internal:5432/syncd"


def parse(store: dict[str, str] | None = None, **paths: str) -> Config:
    data: dict[str, object] = {"paths": {**PATHS, **paths}}
    if store is not None:
        data["store"] = store
    return parse_config(data, BASE)


def test_without_store_the_state_is_the_sqlite_file_as_before() -> None:
    config = parse()
    assert config.store.url is None
    assert store_database(config, {}) == BASE / "state" / "syncd.db"


def test_a_sqlite_url_names_the_database_file() -> None:
    config = parse({"url": "sqlite:///var/other.db"})
    assert config.paths.database == BASE / "var" / "other.db"
    assert store_database(config, {}) == BASE / "var" / "other.db"
    absolute = parse({"url": "sqlite:////data/syncd.db"})
    assert store_database(absolute, {}) == Path("/data/syncd.db")


def test_a_postgresql_url_gets_its_password_from_the_environment() -> None:
    config = parse({"url": PG})
    assert store_database(config, {}) == PG
    with_password = store_database(config, {STORE_PASSWORD_ENV: "s3cr:t/@x"})
    assert with_password == "postgresql+psycopg://syncd:s3cr%3At%2F%40x@db.internal:5432/syncd"
    assert "s3cr" not in shown(with_password)


def test_the_password_credential_is_read_when_the_env_has_none(tmp_path: Path) -> None:
    (tmp_path / STORE_PASSWORD_CREDENTIAL).write_text("from-credential\n", encoding="utf-8")
    database = store_database(parse({"url": PG}), {CREDENTIALS_ENV: str(tmp_path)})
    assert database == "postgresql+psycopg://syncd:from-credential@db.internal:5432/syncd"


def test_config_check_names_the_store_and_the_passwords_source_never_the_password() -> None:
    assert describe_store(parse(), {}) == f"SQLite {BASE / 'state' / 'syncd.db'}"
    told = describe_store(parse({"url": PG}), {STORE_PASSWORD_ENV: "hunter2"})
    assert (
        told == f"PostgreSQL postgresql+psycopg://syncd:***@db.internal:5432/syncd "
        f"(password from env {STORE_PASSWORD_ENV})"
    )
    assert "hunter2" not in told


def test_the_whole_url_from_the_environment_wins() -> None:
    whole = "postgresql+psycopg://other:pw@elsewhere/syncd"
    assert store_database(parse({"url": PG}), {STORE_URL_ENV: whole}) == whole
    assert store_database(parse(), {STORE_URL_ENV: whole}) == whole


def test_a_password_in_the_toml_is_an_error_saying_where_it_belongs() -> None:
    with pytest.raises(ConfigError) as raised:
        parse({"url": "postgresql+psycopg://syncd:hunter2@db/syncd"})
    text = str(raised.value)
    assert "store.url" in text
    assert STORE_PASSWORD_ENV in text and STORE_PASSWORD_CREDENTIAL in text
    assert "hunter2" not in text


def test_an_unknown_engine_is_an_error_naming_both_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        parse({"url": "mysql://syncd@db/syncd"})
    assert "sqlite:///" in str(raised.value) and "postgresql+psycopg://" in str(raised.value)


def test_a_password_for_a_url_without_user_is_an_error() -> None:
    config = parse({"url": "postgresql+psycopg://db.internal/syncd"})
    with pytest.raises(ConfigError, match="names no user"):
        store_database(config, {STORE_PASSWORD_ENV: "pw"})
