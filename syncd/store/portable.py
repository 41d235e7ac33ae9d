"""SQL that each engine writes its own way, behind one expression the queries use.

SQLite keeps JSON as the text it was given, so reading that text is reading the column;
PostgreSQL's driver parses a ``json`` column into Python objects, so the text is asked for
with a cast (``json`` keeps its input text as it was written, so the text is the same).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql._typing import _ColumnExpressionArgument
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class json_text(FunctionElement[str]):
    """The JSON text stored in a JSON column, undecoded (the fast readers decode it once)."""

    type = Text()
    inherit_cache = True
    name = "json_text"

    def __init__(self, column: _ColumnExpressionArgument[Any]) -> None:
        super().__init__(column)


@compiles(json_text)
def _json_text_as_stored(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite: the column itself, no cast (this is the ingest and status views' hot path).
    return compiler.process(element.clauses, **kw)


@compiles(json_text, "postgresql")
def _json_text_cast(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"
