"""``syncd status`` and ``syncd show KEY``: where each listing stands, from the state database.

Only reads the store (the daemon records stages and gauges); prints, decides nothing.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from syncd.commands.invocation import Invocation, pass_invocation
from syncd.core.clock import utc_now
from syncd.core.errors import StorageError

if TYPE_CHECKING:  # syncd.status brings the store; imported where a command runs
    from syncd.config import Config
    from syncd.status import ListingDetail, StatusRow

WATCH_INTERVAL_S = 2.0
_HEAD = ("listing", "address", "hemnet_id", "stage", "images", "visible", "approval", "last error")


def _duration(seconds: float) -> str:
    minutes = int(seconds) // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" if hours < 24 else f"{hours // 24} d {hours % 24} h"


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _summary(rows: Sequence[StatusRow]) -> str:
    from syncd.status import stage_summary

    counts = stage_summary(rows)
    parts = ", ".join(f"{count} {stage}" for stage, count in counts.items())
    return f"{len(rows)} listing(s)" + (f": {parts}" if parts else "")


def status_table(rows: Sequence[StatusRow], width: int) -> list[str]:
    """The listings as aligned text lines; address and last error share what width is left."""
    cells = []
    for row in rows:
        images = f"{row.images_completed}/{row.images_total}"
        if row.images_failed:
            images += f" ({row.images_failed} failed)"
        waiting = (
            f"waiting {_duration(row.awaiting_approval_s)}"
            if row.awaiting_approval_s is not None
            else "-"
        )
        cells.append(
            [
                row.listing_key,
                row.address,
                row.hemnet_id or "-",
                row.stage.value + (" (held)" if row.held else ""),
                images,
                "yes" if row.visible else "no",
                waiting,
                row.last_error or (f"not sent: {row.not_sent}" if row.not_sent else ""),
            ]
        )
    widths = [max(len(c[i]) for c in ([*_HEAD], *cells)) for i in range(len(_HEAD))]
    fixed = sum(w for i, w in enumerate(widths) if i not in (1, 7)) + 2 * (len(_HEAD) - 1)
    room = max(width - fixed, 30)
    widths[1] = min(widths[1], max(room // 2, 12))
    widths[7] = max(min(widths[7], room - widths[1]), len(_HEAD[7]))

    def line(values: Sequence[str]) -> str:
        return "  ".join(_cut(v, w).ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(_HEAD), line(["-" * w for w in widths]), *(line(c) for c in cells)]


def _disk_warning(config: Config) -> list[str]:
    """A full disk stops the daemon recording anything: the table may be behind."""
    from syncd.store.disk import low_space

    places = (("state_dir", config.paths.state_dir), ("the inbox", config.paths.inbox))
    full = low_space(places)
    if not full:
        return []
    return [
        f"the disk is (nearly) full ({'; '.join(full)}): the daemon cannot record anything, "
        "so this may be behind",
        f"remedy: {StorageError.remedy}",
    ]


def _print_status(
    rows: Sequence[StatusRow],
    now: datetime,
    warnings: Sequence[str] = (),
    fleet: Sequence[str] = (),
) -> None:
    width = shutil.get_terminal_size((120, 24)).columns
    for text in warnings:
        click.echo(text, err=True)
    if rows:
        for text in status_table(rows, width):
            click.echo(text)
        click.echo()
    click.echo(f"{_summary(rows)}  (as of {now:%Y-%m-%d %H:%M:%S} UTC)")
    blocked = [r for r in rows if r.not_sent]
    if blocked:
        # Every blocked row has the same reason: said once here, with what to do.
        click.echo(
            f"  {len(blocked)} listing(s) have changes that cannot be sent: {blocked[0].not_sent}"
        )
        click.echo(f"  {blocked[0].next_action}")
    waiting = [r for r in rows if r.approval_url and r.awaiting_approval_s is not None]
    for row in waiting:
        click.echo(f"  approve {row.listing_key}: {row.approval_url}")
    for row in rows:
        if row.completeness:
            click.echo(f"  complete {row.listing_key}: {' '.join(row.completeness)}")
    for text in fleet:
        click.echo(text)


@click.command("status")
@click.option("--watch", is_flag=True, help=f"Refresh every {WATCH_INTERVAL_S:g} s until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (status.json form).")
@pass_invocation
def status_command(invocation: Invocation, watch: bool, as_json: bool) -> None:
    """Show every listing's stage, images, visibility, approval wait and last error."""
    # The rows the daemon keeps, with what changed since its last refresh built here.
    from syncd.status import book_rows
    from syncd.status.fleet import fleet_lines

    if watch and as_json:
        raise click.UsageError("--watch and --json do not go together")
    with invocation.store() as store:
        if as_json:
            rows = book_rows(store, utc_now())
            click.echo(json.dumps([r.file_record() for r in rows], ensure_ascii=False, indent=2))
            return
        if not watch:
            now = utc_now()
            rows = book_rows(store, now)
            fleet = fleet_lines(store, now)
            _print_status(rows, now, _disk_warning(invocation.config), fleet)
            return
        try:
            while True:
                now = utc_now()
                rows = book_rows(store, now)
                click.clear()
                _print_status(rows, now, _disk_warning(invocation.config), fleet_lines(store, now))
                click.echo(f"refreshing every {WATCH_INTERVAL_S:g} s; Ctrl-C to stop")
                time.sleep(WATCH_INTERVAL_S)
        except KeyboardInterrupt:
            click.echo()


