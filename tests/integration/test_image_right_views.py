"""The image right where an operator looks: 'syncd show' and the status page's listing page
show the CRM's right beside the one last sent to Hemnet."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx

from syncd.commands.view_commands import show_lines
from syncd.config import load_config
from syncd.core.domain import (
    Address,
    ImageRight,
    ImageRightTerms,
    Listing,
    ListingStatus,
    PhotoAgency,
)
from syncd.runtime.httpserver import HealthInfo, create_http_app
from syncd.status import listing_detail
from syncd.store.engine import Store
from syncd.store.listings import record_image_right, record_sent
from tests.fakes.status_listings import serve_http_app
from tests.fakes.store_state import save_desired

SENT = ImageRight(ImageRightTerms.SIX_MONTHS_LICENSE, PhotoAgency.FREELANCE, "Foto Fia", "Fia Ek")
WANTED = ImageRight(ImageRightTerms.INDEFINITE_LICENSE, PhotoAgency.OWNER_TAKEN)


def seed(store: Store, now: datetime) -> None:
    listing = Listing("R1", "AG1", ListingStatus.FOR_SALE, Address("Götgatan 1"))
    with store.transaction() as session:
        save_desired(session, listing, now)
        record_sent(session, "R1", now, hemnet_id="H1", sent=listing)
        record_image_right(session, "R1", SENT, now)
        # the CRM's right has changed since
        save_desired(session, replace(listing, image_right=WANTED), now)


def test_show_prints_the_crms_right_and_the_one_sent(store: Store, now: datetime) -> None:
    seed(store, now)
    detail = listing_detail(store, "R1", now)
    assert detail is not None
    lines = show_lines(detail)
    assert any(
        "image right" in line and line.endswith("INDEFINITE_LICENSE, OWNER_TAKEN") for line in lines
    ), lines
    assert any(
        "image right sent" in line
        and line.endswith("SIX_MONTHS_LICENSE, FREELANCE (Foto Fia), photographer Fia Ek")
        for line in lines
    ), lines


def test_the_listing_page_shows_both(store: Store, now: datetime, config_file: Path) -> None:
    seed(store, now)
    app = create_http_app(
        store, load_config(config_file), health=lambda: HealthInfo(ready=True), clock=lambda: now
    )
    with serve_http_app(app) as url:
        page = httpx.get(url + "/listing/R1").text
    assert "SIX_MONTHS_LICENSE, FREELANCE, Foto Fia, Fia Ek" in page
    assert "INDEFINITE_LICENSE, OWNER_TAKEN" in page
