"""Dirty-set passes against the sandbox: a pass plans what changed and what is due, acts on
every timer a full pass honours, keeps the guards that need every listing, and plans the
same ops as a full pass of the same state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncd.core.domain import Sale
from syncd.core.ops import CreateListing, UpdateListing
from syncd.sandbox.testing import SandboxHandle
from syncd.store.holds import open_holds
from syncd.store.listings import (
    get_listing,
    record_remote_state,
    record_seen_on_hemnet,
    record_sold,
)
from syncd.store.plan_marks import clear_marks, live_by_agency, read_marks
from syncd.store.requests import release, retry_listing
from syncd.usecases.apply.passplan import dirty_keys, plan_now, prepare_pass
from syncd.usecases.apply.report import Tally
from syncd.usecases.reconcile import reconcile
from tests.fakes.store_state import mark_missing
from tests.integration.apply_env import (
    AGENCY,
    Env,
    a_listing,
    apply_env,
    hemnet_id,
    save,
    wait_for_images,
)

SANDBOX_OPTIONS = {"image_delay_s": 0.01}
SANDBOX_PER_TEST = True  # each test its own Hemnet: the listing keys repeat


def published(env: Env, count: int) -> list[str]:
    """``count`` listings created, their image processed and published, by full passes."""
    keys = [f"D{n:02d}" for n in range(count)]
    save(env.store, *(a_listing(key, images=1) for key in keys))
    applier = env.applier()
    assert applier.run_pass().ops_failed == 0
    wait_for_images(env.store, env.poller(), keys)
    report = applier.run_pass()
    assert report.ops_succeeded == count, report  # the publishes
    # The outcomes marked the listings: a dirty pass plans them and finds nothing to send.
    assert applier.run_pass(full=False).ops_total == 0
    return keys


def marked(env: Env) -> frozenset[str]:
    with env.store.read() as session:
        return read_marks(session).listing_keys


@pytest.fixture
def guarded(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[Env]:
    """Removals after 10 minutes, unless more than 2, and more than a fifth of an agency's,
    would go."""
    sync: dict[str, Any] = {
        "removal_grace_s": 600,
        "mass_removal_share": 0.2,
        "mass_removal_min": 2,
    }
    with apply_env(sandbox, tmp_path, sync=sync) as env:
        yield env


def test_a_price_change_is_one_update_from_a_pass_that_plans_one_listing(env: Env) -> None:
    keys = published(env, 4)
    assert not marked(env)  # the full pass cleared what it planned
    save(env.store, a_listing(keys[1], images=1, asking_price=4_100_000))
    assert marked(env) == {keys[1]}
    env.sandbox.reset_stats()
    report = env.applier().run_pass(full=False)
    assert (report.full, report.planned, report.ops_succeeded) == (False, 1, 1)
    calls = {k: v for k, v in env.requests().items() if v and " /v1/" in k}
    assert calls == {"PATCH /v1/listings/{listing_id} 200": 1}
    # the outcome is a known-state change: the next pass plans that listing, and finds it done
    assert marked(env) == {keys[1]}
    again = env.applier().run_pass(full=False)
    assert (again.planned, again.ops_total) == (1, 0)
    assert not marked(env)


def test_a_dirty_pass_plans_the_ops_a_full_pass_plans(guarded: Env) -> None:
    env = guarded
    keys = published(env, 6)
    now = env.clock()
    save(env.store, a_listing(keys[0], images=1, title="Nyrenoverad villa"))
    save(env.store, a_listing("NEW", images=2))
    with env.store.transaction() as session:
        mark_missing(session, [keys[5]], now)
    with env.store.read() as session:
        keys_read = dirty_keys(session, read_marks(session))
        full = plan_now(session, env.config, now)
        dirty = plan_now(session, env.config, now, keys_read)
    assert keys_read == {keys[0], "NEW", keys[5]}
    assert dirty.ops == full.ops and dirty.holds == full.holds
    assert dirty.waiting == full.waiting
    kinds = {type(op) for op in full.ops}
    assert UpdateListing in kinds and CreateListing in kinds  # it did plan something
    assert [w.listing_key for w in full.waiting if w.due_at is not None] == [keys[5]]


def test_a_retry_time_is_acted_on_without_a_mark(env: Env) -> None:
    keys = published(env, 2)
    save(env.store, a_listing(keys[0], images=1, asking_price=3_000_000))
    env.sandbox.set_faults(fault_500=1.0)
    failed = env.applier().run_pass(full=False)
    env.sandbox.set_faults(fault_500=0.0)
    assert failed.ops_retry == 1 and failed.next_retry_at is not None
    assert not marked(env)  # a retry changes the op, not the listing
    env.advance((failed.next_retry_at - env.clock()).total_seconds() + 1)
    report = env.applier().run_pass(full=False)
    assert (report.ops_succeeded, report.planned) == (1, 1)


def test_a_removal_grace_ending_is_acted_on_without_a_mark(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    with apply_env(sandbox, tmp_path, sync={"removal_grace_s": 600}) as env:
        keys = published(env, 3)
        with env.store.transaction() as session:
            mark_missing(session, [keys[2]], env.clock())
        waiting = env.applier().run_pass(full=False)
        assert waiting.ops_total == 0 and waiting.next_retry_at is not None
        assert not marked(env)
        env.advance(601)
        report = env.applier().run_pass(full=False)
        assert report.ops_succeeded == 1
        with env.store.read() as session:
            row = get_listing(session, keys[2])
            assert row is not None and not row.is_published


def test_images_a_poll_finds_processed_are_published_by_a_dirty_pass(env: Env) -> None:
    save(env.store, a_listing("P1", images=2))
    applier = env.applier()
    assert applier.run_pass(full=False).ops_succeeded == 4  # agency, listing, two images
    applier.run_pass(full=False)  # plans what the outcomes changed: nothing new to send
    assert not marked(env)
    wait_for_images(env.store, env.poller(), ["P1"])
    assert marked(env) == {"P1"}  # the poll recorded the images processed
    report = applier.run_pass(full=False)
    assert (report.planned, report.ops_succeeded) == (1, 1)  # the publish
    applier.run_pass(full=False)
    env.poller().poll_listing("P1")  # nothing new on Hemnet: a next poll time, no mark
    assert not marked(env)


def test_a_retry_request_is_acted_on_by_a_dirty_pass(env: Env) -> None:
    keys = published(env, 2)
    env.applier().run_pass(full=False)
    with env.store.transaction() as session:
        retry_listing(session, keys[0], env.clock())
    assert marked(env) == {keys[0]}
    assert env.applier().run_pass(full=False).planned == 1


def test_a_broken_export_that_removes_most_listings_is_held_by_a_dirty_pass(
    guarded: Env,
) -> None:
    env = guarded
    keys = published(env, 10)
    # Two exports drop 8 of 10. The first drop is within the limit and waits out the grace;
    # the second pass's marks name 6 listings, and the guard judges all 8 together.
    with env.store.transaction() as session:
        mark_missing(session, keys[:2], env.clock())
    first = env.applier().run_pass(full=False)
    assert (first.holds, first.ops_total, first.planned) == (0, 0, 2)
    with env.store.transaction() as session:
        mark_missing(session, keys[2:8], env.clock())
    env.advance(601)  # every grace has ended: only the guard stands in the way
    env.sandbox.reset_stats()
    held = env.applier().run_pass(full=False)
    assert (held.holds, held.ops_total, held.planned) == (1, 0, 8)
    with env.store.read() as session:
        (hold,) = open_holds(session)
    assert hold.listing_keys_json == keys[:8]
    # A later dirty pass keeps the hold open (its id is what the operator was told).
    assert env.applier().run_pass(full=False).ops_total == 0
    with env.store.transaction() as session:
        assert [row.id for row in open_holds(session)] == [hold.id]
        released = release(session, hold.id, "ops", env.clock())
    assert sorted(released.listing_keys) == keys[:8]
    assert not any(" /v1/" in k and v for k, v in env.requests().items())  # nothing sent
    report = env.applier().run_pass(full=False)
    assert report.ops_succeeded == 8


def test_a_single_removal_goes_ahead_when_the_pass_reads_only_it(guarded: Env) -> None:
    """The guard counts the agency's live listings, not those the dirty pass read."""
    env = guarded
    keys = published(env, 10)
    with env.store.transaction() as session:
        mark_missing(session, [keys[4]], env.clock())
    env.advance(601)
    report = env.applier().run_pass(full=False)
    assert (report.planned, report.holds, report.ops_succeeded) == (1, 0, 1)


