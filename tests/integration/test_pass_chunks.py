"""A full pass read and planned in chunks: the plan and the stored intents are those of one
read of every listing, for every chunk size, the mass-removal guard included; a pass that
dies between chunks leaves nothing, and the next one records each intent once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncd.config import Config
from syncd.core.domain import Agency, ImageState, KnownImage, MarketState
from syncd.core.ops import Plan, UnpublishListing
from syncd.store.engine import Store
from syncd.store.holds import open_holds, release_hold
from syncd.store.listing_states import read_listing_states
from syncd.store.listings import record_remote_state, record_sent, save_agency, save_known_image
from syncd.store.plan_marks import read_marks
from syncd.store.tables import HoldRow, OperationRow
from syncd.usecases.apply import passplan
from syncd.usecases.apply.passplan import plan_in_chunks, prepare_pass
from syncd.usecases.apply.report import Tally
from tests.fakes.store_state import mark_missing, save_desired
from tests.integration.apply_env import AGENCY, a_listing, write_config

LATE = Agency("ZZ", "Mäklarna i Norr", "556000-1111")  # its listings' keys sort last
LIVE_FIRST = 20  # live listings of AGENCY: the guard's limit is max(2, 0.2 * 20) = 4
LIVE_LATE = 10  # of LATE: limit max(2, 0.2 * 10) = 2


@pytest.fixture
def config(tmp_path: Path) -> Config:
    sync: dict[str, Any] = {
        "removal_grace_s": 600,
        "mass_removal_share": 0.2,
        "mass_removal_min": 2,
    }
    return write_config(tmp_path, "http://127.0.0.1:9", sync=sync)


def seed(store: Store, now: datetime, removed_first: int, removed_late: int) -> None:
    """Listings of every kind a full pass plans: creates (and their agency), updates, an
    update the blanking guard holds, one waiting for its agency's name, removals past and
    within the grace, in two agencies, the second one's keys last."""
    long_ago, lately = now - timedelta(hours=2), now - timedelta(seconds=60)
    with store.transaction() as session:
        save_agency(session, AGENCY, now)
        save_agency(session, LATE, now)
        live = [(f"A{n:02d}", AGENCY.key) for n in range(LIVE_FIRST)]
        live += [(f"Z{n:02d}", LATE.key) for n in range(LIVE_LATE)]
        for n, (key, agency) in enumerate(live):
            sent = a_listing(key, images=1, agency_key=agency)
            save_desired(session, sent, now)
            record_sent(session, key, now, hemnet_id=f"h{n}", sent=sent)
            save_known_image(
                session,
                key,
                KnownImage(sent.images[0].url, f"i{n}", ImageState.COMPLETED, 0, "Bild 0"),
                now,
                is_floor_plan=False,
            )
            record_remote_state(
                session,
                key,
                now,
                is_published=True,
                is_approved=True,
                market_state=MarketState.FOR_SALE,
                allowed_market_states=frozenset(MarketState),
            )
        for key in ("A03", "Z04"):  # the CRM changed the price
            save_desired(session, a_listing(key, images=1, asking_price=4_200_000), now)
        blanked = a_listing("A07", images=1, title=None, asking_price=None)
        save_desired(session, blanked, now)
        for n in range(4):
            save_desired(session, a_listing(f"C{n:02d}", images=2), now)
        save_desired(session, replace(a_listing("N00"), agency_key="NONAME"), now)
        # Removals: the first half past the grace, the rest within it.
        for keys in (
            [f"A{n:02d}" for n in range(10, 10 + removed_first)],
            [f"Z{n:02d}" for n in range(LIVE_LATE - removed_late, LIVE_LATE)],
        ):
            half = len(keys) // 2
            mark_missing(session, keys[:half], long_ago)
            mark_missing(session, keys[half:], lately)


def release_the_late_hold(store: Store, config: Config, now: datetime, more: list[str]) -> None:
    """An operator released the hold of the late agency's removals; then full exports
    dropped ``more`` of its listings, whose removals no one released."""
    with store.transaction() as session:
        prepare_pass(session, config, now, Tally(), set(), full=True)
        (hold,) = [h for h in open_holds(session) if h.agency_key == LATE.key]
        release_hold(session, hold.id, "test", now)
        mark_missing(session, more, now - timedelta(hours=2))


