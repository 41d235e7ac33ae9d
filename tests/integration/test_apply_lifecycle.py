"""Apply against the sandbox: a listing's whole life, each change sending exactly its calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from syncd.core.domain import ListingStatus, Sale
from syncd.store.events import events_of_listing
from syncd.store.listings import get_listing, known_images
from syncd.store.outbox import operations_of_listing
from tests.integration.apply_env import (
    Env,
    a_listing,
    hemnet_id,
    image,
    save,
    wait_for_images,
)


def calls(env: Env) -> dict[str, int]:
    """API requests since the last reset (the admin calls of the handle left out)."""
    return {k: v for k, v in env.requests().items() if v and " /v1/" in k}


def publish(env: Env, key: str) -> str:
    """Create, process images, publish: returns the hemnet id."""
    applier = env.applier()
    first = applier.run_pass()
    assert first.ops_failed == first.ops_retry == first.ops_unknown == 0
    wait_for_images(env.store, env.poller(), [key])
    second = applier.run_pass()
    assert second.ops_succeeded == 1, second  # the publish
    return hemnet_id(env.store, key)


def test_new_listing_is_created_published_and_visible_after_approval(env: Env) -> None:
    save(env.store, a_listing("L1"))
    env.sandbox.reset_stats()
    report = env.applier().run_pass()
    # agency, listing, two images; publishing waits for the images
    assert report.ops_succeeded == 4
    counts = calls(env)
    assert counts["POST /v1/listings 201"] == 1
    assert counts["POST /v1/listings/{listing_id}/images 201"] == 2
    assert counts["POST /v1/broker_agencies 201"] == 1
    wait_for_images(env.store, env.poller(), ["L1"])
    assert env.applier().run_pass().ops_succeeded == 1
    hid = hemnet_id(env.store, "L1")
    remote = env.client.get_listing(hid)
    assert remote.is_published and not remote.is_visible
    with env.store.read() as session:
        row = get_listing(session, "L1")
        assert row is not None and row.is_published and row.approval_url
        assert row.applied_hash == row.content_hash
        kinds = [e.kind for e in events_of_listing(session, "L1")]
    assert "publish" in kinds and "create_listing" in kinds
    env.sandbox.approve(hid)
    assert env.client.get_listing(hid).is_visible
    env.poller().poll_listing("L1")
    env.sandbox.reset_stats()
    again = env.applier().run_pass()
    assert again.ops_total == 0
    assert calls(env) == {}  # an unchanged pass makes no call at all


def test_price_change_sends_exactly_one_patch(env: Env) -> None:
    listing = a_listing("L2")
    save(env.store, listing)
    hid = publish(env, "L2")
    save(env.store, replace(listing, asking_price=3_750_000))
    env.sandbox.reset_stats()
    report = env.applier().run_pass()
    assert report.ops_succeeded == 1
    assert calls(env) == {"PATCH /v1/listings/{listing_id} 200": 1}
    assert env.client.get_listing(hid).raw["askingPrice"] == 3_750_000
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert calls(env) == {}


def test_one_image_added_and_one_removed_send_exactly_those_two_calls(env: Env) -> None:
    listing = a_listing("L3")
    save(env.store, listing)
    hid = publish(env, "L3")
    changed = replace(listing, images=(image("L3", 1), image("L3", 2)))
    save(env.store, changed)
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert calls(env) == {
        "POST /v1/listings/{listing_id}/images 201": 1,
        "DELETE /v1/listings/{listing_id}/images/{image_id} 204": 1,
    }
    urls = sorted(img.url for img in env.client.list_images(hid))
    assert urls == [image("L3", 1).url, image("L3", 2).url]
    with env.store.read() as session:
        assert sorted(r.url for r in known_images(session, "L3")) == urls


def test_sold_with_private_price_is_reported_once_and_never_again(env: Env) -> None:
    listing = a_listing("L4")
    save(env.store, listing)
    hid = publish(env, "L4")
    sale = Sale(price=4_100_000, price_is_public=False, sold_on=date(2026, 3, 1))
    save(env.store, replace(listing, status=ListingStatus.SOLD, sale=sale))
    env.sandbox.reset_stats()
    for _ in range(3):
        env.applier().run_pass()
    assert calls(env) == {"POST /v1/listings/{listing_id}/sale 201": 1}
    remote = env.client.get_listing(hid)
    assert remote.sale is not None and not remote.sale.is_price_public
    assert not remote.is_published


def test_withdrawn_listing_is_unpublished(env: Env) -> None:
    listing = a_listing("L5")
    save(env.store, listing)
    hid = publish(env, "L5")
    save(env.store, replace(listing, status=ListingStatus.WITHDRAWN))
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert calls(env) == {"POST /v1/listings/{listing_id}/unpublish 200": 1}
    assert not env.client.get_listing(hid).is_published
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert calls(env) == {}


def test_rejected_update_waits_until_the_listing_changes(env: Env) -> None:
    listing = a_listing("L6")
    save(env.store, listing)
    publish(env, "L6")
    # The sandbox refuses an energy class outside A0..G.
    save(env.store, replace(listing, energy_class="Z"))
    report = env.applier().run_pass()
    assert report.ops_failed == 1
    with env.store.read() as session:
        row = get_listing(session, "L6")
        assert row is not None and row.failed_hash == row.content_hash and row.last_error
        ops = operations_of_listing(session, "L6")
    assert ops[0].status == "failed" and ops[0].http_status in (400, 422)
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert calls(env) == {}  # not retried while unchanged
    save(env.store, replace(listing, energy_class="C"))
    assert env.applier().run_pass().ops_succeeded == 1


def test_a_pass_whose_time_is_up_before_its_first_call_still_makes_progress(env: Env) -> None:
    # Settling and planning count against max_pass_s: on a loaded machine, or with a large
    # store, they can take all of it. Deferring every job then would send nothing, ever.
    save(env.store, *(a_listing(f"P{n}") for n in range(3)))
    applier = env.applier(max_pass_s=0.0)
    passes = 0
    while True:
        report = applier.run_pass()
        passes += 1
        assert report.ops_succeeded > 0 or report.deferred == 0, report
        if report.deferred == 0:
            break
        assert passes < 50, report
    with env.store.read() as session:
        ids = [get_listing(session, f"P{n}").hemnet_id for n in range(3)]  # type: ignore[union-attr]
    assert all(ids)


def test_a_long_pass_stops_in_time_and_the_next_passes_finish_the_work(env: Env) -> None:
    keys = [f"T{n}" for n in range(6)]
    save(env.store, *(a_listing(key) for key in keys))
    env.sandbox.set_faults(latency_ms=60)
    try:
        applier = env.applier(max_pass_s=0.2)
        first = applier.run_pass()
        # some work done, the rest deferred to a pass asked for at once
        assert first.ops_succeeded > 0 and first.deferred > 0, first
        assert first.next_retry_at is not None and first.next_retry_at <= env.clock()
        for _ in range(20):
            report = applier.run_pass()
            if report.deferred == 0:
                break
        assert report.deferred == 0 and report.ops_failed == report.ops_retry == 0, report
    finally:
        env.sandbox.set_faults(latency_ms=0)
    with env.store.read() as session:
        ids = {key: get_listing(session, key).hemnet_id for key in keys}  # type: ignore[union-attr]
    assert all(ids.values()) and len(set(ids.values())) == len(keys)
