"""The planner: compares what the CRM wants with what Hemnet has and returns the ops.

Pure: no I/O, no clock (``now`` is an argument), no environment; it never sends anything.
The same inputs always give the same plan, sorted by listing key. Rules: docs/planning.md.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syncd.blanking import blanking

# The policy is parsed from [sync] by config; callers of the planner may take it from here.
from syncd.config import PlanPolicy as PlanPolicy  # noqa: PLC0414
from syncd.domain import (
    ACTIVE_STATUSES,
    AUTO_APPROVE_MARKET_STATES,
    REPUBLISH_WINDOW,
    Desired,
    Image,
    ImageRight,
    ImageState,
    KnownAgency,
    KnownImage,
    KnownListing,
    Listing,
    ListingStatus,
    MarketState,
    billing_hash,
    content_hash,
    listing_fields,
    seller_hash,
)
from syncd.ops import (
    AddImage,
    Consequence,
    CreateListing,
    DeleteImage,
    DeleteImageRight,
    EnsureAgency,
    Hold,
    MarkSold,
    Operation,
    Plan,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetImageRight,
    SetMarketState,
    UnpublishListing,
    UpdateImage,
    UpdateListing,
    Waiting,
)
from syncd.progress import conflicts, publish_blockers

log = logging.getLogger(__name__)

REJECTED_REASON = "rejected by Hemnet; fix in CRM or 'syncd retry KEY'"
# Groups removals of known listings whose agency was never recorded (adopted, never sent).
UNKNOWN_AGENCY = "unknown"

_ACTIVE = ACTIVE_STATUSES
_MARKET_STATE = {
    ListingStatus.FOR_SALE: MarketState.FOR_SALE,
    ListingStatus.UPCOMING: MarketState.UPCOMING,
    ListingStatus.TEASED: MarketState.TEASED,
}
# What Hemnet allows a listing that was sold and is published again (never TEASED: it was
# visible before it was sold).
_AFTER_REPUBLISH = frozenset({MarketState.FOR_SALE, MarketState.UPCOMING})
TEASED_NEW_CONSTRUCTION = (
    "teased (underhand) is not allowed for new construction on Hemnet; "
    "set it to upcoming or for_sale in the CRM"
)
# What Hemnet gives a new listing (hemnet-wire.md, ASSUMED there).
_DEFAULT_MARKET_STATE = MarketState.FOR_SALE


@dataclass
class _Out:
    """What planning one listing produced."""

    ops: list[Operation] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)

    def wait(self, key: str, reason: str, due_at: datetime | None = None) -> None:
        self.waiting.append(Waiting(key, reason, due_at))


def plan(
    desired: Desired,
    known: Mapping[str, KnownListing],
    agencies: Mapping[str, KnownAgency],
    policy: PlanPolicy,
    now: datetime,
    *,
    refused: Collection[str] = frozenset(),
) -> Plan:
    """The ops that bring Hemnet to ``desired``: agencies first, then listing by listing.

    ``refused``: listings not on Hemnet whose create Hemnet refused with the content the
    CRM still wants (a rejection of a known listing is in its ``KnownListing``).
    """
    agency_ops, agency_waiting = _plan_agencies(desired, known, agencies)
    removal = _plan_removals(desired, known, policy, now)
    # A refused create is sent again only once the listing changes, or it would be
    # refused every pass.
    per_key = {key: _Out(waiting=[Waiting(key, REJECTED_REASON)]) for key in refused}
    update_holds: list[Hold] = []
    for key in sorted(desired.listings):
        if key in per_key:
            continue
        if key in agency_waiting:
            per_key[key] = _Out(waiting=[Waiting(key, agency_waiting[key])])
            continue
        have = known.get(key)
        # The suspicious-update guard (syncd.blanking), held like a mass removal. A release
        # covers the update it held (its content hash), once: another blanking is held again.
        want = desired.listings[key]
        blanked = None if have is None or want.status not in _ACTIVE else blanking(want, have)
        if blanked and have is not None:
            digest = content_hash(want)
            if desired.released_updates.get(key) != digest:
                update_holds.append(Hold(_agency_of(have), blanked, (key,), updates=(digest,)))
                per_key[key] = _Out(waiting=[Waiting(key, f"{blanked}; see 'syncd hold list'")])
                continue
        per_key[key] = _plan_listing(want, have, policy, now)
    for key, out in removal.per_key.items():
        per_key[key] = out
    ops: list[Operation] = list(agency_ops)
    waiting: list[Waiting] = []
    for key in sorted(per_key):
        ops.extend(per_key[key].ops)
        waiting.extend(per_key[key].waiting)
    log.debug(
        "planned %d ops, %d holds, %d waiting for %d listings",
        len(ops),
        len(removal.holds),
        len(waiting),
        len(per_key),
    )
    holds = (*removal.holds, *update_holds)
    return Plan(ops=tuple(ops), holds=holds, waiting=tuple(waiting))


# --- agencies ------------------------------------------------------------------------------


def _plan_agencies(
    desired: Desired, known: Mapping[str, KnownListing], agencies: Mapping[str, KnownAgency]
) -> tuple[list[EnsureAgency], dict[str, str]]:
    """EnsureAgency for each agency a listing to be created needs; listings that can't wait."""
    needed: set[str] = set()
    blocked: dict[str, str] = {}
    for key, listing in desired.listings.items():
        # Only a create needs the agency's id; a known listing already lives under it.
        if key in known or listing.status not in _ACTIVE or listing.agency_key in agencies:
            continue
        if listing.agency_key in desired.agencies:
            needed.add(listing.agency_key)
        else:
            blocked[key] = (
                f"agency {listing.agency_key!r} has no name: map agency.name in the export's "
                f"mapping or add [agencies.{listing.agency_key}] to the config"
            )
    ops = [EnsureAgency(None, agency=desired.agencies[k]) for k in sorted(needed)]
    return ops, blocked


