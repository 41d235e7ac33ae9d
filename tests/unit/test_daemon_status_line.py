"""The one-line status systemd shows for the daemon."""

from __future__ import annotations

from datetime import UTC, datetime

from syncd.core.stages import Stage
from syncd.runtime.daemon import status_line
from syncd.status import StatusRow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def status_row(key: str, stage: Stage) -> StatusRow:
    return StatusRow(
        listing_key=key,
        address="Storgatan 1",
        agency="default",
        hemnet_id=None,
        stage=stage,
        images_completed=0,
        images_total=0,
        images_failed=0,
        visible=stage is Stage.VISIBLE,
        approval_url=None,
        published_at=None,
        awaiting_approval_s=None,
        hemnet_url=None,
        last_error=None,
        next_action="",
        updated_at=NOW,
    )


def test_counts_by_stage_largest_first() -> None:
    rows = [status_row(f"V{n}", Stage.VISIBLE) for n in range(9)]
    rows += [status_row("W1", Stage.AWAITING_APPROVAL), status_row("W2", Stage.AWAITING_APPROVAL)]
    rows.append(status_row("F1", Stage.FAILED))
    assert status_line(rows) == "12 listings: 9 visible, 2 awaiting approval, 1 failed"


def test_no_listings_and_alerts() -> None:
    assert status_line([]) == "0 listings: waiting for the first export file"
    one = [status_row("V1", Stage.VISIBLE)]
    assert status_line(one, alerts=2) == "1 listing: 1 visible; 2 alerts (see the log)"


def test_problems_make_the_line_say_not_ready() -> None:
    rows = [status_row("A1", Stage.VISIBLE)]
    line = status_line(rows, 0, ["key_refused", "hemnet_unreachable"])
    assert line == "1 listing: 1 visible; NOT READY: key refused, hemnet unreachable (see /healthz)"
    assert "NOT READY" not in status_line(rows, 0, [])
