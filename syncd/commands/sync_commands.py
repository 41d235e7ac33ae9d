"""Commands that send to Hemnet or decide what is sent: plan, apply, retry, hold, keys.

They parse options, call apply/keys/store and print; no logic of their own, never a token.
"""

from __future__ import annotations

import getpass
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from syncd.commands.invocation import Invocation, pass_invocation
from syncd.commands.writer import hand_over, state_writer
from syncd.core.clock import utc_now
from syncd.core.errors import ApiError
from syncd.core.ops import Plan
from syncd.runtime.services import build_services
from syncd.store import requests
from syncd.store.engine import Store
from syncd.store.holds import open_holds, release_summary, require_released
from syncd.usecases.apply import Applier, ApplyReport, current_plan

EXIT_OK = 0
# Show a progress bar when a pass has at least this many ops to run.
PROGRESS_MIN_OPS = 20


def _plan_json(the_plan: Plan) -> dict[str, Any]:
    return {
        "ops": [
            {
                "kind": op.kind,
                "listing_key": op.listing_key,
                "description": op.describe(),
                "consequences": sorted(c.value for c in op.consequences),
            }
            for op in the_plan.ops
        ],
        "holds": [
            {"agency_key": h.agency_key, "reason": h.reason, "listing_keys": list(h.listing_keys)}
            for h in the_plan.holds
        ],
        "waiting": [{"listing_key": w.listing_key, "reason": w.reason} for w in the_plan.waiting],
    }


@click.command("plan")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_invocation
def plan_command(invocation: Invocation, as_json: bool) -> None:
    """Show what the next apply would send to Hemnet (sends nothing)."""
    with invocation.store() as store:
        the_plan = current_plan(store, invocation.config, utc_now())
    if as_json:
        click.echo(json.dumps(_plan_json(the_plan), ensure_ascii=False, indent=2))
        return
    if the_plan.is_empty:
        click.echo("nothing to send")
    for line in the_plan.lines():
        click.echo(line)


@contextmanager
def _stop_on_sigterm(applier: Applier) -> Iterator[None]:
    """SIGTERM finishes and records the call in flight, then the pass ends."""

    def handler(signum: int, frame: FrameType | None) -> None:
        applier.stop()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Progress:
    """A click progress bar, opened once a pass turns out to be long (called from threads)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0
        self.lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_OPS:
            return
        with self.lock:
            if self.bar is None:
                opened: Any = click.progressbar(length=total, label="applying", file=sys.stderr)
                self.bar = opened.__enter__()
            if done > self.shown:
                self.bar.update(done - self.shown)
                self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _run_apply(invocation: Invocation, store: Store) -> ApplyReport:
    progress = _Progress()
    # One whole pass, however long: the time bound is for the daemon's shared worker.
    with build_services(invocation.config, store, progress=progress, max_pass_s=None) as services:
        applier = services.applier
        try:
            with _stop_on_sigterm(applier):
                return applier.run_pass()
        finally:
            progress.close()


@click.command("apply")
@pass_invocation
def apply_command(invocation: Invocation) -> int:
    """Run one pass: settle unknown outcomes, plan, send the due ops to Hemnet.

    With the daemon running, the daemon runs the pass and this prints its result.
    """
    with state_writer(invocation, "syncd apply") as daemon:
        if daemon is not None:
            return hand_over(invocation, daemon, requests.APPLY, None)
        with invocation.store() as store:
            report = _run_apply(invocation, store)
    for line in report.summary_lines():
        click.echo(line)
    return report.exit_code


@click.command("retry")
@click.argument("listing_key")
@pass_invocation
def retry_command(invocation: Invocation, listing_key: str) -> int:
    """Send a rejected listing again, and end its backoff, at once.

    With the daemon running, the daemon does it and sends within seconds.
    """
    with state_writer(invocation, "syncd retry") as daemon:
        if daemon is not None:
            return hand_over(invocation, daemon, requests.RETRY, listing_key)
        with invocation.store() as store, store.transaction() as session:
            answer = requests.retry_listing(session, listing_key, utc_now())
    click.echo(f"{answer}; no daemon is running: 'syncd apply' sends them")
    return EXIT_OK


@click.group("hold")
def hold_group() -> None:
    """Removals a guard held until an operator confirms them."""


@hold_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the holds as JSON.")
@pass_invocation
def hold_list(invocation: Invocation, as_json: bool) -> None:
    """Show the open holds."""
    with invocation.store() as store, store.read() as session:
        holds = open_holds(session)
    if as_json:
        data = [
            {
                "id": h.id,
                "agency_key": h.agency_key,
                "reason": h.reason,
                "listing_keys": list(h.listing_keys_json),
                "created_at": h.created_at.isoformat(),
            }
            for h in holds
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not holds:
        click.echo("no open holds")
    for h in holds:
        keys = ", ".join(str(k) for k in h.listing_keys_json)
        click.echo(f"hold {h.id} agency {h.agency_key} since {h.created_at:%Y-%m-%d %H:%M}")
        click.echo(f"  {h.reason}")
        click.echo(f"  {len(h.listing_keys_json)} listing(s): {keys}")
        click.echo(f"  release with: syncd hold release {h.id}")


@hold_group.command("release")
@click.argument("hold_id", type=int)
@pass_invocation
def hold_release(invocation: Invocation, hold_id: int) -> int:
    """Confirm a held removal; prints what the plan then does with those listings.

    With the daemon running, the daemon releases it and runs that pass at once.
    """
    with state_writer(invocation, "syncd hold release") as daemon:
        if daemon is not None:
            return hand_over(invocation, daemon, requests.HOLD_RELEASE, str(hold_id))
        with invocation.store() as store:
            with store.transaction() as session:
                released = requests.release(session, hold_id, getpass.getuser(), utc_now())
            require_released(released)  # after the commit: a superseded hold stays closed
            # Said from the plan itself, so that it is what 'syncd plan' shows and apply does.
            lines = release_summary(released, current_plan(store, invocation.config, utc_now()))
    for line in lines:  # "... unpublished by the next apply": no daemon runs one here
        click.echo(line)
    return EXIT_OK


@click.group("keys")
def keys_group() -> None:
    """syncd's Hemnet API key: expiry and renewal."""


@keys_group.command("check")
@pass_invocation
def keys_check(invocation: Invocation) -> None:
    """Show the key's expiry; renew it when it is within key_renew_before_days."""
    with invocation.store() as store, build_services(invocation.config, store) as services:
        status = services.keys.check(services.client)
    click.echo(f"key {status.key_id or 'unknown'}: {status.message}")


@keys_group.command("renew")
@pass_invocation
def keys_renew(invocation: Invocation) -> int:
    """Make a new key now, switch to it and delete the old one."""
    with invocation.store() as store, build_services(invocation.config, store) as services:
        renewed = services.keys.renew(services.client)
        status = services.keys.check(services.client) if renewed else None
    if status is None:
        click.echo("key renewal failed: see the log above", err=True)
        return ApiError.exit_code
    expires = status.expires_at.isoformat() if status.expires_at else "unknown"
    click.echo(f"key renewed: key {status.key_id} expires {expires}")
    return EXIT_OK


COMMANDS: list[click.Command] = [
    plan_command,
    apply_command,
    retry_command,
    hold_group,
    keys_group,
]
