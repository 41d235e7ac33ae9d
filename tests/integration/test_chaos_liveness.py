"""Found by chaos/kill_restart.py's fault sweep: an unknown outcome must bring apply back.

A daemon only runs the next apply pass at ``ApplyReport.next_retry_at`` (or when something
else kicks it). An op left ``unknown`` (the call's answer was lost, and reading Hemnet back
failed too) must therefore ask for a retry time, or it stays unknown until the next export.
"""

from __future__ import annotations

from datetime import UTC, datetime

from syncd.store.listings import set_agency_hemnet_id
from tests.integration.apply_env import AGENCY, Env, a_listing, save

SANDBOX_PER_TEST = True  # faults stay set on a sandbox


def known_agency(env: Env) -> None:
    remote = env.client.create_agency(AGENCY.name, AGENCY.organisation_number, AGENCY.key)
    with env.store.transaction() as session:
        set_agency_hemnet_id(session, AGENCY.key, remote.hemnet_id, datetime.now(UTC))


def test_an_unknown_outcome_asks_for_another_pass(env: Env) -> None:
    save(env.store, a_listing("U1"))
    known_agency(env)
    env.sandbox.set_faults(fault_drop=1.0)  # applied by Hemnet, answer lost
    report = env.applier().run_pass()
    assert report.ops_unknown == 1
    assert report.next_retry_at is not None


def test_a_failed_settle_asks_for_another_pass(env: Env) -> None:
    save(env.store, a_listing("U2"))
    known_agency(env)
    env.sandbox.set_faults(fault_drop=1.0)
    env.applier().run_pass()
    report = env.applier().run_pass()  # the read-back is dropped too: still unknown
    assert report.ops_unknown == 1 and report.settled == 0
    assert report.next_retry_at is not None
    env.sandbox.set_faults(fault_drop=0.0)
    assert env.applier().run_pass().settled == 1
