"""The daemon's status page and /metrics read the status book's entries: beyond the page's
rows it shows those that need the operator first and says so; a stage asked for is read
for its own rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from syncd.config import load_config
from syncd.runtime.httpserver import HealthInfo, create_http_app
from syncd.status import StatusBook
from syncd.status import view as view_module
from syncd.status.view import BookView
from syncd.store.engine import Store
from syncd.store.listings import record_failure
from tests.fakes.status_listings import seed_listings, serve_http_app


def test_the_page_shows_the_first_rows_and_a_stage_on_demand(
    store: Store, config_file: Path, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_listings(store, now)
    book = StatusBook()
    book.refresh(store, now)
    monkeypatch.setattr(view_module, "PAGE_ROWS", 3)
    info = HealthInfo(ready=True, last_successful_sync_at=now - timedelta(seconds=5))
    app = create_http_app(
        store,
        load_config(config_file),
        health=lambda: info,
        clock=lambda: now,
        status_view=BookView(book),
    )
    with store.transaction() as session:  # not refreshed yet: the page shows the last one
        record_failure(session, "A01", "refused", now, None)
    with serve_http_app(app) as url:
        page = httpx.get(url + "/").text
        missing = httpx.get(url + "/?stage=missing").text
        metrics = httpx.get(url + "/metrics").text
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr data-stage=") == 3
    assert 'href="/listing/A11"' in rows and 'href="/listing/A01"' not in rows
    assert "Showing 3 of 13 listings" in page
    assert "var complete = false;" in page
    rows = missing.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr data-stage=") == 2
    assert 'href="/listing/A11"' in rows and 'href="/listing/A12"' in rows
    assert "(missing only)" in missing
    assert 'syncd_listings{stage="missing"} 2.0' in metrics
    assert 'syncd_listings{stage="failed"} 1.0' in metrics  # A01's failure: not refreshed
