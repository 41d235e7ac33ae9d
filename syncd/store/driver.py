"""Plain SQL handed straight to the driver (``exec_driver_sql``), in each driver's style.

The store's fast paths write their SQL once, with ``?`` placeholders (sqlite3's qmark);
psycopg wants ``%s``. Only the placeholders differ: the statements themselves (INSERT ...
ON CONFLICT ... DO UPDATE SET x = excluded.x) mean the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection


def execute_many(connection: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``sql`` (qmark placeholders) once per row, in one executemany."""
    style = connection.dialect.paramstyle
    connection.exec_driver_sql(sql if style == "qmark" else _in_style(sql, style), rows)


@cache
def _in_style(sql: str, style: str) -> str:
    if style not in ("format", "pyformat"):
        raise ValueError(f"no placeholders known for paramstyle {style}")
    # A literal '%' would read as a placeholder: doubled first.
    return sql.replace("%", "%%").replace("?", "%s")
