"""Properties of the planner over generated desired and known states, run on the fake.

Convergence: plan → apply → process images → plan … ends in an empty plan, and Hemnet then
holds what the CRM wants. Idempotence: the same ops applied twice change nothing the second
time. Removal: nothing leaves Hemnet unless a full export said so, the grace has passed
and no guard tripped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.core.blanking import blanking
from syncd.core.domain import (
    ACTIVE_STATUSES,
    REPUBLISH_WINDOW,
    Address,
    Agency,
    BillingInformation,
    Desired,
    HousingForm,
    Image,
    ImageRight,
    ImageRightTerms,
    ImageState,
    KnownListing,
    Listing,
    ListingStatus,
    MarketState,
    PhotoAgency,
    Sale,
    SellerInformation,
    Tenure,
    billing_hash,
    content_hash,
    listing_fields,
    seller_hash,
)
from syncd.core.ops import (
    DeleteImage,
    DeleteImageRight,
    Operation,
    Plan,
    UnpublishListing,
    UpdateListing,
)
from syncd.core.plan import PlanPolicy, plan
from syncd.core.stages import publish_blockers

# The op kinds apply settles by reading Hemnet back before sending them again.
from syncd.usecases.apply.handler import reads_back
from tests.fakes.hemnet_state import CHECKS_ERROR, NOT_FOUND_ERROR, FakeHemnet, Refused

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
GRACE_S = 6 * 3600
AGENCIES = {"AG1": Agency("AG1", "Söder Mäklare"), "AG2": Agency("AG2", "Norr Mäklare")}
KEYS = ("A1", "A2", "A3", "B1", "B2")
URLS = tuple(f"https://crm.example/p/{n}.jpg" for n in range(5))
SALES = (
    Sale(price=2_950_000, price_is_public=True, sold_on=date(2026, 4, 30)),
    Sale(price=3_100_000, price_is_public=False, sold_on=date(2026, 5, 2)),
)
# Rights that differ by a field in each direction: a field dropped must be cleared on Hemnet.
RIGHTS = (
    None,
    ImageRight(ImageRightTerms.SIX_MONTHS_LICENSE, PhotoAgency.DIAKRIT),
    ImageRight(ImageRightTerms.SIX_MONTHS_LICENSE, PhotoAgency.DIAKRIT, photographer="Fia"),
    ImageRight(ImageRightTerms.NO_LICENSE, PhotoAgency.FREELANCE, "Foto Fia", "Fia"),
)
MAX_ROUNDS = 8
MARKET_STATES = {
    ListingStatus.FOR_SALE: MarketState.FOR_SALE,
    ListingStatus.UPCOMING: MarketState.UPCOMING,
    ListingStatus.TEASED: MarketState.TEASED,
}

images_st = st.lists(
    st.tuples(
        st.sampled_from(URLS),
        st.sampled_from([None, "Kök", "Vardagsrum"]),
        st.sampled_from([None, "r1", "r2"]),
    ),
    max_size=4,
).map(
    lambda rows: tuple(
        Image(url=url, caption=caption, order=n, revision=rev)
        for n, (url, caption, rev) in enumerate(rows)
    )
)


@st.composite
def listing_st(draw: st.DrawFn, key: str) -> Listing:
    status = draw(st.sampled_from(ListingStatus))
    apartment = draw(st.booleans())
    return Listing(
        listing_key=key,
        agency_key="AG1" if key.startswith("A") else "AG2",
        status=status,
        address=Address(
            street=draw(st.sampled_from(["Götgatan 1", "Storgatan 2"])),
            apartment_number=draw(st.sampled_from([None, "1102"])),
        ),
        housing_form=HousingForm.APARTMENT if apartment else HousingForm.HOUSE,
        tenure=Tenure.CONDOMINIUM if apartment else Tenure.FREEHOLD,
        asking_price=draw(st.sampled_from([None, 2_000_000, 2_050_000, 2_500_000])),
        title=draw(st.sampled_from([None, "Ljus trea", "Sjöutsikt"])),
        images=draw(images_st),
        seller=draw(st.sampled_from([None, SellerInformation("Anna"), SellerInformation("Bo")])),
        billing=draw(st.sampled_from([None, BillingInformation("Anna"), BillingInformation("Bo")])),
        sale=draw(st.sampled_from(SALES)) if status is ListingStatus.SOLD else None,
        image_right=draw(st.sampled_from(RIGHTS)),
    )


@st.composite
def listings_st(draw: st.DrawFn) -> dict[str, Listing]:
    keys = draw(st.sets(st.sampled_from(KEYS)))
    return {key: draw(listing_st(key)) for key in sorted(keys)}


policy_st = st.builds(
    PlanPolicy,
    removal_grace_s=st.just(GRACE_S),
    mass_removal_share=st.sampled_from([0.0, 0.34, 0.5, 1.0]),
    mass_removal_min=st.integers(0, 2),
    failed_image_policy=st.sampled_from(["skip", "retry", "hold"]),
    publish=st.booleans(),
)


@dataclass
class Scenario:
    desired: Desired
    fake: FakeHemnet
    policy: PlanPolicy
    start: dict[str, KnownListing]


@st.composite
def scenario_st(draw: st.DrawFn) -> Scenario:
    """Hemnet as an earlier CRM state left it (part-way through), and a new CRM state."""
    fake = FakeHemnet(fail_once=draw(st.sets(st.sampled_from(URLS))))
    old = Desired(listings=draw(listings_st()), agencies=AGENCIES)
    old_policy = PlanPolicy(removal_grace_s=GRACE_S, failed_image_policy="retry")
    for _ in range(draw(st.integers(0, 4))):
        apply_as_apply_does(fake, old, plan(old, fake.listings, fake.agencies, old_policy, NOW).ops)
        if draw(st.booleans()):
            fake.process_images()
        if draw(st.booleans()):
            fake.approve_all()
    new = draw(listings_st())
    absent = sorted(k for k in fake.listings if k not in new)
    missing = {
        key: NOW - timedelta(seconds=draw(st.sampled_from([60, GRACE_S - 60, GRACE_S + 60])))
        for key in absent
        if draw(st.booleans())
    }
    # A release covers one absence: some cover this one, some an earlier one (spent).
    released = {
        k: missing[k] - draw(st.sampled_from([timedelta(0), timedelta(days=30)]))
        for k in missing
        if draw(st.booleans())
    }
    desired = Desired(new, AGENCIES, missing_since=missing, released_removals=released)
    return Scenario(desired, fake, draw(policy_st), copy.deepcopy(fake.listings))


def apply_as_apply_does(
    fake: FakeHemnet, desired: Desired, ops: Iterable[Operation]
) -> list[Refused]:
    """Each listing's ops in plan order; a refusal stops that listing's later ops for the
    pass and marks its current content rejected (apply's record_failure), but a delete of
    what is gone is done; the refusals."""
    refused: list[Refused] = []
    stopped: set[str | None] = set()
    for op in ops:
        if op.listing_key in stopped:
            continue
        try:
            fake.apply(op)
        except Refused as refusal:
            if (
                isinstance(op, DeleteImage | DeleteImageRight)
                and refusal.error_type == NOT_FOUND_ERROR
            ):
                continue  # already gone: what the delete wanted
            refused.append(refusal)
            key = op.listing_key
            stopped.add(key)
            if key in fake.listings and key in desired.listings:
                rejected = content_hash(desired.listings[key])
                fake.listings[key] = replace(fake.listings[key], rejected_hash=rejected)
    return refused


def assert_refusals_explained(refused: list[Refused]) -> None:
    """The one refusal a plan may meet: Hemnet's checks refusing what the CRM changed on a
    published listing (an asking price or apartment number taken away). Anything else
    would be a plan asking for what Hemnet refuses."""
    for refusal in refused:
        assert isinstance(refusal.op, UpdateListing), refusal.reason
        assert refusal.error_type == CHECKS_ERROR, refusal.reason


def plan_for(s: Scenario) -> Plan:
    return plan(s.desired, s.fake.listings, s.fake.agencies, s.policy, NOW)


def assert_no_removal_unasked(s: Scenario, result: Plan) -> None:
    held = {key for hold in result.holds for key in hold.listing_keys}
    for op in result.ops:
        key = op.listing_key
        if key is None or key in s.desired.listings:
            if isinstance(op, UnpublishListing):
                assert key is not None
                assert s.desired.listings[key].status is ListingStatus.WITHDRAWN, op
            continue
        # A listing absent from desired: only an unpublish asked for by a full export.
        assert isinstance(op, UnpublishListing), op
        assert key in s.desired.missing_since, op
        assert NOW - s.desired.missing_since[key] >= timedelta(seconds=GRACE_S), op
        assert key not in held, op
    for hold in result.holds:
        if hold.updates:  # the blanking guard's hold: no removal
            continue
        # A hold never stops a removal its operator released for this very absence.
        for key, since in zip(hold.listing_keys, hold.missing_since, strict=True):
            assert since == s.desired.missing_since[key]
            assert s.desired.released_removals.get(key) != since


def converge(s: Scenario) -> Plan:
    for _ in range(MAX_ROUNDS):
        # Hemnet works on its own between runs: images get processed, brokers approve.
        s.fake.process_images()
        s.fake.approve_all()
        result = plan_for(s)
        assert_no_removal_unasked(s, result)
        if result.is_empty:
            return result
        assert_refusals_explained(apply_as_apply_does(s.fake, s.desired, result.ops))
        assert s.fake.duplicate_count() == 0, "the plan asked for a duplicate"
    raise AssertionError(f"no empty plan after {MAX_ROUNDS} rounds: {result.ops}")


def assert_listing_matches(
    want: Listing, have: KnownListing, policy: PlanPolicy, was_published: bool
) -> None:
    assert have.sent is not None
    assert listing_fields(have.sent) == listing_fields(want)
    wanted: dict[str, Image] = {}
    for image in want.images:
        wanted.setdefault(image.url, image)
    assert sorted(i.url for i in have.images) == sorted(wanted)
    for held in have.images:
        assert (held.order, held.caption, held.revision) == (
            wanted[held.url].order,
            wanted[held.url].caption,
            wanted[held.url].revision,
        )
    if want.seller is not None:
        assert have.seller_hash == seller_hash(want.seller)
    if want.billing is not None:
        assert have.billing_hash == billing_hash(want.billing)
    assert have.image_right == want.image_right  # Hemnet's, after its partial PUTs
    target = MARKET_STATES[want.status]
    if target is MarketState.TEASED and MarketState.TEASED not in have.allowed_market_states:
        assert have.market_state is not MarketState.TEASED  # not allowed: the plan says why
    else:
        assert have.market_state is target
    states = [i.state for i in have.images]
    assert ImageState.IN_PROGRESS not in states
    if policy.failed_image_policy == "retry":
        assert ImageState.FAILED not in states
    publishable = (
        policy.publish
        and not publish_blockers(want)
        and ImageState.COMPLETED in states
        and not (policy.failed_image_policy == "hold" and ImageState.FAILED in states)
    )
    if publishable:
        assert have.is_published
    elif not was_published:
        assert not have.is_published
    # else: published earlier, before the data regressed; syncd never unpublishes for that.


def assert_state_matches(s: Scenario, final_plan: Plan) -> None:
    known = s.fake.listings
    held = {key for hold in final_plan.holds for key in hold.listing_keys}
    for key, want in s.desired.listings.items():
        before = s.start.get(key)
        if before is not None and key in held:
            # The suspicious-update guard: a blanking update waits for an operator.
            assert blanking(want, before) is not None
            assert known[key].sent == before.sent
            assert [i.image_id for i in known[key].images] == [i.image_id for i in before.images]
            continue
        if before is not None and before.sold is not None:
            republish = (
                want.status in ACTIVE_STATUSES
                and s.policy.publish
                and NOW.date() - before.sold.sold_on <= REPUBLISH_WINDOW
                and any(i.state is ImageState.COMPLETED for i in before.images)
            )
            if republish:  # the CRM put it back on sale: published again, the sale deleted
                assert known[key].sold is None and known[key].is_published
            else:
                assert known[key].sold == before.sold  # a sale is otherwise never touched
            continue
        if want.status is ListingStatus.TEASED and want.new_construction and before is None:
            assert key not in known  # TEASED is not for new construction: nothing is sent
            continue
        if want.status is ListingStatus.SOLD:
            if before is None:
                assert key not in known
            else:
                assert known[key].sold == want.sale
                assert not known[key].is_published
        elif want.status is ListingStatus.WITHDRAWN:
            assert before is None or not known[key].is_published
            assert before is not None or key not in known
        elif known[key].rejected_hash == content_hash(want):
            # Hemnet's checks refused the CRM's content on the published listing: it lacks
            # what publishing needs, or what the market state Hemnet holds it in needs (the
            # CRM's is not allowed: the plan says why). It waits for the CRM, published.
            assert known[key].is_published
            assert publish_blockers(want) or known[key].market_state is not MARKET_STATES.get(
                want.status
            )
        else:
            was_published = before is not None and before.is_published
            assert_listing_matches(want, known[key], s.policy, was_published)
    for key, before in s.start.items():
        if key in s.desired.listings:
            continue
        since = s.desired.missing_since.get(key)
        due = since is not None and NOW - since >= timedelta(seconds=GRACE_S)
        if due and key not in held:
            assert not known[key].is_published
        else:
            assert known[key].is_published == before.is_published
            assert [i.image_id for i in known[key].images] == [i.image_id for i in before.images]


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenario_st())
def test_converges_to_the_desired_state(s: Scenario) -> None:
    final_plan = converge(s)
    assert_state_matches(s, final_plan)


@PROPERTY
@given(scenario_st())
def test_ops_sent_again_change_nothing_unless_apply_reads_back_first(s: Scenario) -> None:
    """A crash can leave any op's outcome unknown. Sent again, an op must change nothing
    on Hemnet (a repeated delete finds nothing: apply takes that as done), unless it is a
    kind apply settles by reading Hemnet back instead (a create or an added image would be
    duplicated: the fake, like Hemnet, makes one)."""
    ops = plan_for(s).ops
    assert_refusals_explained(apply_as_apply_does(s.fake, s.desired, ops))
    once = (on_hemnet(s.fake), copy.deepcopy(s.fake.agencies))
    # A repeat Hemnet refuses changes nothing there (only apply's note of the refusal: an
    # update checked against what the later ops of the pass did, say).
    apply_as_apply_does(s.fake, s.desired, [op for op in ops if not reads_back(op.kind)])
    assert (on_hemnet(s.fake), s.fake.agencies) == once


def on_hemnet(fake: FakeHemnet) -> dict[str, KnownListing]:
    """The fake's listings without apply's bookkeeping of refusals."""
    return {key: replace(known, rejected_hash=None) for key, known in fake.listings.items()}


@PROPERTY
@given(scenario_st())
def test_nothing_removed_unless_a_full_export_asked_and_grace_passed(s: Scenario) -> None:
    result = plan_for(s)
    assert_no_removal_unasked(s, result)
    removed = {
        op.listing_key
        for op in result.ops
        if isinstance(op, UnpublishListing | DeleteImage)
        and op.listing_key not in s.desired.listings
    }
    assert removed <= set(s.desired.missing_since)


@PROPERTY
@given(scenario_st())
def test_an_empty_full_export_is_held_until_released(s: Scenario) -> None:
    everyone_missing = Desired(
        listings={},
        agencies=AGENCIES,
        missing_since={k: NOW - timedelta(days=3) for k in s.fake.listings},
    )
    result = plan(everyone_missing, s.fake.listings, s.fake.agencies, s.policy, NOW)
    assert not result.ops
    live = sorted(k for k, v in s.fake.listings.items() if v.is_published and v.sold is None)
    assert sorted(k for hold in result.holds for k in hold.listing_keys) == live


def test_fake_duplicates_a_second_create_as_hemnet_does_and_refuses_a_second_sale() -> None:
    want = Listing("A1", "AG1", ListingStatus.FOR_SALE, Address("Götgatan 1"))
    fake = FakeHemnet()
    desired = Desired({"A1": want}, AGENCIES)
    policy = PlanPolicy()
    create_ops = plan(desired, fake.listings, fake.agencies, policy, NOW).ops
    assert not fake.apply_all(create_ops)
    first = fake.listings["A1"]
    assert not fake.apply_all(create_ops)
    assert fake.duplicate_count() == 1
    assert fake.listings["A1"] == first  # syncd's known state goes on following the first
    sold = Desired({"A1": _sold(want)}, AGENCIES)
    sale_ops = plan(sold, fake.listings, fake.agencies, policy, NOW).ops
    assert [op.kind for op in sale_ops] == ["mark_sold"]
    assert not fake.apply_all(sale_ops)
    assert [r.error_type for r in fake.apply_all(sale_ops)] == ["ConflictError"]
    assert plan(sold, fake.listings, fake.agencies, policy, NOW).is_empty


def _sold(want: Listing) -> Listing:
    return replace(want, status=ListingStatus.SOLD, sale=SALES[0])