# --- one listing ---------------------------------------------------------------------------


def _plan_listing(
    want: Listing, have: KnownListing | None, policy: PlanPolicy, now: datetime
) -> _Out:
    key = want.listing_key
    out = _Out()
    if have is None:
        _plan_new(want, policy, out)
        return out
    if have.rejected_hash is not None and have.rejected_hash == content_hash(want):
        out.wait(key, REJECTED_REASON)
        return out
    # What no op can settle (a changed sale, a moved agency) waits for an operator; the
    # rest of the listing is planned as usual, unless it is sold.
    for conflict in conflicts(want, have):
        out.wait(key, conflict)
    if have.sold is not None and want.status in _ACTIVE:
        # Nothing but a publish may reach a sold listing, and republishing deletes the sale:
        # sent only when the CRM puts the listing back on sale. What else changed follows
        # it, as for any published listing. One published again already (by syncd, or on
        # Hemnet) has lost its sale: nothing more to publish.
        if not have.is_published and not _plan_republish(want, have, policy, now, out):
            return out
        have = dataclasses.replace(
            have, sold=None, is_published=True, allowed_market_states=_AFTER_REPUBLISH
        )
    if have.sold is not None:
        # Nothing else may reach a sold listing: updates fail.
        return out
    if want.status is ListingStatus.SOLD:
        if want.sale is None:
            out.wait(key, "status is sold but the export gives no sale price and date")
        else:
            # The right's terms say how long Hemnet may show the images after the sale.
            _plan_image_right(want, have, out)
            out.ops.append(
                MarkSold(
                    key, sale=want.sale, consequences=frozenset({Consequence.IRREVERSIBLE_SALE})
                )
            )
        return out
    if want.status is ListingStatus.WITHDRAWN:
        if have.is_published:
            out.ops.append(_unpublish(have, "withdrawn in the CRM"))
        return out
    leaving_for_sale = _MARKET_STATE[want.status] is not MarketState.FOR_SALE
    if have.market_state is MarketState.FOR_SALE and leaving_for_sale:
        # Leaving FOR_SALE first: Hemnet checks a published listing's every update, and the
        # asking price it requires for FOR_SALE may be what the CRM took away.
        market_state = _plan_market_state(want, have, out)
        _plan_update(want, have, policy, out)
    else:
        _plan_update(want, have, policy, out)
        market_state = _plan_market_state(want, have, out)
    _plan_private_information(want, have, out)
    _plan_image_right(want, have, out)
    after = _plan_images(want, have.images, policy, out)
    _plan_publish(want, have, after, market_state, policy, out)
    return out


