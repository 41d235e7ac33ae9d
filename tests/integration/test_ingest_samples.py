"""The shared third-party samples ingest through their bundled mappings with the right counts.

They are read from ../shared/samples (never copied into the repository) and copied into a
temporary inbox per test, because ingest moves the file it takes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.store import listings
from syncd.usecases.ingest import ingest_file
from tests.fakes.ingest_world import World, open_world

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"

pytestmark = pytest.mark.skipif(
    not SAMPLES.is_dir(),
    reason=f"shared samples folder {SAMPLES} is absent (third-party files, not in the repo)",
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened


def take(world: World, relative: str, name: str, now: datetime) -> tuple[str, int, int, int]:
    path = world.inbox / name
    shutil.copyfile(SAMPLES / relative, path)
    result = ingest_file(world.store, world.config, path, now)
    return result.outcome, result.records, result.accepted, len(result.changed_keys)


@pytest.mark.parametrize(
    ("relative", "name", "expected"),
    [
        ("kyero/cmproperties-feed/kyero.xml", "kyero-cm.xml", ("accepted", 133, 132, 132)),
        ("kyero/official-example-current/kyero_feed.xml", "kyero-1.xml", ("accepted", 1, 1, 1)),
        ("kyero/athena-advisers-feed/kyero.xml", "kyero-2.xml", ("accepted", 1, 1, 1)),
        ("openimmo/onoffice-demo/demo_data1.xml", "oo.xml", ("accepted", 3, 3, 3)),
        ("rightmove-blm/example_data.blm", "rm.blm", ("accepted", 37, 36, 36)),
        # its one listing has no street: a full export with nothing usable is held
        ("openimmo/official-example/openimmo-data_127.xml", "oi.xml", ("held", 1, 0, 0)),
    ],
)
def test_sample_ingests_with_the_right_counts(
    world: World, now: datetime, relative: str, name: str, expected: tuple[str, int, int, int]
) -> None:
    assert take(world, relative, name, now) == expected
    with world.store.read() as session:
        stored = [r for r in listings.all_listings(session) if r.desired_json is not None]
    assert len(stored) == expected[3]


def test_second_onoffice_export_changes_only_what_changed(world: World, now: datetime) -> None:
    take(world, "openimmo/onoffice-demo/demo_data1.xml", "one.xml", now)
    outcome, records, accepted, changed = take(
        world, "openimmo/onoffice-demo/demo_data2.xml", "two.xml", now + timedelta(hours=1)
    )
    assert (outcome, records, accepted) == ("accepted", 3, 3)
    assert 0 < changed <= 3
    # and the same feed again changes nothing
    assert take(world, "openimmo/onoffice-demo/demo_data2.xml", "three.xml", now) == (
        "duplicate",
        0,
        0,
        0,
    )


def test_broken_blm_sample_is_rejected(world: World, now: datetime) -> None:
    outcome, *_ = take(world, "rightmove-blm/blm_with_wrong_structure.blm", "bad.blm", now)
    assert outcome == "rejected"
    assert (world.config.paths.rejected / "bad.blm.error.json").is_file()
