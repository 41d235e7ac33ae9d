"""The lease keeper of runtime/fleet.py on a real store: instances spread the agencies,
take over a dead one's within one heartbeat after its leases expire, and claim files once.

Heartbeats are called directly on a moved clock (no thread, no sleeping); both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.config import Config, parse_config
from syncd.runtime.fleet import FileClaimedError, Fleet
from syncd.store.engine import Store, open_store
from syncd.store.location import Database
from syncd.store.tables import ListingRow


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def plain(database: Database, now: datetime) -> Iterator[Store]:
    opened = open_store(database)
    with opened.transaction() as session:
        for n, agency in enumerate("abcd"):
            session.add(
                ListingRow(
                    listing_key=f"L{n}", agency_key=agency, first_seen_at=now, updated_at=now
                )
            )
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    fleet = {"lease_ttl_s": 6, "lease_renew_s": 1, "lease_margin_s": 2}
    return parse_config(
        {"paths": {"inbox": "inbox", "state_dir": "state"}, "fleet": fleet}, tmp_path
    )


def beat(*fleets: Fleet, rounds: int = 1) -> None:
    for _ in range(rounds):
        for fleet in fleets:
            fleet.heartbeat()


def test_instances_spread_the_agencies_and_one_coordinates(
    plain: Store, config: Config, now: datetime
) -> None:
    clock = Clock(now)
    one = Fleet(plain, config, clock=clock, instance_id="h:1:a")
    two = Fleet(plain, config, clock=clock, instance_id="h:2:b")
    beat(one, two, rounds=4)
    assert len(one.fence.agencies()) == len(two.fence.agencies()) == 2
    assert one.fence.agencies() | two.fence.agencies() == set("abcd")
    assert one.coordinates() != two.coordinates()
    assert one.budget.instances == two.budget.instances == 2
    view = one.view()
    assert sorted(view.live) == ["h:1:a", "h:2:b"]
    assert sorted(k for keys in view.held.values() for k in keys) == list("abcd")


def test_a_dead_instances_agencies_are_taken_once_its_leases_expire(
    plain: Store, config: Config, now: datetime
) -> None:
    clock = Clock(now)
    one = Fleet(plain, config, clock=clock, instance_id="h:1:a")
    two = Fleet(plain, config, clock=clock, instance_id="h:2:b")
    beat(one, two, rounds=4)
    lost = two.fence.agencies()
    # two dies: no more heartbeats. Before its leases expire nothing moves.
    clock.now = now + timedelta(seconds=5)
    beat(one)
    assert one.fence.agencies().isdisjoint(lost)
    clock.now = now + timedelta(seconds=one.timings.ttl_s + 0.5)
    beat(one)
    assert one.fence.agencies() == set("abcd")
    held = one.fence.held()
    # Its ops in flight wait out the dead holder's longest call before being read back.
    for key in lost:
        assert held[key].settle_after == clock.now + timedelta(seconds=one.timings.settle_delay_s)
        assert held[key].token == 2
    assert one.coordinates()


def test_a_clean_stop_hands_the_agencies_over_at_the_next_heartbeat(
    plain: Store, config: Config, now: datetime
) -> None:
    clock = Clock(now)
    one = Fleet(plain, config, clock=clock, instance_id="h:1:a")
    two = Fleet(plain, config, clock=clock, instance_id="h:2:b")
    beat(one, two, rounds=4)
    two.stop()
    assert not two.fence.agencies() and not two.fence.acting()
    beat(one)
    assert one.fence.agencies() == set("abcd")


def test_a_file_is_claimed_by_one_instance_and_skipped_by_the_other(
    plain: Store, config: Config, now: datetime, tmp_path: Path
) -> None:
    clock = Clock(now)
    one = Fleet(plain, config, clock=clock, instance_id="h:1:a")
    two = Fleet(plain, config, clock=clock, instance_id="h:2:b")
    beat(one, two)
    export = tmp_path / "export.csv"
    export.write_text("objektnummer\n1\n", encoding="utf-8")
    with one.claimed(export):
        with pytest.raises(FileClaimedError, match="another instance"), two.claimed(export):
            pytest.fail("both instances ingest the file")
        export.rename(tmp_path / "archived.csv")  # ingested: moved out of the inbox
    # two saw the file before it went: when it comes to it, it is gone
    with pytest.raises(FileClaimedError, match="gone"), two.claimed(export):
        pytest.fail("a file already taken is ingested again")
