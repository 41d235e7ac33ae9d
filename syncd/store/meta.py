"""Small key/value facts about this installation (Hemnet key id and expiry, ...).

Plain text values; never a token.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from syncd.store.tables import MetaRow


def get_meta(session: Session, key: str) -> str | None:
    row = session.get(MetaRow, key)
    return None if row is None else row.value


def set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(MetaRow, key)
    if row is None:
        session.add(MetaRow(key=key, value=value))
    else:
        row.value = value
    session.flush()


def delete_meta(session: Session, key: str) -> None:
    row = session.get(MetaRow, key)
    if row is not None:
        session.delete(row)
        session.flush()
