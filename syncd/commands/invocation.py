"""What one run of the command line shares between the group and its commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # config and store are imported when a command first uses them
    from syncd.config import Config
    from syncd.config.store_url import Database
    from syncd.store.engine import Store


class Invocation:
    """What one run of the command line shares between the group and its commands."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        from syncd.config import load_config

        return load_config(self.config_path)

    @cached_property
    def database(self) -> Database:
        """The state store: the SQLite file, or the PostgreSQL URL with its password."""
        from syncd.config import store_database

        return store_database(self.config)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The state store; StateError naming 'syncd db upgrade' when it is not at head."""
        from syncd.store.engine import open_store

        store = open_store(self.database, self.config.paths.migrations_dir)
        try:
            yield store
        finally:
            store.close()


pass_invocation = click.make_pass_decorator(Invocation)
