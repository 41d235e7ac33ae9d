"""Planning one listing: create, update, market state, sale, withdrawal, private
information and image right; images and the publish come from their own modules.

Pure: no I/O, no clock (``now`` is an argument); it never sends anything.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from syncd.core.domain import (
    ACTIVE_STATUSES,
    REPUBLISH_WINDOW,
    ImageRight,
    ImageState,
    KnownListing,
    Listing,
    ListingStatus,
    MarketState,
    billing_hash,
    content_hash,
    listing_fields,
    seller_hash,
)
from syncd.core.ops import (
    Consequence,
    CreateListing,
    DeleteImageRight,
    MarkSold,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetImageRight,
    SetMarketState,
    UpdateListing,
)
from syncd.core.plan.images import plan_images
from syncd.core.plan.outcome import REJECTED_REASON, Out, unpublish
from syncd.core.plan.publishing import explain_not_publishing, plan_publish
from syncd.core.policy import PlanPolicy
from syncd.core.stages import conflicts

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


def plan_listing(
    want: Listing, have: KnownListing | None, policy: PlanPolicy, now: datetime
) -> Out:
    key = want.listing_key
    out = Out()
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
            out.ops.append(unpublish(have, "withdrawn in the CRM"))
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
    after = plan_images(want, have.images, policy, out)
    plan_publish(want, have, after, market_state, policy, out)
    return out


def _plan_republish(
    want: Listing, have: KnownListing, policy: PlanPolicy, now: datetime, out: Out
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


def _plan_new(want: Listing, policy: PlanPolicy, out: Out) -> None:
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
    after = plan_images(want, (), policy, out)
    if policy.publish:
        explain_not_publishing(want, after, policy, out)


def _plan_update(want: Listing, have: KnownListing, policy: PlanPolicy, out: Out) -> None:
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


def _plan_market_state(want: Listing, have: KnownListing, out: Out) -> MarketState | None:
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


def _plan_private_information(want: Listing, have: KnownListing | None, out: Out) -> None:
    """Seller and billing information are write-only: their hashes say what was sent."""
    key = want.listing_key
    sent_seller = have.seller_hash if have is not None else None
    sent_billing = have.billing_hash if have is not None else None
    if want.seller is not None and seller_hash(want.seller) != sent_seller:
        out.ops.append(SendSellerInformation(key, seller=want.seller))
    if want.billing is not None and billing_hash(want.billing) != sent_billing:
        out.ops.append(SendBillingInformation(key, billing=want.billing))


def _plan_image_right(want: Listing, have: KnownListing | None, out: Out) -> None:
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
