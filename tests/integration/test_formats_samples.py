"""The real third-party exports in ../shared/samples parse with the right counts.

These are foreign listings: the bundled mappings may leave Swedish facts empty, but nothing
may crash and records missing required data are reported, not fatal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.formats import check_report, load_mapping, parse_file
from tests.reference.snapshot import snapshot

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"

pytestmark = pytest.mark.skipif(
    not SAMPLES.is_dir(),
    reason=f"shared samples folder {SAMPLES} is absent (third-party files, not in the repo)",
)


@pytest.mark.parametrize(
    ("relative", "mapping", "records", "usable_at_least"),
    [
        ("openimmo/official-example/openimmo-data_127.xml", "openimmo", 1, 0),
        ("openimmo/onoffice-demo/demo_data1.xml", "openimmo", 3, 3),
        ("openimmo/onoffice-demo/demo_data2.xml", "openimmo", 3, 3),
        ("kyero/cmproperties-feed/kyero.xml", "kyero", 133, 120),
        ("kyero/official-example-current/kyero_feed.xml", "kyero", 1, 1),
        ("kyero/athena-advisers-feed/kyero.xml", "kyero", 1, 1),
        ("kyero/openestate-example/kyero.xml", "kyero", 1, 1),
        ("rightmove-blm/example_data.blm", "rightmove-blm", 37, 36),
    ],
)
def test_sample_counts(relative: str, mapping: str, records: int, usable_at_least: int) -> None:
    report = check_report(SAMPLES / relative, load_mapping(mapping))
    assert report.fatal is None
    assert report.record_count == records
    assert report.usable_count >= usable_at_least
    # every skipped record says why, with its location
    skipped = {f.record for f in report.findings if f.severity == "error"}
    assert len(skipped) == records - report.usable_count
    assert all(f.line for f in report.findings if f.record is not None)


def test_official_openimmo_example_reports_its_missing_street() -> None:
    report = check_report(
        SAMPLES / "openimmo/official-example/openimmo-data_127.xml", load_mapping("openimmo")
    )
    assert report.encoding == "iso-8859-1"
    assert [(f.listing_key, f.field) for f in report.findings if f.severity == "error"] == [
        ("111", "address.street")
    ]


def test_kyero_feed_image_urls_with_spaces_and_empty_coordinates() -> None:
    result = parse_file(SAMPLES / "kyero/cmproperties-feed/kyero.xml", load_mapping("kyero"))
    listings = [r.listing for r in result.records if r.listing is not None]
    urls = [image.url for listing in listings for image in listing.images]
    assert len(urls) > 1500
    assert all(" " not in url for url in urls)
    assert any("%20" in url for url in urls)
    assert sum(listing.coordinates is None for listing in listings) >= 40


def test_mislabelled_openimmo_file_is_flagged() -> None:
    path = SAMPLES / "openimmo/official-example-mislabelled-encoding/openimmo-data_127.xml"
    report = check_report(path, load_mapping("openimmo"))
    assert report.fatal is None
    assert any(
        "declared iso-8859-1 but the bytes look like UTF-8" in f.reason for f in report.findings
    )


def test_blm_with_wrong_structure_is_rejected() -> None:
    report = check_report(
        SAMPLES / "rightmove-blm/blm_with_wrong_structure.blm", load_mapping("rightmove-blm")
    )
    assert report.fatal is not None and "#HEADER#" in report.fatal


def test_onoffice_exports_diff_by_key() -> None:
    mapping = load_mapping("openimmo")
    first, _ = snapshot(parse_file(SAMPLES / "openimmo/onoffice-demo/demo_data1.xml", mapping))
    second, _ = snapshot(parse_file(SAMPLES / "openimmo/onoffice-demo/demo_data2.xml", mapping))
    assert len(first.listings) == len(second.listings) == 3
    assert first.full and second.full
    assert first.agency_keys == second.agency_keys == frozenset({"0099"})
