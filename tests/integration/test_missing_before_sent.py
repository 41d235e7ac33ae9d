"""A listing a full export leaves out: its history line says what will happen to it, by
how far it got towards Hemnet (on Hemnet, a create sent and not answered, never sent), and
apply does what the line says (nothing creates it; a create Hemnet did make stays there
unpublished)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from syncd.cli import cli
from syncd.config import Config, load_config
from syncd.core.ops import CreateListing
from syncd.store.engine import Store
from syncd.store.events import events_of_listing
from syncd.store.listings import (
    Reach,
    desired_listing,
    get_listing,
    reach_of,
    record_remote_state,
    record_sent,
    set_agency_hemnet_id,
)
from syncd.store.outbox import (
    add_operation,
    mark_in_flight,
    operations_of_listing,
    record_outcome,
)
from syncd.store.tables import OpStatus
from syncd.usecases.ingest import ingest_file
from tests.fakes.store_state import save_desired
from tests.integration.apply_env import AGENCY, Env, a_listing, hemnet_id, save

SANDBOX_PER_TEST = True

HEADER = "objektnummer;maklarbyra;status;gatuadress;postnummer;ort;utgangspris;boendeform"
ON_HEMNET = "missing from full export {}; unpublished after the removal grace"
NEVER_SENT = "missing from full export {}; not on Hemnet, so it will not be created"
UNANSWERED = (
    "missing from full export {}; its create was sent to Hemnet and not answered: the next "
    "apply reads Hemnet back, and if Hemnet made it, it stays there unpublished; else it "
    "will not be created"
)


def drop(store: Store, config: Config, name: str, keys: list[str], agency: str) -> None:
    """A full generic-csv export of ``keys`` ingested as the daemon takes one."""
    rows = [f"{key};{agency};till salu;Gatan 1;11122;Stockholm;2000000;villa" for key in keys]
    path = config.paths.inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = ingest_file(store, config, path, datetime.now(UTC))
    assert result.moved_to is not None and "archive" in result.moved_to.parts, result


def create_op(store: Store, key: str, now: datetime, status: OpStatus | None) -> None:
    """A create of the stored listing recorded in the outbox, then left at ``status``
    (None: a plain intent)."""
    with store.transaction() as session:
        row = get_listing(session, key)
        assert row is not None
        listing = desired_listing(row)
        assert listing is not None
        op = add_operation(session, CreateListing(key, listing=listing), now)
        if status is None:
            return
        mark_in_flight(session, op.id, now)
        if status is not OpStatus.IN_FLIGHT:
            record_outcome(session, op.id, status, now)


def messages(store: Store, key: str) -> list[str]:
    with store.read() as session:
        return [e.message for e in events_of_listing(session, key) if e.kind == "missing"]


def test_the_missing_line_says_what_becomes_of_each_kind(
    store: Store, config_file: Path, now: datetime
) -> None:
    config = load_config(config_file)
    keys = ["ON", "NEVER", "REFUSED", "INTENT", "INFLIGHT", "UNKNOWN", "KEEP"]
    drop(store, config, "crm-1.csv", keys, "byra")
    with store.transaction() as session:
        record_sent(session, "ON", now, hemnet_id="H-ON")
        record_remote_state(session, "ON", now, is_published=True, is_approved=True)
    create_op(store, "REFUSED", now, OpStatus.FAILED)  # Hemnet answered: not made
    create_op(store, "INTENT", now, None)  # planned, never sent
    create_op(store, "INFLIGHT", now, OpStatus.IN_FLIGHT)  # a crash during the call
    create_op(store, "UNKNOWN", now, OpStatus.UNKNOWN)  # the answer was lost
    with store.read() as session:
        assert reach_of(session, [*keys, "NOT-STORED"]) == {
            "ON": Reach.ON_HEMNET,
            "NEVER": Reach.NEVER_SENT,
            "REFUSED": Reach.NEVER_SENT,
            "INTENT": Reach.NEVER_SENT,
            "INFLIGHT": Reach.CREATE_UNANSWERED,
            "UNKNOWN": Reach.CREATE_UNANSWERED,
            "KEEP": Reach.NEVER_SENT,
        }

    drop(store, config, "crm-2.csv", ["KEEP"], "byra")
    expected = {
        "ON": ON_HEMNET,
        "NEVER": NEVER_SENT,
        "REFUSED": NEVER_SENT,
        "INTENT": NEVER_SENT,
        "INFLIGHT": UNANSWERED,
        "UNKNOWN": UNANSWERED,
    }
    for key, line in expected.items():
        assert messages(store, key) == [line.format("crm-2.csv")], key
    assert messages(store, "KEEP") == []

    # 'syncd show' puts the line in the listing's history, beside its stage.
    for key in ("NEVER", "UNKNOWN"):
        shown = CliRunner().invoke(cli, ["--config", str(config_file), "show", key])
        assert shown.exit_code == 0, shown.output
        assert "  stage: unpublished\n" in shown.output
        assert expected[key].format("crm-2.csv") in shown.output
        assert "creates it" not in shown.output


def test_the_reach_of_many_keys_is_read_a_chunk_at_a_time(store: Store, now: datetime) -> None:
    keys = [f"K{n:04d}" for n in range(1_203)]
    with store.transaction() as session:
        for key in keys:
            save_desired(session, a_listing(key, images=0), now)
        record_sent(session, keys[0], now, hemnet_id="H0")
        record_sent(session, keys[777], now, hemnet_id="H777")
    create_op(store, keys[501], now, OpStatus.UNKNOWN)
    create_op(store, keys[1_202], now, OpStatus.IN_FLIGHT)
    with store.read() as session:
        found = reach_of(session, keys)
    assert len(found) == len(keys)
    odd = {key: reach for key, reach in found.items() if reach is not Reach.NEVER_SENT}
    assert odd == {
        keys[0]: Reach.ON_HEMNET,
        keys[777]: Reach.ON_HEMNET,
        keys[501]: Reach.CREATE_UNANSWERED,
        keys[1_202]: Reach.CREATE_UNANSWERED,
    }


def _ingest_config(env: Env, tmp_path: Path) -> Config:
    """The apply env's config, with the generic-csv format for the inbox."""
    path = tmp_path / "formats.toml"
    path.write_text(
        '[paths]\ninbox = "inbox"\nstate_dir = "state"\n\n'
        '[[formats]]\npattern = "*.csv"\nmapping = "generic-csv"\n',
        encoding="utf-8",
    )
    return dataclasses.replace(env.config, formats=load_config(path).formats)


