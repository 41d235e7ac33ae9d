"""A burst of creates looks its keys up in one list of Hemnet's listings, and that list
answers exactly what one externalId lookup per key would."""

from __future__ import annotations

from typing import Any

from syncd.hemnet import HemnetClient, wire
from syncd.hemnet.models import RemoteListing, RemoteListings
from syncd.hemnet.payload import listing_body
from syncd.store.events import events_of_listing
from syncd.usecases.adopt import oldest
from syncd.usecases.apply import Applier, current_plan
from syncd.usecases.apply.lookup import CreateLookup
from syncd.usecases.reconcile import reconcile
from tests.integration.apply_env import AGENCY, Env, a_listing, hemnet_id, save

SANDBOX_PER_TEST = True


def by_id(remote: RemoteListing) -> str:
    return remote.hemnet_id


def on_hemnet_agency(env: Env) -> str:
    return env.client.create_agency(AGENCY.name, AGENCY.organisation_number, AGENCY.key).hemnet_id


def test_the_list_answers_each_key_as_its_own_lookup_does(env: Env) -> None:
    agency = on_hemnet_agency(env)
    for key in ("K1", "K2", "K2", "K4"):  # K2 twice: an earlier duplicate
        env.client.create_listing(listing_body(a_listing(key), agency))
    save(env.store, *(a_listing(f"K{n}") for n in range(1, 6)))
    spent: list[int] = []
    lookup = CreateLookup(env.client, lambda: spent.append(1), 500.0, env.store)
    lookup.begin(current_plan(env.store, env.config, env.clock()).ops)

    for key in ("K1", "K2", "K3", "K4", "K5"):
        listed = lookup.on_hemnet(key)
        own = env.client.list_listings(external_id=key)
        assert listed is not None
        assert sorted(listed, key=by_id) == sorted(own, key=by_id)
        if own:
            assert oldest(listed) == oldest(own)
    assert len(spent) == 1  # one page, taken from the budget once


def test_a_burst_of_creates_lists_once_and_adopts_what_hemnet_has(env: Env) -> None:
    agency = on_hemnet_agency(env)
    earlier = env.client.create_listing(listing_body(a_listing("B3"), agency))
    save(env.store, *(a_listing(f"B{n}", images=1) for n in range(1, 7)))
    env.sandbox.reset_stats()

    env.applier().run_pass()

    counts = env.requests()
    assert counts["GET /v1/listings 200"] == 1  # not one per create
    assert counts["POST /v1/listings 201"] == 5  # B3 is adopted, not created again
    assert hemnet_id(env.store, "B3") == earlier.hemnet_id
    for n in range(1, 7):
        assert len(env.client.list_listings(external_id=f"B{n}")) == 1


