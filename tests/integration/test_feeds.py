"""Real feeds by a mapping file alone: record types by element, partial records merged onto
the stored listing, through ``syncd check`` and ``ingest_file``. Feeds: tests/fakes/estate_feed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from syncd.cli import cli
from syncd.config import load_config
from syncd.core.domain import HousingForm, Listing, ListingStatus, listing_from_plain
from syncd.core.errors import ExportError, MappingError
from syncd.formats import load_mapping, parse_file
from syncd.formats.canonical import DEFAULTS, canonical_values
from syncd.store import listings, migrate
from syncd.store.engine import Store, open_store
from syncd.usecases.ingest import ingest_file
from tests.fakes import estate_feed
from tests.fakes.estate_feed import MAPPING


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, Store]]:
    config = tmp_path / "config.toml"
    config.write_text(
        '[paths]\ninbox = "inbox"\nstate_dir = "state"\n\n'
        f'[[formats]]\npattern = "*.xml"\nmapping = "{MAPPING.as_posix()}"\n',
        encoding="utf-8",
    )
    loaded = load_config(config)
    loaded.paths.inbox.mkdir(parents=True)
    migrate.upgrade(loaded.paths.database)
    store = open_store(loaded.paths.database)
    try:
        yield config, store
    finally:
        store.close()


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["check", str(path), "--mapping", str(MAPPING)], standalone_mode=False
    )
    code = result.return_value if isinstance(result.return_value, int) else result.exit_code
    return code, result.output


def take(world: tuple[Path, Store], name: str, text: str, now: datetime) -> Any:
    config = load_config(world[0])
    path = config.paths.inbox / name
    path.write_text(text, encoding="utf-8")
    return ingest_file(world[1], config, path, now)


def desired(store: Store, key: str) -> Listing:
    with store.read() as session:
        plain = listings.desired_plain(session, [key])[key]
    return listing_from_plain(plain)


def changed_fields(before: Listing, after: Listing) -> set[str]:
    old, new = canonical_values(before), canonical_values(after)
    found = {name for name in old if old[name] != new[name]}
    if before.images != after.images:
        found.add("images")
    return found


def test_check_reads_each_record_type_with_its_overrides_and_reports_the_unknown_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.xml"
    path.write_text(estate_feed.mixed_feed(), encoding="utf-8")
    code, out = check(path)
    assert "4 record(s), 4 usable, 0 skipped" in out
    assert "records by type: house 1, land 1, residential 2" in out
    assert "1 element(s) beside the records match no record type" in out
    assert "garage ×1" in out
    assert "meta" not in out  # named in not_records
    assert code == 0
    built = {r.listing_key: r.listing for r in parse_file(path, load_mapping(MAPPING)).records}
    forms = {key: listing.housing_form for key, listing in built.items() if listing}
    assert forms == {
        "R1": HousingForm.APARTMENT,
        "R2": HousingForm.APARTMENT,
        "H1": HousingForm.HOUSE,
        "T1": HousingForm.PLOT,
    }
    land = built["T1"]
    assert land is not None and land.plot_area == 1200 and land.living_area is None


def test_check_counts_partial_records_as_usable(tmp_path: Path) -> None:
    path = tmp_path / "price.xml"
    path.write_text(estate_feed.price_update("R1", 2_900_000), encoding="utf-8")
    code, out = check(path)
    assert "1 record(s), 1 usable (1 partial), 0 skipped" in out
    assert code == 0
    (record,) = parse_file(path, load_mapping(MAPPING)).records
    # The status default (for_sale) is not the record's: a price change must not carry it.
    # The agency is the file's (<feed><agency>), so it is carried.
    assert record.patch is not None
    carried = {k: v for k, v in record.patch.items() if k != DEFAULTS}
    assert carried == {"listing_key": "R1", "agency_key": "estate", "asking_price": 2_900_000}
    # Defaults only fill what the stored listing lacks (merge_partial).
    assert record.patch[DEFAULTS]["status"] == "for_sale"


def test_incremental_partial_records_change_only_what_they_carry(
    world: tuple[Path, Store], now: datetime
) -> None:
    store = world[1]
    assert take(world, "a.xml", estate_feed.mixed_feed(), now).accepted == 4
    first = desired(store, "R1")
    assert first.title == "Residential R1" and len(first.images) == 2

    step = now + timedelta(minutes=1)
    result = take(world, "b.xml", estate_feed.price_update("R1", 2_950_000), step)
    assert (result.outcome, result.accepted, result.changed_keys) == ("accepted", 1, ("R1",))
    priced = desired(store, "R1")
    assert changed_fields(first, priced) == {"asking_price"}
    assert priced.asking_price == 2_950_000

    step += timedelta(minutes=1)
    take(world, "c.xml", estate_feed.sold("R1", 3_000_000, "2026-11-30"), step)
    sold = desired(store, "R1")
    assert sold.status is ListingStatus.SOLD
    # price_is_public is not in the record: its default (true) fills the new sale.
    assert sold.sale is not None
    assert (sold.sale.price, sold.sale.sold_on, sold.sale.price_is_public) == (
        3_000_000,
        date(2026, 11, 30),
        True,
    )
    assert changed_fields(priced, sold) == {
        "status",
        "sale.price",
        "sale.price_is_public",
        "sale.sold_on",
    }

    step += timedelta(minutes=1)
    r2 = desired(store, "R2")
    take(world, "d.xml", estate_feed.withdrawn("R2"), step)
    gone = desired(store, "R2")
    assert changed_fields(r2, gone) == {"status"}
    assert gone.status is ListingStatus.WITHDRAWN


def test_an_insert_and_its_update_in_one_file_merge_in_order(
    world: tuple[Path, Store], now: datetime
) -> None:
    text = estate_feed.feed(
        estate_feed.full_record("house", "H7", "Lönnvägen 7", 4_000_000),
        '<house id="H7"><price>3800000</price></house>',
        '<house id="H7"><title>Nytt pris</title></house>',
    )
    result = take(world, "one.xml", text, now)
    assert (result.accepted, result.skipped) == (3, 0)
    merged = desired(world[1], "H7")
    assert (merged.asking_price, merged.title, merged.address.street) == (
        3_800_000,
        "Nytt pris",
        "Lönnvägen 7",
    )


def test_a_partial_record_for_an_unknown_listing_is_skipped_with_a_reason(
    world: tuple[Path, Store], now: datetime
) -> None:
    result = take(world, "x.xml", estate_feed.price_update("NOPE", 1_000_000), now)
    assert (result.accepted, result.skipped) == (0, 1)
    receipt = Path(str(result.moved_to) + ".result.json").read_text(encoding="utf-8")
    assert "a partial record for a listing syncd does not know" in receipt
    with world[1].read() as session:
        assert listings.desired_plain(session, ["NOPE"]) == {}


def test_an_undeclared_prefix_is_a_mapping_problem_at_load_not_a_crash(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    text = MAPPING.read_text(encoding="utf-8").replace('title = "title"', 'title = "e:title"')
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(broken)
    message = str(caught.value)
    assert "fields.title" in message and "Undefined namespace prefix" in message
    assert "[mapping.namespaces]" in message
    feed = tmp_path / "feed.xml"
    feed.write_text(estate_feed.mixed_feed(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(feed), "--mapping", str(broken)])
    # A MappingError (a SyncdError: one line and a remedy from the CLI's handler), never
    # an XPath error from inside a record, which the handler reports as a bug.
    assert isinstance(result.exception, MappingError), result.exception


def test_no_records_in_a_namespaced_file_hints_at_its_root(tmp_path: Path) -> None:
    path = tmp_path / "ns.xml"
    text = estate_feed.mixed_feed().replace("<feed>", '<feed xmlns="urn:estate:feed:2">')
    path.write_text(text, encoding="utf-8")
    code, out = check(path)
    assert "0 record(s)" in out
    assert "root element is <feed> in namespace 'urn:estate:feed:2'" in out
    assert code == 0


def test_an_element_holding_elements_is_a_problem_unless_the_mapping_joins(
    tmp_path: Path,
) -> None:
    record = (
        '<house id="H2"><street>Ekvägen 1</street><price>1950000</price>'
        "<area><range><min>50</min><max>80</max></range></area>"
        "<description>Ljus<br/>trea med balkong</description></house>"
    )
    path = tmp_path / "range.xml"
    path.write_text(estate_feed.feed(record), encoding="utf-8")
    code, out = check(path)
    assert code == 1 and "1 record(s), 0 usable, 1 skipped" in out
    assert "living_area = '5080': the element holds elements (min, max)" in out
    assert "1 error(s)" in out  # the description, text with inline markup, is text
    joined = tmp_path / "joined.toml"
    text = MAPPING.read_text(encoding="utf-8").replace(
        'living_area = "area"',
        'living_area = "area/range/min"\n'
        'description = { expr = "area", multiple = "join", separator = " to " }',
        1,
    )
    joined.write_text(text.replace('description = "description"\n', ""), encoding="utf-8")
    (result,) = parse_file(path, load_mapping(joined)).records
    assert result.listing is not None
    assert (result.listing.living_area, result.listing.description) == (Decimal(50), "50 to 80")


def test_plausibility_limits_have_per_mapping_overrides(tmp_path: Path) -> None:
    record = (
        '<house id="W1"><street>Lagervägen 3</street><price>25000000</price>'
        "<area>12000</area></house>"
    )
    path = tmp_path / "warehouse.xml"
    path.write_text(estate_feed.feed(record), encoding="utf-8")
    code, out = check(path)
    assert code == 1 and "living_area = '12000.0': more than 10,000 m² is not plausible" in out
    roomy = tmp_path / "roomy.toml"
    text = MAPPING.read_text(encoding="utf-8")
    roomy.write_text(
        text.replace("[fields]", "[mapping.limits]\nliving_area = 50000\n\n[fields]", 1),
        encoding="utf-8",
    )
    (result,) = parse_file(path, load_mapping(roomy)).records
    assert result.listing is not None and result.listing.living_area == 12_000


def test_a_foreign_currency_is_an_error_unless_the_mapping_converts_it(tmp_path: Path) -> None:
    record = (
        '<house id="E1"><street>Calle Mayor 1</street><price currency="EUR">250000</price></house>'
    )
    path = tmp_path / "eur.xml"
    path.write_text(estate_feed.feed(record), encoding="utf-8")
    code, out = check(path)
    assert code == 1
    assert "currency = 'EUR': amounts in EUR: Hemnet takes SEK" in out
    converting = tmp_path / "eur.toml"
    text = MAPPING.read_text(encoding="utf-8")
    converting.write_text(
        text.replace("[fields]", "[mapping.currency_rates]\nEUR = 11.5\n\n[fields]", 1),
        encoding="utf-8",
    )
    (result,) = parse_file(path, load_mapping(converting)).records
    assert result.listing is not None and result.listing.asking_price == 2_875_000
    assert any("converted to SEK at 11.5" in p.reason for p in result.problems)


def test_reprocess_reads_the_same_bytes_again_after_a_mapping_fix(
    world: tuple[Path, Store], now: datetime, tmp_path: Path
) -> None:
    config_path, store = world
    config = load_config(config_path)
    record = '<house id="M1"><street>Mossvägen 2</street><price>2100000</price></house>'
    text = estate_feed.feed(record).replace("<price>", "<pris>").replace("</price>", "</pris>")
    first = take(world, "crm.xml", text, now)
    assert (first.accepted, first.skipped) == (1, 0)
    assert desired(store, "M1").asking_price is None  # the mapping reads <price>, not <pris>
    archived = first.moved_to
    assert archived is not None

    # The same bytes dropped again are a duplicate: nothing is read.
    again = take(world, "crm.xml", text, now + timedelta(minutes=1))
    assert again.outcome == "duplicate"

    # The mapping is fixed; reprocess sends the archived file back to the inbox, marked.
    config_path.write_text(
        config_path.read_text(encoding="utf-8").replace(
            MAPPING.as_posix(), (tmp_path / "fixed.toml").as_posix()
        ),
        encoding="utf-8",
    )
    (tmp_path / "fixed.toml").write_text(
        MAPPING.read_text(encoding="utf-8").replace(
            'asking_price = "price"', 'asking_price = "pris"'
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["--config", str(config_path), "reprocess", str(archived)], standalone_mode=False
    )
    assert result.exception is None, result.output
    back = config.paths.inbox / "crm.xml"
    assert back.is_file() and not archived.exists()
    assert "read again with today's mappings" in result.output
    redone = ingest_file(store, load_config(config_path), back, now + timedelta(minutes=2))
    assert (redone.outcome, redone.accepted, redone.changed_keys) == ("accepted", 1, ("M1",))
    assert desired(store, "M1").asking_price == 2_100_000
    assert list(config.paths.inbox.iterdir()) == []  # file archived, marker gone


def test_reprocess_refuses_a_file_outside_rejected_and_archive(
    world: tuple[Path, Store], tmp_path: Path
) -> None:
    stray = tmp_path / "stray.xml"
    stray.write_text(estate_feed.feed(), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(world[0]), "reprocess", str(stray)], standalone_mode=False
    )
    assert isinstance(result.exception, ExportError)
    assert "can be reprocessed" in str(result.exception) and stray.is_file()


def _variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = MAPPING.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_record_ignored_on_purpose_is_counted_as_ignored_not_as_an_error(
    tmp_path: Path,
) -> None:
    mapping = _variant(
        tmp_path,
        "ignore.toml",
        'withdrawn = "withdrawn" }',
        'withdrawn = "withdrawn", rental = "@ignore" }',
    )
    rental = '<house id="X9" status="rental"><street>Hyresvägen 1</street></house>'
    path = tmp_path / "with-rental.xml"
    path.write_text(
        estate_feed.feed(estate_feed.full_record("house", "H1", "Tallstigen 9", 1), rental),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["check", str(path), "--mapping", str(mapping)], standalone_mode=False
    )
    assert "2 record(s), 1 usable, 1 ignored, 0 skipped" in result.output
    assert "0 error(s)" in result.output and result.return_value == 0
    records = list(parse_file(path, load_mapping(mapping)).records)
    assert records[1].ignored == "status 'rental': ignored on purpose by the mapping"


def test_expressions_see_the_current_date_as_today(tmp_path: Path) -> None:
    mapping = _variant(
        tmp_path,
        "upcoming.toml",
        'status = { expr = "@status | status", map = { active = "for_sale", soon = "upcoming", '
        'sold = "sold", withdrawn = "withdrawn" }, default = "for_sale" }',
        "status = { expr = \"number(translate(available, '-', '')) > $today\", "
        'map = { true = "upcoming", false = "for_sale" } }',
    )
    record = (
        '<house id="U1"><street>Nyvägen 1</street><price>1</price>'
        "<available>2026-12-20</available></house>"
    )
    path = tmp_path / "upcoming.xml"
    path.write_text(estate_feed.feed(record), encoding="utf-8")
    loaded = load_mapping(mapping)
    before = next(iter(parse_file(path, loaded, today=date(2026, 12, 5)).records))
    after = next(iter(parse_file(path, loaded, today=date(2026, 12, 20)).records))
    assert before.listing is not None and before.listing.status is ListingStatus.UPCOMING
    assert after.listing is not None and after.listing.status is ListingStatus.FOR_SALE


def test_images_with_non_numeric_ids_keep_their_order_of_appearance(tmp_path: Path) -> None:
    mapping = _variant(tmp_path, "ids.toml", 'url = "."', 'url = "."\norder = "@id"')
    record = (
        '<house id="I1"><street>Bildvägen 1</street><price>1</price><images>'
        '<image id="front">https://img.estate.example/front.jpg</image>'
        '<image id="kitchen">https://img.estate.example/kitchen.jpg</image>'
        '<image id="garden">https://img.estate.example/garden.jpg</image>'
        "</images></house>"
    )
    path = tmp_path / "ids.xml"
    path.write_text(estate_feed.feed(record), encoding="utf-8")
    (result,) = parse_file(path, load_mapping(mapping)).records
    assert result.errors == []
    assert result.listing is not None
    assert [(i.url.rsplit("/", 1)[1], i.order) for i in result.listing.images] == [
        ("front.jpg", 0),
        ("kitchen.jpg", 1),
        ("garden.jpg", 2),
    ]


def test_check_text_has_no_empty_field_between_colons(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<feed><house id='A'>", encoding="utf-8")
    code, out = check(path)
    assert code == 4
    assert "::" not in out and "ERROR   line 1: not well-formed XML" in out


def test_namespaced_record_types_with_their_own_partial_rule(tmp_path: Path) -> None:
    mapping = tmp_path / "ns.toml"
    mapping.write_text(
        """\
