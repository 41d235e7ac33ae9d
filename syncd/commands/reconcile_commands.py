"""``syncd reconcile [--dry-run]``: compare every listing on Hemnet with what syncd knows.

Parses options, runs ``syncd.usecases.reconcile.reconcile`` once and prints its report; no logic.
"""

from __future__ import annotations

import json
from typing import Any

import click

from syncd.commands.invocation import Invocation, pass_invocation
from syncd.commands.writer import hand_over, state_writer
from syncd.core.clock import utc_now
from syncd.core.domain import to_plain
from syncd.runtime.services import build_services
from syncd.store.requests import RECONCILE
from syncd.usecases.image_audit import describe as describe_extra_images
from syncd.usecases.reconcile import ReconcileReport, reconcile

_VALUE_WIDTH = 40


@click.command("reconcile")
@click.option(
    "--dry-run", is_flag=True, help="Report what differs from Hemnet; change nothing in the state."
)
@pass_invocation
def reconcile_command(invocation: Invocation, dry_run: bool) -> int:
    """Compare every listing on Hemnet with what syncd knows.

    Adopts listings Hemnet already has under our listing key, clears listings Hemnet no
    longer has (the next run creates them again) and resets drifted fields so the next run
    sends them again. Second copies of an image are deleted; nothing else is ever deleted
    on Hemnet: duplicate listings, listings unknown here and conflicts are only reported.
    With the daemon running, the daemon runs the comparison (a dry run only reads, and
    runs here).
    """
    if dry_run:
        _reconcile_here(invocation, dry_run=True)
        return 0
    with state_writer(invocation, "syncd reconcile") as daemon:
        if daemon is not None:
            return hand_over(invocation, daemon, RECONCILE, None)
        _reconcile_here(invocation, dry_run=False)
    return 0


def _reconcile_here(invocation: Invocation, *, dry_run: bool) -> None:
    config = invocation.config
    with invocation.store() as store, build_services(config, store) as services:
        report = reconcile(
            store,
            services.client,
            config,
            utc_now(),
            repair=not dry_run,
            spend=services.spend,
        )
    for line in report_lines(report):
        click.echo(line)


def _shown(value: Any) -> str:
    text = json.dumps(to_plain(value), ensure_ascii=False)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def report_lines(report: ReconcileReport) -> list[str]:
    """The report as an operator reads it (what would happen, on a dry run)."""
    would = "would be " if report.dry_run else ""
    lines = [
        f"{report.compared} listing(s) compared with Hemnet"
        + (" (dry run: nothing changed)" if report.dry_run else "")
    ]
    if report.adopted:
        lines.append(f"{would}adopted (already on Hemnet): {', '.join(report.adopted)}")
    if report.recreated:
        lines.append(f"{would}created again (gone from Hemnet): {', '.join(report.recreated)}")
    if report.drift:
        lines.append(f"drift ({'would be ' if report.dry_run else ''}sent again next run):")
        lines.append(f"  {'listing':<12} {'field':<18} {'crm':<20} {'sent':<20} hemnet")
        lines.extend(
            f"  {d.listing_key:<12} {d.field:<18} {_shown(d.crm):<20} {_shown(d.sent):<20} "
            f"{_shown(d.hemnet)}"
            for d in report.drift
        )
    for dup in report.duplicates:
        lines.append(
            f"duplicate on Hemnet: {dup.listing_key} followed as {dup.kept}; "
            f"{', '.join(dup.others)} left alone (remove by hand)"
        )
    for extra in report.extra_images:
        removed = None if report.dry_run else len(extra.removed)
        lines.append(
            f"extra images on Hemnet: {extra.listing_key}: "
            + describe_extra_images(extra, removed, extra.not_removed)
        )
    if report.conflicts:
        lines.append("conflicts (resolve by hand; nothing is sent for them):")
        lines.extend(f"  {c.listing_key:<12} {c.text}" for c in report.conflicts)
    if report.unknown_on_hemnet:
        lines.append("unknown on Hemnet (left alone): " + ", ".join(report.unknown_on_hemnet))
    return lines


COMMANDS: list[click.Command] = [reconcile_command]