def _facts(title: str, pairs: Sequence[tuple[str, Any]]) -> list[str]:
    lines = [title]
    for name, value in pairs:
        shown = "-" if value is None or value == "" else value
        lines.append(f"  {name:<22}{shown}")
    return lines


def _image_right_text(right: dict[str, Any] | None) -> str | None:
    """'SIX_MONTHS_LICENSE, FREELANCE (Foto Fia), photographer Fia Ek' from its plain form."""
    if not right:
        return None
    agency = right.get("photo_agency")
    if agency and right.get("photo_agency_name"):
        agency = f"{agency} ({right['photo_agency_name']})"
    parts = [right.get("terms"), agency]
    if right.get("photographer"):
        parts.append(f"photographer {right['photographer']}")
    return ", ".join(str(p) for p in parts if p) or None


def show_lines(detail: ListingDetail) -> list[str]:
    """'syncd show KEY' as text: status, CRM facts, Hemnet facts, images, history."""
    return [
        *_standing_lines(detail),
        "",
        *_desired_lines(detail),
        "",
        *_known_lines(detail),
        *_image_lines(detail),
        "",
        *_history_lines(detail),
    ]


def _standing_lines(detail: ListingDetail) -> list[str]:
    """Where the listing stands: stage, next step, what is not sent and why."""
    row = detail.row
    held = "  (held: a removal guard holds this listing, see 'syncd hold list')" if row.held else ""
    lines = [f"{row.listing_key}  {row.address}", f"  stage: {row.stage.value}{held}"]
    lines.append(f"  next:  {row.next_action}")
    lines.extend(f"         - {b}" for b in row.blockers)
    if row.not_sent:
        lines.append(f"  not sent:   {detail.open_ops} change(s) waiting: {row.not_sent}")
        if detail.sending_remedy:
            lines.append(f"  remedy:     {detail.sending_remedy}")
    if row.last_error:
        lines.append(f"  last error: {row.last_error}")
        if detail.remedy:
            lines.append(f"  remedy:     {detail.remedy}")
    if row.completeness:
        lines.append("  completeness (Hemnet's checks):")
        lines.extend(f"         - {warning}" for warning in row.completeness)
    if detail.missing_since:
        lines.append(f"  missing from full exports since {detail.missing_since:%Y-%m-%d %H:%M}")
    return lines


def _desired_lines(detail: ListingDetail) -> list[str]:
    desired = detail.desired
    if desired is None:
        return ["CRM: not in the exports any more"]
    return _facts(
        "CRM (desired):",
        [
            ("status", desired.get("status")),
            ("agency", desired.get("agency_key")),
            ("title", desired.get("title")),
            ("asking price (SEK)", desired.get("asking_price")),
            ("housing form", desired.get("housing_form")),
            ("tenure", desired.get("tenure")),
            ("living area (m²)", desired.get("living_area")),
            ("rooms", desired.get("rooms")),
            ("images", len(desired.get("images") or [])),
            ("image right", _image_right_text(desired.get("image_right"))),
        ],
    )


def _known_lines(detail: ListingDetail) -> list[str]:
    known = detail.known
    return _facts(
        "Hemnet (known):",
        [
            ("hemnet_id", known.hemnet_id),
            ("published", "yes" if known.is_published else "no"),
            ("approved", "yes" if known.is_approved else "no"),
            ("market state", known.market_state),
            ("approval URL", known.approval_url),
            ("public URL", known.public_url),
            ("published at", known.published_at),
            ("visible since", known.visible_at),
            ("sold", known.sold and f"{known.sold['price']} SEK"),
            ("image right sent", _image_right_text(known.image_right)),
            ("in step with CRM", "yes" if known.in_step else "no"),
        ],
    )


def _image_lines(detail: ListingDetail) -> list[str]:
    """The images block, led by an empty line; nothing at all without images."""
    if not detail.images:
        return []
    row = detail.row
    lines = ["", f"Images ({row.images_completed}/{row.images_total} completed):"]
    for img in detail.images:
        note = f"  {img.state_message}" if img.state_message else ""
        gone = "" if img.wanted else "  (no longer in the export)"
        lines.append(f"  {img.position:>2}  {img.state or '?':<12}{img.url}{note}{gone}")
    return lines


def _history_lines(detail: ListingDetail) -> list[str]:
    lines = ["History (newest first):"]
    if not detail.history:
        lines.append("  nothing yet")
    for entry in detail.history:
        outcome = entry.status or "event"
        if entry.http_status:
            outcome += f" {entry.http_status}"
        rid = f"  requestId {entry.request_id}" if entry.request_id else ""
        lines.append(f"  {entry.at:%Y-%m-%d %H:%M:%S}  {outcome:<14}{entry.text}{rid}")
    return lines


@click.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the listing's detail as JSON.")
@pass_invocation
def show_command(invocation: Invocation, key: str, as_json: bool) -> None:
    """Show one listing: CRM facts, Hemnet state, images, history and its last error."""
    from syncd.status import detail_record, listing_detail

    with invocation.store() as store:
        detail = listing_detail(store, key, utc_now())
    if detail is None:
        raise click.ClickException(f"no listing {key!r} in the state database (see 'syncd status')")
    if as_json:
        click.echo(json.dumps(detail_record(detail), ensure_ascii=False, indent=2))
        return
    for text in show_lines(detail):
        click.echo(text)


COMMANDS: list[click.Command] = [status_command, show_command]
