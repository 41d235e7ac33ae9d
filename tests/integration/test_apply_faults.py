"""Apply when Hemnet fails: unknown outcomes settled by reading back, never duplicated."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncd.sandbox.testing import serve_sandbox
from syncd.store.listings import set_agency_hemnet_id
from syncd.store.location import Database
from syncd.store.outbox import operations_by_status
from syncd.store.tables import OpStatus
from syncd.usecases.apply import current_plan
from tests.integration.apply_env import AGENCY, Env, a_listing, apply_env, hemnet_id, save

SANDBOX_PER_TEST = True


def known_agency(env: Env) -> None:
    """The agency is on Hemnet already, so the first call of a pass is the create."""
    remote = env.client.create_agency(AGENCY.name, AGENCY.organisation_number, AGENCY.key)
    with env.store.transaction() as session:
        set_agency_hemnet_id(session, AGENCY.key, remote.hemnet_id, datetime.now(UTC))


def test_dropped_create_is_found_by_external_id_and_not_sent_again(env: Env) -> None:
    save(env.store, a_listing("D1"))
    known_agency(env)
    env.sandbox.set_faults(fault_drop_write=1.0)  # the lookup before the create gets through
    report = env.applier().run_pass()
    assert report.ops_unknown == 1 and report.ops_succeeded == 0
    with env.store.read() as session:
        assert [r.kind for r in operations_by_status(session, OpStatus.UNKNOWN)] == [
            "create_listing"
        ]
    assert len(env.client.list_listings(external_id="D1")) == 1  # Hemnet took it
    env.sandbox.set_faults(fault_drop_write=0.0)
    env.sandbox.reset_stats()
    report = env.applier().run_pass()
    assert report.settled == 1
    counts = env.requests()
    assert counts.get("POST /v1/listings 201", 0) == 0  # settled, not created again
    assert counts["GET /v1/listings 200"] == 1
    assert len(env.client.list_listings(external_id="D1")) == 1
    assert hemnet_id(env.store, "D1") == env.client.list_listings(external_id="D1")[0].hemnet_id
    assert report.ops_succeeded == 2  # the images went on after the settled create


def test_dropped_image_add_is_found_by_url_and_not_added_twice(env: Env) -> None:
    save(env.store, a_listing("D2", images=1))
    known_agency(env)
    report = env.applier().run_pass()
    assert report.ops_succeeded == 2
    hid = hemnet_id(env.store, "D2")
    # New image: its add is dropped after Hemnet took it.
    save(env.store, a_listing("D2", images=2))
    env.sandbox.set_faults(fault_drop=1.0)
    assert env.applier().run_pass().ops_unknown == 1
    env.sandbox.set_faults(fault_drop=0.0)
    env.sandbox.reset_stats()
    report = env.applier().run_pass()
    assert report.settled == 1
    assert env.requests().get("POST /v1/listings/{listing_id}/images 201", 0) == 0
    urls = [img.url for img in env.client.list_images(hid)]
    assert sorted(urls) == sorted(set(urls)) and len(urls) == 2


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder in memory where there is one: each commit's fsync dominates the sweep."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="syncd-apply-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_fault_sweep_converges_with_one_listing_per_key_and_one_image_per_url(
    fast_dir: Path, database: Database
) -> None:
    faults = {"fault_500": 0.2, "fault_429": 0.05, "fault_drop": 0.02, "fault_seed": 7}
    with (
        serve_sandbox(image_delay_s=0.01, **faults) as sandbox,
        apply_env(sandbox, fast_dir, database, hemnet={"max_concurrency": 4}) as env,
    ):
        listings = [a_listing(f"S{n:03d}", images=1 + n % 2) for n in range(200)]
        save(env.store, *listings)
        passes = 0
        while True:
            passes += 1
            assert passes <= 40, "no convergence after 40 passes"
            env.virtual_applier().run_pass()
            env.advance(3600)  # every backoff has run out by the next pass
            with env.store.read() as session:
                open_ops = operations_by_status(
                    session, OpStatus.INTENT, OpStatus.IN_FLIGHT, OpStatus.UNKNOWN
                )
            if not open_ops and current_plan(env.store, env.config, env.clock()).is_empty:
                break
        sandbox.set_faults(fault_500=0.0, fault_429=0.0, fault_drop=0.0)
        remote = env.client.list_listings()
        per_key = Counter(r.external_id for r in remote)
        assert set(per_key) == {x.listing_key for x in listings}
        assert max(per_key.values()) == 1, "a listing was created twice"
        wanted = {x.listing_key: sorted(i.url for i in x.images) for x in listings}
        for r in remote:
            urls = sorted(img.url for img in env.client.list_images(r.hemnet_id))
            assert urls == wanted[str(r.external_id)], r.external_id
        assert passes > 1  # the faults really did get in the way
