"""The demo's status table and its convergence test over status rows."""

from __future__ import annotations

from datetime import UTC, datetime

from syncd.core.stages import Stage, next_action
from syncd.demo.scenario import EXPECTED_FINAL, EXPECTED_FIRST, SOLD_KEY, mismatches
from syncd.demo.table import render_table, stage_counts
from syncd.status import StatusRow

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _row(key: str, stage: Stage, *, failed: int = 0, error: str | None = None) -> StatusRow:
    return StatusRow(
        listing_key=key,
        address="Götgatan 48, 11826 Stockholm — en mycket lång adress som kapas",
        agency="nordhem",
        hemnet_id="L42",
        stage=stage,
        images_completed=3,
        images_total=4,
        images_failed=failed,
        visible=stage is Stage.VISIBLE,
        approval_url=None,
        published_at=None,
        awaiting_approval_s=None,
        hemnet_url=None,
        last_error=error,
        next_action=next_action(stage),
        updated_at=NOW,
    )


def test_table_has_a_line_per_listing_sorted_with_marks() -> None:
    rows = [_row("NH-1002", Stage.AWAITING_APPROVAL, failed=1), _row("NH-1001", Stage.VISIBLE)]
    lines = render_table(rows, EXPECTED_FIRST)
    assert lines[0].split() == ["listing", "agency", "address", "stage", "images", "hemnet"]
    assert lines[2].startswith("NH-1001") and lines[2].endswith("ok")
    assert lines[3].startswith("NH-1002") and lines[3].endswith("→ visible")
    assert "3/4 (1 failed)" in lines[3]
    assert "…" in lines[2]  # long addresses are cut to keep one line per listing
    # columns line up: each stage starts under the heading
    assert lines[0].index("stage") == lines[2].index("visible") == lines[3].index("awaiting")


def test_stage_counts_in_lifecycle_order() -> None:
    rows = [_row("a", Stage.SOLD), _row("b", Stage.VISIBLE), _row("c", Stage.VISIBLE)]
    assert stage_counts(rows) == "visible 2, sold 1"
    assert stage_counts([]) == "no listings yet"


def test_mismatches_name_missing_and_wrong_stages() -> None:
    rows = [_row(key, stage) for key, stage in EXPECTED_FINAL.items()]
    assert mismatches(rows, EXPECTED_FINAL) == []
    rows = [r for r in rows if r.listing_key != "VK-2006"]
    rows = [
        _row(SOLD_KEY, Stage.VISIBLE, error="409 conflict") if r.listing_key == SOLD_KEY else r
        for r in rows
    ]
    assert mismatches(rows, EXPECTED_FINAL) == [
        f"{SOLD_KEY}: visible (want sold); 409 conflict",
        "VK-2006: not taken in yet (want visible)",
    ]