def test_a_held_update_stays_held_through_dirty_passes(env: Env) -> None:
    keys = published(env, 2)
    save(env.store, a_listing(keys[0], images=0, title=None))  # every image gone: held
    held = env.applier().run_pass(full=False)
    assert (held.holds, held.ops_total) == (1, 0)
    with env.store.read() as session:
        (hold,) = open_holds(session)
    save(env.store, a_listing(keys[1], images=1, asking_price=4_000_000))
    other = env.applier().run_pass(full=False)  # plans the other listing, and the held one
    assert other.ops_succeeded == 1
    with env.store.read() as session:
        assert [row.id for row in open_holds(session)] == [hold.id]


def test_marks_are_cleared_only_with_the_plan_and_only_those_read(env: Env) -> None:
    save(env.store, a_listing("C1", images=1))
    with pytest.raises(RuntimeError), env.store.transaction() as session:
        prepare_pass(session, env.config, env.clock(), Tally(), set(), full=False)
        raise RuntimeError("the process dies before the plan is committed")
    assert marked(env) == {"C1"}
    with env.store.read() as session:
        read = read_marks(session)
    save(env.store, a_listing("C2", images=1))  # marked after the pass read the marks
    with env.store.transaction() as session:
        clear_marks(session, read)
    assert marked(env) == {"C2"}