[mapping]
format = "xml"
namespaces = { e = "urn:estate:feed:2" }
mode = "incremental"

[fields]
listing_key = "@id"
agency_key = { value = "estate" }
status = { expr = "@status", default = "for_sale" }
"address.street" = "e:street"
asking_price = "e:price"

[types."e:house".fields]
housing_form = { value = "house" }

[types."e:update"]
partial = true
""",
        encoding="utf-8",
    )
    path = tmp_path / "ns.xml"
    path.write_text(
        '<feed xmlns="urn:estate:feed:2"><house id="N1"><street>Nyvägen 1</street>'
        '<price>100</price></house><update id="N1" status="withdrawn"/>'
        '<flat id="F1"><street>Gata 1</street></flat></feed>',
        encoding="utf-8",
    )
    result = parse_file(path, load_mapping(mapping))
    house, update = list(result.records)
    assert house.listing is not None and house.listing.housing_form is HousingForm.HOUSE
    assert update.listing is None and update.patch is not None
    assert {k: v for k, v in update.patch.items() if k != DEFAULTS} == {
        "listing_key": "N1",
        "status": "withdrawn",
    }
    assert result.unmatched == {"flat": 1}


def test_a_types_table_names_an_undeclared_prefix(tmp_path: Path) -> None:
    mapping = tmp_path / "bad.toml"
    mapping.write_text(
        MAPPING.read_text(encoding="utf-8").replace(
            "[types.land.fields]", '[types."x:land".fields]'
        ),
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match="namespace prefix 'x' is not declared"):
        load_mapping(mapping)


def test_a_csv_mapping_declares_partial_rows_by_a_column(
    world: tuple[Path, Store], now: datetime, tmp_path: Path
) -> None:
    mapping = tmp_path / "rows.toml"
    mapping.write_text(
        """\