class AskedFor(HemnetClient):
    """Records the ``external_id`` of every list of listings asked for (None: all)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[str | None] = []

    def list_listings(
        self, external_id: str | None = None, agency_id: str | None = None
    ) -> RemoteListings:
        self.asked.append(external_id)
        return super().list_listings(external_id, agency_id)


def test_a_single_create_looks_its_own_key_up(env: Env) -> None:
    on_hemnet_agency(env)
    save(env.store, a_listing("S1", images=1))
    client = AskedFor(env.sandbox.base_url, lambda: env.sandbox.token)
    with client:
        Applier(env.store, client, env.config, clock=env.clock).run_pass()
    # A page of the list would cost the same call and answer for a longer window.
    assert client.asked == ["S1"]
    assert len(env.client.list_listings(external_id="S1")) == 1


class UnreadableInTheList(HemnetClient):
    """Hemnet's list leaves the listing with externalId ``key`` out as unreadable (the
    client reports its id in ``left_out``); asked by that key, it is read."""

    def __init__(self, *args: Any, key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key = key

    def list_listings(
        self, external_id: str | None = None, agency_id: str | None = None
    ) -> RemoteListings:
        listed = super().list_listings(external_id, agency_id)
        if external_id is not None:
            return listed
        hidden = frozenset(r.hemnet_id for r in listed if r.external_id == self.key)
        return RemoteListings([r for r in listed if r.hemnet_id not in hidden], hidden)


def test_a_list_with_an_unreadable_listing_answers_no_create(env: Env) -> None:
    agency = on_hemnet_agency(env)
    earlier = env.client.create_listing(listing_body(a_listing("U2"), agency))
    save(env.store, *(a_listing(f"U{n}", images=1) for n in range(1, 4)))
    client = UnreadableInTheList(env.sandbox.base_url, lambda: env.sandbox.token, key="U2")
    env.sandbox.reset_stats()
    with client:
        Applier(env.store, client, env.config, clock=env.clock).run_pass()
    counts = env.requests()
    assert counts["GET /v1/listings 200"] == 1 + 3  # the list, then each key on its own
    assert counts["POST /v1/listings 201"] == 2
    assert hemnet_id(env.store, "U2") == earlier.hemnet_id  # adopted, not created again
    assert len(env.client.list_listings(external_id="U2")) == 1


class AnotherSystemMeanwhile(HemnetClient):
    """Right after syncd has listed Hemnet's listings, another system creates one under
    our key ``key``: between the list and syncd's create."""

    def __init__(self, *args: Any, key: str, agency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key = key
        self.agency = agency
        self.made: str | None = None

    def list_listings(
        self, external_id: str | None = None, agency_id: str | None = None
    ) -> RemoteListings:
        listed = super().list_listings(external_id, agency_id)
        if external_id is None and self.made is None:
            body = listing_body(a_listing(self.key, title="Från ett annat system"), self.agency)
            self.made = self.create_listing(body).hemnet_id
        return listed


def test_a_listing_made_by_another_system_between_the_list_and_the_create(env: Env) -> None:
    agency = on_hemnet_agency(env)
    save(env.store, *(a_listing(f"R{n}", images=1) for n in range(1, 4)))
    client = AnotherSystemMeanwhile(
        env.sandbox.base_url, lambda: env.sandbox.token, key="R2", agency=agency
    )
    with client:
        Applier(env.store, client, env.config, clock=env.clock).run_pass()
    assert client.made is not None
    # Hemnet does not keep externalIds unique (not documented): syncd's create goes
    # through, and syncd follows its own listing, never the other system's.
    on_hemnet = {r.hemnet_id for r in env.client.list_listings(external_id="R2")}
    ours = hemnet_id(env.store, "R2")
    assert on_hemnet == {ours, client.made}

    # The next lookup of Hemnet's listings (reconcile's) names the pair for the operator
    # and touches neither; the next pass creates nothing more.
    report = reconcile(env.store, env.client, env.config, env.clock())
    assert [(d.listing_key, d.kept, d.others) for d in report.duplicates] == [
        ("R2", ours, (client.made,))
    ]
    with env.store.read() as session:
        assert "duplicate_on_hemnet" in [e.kind for e in events_of_listing(session, "R2", 20)]
    env.sandbox.reset_stats()
    env.applier().run_pass()
    assert env.requests().get("POST /v1/listings 201", 0) == 0
    assert hemnet_id(env.store, "R2") == ours
    assert {r.hemnet_id for r in env.client.list_listings(external_id="R2")} == on_hemnet


def test_a_listing_leaving_the_list_while_it_is_read_does_not_hide_one_to_adopt(
    env: Env,
) -> None:
    # A stranger's listing first, then 120 of ours made by an earlier integration; the
    # stranger leaves the account once the first page is read: ours at the page boundary
    # moves onto the page already read. Read as absent, it would be created a second time.
    agency = on_hemnet_agency(env)
    stranger = env.client.create_listing(listing_body(a_listing("STRANGER"), agency))
    keys = [f"M{n:03}" for n in range(120)]
    for key in keys:
        env.client.create_listing(listing_body(a_listing(key), agency))
    save(env.store, *(a_listing(key) for key in [*keys, "M-NEW"]))
    other_account, _ = env.sandbox.create_account("Another integrator")
    moved: list[str] = []

    def move_after_first_page(method: str, template: str, status: int | None, _s: float) -> None:
        if (method, template, status) == ("GET", wire.LISTINGS, 200) and not moved:
            env.sandbox.move_listing(stranger.hemnet_id, other_account)
            moved.append(stranger.hemnet_id)

    env.sandbox.reset_stats()
    with HemnetClient(
        env.sandbox.base_url, lambda: env.sandbox.token, observer=move_after_first_page
    ) as client:
        Applier(env.store, client, env.config, clock=env.clock).run_pass()

    assert moved
    assert env.requests()["POST /v1/listings 201"] == 1  # M-NEW only: every M adopted
    for key in keys:
        assert len(env.client.list_listings(external_id=key)) == 1, key