def _plan_republish(
    want: Listing, have: KnownListing, policy: PlanPolicy, now: datetime, out: _Out
) -> bool:
    """Publish a sold listing again (the CRM took it back on sale), which deletes the sale;
    False, saying why, when it cannot be."""
    key = want.listing_key
    assert have.sold is not None
    sold_on = have.sold.sold_on
    if now.date() - sold_on > REPUBLISH_WINDOW:
        out.wait(
            key,
            f"sold on {sold_on.isoformat()}, more than six months ago: Hemnet refuses to "
            "publish it again; put the home on sale under a new listing key in the CRM",
        )
        return False
    if not policy.publish:
        out.wait(key, "sold on Hemnet; publishing is off (sync.publish), so it stays sold")
        return False
    if not any(image.state is ImageState.COMPLETED for image in have.images):
        out.wait(key, "sold on Hemnet, with no processed image to publish it again with")
        return False
    out.ops.append(PublishListing(key, consequences=frozenset({Consequence.DELETES_SALE})))
    return True


def _plan_new(want: Listing, policy: PlanPolicy, out: _Out) -> None:
    key = want.listing_key
    if want.status not in _ACTIVE:
        out.wait(key, f"{want.status.value} before it ever reached Hemnet; nothing is sent")
        return
    if want.status is ListingStatus.TEASED and want.new_construction:
        out.wait(key, TEASED_NEW_CONSTRUCTION)
        return
    out.ops.append(CreateListing(key, listing=want))
    target = _MARKET_STATE[want.status]
    if target is not _DEFAULT_MARKET_STATE:
        out.ops.append(SetMarketState(key, market_state=target))
    _plan_private_information(want, None, out)
    _plan_image_right(want, None, out)
    after = _plan_images(want, (), policy, out)
    if policy.publish:
        _explain_not_publishing(want, after, policy, out)


def _plan_update(want: Listing, have: KnownListing, policy: PlanPolicy, out: _Out) -> None:
    key = want.listing_key
    wanted = listing_fields(want)
    if have.sent is None:
        # Adopted without a body we sent: send every field once, then compare as usual.
        changed = tuple(wanted)
        old_price = None
    else:
        sent = listing_fields(have.sent)
        changed = tuple(name for name, value in wanted.items() if sent[name] != value)
        old_price = have.sent.asking_price
    if not changed:
        return
    consequences: frozenset[Consequence] = frozenset()
    new_price = want.asking_price
    if (
        "asking_price" in changed
        and have.is_published
        and have.market_state is MarketState.FOR_SALE
        and old_price
        and new_price is not None
        and abs(new_price - old_price) >= policy.price_change_flag_share * old_price
    ):
        consequences = frozenset({Consequence.VISIBLE_PRICE_CHANGE})
    out.ops.append(
        UpdateListing(
            key,
            listing=want,
            changed=changed,
            old_price=old_price if "asking_price" in changed else None,
            consequences=consequences,
        )
    )


def _plan_market_state(want: Listing, have: KnownListing, out: _Out) -> MarketState | None:
    """SetMarketState when the CRM's status asks for another one; the state after it."""
    target = _MARKET_STATE[want.status]
    if have.market_state is target:
        return target
    if target is MarketState.TEASED and want.new_construction:
        out.wait(want.listing_key, TEASED_NEW_CONSTRUCTION)
        return have.market_state
    if target in have.allowed_market_states:
        out.ops.append(SetMarketState(want.listing_key, market_state=target))
        return target
    allowed = ", ".join(sorted(s.value for s in have.allowed_market_states)) or "none"
    why = f"Hemnet does not allow market state {target.value} now (allowed: {allowed})"
    if target is MarketState.TEASED:
        why += (
            "; TEASED is only for listings never visible on Hemnet, not new construction, "
            "of agencies with Hemnet's HQ partnership agreement"
        )
    out.wait(want.listing_key, why)
    return have.market_state


def _plan_private_information(want: Listing, have: KnownListing | None, out: _Out) -> None:
    """Seller and billing information are write-only: their hashes say what was sent."""
    key = want.listing_key
    sent_seller = have.seller_hash if have is not None else None
    sent_billing = have.billing_hash if have is not None else None
    if want.seller is not None and seller_hash(want.seller) != sent_seller:
        out.ops.append(SendSellerInformation(key, seller=want.seller))
    if want.billing is not None and billing_hash(want.billing) != sent_billing:
        out.ops.append(SendBillingInformation(key, billing=want.billing))


