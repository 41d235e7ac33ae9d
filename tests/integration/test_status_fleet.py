"""The status book of a fleet's instance: it builds, stores and writes the listings of the
agencies it holds, and leaves the marks of the others to their holders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from syncd.status import STATUS_CSV, StatusBook
from syncd.store.engine import Store
from syncd.store.listings import record_failure
from syncd.store.tables import StatusMarkRow
from tests.integration.test_fleet_store import instance, plain, take
from tests.integration.test_status_book import Compared

__all__ = ["plain"]  # the fixture: two listings of agency x, one of agency y


def marked(store: Store) -> list[str]:
    with store.read() as session:
        return sorted(session.scalars(select(StatusMarkRow.listing_key)))


def test_each_instance_builds_and_writes_its_own_agencies(
    plain: Store, now: datetime, tmp_path: Path
) -> None:
    x_store, x_fence = instance(plain, "host:1:aaaa", now)
    y_store, y_fence = instance(plain, "host:2:bbbb", now)
    take(plain, x_fence, "x", now)
    take(plain, y_fence, "y", now)
    x_book = Compared(x_store, now, tmp_path / "x", StatusBook())
    y_book = Compared(y_store, now, tmp_path / "y", StatusBook())

    assert x_book.rebuilt() == 2  # compared with a full write of the same instance's read
    assert marked(plain) == ["Y1"]  # y's holder builds it
    assert "Y1" not in (tmp_path / "x" / "kept" / STATUS_CSV).read_text(encoding="utf-8")
    assert y_book.rebuilt() == 1
    assert marked(plain) == []

    with plain.transaction() as session:
        record_failure(session, "Y1", "refused", now, None)
    assert x_book.rebuilt() == 0
    assert y_book.rebuilt() == 1
    assert "refused" in (tmp_path / "y" / "kept" / STATUS_CSV).read_text(encoding="utf-8")