[mapping]
format = "csv"
mode = "incremental"
partial = { expr = "typ", map = { delta = true, hel = false }, map_default = false }

[fields]
listing_key = "id"
agency_key = { value = "estate" }
status = { expr = "status", default = "for_sale" }
"address.street" = "gata"
asking_price = "pris"
title = "rubrik"
""",
        encoding="utf-8",
    )
    config_path, store = world
    config_path.write_text(
        config_path.read_text(encoding="utf-8").replace('pattern = "*.xml"', 'pattern = "*.x"')
        + f'\n[[formats]]\npattern = "*.csv"\nmapping = "{mapping.as_posix()}"\n',
        encoding="utf-8",
    )
    header = "id;typ;status;gata;pris;rubrik\n"
    take(world, "a.csv", header + "C1;hel;;Radvägen 3;1500000;Radhus\n", now)
    take(world, "b.csv", header + "C1;delta;;;1450000;\n", now + timedelta(minutes=1))
    merged = desired(store, "C1")
    assert (merged.asking_price, merged.title, merged.address.street) == (
        1_450_000,
        "Radhus",
        "Radvägen 3",
    )
    assert merged.status is ListingStatus.FOR_SALE


def test_check_accepts_a_doctype_naming_a_dtd_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "estate.dtd"
    path = tmp_path / "doctype.xml"
    path.write_text(
        estate_feed.mixed_feed(doctype=f'<!DOCTYPE feed SYSTEM "{missing.as_uri()}">'),
        encoding="utf-8",
    )
    code, out = check(path)
    assert code == 0 and "4 record(s), 4 usable, 0 skipped" in out
    assert not missing.parent.exists()


def test_config_check_calls_a_mapping_with_an_undeclared_prefix_invalid(
    world: tuple[Path, Store], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    text = MAPPING.read_text(encoding="utf-8").replace('title = "title"', 'title = "e:title"')
    broken.write_text(text, encoding="utf-8")
    config_path = world[0]
    config_path.write_text(
        config_path.read_text(encoding="utf-8").replace(MAPPING.as_posix(), broken.as_posix()),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["config", "check", str(config_path)])
    assert "INVALID" in result.output and ": ok)" not in result.output
    assert result.exit_code != 0
