"""The status marks miss nothing: after any interleaving of the writers of a status input
(ingest, outcomes, polls and webhooks, images, checks, holds, skipped records, the sending
block, a listing deleted) and of refreshes, the book's files equal a full write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from syncd.core.domain import ImageState, KnownImage
from syncd.core.ops import PublishListing
from syncd.status import StatusBook
from syncd.store.blocked import SendingBlocked, set_sending_blocked
from syncd.store.checks import save_checks
from syncd.store.engine import Store
from syncd.store.holds import add_hold, open_holds, release_hold
from syncd.store.listings import record_failure, record_remote_state, record_sent, save_known_image
from syncd.store.outbox import add_operation, record_outcome, supersede_intents
from syncd.store.skipped import clear_skipped, record_skipped
from syncd.store.tables import ListingRow, OperationRow, OpStatus
from tests.fakes.status_listings import AGENCY, STREETS, listing, seed_listings
from tests.fakes.store_state import mark_missing, save_desired
from tests.integration.test_status_book import Compared

KEYS = sorted(STREETS)
Write = Callable[[Session, str, int, datetime], None]


def _exists(session: Session, key: str) -> bool:
    return session.get(ListingRow, key) is not None


def ingest(session: Session, key: str, n: int, now: datetime) -> None:
    save_desired(session, listing(key, asking_price=3_000_000 + n * 1000, images=n % 3), now)


def sent(session: Session, key: str, n: int, now: datetime) -> None:
    if _exists(session, key):
        record_sent(session, key, now, hemnet_id=f"H{key}", sent=listing(key))


def remote(session: Session, key: str, n: int, now: datetime) -> None:  # poll or webhook
    if _exists(session, key):
        approval = f"https://portal.example/{key}" if n % 2 else None
        published, approved = bool(n & 1), bool(n & 2)
        record_remote_state(
            session, key, now, is_published=published, is_approved=approved, approval_url=approval
        )


def image(session: Session, key: str, n: int, now: datetime) -> None:
    if _exists(session, key):
        state = list(ImageState)[n % len(ImageState)]
        url = f"https://crm.example/{key}/{n % 2}.jpg"
        known = KnownImage(url=url, image_id=f"{key}-{n}", state=state, order=n % 2)
        save_known_image(session, key, known, now, is_floor_plan=False)


def planned(session: Session, key: str, n: int, now: datetime) -> None:
    add_operation(session, PublishListing(key), now)


def outcome(session: Session, key: str, n: int, now: datetime) -> None:
    query = select(OperationRow.id).where(
        OperationRow.listing_key == key, OperationRow.status == OpStatus.INTENT.value
    )
    for op_id in session.scalars(query).all()[:1]:
        status = (OpStatus.SUCCEEDED, OpStatus.FAILED, OpStatus.UNKNOWN)[n % 3]
        record_outcome(session, op_id, status, now, http_status=200)


def superseded(session: Session, key: str, n: int, now: datetime) -> None:
    supersede_intents(session, [key], now)


def refused(session: Session, key: str, n: int, now: datetime) -> None:
    if _exists(session, key):
        record_failure(session, key, f"422: field {n}", now, None)


def checks(session: Session, key: str, n: int, now: datetime) -> None:
    if _exists(session, key):
        warnings = [f"warning {i}" for i in range(n % 3)]
        save_checks(session, key, errors=[], warnings=warnings, read_for=str(n), now=now)


def hold(session: Session, key: str, n: int, now: datetime) -> None:
    if n % 2:
        add_hold(session, AGENCY.key, "a guard", [key], now)
    else:
        for found in open_holds(session):
            release_hold(session, found.id, "operator", now)


def skipped(session: Session, key: str, n: int, now: datetime) -> None:
    if n % 2:
        record_skipped(session, {key: "skipped: bad price"}, now)
    else:
        clear_skipped(session, [key], now)


def missing(session: Session, key: str, n: int, now: datetime) -> None:
    mark_missing(session, [key], now)


def blocked(session: Session, key: str, n: int, now: datetime) -> None:
    block = SendingBlocked(f"Hemnet is down ({n % 2})", "wait", now) if n % 3 else None
    set_sending_blocked(session, block)


def deleted(session: Session, key: str, n: int, now: datetime) -> None:
    for table in ("images", "listing_checks", "listings"):
        session.execute(text(f"DELETE FROM {table} WHERE listing_key = :key"), {"key": key})


WRITES: tuple[Write, ...] = (
    ingest,
    sent,
    remote,
    image,
    planned,
    outcome,
    superseded,
    refused,
    checks,
    hold,
    skipped,
    missing,
    blocked,
    deleted,
)
# A step: a write (of a listing, with a number for its values), or a refresh (None).
STEPS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(WRITES)),
        st.sampled_from(KEYS),
        st.integers(min_value=0, max_value=11),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_after_any_writes_the_book_equals_a_full_write(
    store: Store, now: datetime, tmp_path: Path, steps: list[tuple[Write | None, str, int]]
) -> None:
    # One store and book for all examples: each starts where the last left off.
    with store.read() as session:
        if not session.scalars(select(ListingRow.listing_key)).first():
            seed_listings(store, now)
    book = BOOKS.setdefault(id(store), StatusBook(chunk=4))
    compared = Compared(store, now, tmp_path, book)
    at = now
    for write, key, n in steps:
        at += timedelta(minutes=1)
        if write is None:
            book.refresh(store, at)
            continue
        with store.transaction() as session:
            write(session, key, n, at)
    compared.rebuilt()  # asserts the bytes
    assert compared.rebuilt() == 0


BOOKS: dict[int, StatusBook] = {}