# removals asked of the first agency, of the late one; released and asked again of the
# late one; the agencies whose removals the guard holds
SCENARIOS: dict[str, tuple[int, int, list[str], tuple[str, ...]]] = {
    "at the limits": (4, 2, [], ()),
    "the guard trips in the last chunks": (4, 3, [], (LATE.key,)),
    "the guard trips in the first chunks": (5, 0, [], (AGENCY.key,)),
    "every live listing of an agency": (1, LIVE_LATE, [], (LATE.key,)),
    # 3 released of 10: 2 more asked of the 7 that stay (limit 2) go, 3 more are held.
    "released, and two more asked": (0, 3, ["Z00", "Z01"], ()),
    "released, and three more asked": (0, 3, ["Z00", "Z01", "Z02"], (LATE.key,)),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_plan_in_chunks_is_the_plan_of_one_read_for_every_chunk_size(
    store: Store, config: Config, now: datetime, scenario: str
) -> None:
    removed_first, removed_late, asked_again, tripped = SCENARIOS[scenario]
    seed(store, now, removed_first, removed_late)
    if asked_again:
        release_the_late_hold(store, config, now, asked_again)
    with store.read() as session:
        whole, read = plan_in_chunks(session, config, now, chunk=None)
        assert read == LIVE_FIRST + LIVE_LATE + 5
        for size in range(1, read + 2):
            chunked, planned = plan_in_chunks(session, config, now, chunk=size)
            assert (chunked, planned) == (whole, read), f"chunks of {size}"
    # The scenario is what it says: the guard held these agencies' removals, sent the rest.
    assert [h.agency_key for h in whole.holds if h.missing_since] == list(tripped)
    unpublished = {op.listing_key for op in whole.ops if isinstance(op, UnpublishListing)}
    late = [f"Z{n:02d}" for n in range(LIVE_LATE - removed_late, LIVE_LATE)]
    expected = set()
    if AGENCY.key not in tripped:
        expected |= {f"A{n:02d}" for n in range(10, 10 + removed_first // 2)}
    if asked_again:
        # the released ones go (after their grace), and those asked again unless held
        expected |= set(late[: removed_late // 2]) | set(() if tripped else asked_again)
    elif LATE.key not in tripped:
        expected |= set(late[: removed_late // 2])
    assert unpublished == expected
    _assert_the_plan_has_every_kind(whole)


def _assert_the_plan_has_every_kind(whole: Plan) -> None:
    kinds = {op.kind for op in whole.ops}
    assert {"ensure_agency", "create_listing", "update_listing"} <= kinds, kinds
    assert [h.listing_keys for h in whole.holds if h.updates] == [("A07",)]
    assert "N00" in {w.listing_key for w in whole.waiting}


def stored(store: Store) -> Any:
    with store.read() as session:
        return stored_in(session)


class _Undo(Exception):
    pass


def recorded_by_a_pass(store: Store, config: Config, now: datetime, chunk: int | None) -> Any:
    """What ``prepare_pass`` records with chunks of ``chunk``, then rolled back."""
    result = None
    with pytest.raises(_Undo), store.transaction() as session:
        prepare_pass(session, config, now, Tally(), set(), full=True, chunk=chunk)
        session.flush()
        result = stored_in(session)
        raise _Undo
    return result


def stored_in(session: Any) -> Any:
    """The intents and holds a pass recorded, in order, without their ids (PostgreSQL's
    sequences are not rolled back)."""
    return [
        (r.idempotency_key, r.kind, r.listing_key, r.status, r.payload_json)
        for r in session.scalars(select(OperationRow).order_by(OperationRow.id))
    ], [
        (h.agency_key, h.reason, h.listing_keys_json)
        for h in session.scalars(select(HoldRow).order_by(HoldRow.id))
    ]


def test_a_pass_in_chunks_records_what_a_pass_of_one_read_records(
    store: Store, config: Config, now: datetime
) -> None:
    seed(store, now, 4, 3)
    results: dict[int | None, Any] = {}
    for chunk in (None, 1, 7, 1_000):
        results[chunk] = recorded_by_a_pass(store, config, now, chunk)
    ops, holds = results[None]
    assert len(ops) > 10 and len(holds) == 2  # the late agency's removals, the blanking
    assert all(result == results[None] for result in results.values())


def test_a_pass_that_dies_between_chunks_leaves_nothing_and_the_next_records_each_intent_once(
    store: Store, config: Config, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store, now, 4, 3)
    read = read_listing_states  # what passplan calls, made to die below
    calls = 0

    def dies_at_the_third_chunk(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # what a stop signal raises in the worker
        return read(*args, **kwargs)

    monkeypatch.setattr(passplan, "read_listing_states", dies_at_the_third_chunk)
    with pytest.raises(KeyboardInterrupt), store.transaction() as session:
        prepare_pass(session, config, now, Tally(), set(), full=True, chunk=5)
    assert calls == 3
    monkeypatch.setattr(passplan, "read_listing_states", read)
    assert stored(store) == ([], [])
    with store.read() as session:
        assert read_marks(session).listing_keys  # the marks wait for a pass that records
    with store.transaction() as session:
        prepare_pass(session, config, now, Tally(), set(), full=True, chunk=5)
    first = stored(store)
    with store.transaction() as session:
        prepare_pass(session, config, now, Tally(), set(), full=True, chunk=5)
    ops, holds = stored(store)
    assert (ops, holds) == first
    keys = [op[0] for op in ops]
    assert len(keys) == len(set(keys)) > 10
