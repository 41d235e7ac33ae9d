"""Apply's image right calls against the sandbox: what was sent is recorded, a right Hemnet
no longer has is taken as deleted, and a listing Hemnet lost forgets its right."""

from __future__ import annotations

from dataclasses import replace

from syncd.core.domain import ImageRight, ImageRightTerms, PhotoAgency
from syncd.store.listings import forget_remote, get_listing
from tests.integration.apply_env import Env, a_listing, hemnet_id, save

RIGHT = ImageRight(ImageRightTerms.SIX_MONTHS_LICENSE, PhotoAgency.DIAKRIT, photographer="Fia")
PUT = "PUT /v1/listings/{listing_id}/image_right 200"


def sent_right(env: Env, key: str) -> object:
    with env.store.read() as session:
        row = get_listing(session, key)
        assert row is not None
        return row.sent_image_right_json


def test_the_right_sent_is_recorded_and_not_sent_again(env: Env) -> None:
    listing = a_listing("R1", image_right=RIGHT)
    save(env.store, listing)
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert env.requests().get(PUT) == 1
    assert env.client.get_image_right(hemnet_id(env.store, "R1")) is not None
    assert sent_right(env, "R1") == {
        "terms": "SIX_MONTHS_LICENSE",
        "photo_agency": "DIAKRIT",
        "photo_agency_name": None,
        "photographer": "Fia",
    }
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert env.requests().get(PUT, 0) == 0


def test_a_right_already_gone_from_hemnet_is_taken_as_deleted(env: Env) -> None:
    listing = a_listing("R2", image_right=RIGHT)
    save(env.store, listing)
    env.applier().run_pass()
    hid = hemnet_id(env.store, "R2")
    env.client.delete_image_right(hid)  # someone removed it on Hemnet
    save(env.store, replace(listing, image_right=None))
    report = env.applier().run_pass()
    assert (report.ops_succeeded, report.ops_failed, report.ops_retry) == (1, 0, 0)
    assert sent_right(env, "R2") is None
    assert hemnet_id(env.store, "R2") == hid  # a 404 of the right is not a lost listing


def test_a_listing_hemnet_lost_forgets_the_right_it_had(env: Env) -> None:
    save(env.store, a_listing("R3", image_right=RIGHT))
    env.applier().run_pass()
    with env.store.transaction() as session:
        forget_remote(session, "R3", env.clock())
    assert sent_right(env, "R3") is None
