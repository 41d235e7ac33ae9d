"""The bundled demo exports, read through the demo's own config and mappings and ingested."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from syncd.config import Config, load_config
from syncd.core.domain import HousingForm, Listing, ListingStatus
from syncd.demo.scenario import (
    DEMO_KEYS,
    REPRICED_KEY,
    REPRICED_PRICE,
    SOLD_KEY,
    WITHDRAWN_KEY,
)
from syncd.demo.workspace import (
    INITIAL_EXPORTS,
    UPDATE_EXPORTS,
    Workspace,
    demo_data_dir,
    drop_export,
    prepare,
)
from syncd.formats import load_mapping, parse_file
from syncd.hemnet.client import HemnetClient
from syncd.hemnet.payload import listing_body
from syncd.sandbox.testing import serve_sandbox
from syncd.store.engine import Store
from syncd.usecases.ingest import ingest_file
from tests.fakes.store_state import load_desired

ROOT_URL = "http://127.0.0.1:45678"
TODAY = date(2026, 11, 27)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    prepare(ws, ROOT_URL, "127.0.0.1:45679")
    return ws


@pytest.fixture
def config(workspace: Workspace) -> Config:
    return load_config(workspace.config_path)


def _parse(config: Config, path: Path) -> tuple[bool, dict[str, Listing]]:
    rule = config.format_for(path.name)
    assert rule is not None, f"no [[formats]] entry takes {path.name}"
    result = parse_file(path, load_mapping(rule.mapping_path))
    listings: dict[str, Listing] = {}
    for record in result.records:
        errors = [p for p in record.problems if p.severity == "error"]
        assert record.listing is not None, f"{path.name} {record.listing_key}: {errors}"
        assert record.listing_key is not None, f"{path.name}: a listing without its key"
        listings[record.listing_key] = record.listing
    return result.full, listings


def test_config_points_at_the_sandbox_and_the_demo_mappings(
    workspace: Workspace, config: Config
) -> None:
    assert config.hemnet.base_url == f"{ROOT_URL}/v1"
    assert config.paths.inbox == workspace.inbox
    assert config.paths.database == workspace.database
    assert config.http.listen_address == ("127.0.0.1", 45679)
    assert config.agency is not None and config.agency.key == "nordhem"
    for name in (*INITIAL_EXPORTS, *UPDATE_EXPORTS):
        rule = config.format_for(name)
        assert rule is not None and rule.mapping_path.is_file(), name


def test_initial_exports_hold_twenty_listings_with_demo_images(
    workspace: Workspace, config: Config
) -> None:
    csv_full, csv = _parse(config, demo_data_dir() / "nordhem-1.csv")
    xml_full, xml = _parse(config, demo_data_dir() / "vastkust-1.xml")
    assert csv_full and xml_full
    assert (len(csv), len(xml)) == (14, 6)
    listings = {**csv, **xml}
    assert sorted(listings) == sorted(DEMO_KEYS)
    assert {ls.agency_key for ls in csv.values()} == {"nordhem"}
    assert {ls.agency_key for ls in xml.values()} == {"vastkust"}
    forms = {ls.housing_form for ls in listings.values()}
    assert {
        HousingForm.APARTMENT,
        HousingForm.HOUSE,
        HousingForm.TERRACED_HOUSE,
        HousingForm.HOLIDAY_HOME,
    } <= forms
    cities = {ls.address.city for ls in listings.values()}
    assert {"Stockholm", "Göteborg", "Malmö", "Uppsala"} <= cities
    for key, listing in listings.items():
        assert listing.status is ListingStatus.FOR_SALE, key
        assert listing.asking_price and listing.description, key
        assert 3 <= len(listing.images) <= 6, key  # a floor plan counts as one
        for image in listing.images:
            assert image.url.startswith(f"{ROOT_URL}/static/demo/house-"), image.url
        if listing.housing_form is HousingForm.APARTMENT:
            assert listing.address.apartment_number, key
    with_seller = [k for k, ls in listings.items() if ls.seller is not None]
    with_billing = [k for k, ls in listings.items() if ls.billing is not None]
    assert len(with_seller) >= 3 and len(with_billing) >= 3


def test_update_reprices_sells_privately_and_withdraws(
    workspace: Workspace, config: Config
) -> None:
    for name in UPDATE_EXPORTS:
        drop_export(workspace, name, TODAY)
    csv_full, csv = _parse(config, workspace.inbox / "nordhem-2.csv")
    xml_full, xml = _parse(config, workspace.inbox / "vastkust-2.xml")
    assert csv_full and not xml_full  # the XML update is incremental (TEIL)
    assert sorted(xml) == [REPRICED_KEY]
    assert xml[REPRICED_KEY].asking_price == REPRICED_PRICE
    sold = csv[SOLD_KEY]
    assert sold.status is ListingStatus.SOLD
    assert sold.sale is not None
    assert (sold.sale.price_is_public, sold.sale.sold_on) == (False, TODAY)
    assert csv[WITHDRAWN_KEY].status is ListingStatus.WITHDRAWN
    others = {k: ls.status for k, ls in csv.items() if k not in (SOLD_KEY, WITHDRAWN_KEY)}
    assert set(others.values()) == {ListingStatus.FOR_SALE}


def test_drop_export_leaves_only_the_complete_file(workspace: Workspace) -> None:
    path = drop_export(workspace, "nordhem-2.csv", TODAY)
    assert sorted(p.name for p in workspace.inbox.iterdir()) == ["nordhem-2.csv"]
    text = path.read_text(encoding="utf-8")
    assert "@TODAY@" not in text and "2026-11-27" in text


def test_full_csv_export_never_marks_the_xml_agencys_listings_missing(
    workspace: Workspace, config: Config, store: Store, now: datetime
) -> None:
    for name in (*INITIAL_EXPORTS, *UPDATE_EXPORTS):
        result = ingest_file(store, config, drop_export(workspace, name, TODAY), now)
        assert result.outcome == "accepted", (name, result.reason)
    with store.read() as session:
        desired = load_desired(session)
    assert sorted(desired.listings) == sorted(DEMO_KEYS)
    assert dict(desired.missing_since) == {}
    assert desired.listings[REPRICED_KEY].asking_price == REPRICED_PRICE
    assert desired.listings[SOLD_KEY].status is ListingStatus.SOLD
    assert desired.listings[WITHDRAWN_KEY].status is ListingStatus.WITHDRAWN
    assert desired.agencies["nordhem"].name == "Nordhem Mäkleri AB"


def test_the_sandbox_accepts_every_demo_listing_as_syncd_sends_it(tmp_path: Path) -> None:
    # Regression: houses without an apartment number were sent "apartmentNumber": null
    # inside the address, which the sandbox refuses; the demo never converged.
    with serve_sandbox() as sandbox:
        workspace = Workspace(tmp_path)
        prepare(workspace, sandbox.root_url, "127.0.0.1:45679")
        config = load_config(workspace.config_path)
        listings: dict[str, Listing] = {}
        for name in INITIAL_EXPORTS:
            listings.update(_parse(config, demo_data_dir() / name)[1])
        client = HemnetClient(sandbox.base_url, lambda: sandbox.token)
        with client:
            agency = client.create_agency("Nordhem Mäkleri AB", external_id="nordhem")
            created = {
                key: client.create_listing(listing_body(listing, agency.hemnet_id))
                for key, listing in listings.items()
            }
    assert {key: remote.external_id for key, remote in created.items()} == {
        key: key for key in DEMO_KEYS
    }