def _plan_image_right(want: Listing, have: KnownListing | None, out: _Out) -> None:
    """The image right as the CRM gives it, compared with the one last sent (not with what
    Hemnet shows: it may override the terms of agencies with their own contract)."""
    key = want.listing_key
    sent = have.image_right if have is not None else None
    wanted = want.image_right
    if wanted == sent:
        return
    if wanted is None:
        out.ops.append(DeleteImageRight(key, reason="the export no longer gives one"))
        return
    if sent is not None and _clears_a_field(sent, wanted):
        # Hemnet's PUT keeps every field it is not sent (DOC): a field is only gone with
        # the whole right, which the PUT after this creates again.
        out.ops.append(DeleteImageRight(key, reason="a field the export no longer gives"))
    out.ops.append(SetImageRight(key, image_right=wanted))


def _clears_a_field(sent: ImageRight, wanted: ImageRight) -> bool:
    return any(
        getattr(sent, name) is not None and getattr(wanted, name) is None
        for name in _IMAGE_RIGHT_FIELDS
    )


_IMAGE_RIGHT_FIELDS = tuple(f.name for f in dataclasses.fields(ImageRight))


# --- images --------------------------------------------------------------------------------


def _plan_images(
    want: Listing, have: Sequence[KnownImage], policy: PlanPolicy, out: _Out
) -> list[ImageState]:
    """Image ops by source URL; returns the image states Hemnet will hold after them.

    Order: adds first, so a published listing never runs out of pictures; a replaced image
    (new revision, or a failed one under policy retry) is deleted before it is added again,
    because apply settles uncertain adds by URL and two images with one URL would confuse
    it; then removals; then position and caption changes of the images that stay.
    """
    key = want.listing_key
    wanted: dict[str, Image] = {}
    for img in want.images:
        wanted.setdefault(img.url, img)  # a repeated URL: the second is ignored (domain)
    held: dict[str, KnownImage] = {}
    extra: list[KnownImage] = []
    for known_img in sorted(have, key=lambda k: (k.order, k.image_id)):
        if known_img.url in held:
            extra.append(known_img)  # a duplicate on Hemnet: keep the first, drop the rest
        else:
            held[known_img.url] = known_img
    adds: list[Operation] = []
    replaces: list[Operation] = []
    updates: list[Operation] = []
    after: list[ImageState] = []
    for url, img in wanted.items():
        kimg = held.get(url)
        if kimg is None:
            adds.append(AddImage(key, image=img))
            after.append(ImageState.IN_PROGRESS)
        elif kimg.revision != img.revision or (
            kimg.state is ImageState.FAILED and policy.failed_image_policy == "retry"
        ):
            replaces.append(DeleteImage(key, image_id=kimg.image_id, url=url))
            replaces.append(AddImage(key, image=img))
            after.append(ImageState.IN_PROGRESS)
        else:
            if kimg.order != img.order or kimg.caption != img.caption:
                updates.append(
                    UpdateImage(
                        key, image_id=kimg.image_id, url=url, order=img.order, caption=img.caption
                    )
                )
            after.append(kimg.state)
    removals = [
        DeleteImage(key, image_id=k.image_id, url=k.url)
        for k in [*extra, *(k for url, k in held.items() if url not in wanted)]
    ]
    out.ops.extend([*adds, *replaces, *removals, *updates])
    skipped = [
        held[url]
        for url in wanted
        if url in held
        and held[url].state is ImageState.FAILED
        and policy.failed_image_policy == "skip"
        and held[url].revision == wanted[url].revision
    ]
    if skipped:
        out.wait(key, "image(s) failed on Hemnet and are skipped: " + _failures(skipped))
    return after


def _failures(images: Sequence[KnownImage]) -> str:
    return "; ".join(f"{k.url} ({k.state_message})" if k.state_message else k.url for k in images)


# --- publishing ----------------------------------------------------------------------------


def _plan_publish(  # noqa: PLR0917
    want: Listing,
    have: KnownListing,
    after: list[ImageState],
    market_state: MarketState | None,
    policy: PlanPolicy,
    out: _Out,
) -> None:
    if have.is_published or not policy.publish:
        return
    if _explain_not_publishing(want, after, policy, out):
        return
    if market_state is MarketState.FOR_SALE and want.asking_price is None:
        # The CRM's market state is not allowed (the wait above says why): Hemnet checks
        # the one it holds, and FOR_SALE needs an asking price.
        out.wait(
            want.listing_key,
            "cannot publish yet: asking price is missing (Hemnet holds the listing as "
            "FOR_SALE, which requires one)",
        )
        return
    # Auto-approval only where Hemnet attempts it: asked for elsewhere, it is at best
    # ignored and at worst refuses the publish with it (the publish is atomic).
    auto = policy.auto_approve and market_state in AUTO_APPROVE_MARKET_STATES
    out.ops.append(PublishListing(want.listing_key, auto_approve=auto))