def test_a_create_hemnet_made_stays_unpublished_and_one_it_did_not_is_never_sent(
    env: Env, tmp_path: Path
) -> None:
    # The agency is on Hemnet. MADE's create reaches Hemnet and its answer is dropped.
    now = env.clock()
    save(env.store, a_listing("MADE", images=1), now=now)
    remote = env.client.create_agency(AGENCY.name, AGENCY.organisation_number, AGENCY.key)
    with env.store.transaction() as session:
        set_agency_hemnet_id(session, AGENCY.key, remote.hemnet_id, now)
    env.sandbox.set_faults(fault_drop_write=1.0)
    report = env.applier().run_pass()
    env.sandbox.set_faults(fault_drop_write=0.0)
    assert report.ops_unknown == 1 and report.ops_succeeded == 0
    assert len(env.client.list_listings(external_id="MADE")) == 1
    # LOST's create is recorded as unknown without reaching Hemnet (a crash before the
    # request left): no pass has run since.
    save(env.store, a_listing("LOST", images=1), now=now)
    create_op(env.store, "LOST", now, OpStatus.UNKNOWN)

    # The CRM drops both before the next pass.
    drop(env.store, _ingest_config(env, tmp_path), "crm.csv", ["KEEP"], AGENCY.key)
    for key in ("MADE", "LOST"):
        assert messages(env.store, key) == [UNANSWERED.format("crm.csv")], key

    env.sandbox.reset_stats()
    report = env.applier().run_pass()
    # Both read back: MADE found on Hemnet and adopted, LOST not there and reopened.
    assert report.settled == 2
    made = env.client.list_listings(external_id="MADE")
    assert [r.hemnet_id for r in made] == [hemnet_id(env.store, "MADE")]
    assert not made[0].is_published
    assert env.client.list_listings(external_id="LOST") == []
    # MADE's image add (planned by the first pass) and LOST's reopened create are dropped.
    done = {"MADE": [("create_listing", OpStatus.SUCCEEDED.value)], "LOST": []}
    assert _ops(env.store) == done
    with env.store.read() as session:
        lost = get_listing(session, "LOST")
        assert lost is not None and lost.hemnet_id is None
    assert env.requests().get("POST /v1/listings 201") == 1  # KEEP's create, no other
    hemnet_id(env.store, "KEEP")
    # Nor later: no image, no publish for MADE; LOST never created.
    env.applier().run_pass()
    assert _ops(env.store) == done
    assert not env.client.list_listings(external_id="MADE")[0].is_published
    assert env.client.list_listings(external_id="LOST") == []


def _ops(store: Store) -> dict[str, list[tuple[str, str]]]:
    """MADE's and LOST's ops but those a plan dropped before they were sent."""
    superseded = OpStatus.SUPERSEDED.value
    with store.read() as session:
        return {
            key: [
                (op.kind, op.status)
                for op in operations_of_listing(session, key)
                if op.status != superseded
            ]
            for key in ("MADE", "LOST")
        }