def test_reading_back_what_hemnet_already_has_marks_nothing(env: Env) -> None:
    """reconcile compares every listing: one that Hemnet has as known costs no planning."""
    keys = published(env, 3)
    report = reconcile(env.store, env.client, env.config, env.clock())
    assert report.compared == len(keys)
    assert not marked(env)
    env.poller().poll_due()
    assert not marked(env)


def test_the_live_count_leaves_out_sold_and_unpublished_and_groups_by_the_agency_sent(
    env: Env,
) -> None:
    keys = published(env, 5)
    sale = Sale(price=3_000_000, price_is_public=True, sold_on=env.clock().date())
    with env.store.transaction() as session:
        record_sold(session, keys[0], sale, env.clock())
        record_remote_state(session, keys[1], env.clock(), is_published=False, is_approved=False)
        record_seen_on_hemnet(session, keys[2], env.clock(), sent=None)  # adopted, never sent
        assert live_by_agency(session) == {AGENCY.key: 2, None: 1}


def test_an_unknown_outcome_is_settled_by_a_dirty_pass_and_the_listing_goes_on(env: Env) -> None:
    published(env, 1)
    save(env.store, a_listing("N1", images=1))
    env.sandbox.reset_stats()
    env.sandbox.set_faults(fault_drop=1.0)  # created on Hemnet, the answer lost
    lost = env.applier().run_pass(full=False)
    env.sandbox.set_faults(fault_drop=0.0)
    assert lost.ops_unknown == 1
    report = env.applier().run_pass(full=False)
    assert report.settled == 1 and report.ops_succeeded > 0  # read back, then the rest
    assert env.applier().run_pass(full=False).ops_total == 0
    assert env.requests()["POST /v1/listings 201"] == 1  # never created twice
    assert hemnet_id(env.store, "N1")
