"""A state database seeded with one listing in each lifecycle stage, for the status views.

Writes through the store's own query functions, as ingest, apply and poll would, so the
views are tested over the rows those use cases leave behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import uvicorn
from sqlalchemy.orm import Session

from syncd.core.domain import (
    Address,
    Agency,
    HousingForm,
    Image,
    ImageState,
    KnownImage,
    Listing,
    ListingStatus,
    Sale,
    SellerInformation,
    Tenure,
    content_hash,
)
from syncd.core.ops import AddImage, CreateListing, PublishListing
from syncd.core.stages import Stage
from syncd.store.engine import Store
from syncd.store.events import record_event
from syncd.store.holds import add_hold
from syncd.store.listings import (
    record_failure,
    record_remote_state,
    record_sent,
    save_agency,
    save_known_image,
)
from syncd.store.outbox import add_operation, record_outcome
from syncd.store.tables import OpStatus
from tests.fakes.store_state import mark_missing, save_desired

AGENCY = Agency("AG1", "Mäklarhuset Söder", "556677-8899")
STREETS = {
    "A01": ("Götgatan 12", "11846", "Stockholm"),
    "A02": ("Ringvägen 3", "11823", "Stockholm"),
    "A03": ("Vasagatan 7", "41124", "Göteborg"),
    "A04": ("Storgatan 44", "21142", "Malmö"),
    "A05": ("Drottninggatan 90", "11160", "Stockholm"),
    "A06": ("Kungsgatan 5", "75321", "Uppsala"),
    "A07": ("Östra Hamngatan 20", "41109", "Göteborg"),
    "A08": ("Sveavägen 101", "11350", "Stockholm"),
    "A09": ("Linnégatan 8", "41304", "Göteborg"),
    "A10": ("Hornsgatan 64", "11821", "Stockholm"),
    "A11": ("Järnvägsgatan 2", "25224", "Helsingborg"),
    "A12": ("Parkgatan 15", "90326", "Umeå"),
    "A13": ("Skolgatan 1", "82230", "Alfta"),
}

# listing_key -> the stage the seeded rows must show
EXPECTED_STAGES: dict[str, Stage] = {
    "A01": Stage.NEW,
    "A02": Stage.CREATING,
    "A03": Stage.IMAGES_PROCESSING,
    "A04": Stage.IMAGE_FAILED,
    "A05": Stage.WAITING_FOR_DATA,
    "A06": Stage.READY_TO_PUBLISH,
    "A07": Stage.AWAITING_APPROVAL,
    "A08": Stage.VISIBLE,
    "A09": Stage.SOLD,
    "A10": Stage.FAILED,
    "A11": Stage.MISSING,  # and held: the hold shows beside the stage
    "A12": Stage.MISSING,
    "A13": Stage.WITHDRAWN,
}
AWAITING_SINCE = timedelta(hours=30)
# The CRM and Hemnet agree on it: a sale that differs would be a conflict.
A09_SALE = Sale(price=4_100_000, price_is_public=True, sold_on=date(2026, 2, 20))
IDENTITY_NUMBER = "19121212-1212"


def listing(key: str, *, images: int = 2, **changes: Any) -> Listing:
    street, postal, city = STREETS[key]
    base = Listing(
        listing_key=key,
        agency_key=AGENCY.key,
        status=ListingStatus.FOR_SALE,
        address=Address(street=street, postal_code=postal, city=city),
        housing_form=HousingForm.HOUSE,
        tenure=Tenure.FREEHOLD,
        asking_price=3_950_000,
        living_area=Decimal("112.5"),
        rooms=Decimal("5"),
        title=f"Ljus villa på {street}",
        images=tuple(
            Image(url=f"https://crm.example/{key}/{n}.jpg", order=n) for n in range(images)
        ),
    )
    return dataclasses.replace(base, **changes)


def _known(
    session: Session, item: Listing, now: datetime, states: tuple[ImageState, ...], *, hid: str
) -> None:
    record_sent(session, item.listing_key, now, hemnet_id=hid, sent=item)
    for n, (img, state) in enumerate(zip(item.images, states, strict=False)):
        message = "image could not be decoded (not a JPEG)" if state is ImageState.FAILED else None
        save_known_image(
            session,
            item.listing_key,
            KnownImage(
                url=img.url,
                image_id=f"{hid}-img{n}",
                state=state,
                order=n,
                state_message=message,
            ),
            now,
            is_floor_plan=False,
        )


def seed_listings(store: Store, now: datetime) -> dict[str, Stage]:
    """One listing per stage (see EXPECTED_STAGES); returns that mapping."""
    done = (ImageState.COMPLETED, ImageState.COMPLETED)
    with store.transaction() as session:
        save_agency(session, AGENCY, now)
        items = {
            "A01": listing("A01"),
            "A02": listing("A02"),
            "A03": listing("A03"),
            "A04": listing("A04"),
            "A05": listing("A05", asking_price=None),
            "A06": listing("A06"),
            "A07": listing(
                "A07",
                seller=SellerInformation(name="Sven Svensson", identity_number=IDENTITY_NUMBER),
            ),
            "A08": listing("A08"),
            "A09": listing("A09", status=ListingStatus.SOLD, sale=A09_SALE),
            "A10": listing("A10", images=1),
            "A11": listing("A11"),
            "A12": listing("A12"),
            "A13": listing("A13", status=ListingStatus.WITHDRAWN),
        }
        for item in items.values():
            save_desired(session, item, now - timedelta(days=2))
        add_operation(session, CreateListing("A02", listing=items["A02"]), now)
        record_event(session, "planned", "create planned", now, listing_key="A02")
        _known(session, items["A03"], now, (ImageState.COMPLETED, ImageState.IN_PROGRESS), hid="H3")
        _known(session, items["A04"], now, (ImageState.COMPLETED, ImageState.FAILED), hid="H4")
        _known(session, items["A05"], now, done, hid="H5")
        _known(session, items["A06"], now, done, hid="H6")
        _known(session, items["A07"], now - AWAITING_SINCE, done, hid="H7")
        _known(session, items["A08"], now, done, hid="H8")
        _known(session, items["A09"], now, done, hid="H9")
        _known(session, items["A11"], now, done, hid="H11")
        _known(session, items["A12"], now, done, hid="H12")
        portal = "https://portal.example/listings/{}/approve"
        record_remote_state(
            session,
            "A07",
            now - AWAITING_SINCE,
            is_published=True,
            is_approved=False,
            approval_url=portal.format("H7"),
        )
        publish = add_operation(session, PublishListing("A07"), now - AWAITING_SINCE)
        record_outcome(
            session, publish.id, OpStatus.SUCCEEDED, now - AWAITING_SINCE, http_status=200
        )
        record_event(
            session,
            "published",
            "published, awaiting approval",
            now - AWAITING_SINCE,
            listing_key="A07",
        )
        for key, hid in (("A08", "H8"), ("A11", "H11"), ("A12", "H12")):
            record_remote_state(
                session,
                key,
                now - timedelta(days=1),
                is_published=True,
                is_approved=True,
                approval_url=portal.format(hid),
                public_url=f"https://www.hemnet.example/bostad/{hid}",
            )
        record_remote_state(
            session,
            "A09",
            now,
            is_published=False,
            is_approved=True,
            sold=A09_SALE,
        )
        failed = add_operation(session, CreateListing("A10", listing=items["A10"]), now)
        error = "Hemnet refused the listing (POST /listings, status 422): livingArea: too large"
        record_outcome(session, failed.id, OpStatus.FAILED, now, http_status=422, error=error)
        record_failure(session, "A10", error, now, content_hash(items["A10"]))
        image = add_operation(
            session, AddImage("A04", image=items["A04"].images[1]), now - timedelta(minutes=5)
        )
        record_outcome(session, image.id, OpStatus.SUCCEEDED, now, http_status=201)
        mark_missing(session, ["A11", "A12"], now - timedelta(hours=1))
        add_hold(session, AGENCY.key, "an export would remove 1 of 1 live listing", ["A11"], now)
    return dict(EXPECTED_STAGES)


@contextlib.contextmanager
def serve_http_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free port in a thread; yields its root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", http="h11", ws="none")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the HTTP app did not start within 10 s")
            time.sleep(0.01)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