def _explain_not_publishing(
    want: Listing, after: list[ImageState], policy: PlanPolicy, out: _Out
) -> bool:
    """Record why the listing cannot be published now; False when nothing stands in the way."""
    key = want.listing_key
    blockers = publish_blockers(want)
    if blockers:
        out.wait(key, "cannot publish yet: " + "; ".join(blockers))
        return True
    processing = after.count(ImageState.IN_PROGRESS)
    if processing:
        out.wait(key, f"waiting for {processing} image(s) to be processed before publishing")
        return True
    failed = after.count(ImageState.FAILED)
    if failed and policy.failed_image_policy == "hold":
        out.wait(
            key,
            f"{failed} image(s) failed on Hemnet; not published while any failed "
            "(failed_image_policy hold): fix them in the CRM",
        )
        return True
    if ImageState.COMPLETED not in after:
        out.wait(key, "no processed image; Hemnet needs at least one to publish")
        return True
    return False


# --- removals ------------------------------------------------------------------------------


@dataclass
class _Removal:
    per_key: dict[str, _Out] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)


def _agency_of(have: KnownListing) -> str:
    return have.sent.agency_key if have.sent is not None else UNKNOWN_AGENCY


def _is_live(have: KnownListing) -> bool:
    return have.is_published and have.sold is None


def _plan_removals(
    desired: Desired, known: Mapping[str, KnownListing], policy: PlanPolicy, now: datetime
) -> _Removal:
    """Unpublish what full exports dropped, after the grace, unless a guard holds it.

    Only ``missing_since`` (set by ingest for full exports) asks for a removal: a key that
    is merely absent from ``desired`` is left alone. A released hold confirms one absence
    (its ``missing_since``): those removals go on, and the guard judges only the others.
    """
    asked: dict[str, list[str]] = {}
    live: dict[str, int] = {}
    for key, have in known.items():
        if not _is_live(have):
            continue
        agency = _agency_of(have)
        live[agency] = live.get(agency, 0) + 1
        if key not in desired.listings and key in desired.missing_since:
            asked.setdefault(agency, []).append(key)
    result = _Removal()
    grace = timedelta(seconds=policy.removal_grace_s)
    for agency in sorted(asked):
        keys = sorted(asked[agency])
        unconfirmed = [k for k in keys if not _released(desired, k)]
        # Judged against what stays live once the confirmed removals are made: a release
        # of most listings must not let the last ones go unasked.
        remaining = live[agency] - (len(keys) - len(unconfirmed))
        reason = _mass_removal(len(unconfirmed), remaining, policy) if unconfirmed else None
        if reason:
            absences = tuple(desired.missing_since[k] for k in unconfirmed)
            result.holds.append(Hold(agency, reason, tuple(unconfirmed), absences))
            keys = [k for k in keys if _released(desired, k)]
        for key in keys:
            since = desired.missing_since[key]
            out = result.per_key.setdefault(key, _Out())
            if now - since >= grace:
                out.ops.append(
                    _unpublish(
                        known[key], f"missing from full exports since {since:%Y-%m-%d %H:%M}"
                    )
                )
            else:
                out.wait(
                    key,
                    f"missing from the full export since {since:%Y-%m-%d %H:%M}; unpublished "
                    f"after {since + grace:%Y-%m-%d %H:%M} unless it comes back",
                    due_at=since + grace,
                )
    return result


def _released(desired: Desired, key: str) -> bool:
    """An operator released the removal of this very absence (not an earlier one)."""
    return desired.released_removals.get(key) == desired.missing_since[key]


def _mass_removal(removals: int, live: int, policy: PlanPolicy) -> str | None:
    """Why this many removals look like a broken export rather than a real change."""
    if removals >= live:
        return f"the full export would unpublish all {live} live listing(s) of the agency"
    limit = max(policy.mass_removal_min, policy.mass_removal_share * live)
    if removals > limit:
        return (
            f"the full export would unpublish {removals} of {live} live listings, "
            f"more than the limit of {limit:g}"
        )
    return None


def _unpublish(have: KnownListing, reason: str) -> UnpublishListing:
    consequences = frozenset({Consequence.UNPUBLISH_VISIBLE}) if have.is_visible else frozenset()
    return UnpublishListing(have.listing_key, reason=reason, consequences=consequences)
