"""The benchmarks' harness on small sizes: the seeded starting point is what syncd itself would
leave (its planner finds nothing to send), redrop counts 0 calls for an unchanged export
and 1 for a price change, and run_all turns the benchmarks' GOAL lines into the goals table.

Not a benchmark: nothing here is timed; it keeps the harness working as syncd changes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(autouse=True)
def _bench_on_path() -> Iterator[None]:
    # The benchmarks are scripts importing each other by name, as when run from bench/.
    sys.path.insert(0, str(BENCH))
    try:
        yield
    finally:
        sys.path.remove(str(BENCH))


def test_a_seeded_store_and_world_are_in_step_with_every_listing_visible(tmp_path: Path) -> None:
    import exports
    from seed import seed
    from sync_driver import open_config, write_config

    from syncd.core.clock import utc_now
    from syncd.store.listings import all_listings
    from syncd.usecases.apply import current_plan

    config, store = open_config(write_config(tmp_path / "run", "http://127.0.0.1:9/v1"))
    export = tmp_path / "seed.csv"
    exports.write_csv(export, 12, images=2)
    with store:
        seeded = seed(store, config, export, tmp_path / "world.json", "http://127.0.0.1:9")
        assert seeded.listings == 12
        assert current_plan(store, config, utc_now()).is_empty
        with store.read() as session:
            rows = all_listings(session)
        assert {row.stage for row in rows} == {"visible"}
        assert len({row.hemnet_id for row in rows}) == 12
    world = json.loads((tmp_path / "world.json").read_text(encoding="utf-8"))
    held = {listing["fields"]["externalId"] for listing in world["listings"]}
    assert held == {row.listing_key for row in rows}
    assert len(world["images"]) == 24
    assert all(listing["is_published"] and listing["is_approved"] for listing in world["listings"])


def test_redrop_counts_no_call_for_an_unchanged_export_and_one_for_a_price(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import goals
    import redrop

    redrop.measure(30)
    verdicts = [goals.parse(line) for line in capsys.readouterr().out.splitlines()]
    found = {row[0]: (row[2], row[3]) for row in verdicts if row is not None}
    assert found == {
        "API calls on re-drop of an unchanged export, 30 listings (both kinds)": ("0", "met"),
        "API calls for one price change, 30 listings": ("1", "met"),
    }


def test_the_goals_table_shows_each_goal_met_or_missed_and_names_what_was_not_measured() -> None:
    import goals
    import run_all

    output = "\n".join(
        [
            "some figure",
            f"{goals.PREFIX}drop → first call p95, 10,000 listings | ≤ 1 s | 3.10 s | MISSED",
            f"{goals.PREFIX}API calls for one price change, 10 listings | exactly 1 | 1 | met",
        ]
    )
    table = run_all.goals_table([("title", "cmd", output, 1.0)])
    assert "| drop → first call p95, 10,000 listings | ≤ 1 s | 3.10 s | **MISSED** | [latency]" in (
        table
    )
    assert "| API calls for one price change, 10 listings | exactly 1 | 1 | met |  |" in table
    assert "| 0 calls on re-drop | | not measured in this run | **not measured** | |" in table


def test_ingest_speeds_summary_lines_become_goal_rows_until_it_prints_its_own() -> None:
    import run_all

    line = (
        "10,000 XML: first ingest 6.7x the floor in CPU (MISSES the 5x goal), again with 1 "
        "changed 1.4x the floor in CPU (meets the 5x goal); peak 84 MiB"
    )
    assert run_all.goal_rows(line) == [
        (
            "ingest 10,000 XML, first ingest: CPU time / the floor",
            "≤ 5×",
            "6.7× (peak 84 MiB)",
            "MISSED",
        ),
        (
            "ingest 10,000 XML, again with 1 changed: CPU time / the floor",
            "≤ 5×",
            "1.4× (peak 84 MiB)",
            "met",
        ),
    ]
