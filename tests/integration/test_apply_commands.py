"""The sync commands in-process (click's runner) on a real store and sandbox: retry, plan,
apply's SIGTERM-safe stop, keys check."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from click.testing import CliRunner

from syncd.cli import cli
from syncd.config import TOKEN_ENV
from syncd.store.files import record_export_file
from syncd.store.holds import add_hold
from syncd.store.listings import get_listing
from syncd.store.outbox import operations_by_status
from syncd.store.tables import FileOutcome, OpStatus
from tests.integration.apply_env import AGENCY, Env, a_listing, save, wait_for_images


def invoke(env: Env, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["--config", str(env.config.source), *args],
        env={TOKEN_ENV: env.sandbox.token},
        catch_exceptions=False,
        standalone_mode=False,
    )
    code = result.return_value if isinstance(result.return_value, int) else result.exit_code
    return code, result.output


def test_plan_lists_ops_and_apply_sends_them(env: Env) -> None:
    save(env.store, a_listing("P1"))
    code, out = invoke(env, "plan")
    assert code == 0
    assert "create_listing" in out and "waiting for 2 image(s)" in out
    code, out = invoke(env, "apply")
    assert code == 0, out
    assert "applied: 4 succeeded, 0 failed" in out
    code, out = invoke(env, "plan")
    assert "create_listing" not in out


def test_retry_sends_a_rejected_listing_once_more(env: Env) -> None:
    listing = a_listing("R1")
    save(env.store, replace(listing, energy_class="Z"))  # the sandbox refuses it
    code, out = invoke(env, "apply")
    assert code == 6, out  # a Hemnet refusal
    env.sandbox.reset_stats()
    assert invoke(env, "apply")[0] == 0  # nothing is sent while unchanged
    assert env.requests().get("POST /v1/listings 400", 0) == 0
    code, out = invoke(env, "retry", "R1")
    assert code == 0 and "rejection cleared" in out
    with env.store.read() as session:
        row = get_listing(session, "R1")
        assert row is not None and row.failed_hash is None
    invoke(env, "apply")
    assert env.requests()["POST /v1/listings 400"] == 1  # sent once more, refused again


def test_keys_check_shows_the_expiry_never_the_token(env: Env) -> None:
    code, out = invoke(env, "keys", "check")
    assert code in (0, None)
    # The sandbox's keys live 90 days: a date ahead is valid, with the days left.
    assert re.search(r"key is valid: expires in (89|90) day\(s\) \(\d{4}-", out), out
    assert "expired" not in out
    assert env.sandbox.token not in out


def test_stop_finishes_the_call_in_flight_and_leaves_the_rest(env: Env) -> None:
    save(env.store, *(a_listing(f"T{n}") for n in range(6)))
    applier = env.applier()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            applier.stop()  # what SIGTERM does

    applier.progress = progress
    report = applier.run_pass()
    assert report.stopped
    with env.store.read() as session:
        assert operations_by_status(session, OpStatus.IN_FLIGHT) == []  # recorded, not lost
        left = len(operations_by_status(session, OpStatus.INTENT))
    assert left > 0 and report.ops_succeeded < 6 * 3 + 1
    finished = env.applier().run_pass()
    assert finished.ops_succeeded == left


def test_releasing_an_empty_exports_hold_prints_what_the_plan_then_does(env: Env) -> None:
    keys = ["H1", "H2"]
    save(env.store, *(a_listing(k, images=1) for k in keys))
    env.applier().run_pass()
    wait_for_images(env.store, env.poller(), keys)
    env.applier().run_pass()
    now = datetime.now(UTC)
    with env.store.transaction() as session:
        export = record_export_file(
            session,
            name="empty.csv",
            sha256="00" * 32,
            size_bytes=0,
            received_at=now,
            outcome=FileOutcome.HELD,
            mapping="generic-csv",
            export_mode="full",
        )
        hold = add_hold(session, AGENCY.key, "empty", keys, now, export_file_id=export.id)

    code, out = invoke(env, "hold", "release", str(hold.id))

    assert code == 0, out
    head, *said = out.splitlines()
    # The default grace (a day) counts from the export's arrival: nothing goes yet.
    assert head == (
        f"hold {hold.id} released for 2 listing(s): 0 unpublished by the next apply, "
        "2 not now; the plan for them:"
    )
    code, plan = invoke(env, "plan")
    assert [line.strip() for line in said] == plan.splitlines()[1:]  # after "nothing to send"
    assert all("waiting: missing from the full export since" in line for line in said)
    assert len(said) == 2
