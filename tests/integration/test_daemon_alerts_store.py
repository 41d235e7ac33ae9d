"""The alert facts as read from a real state database."""

from __future__ import annotations

from datetime import datetime, timedelta

from syncd.config import AlertsConfig
from syncd.core.domain import Address, Image, ImageState, KnownImage, Listing, ListingStatus
from syncd.runtime.alerts import alerts_for, gather_facts
from syncd.store.engine import Store
from syncd.store.files import record_export_file
from syncd.store.holds import add_hold
from syncd.store.listings import record_remote_state, save_known_image
from syncd.store.tables import FileOutcome
from tests.fakes.store_state import save_desired


def listing(key: str) -> Listing:
    return Listing(
        listing_key=key,
        agency_key="agency-1",
        status=ListingStatus.FOR_SALE,
        address=Address(street=f"Storgatan {key}"),
        asking_price=1_000_000,
        images=(Image(url=f"http://img/{key}.jpg"),),
    )


def test_facts_come_from_listings_images_holds_and_export_files(
    store: Store, now: datetime
) -> None:
    published = now - timedelta(days=3)
    with store.transaction() as session:
        for key in ("A1", "A2", "A3"):
            save_desired(session, listing(key), published)
        # A1 published, not approved: awaiting approval since three days
        record_remote_state(
            session,
            "A1",
            published,
            is_published=True,
            is_approved=False,
            approval_url="http://portal/A1",
        )
        # A2 visible: not awaiting anything
        record_remote_state(session, "A2", published, is_published=True, is_approved=True)
        save_known_image(
            session,
            "A3",
            KnownImage("http://img/A3.jpg", "img-3", ImageState.FAILED, state_message="too small"),
            now,
            is_floor_plan=False,
        )
        add_hold(session, "agency-1", "empty full export", ["A1", "A2"], now)
        record_export_file(
            session,
            name="export.csv",
            sha256="0" * 64,
            size_bytes=10,
            received_at=now - timedelta(hours=30),
            outcome=FileOutcome.ACCEPTED,
        )

    found = gather_facts(
        store, now, watching_since=now - timedelta(hours=1), key_expires_at=now + timedelta(days=2)
    )

    assert [w.listing_key for w in found.awaiting_approval] == ["A1"]
    assert found.awaiting_approval[0].published_at == published
    assert [(i.listing_key, i.message) for i in found.failed_images] == [("A3", "too small")]
    assert [(h.agency_key, h.listings) for h in found.open_holds] == [("agency-1", 2)]
    assert found.last_export_at == now - timedelta(hours=30)
    alerts = alerts_for(found, AlertsConfig(), now)
    assert sorted(a.key for a in alerts) == [
        "approval:A1",
        "hold:1",
        "image:A3:http://img/A3.jpg",
        "key_expiry",
        "no_export",
    ]
