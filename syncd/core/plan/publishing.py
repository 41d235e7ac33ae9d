"""Planning the publish of a listing, or saying why it cannot be published yet.

Pure: no I/O; it reads the listing, the image states after this plan and the policy.
"""

from __future__ import annotations

from syncd.core.domain import (
    AUTO_APPROVE_MARKET_STATES,
    ImageState,
    KnownListing,
    Listing,
    MarketState,
)
from syncd.core.ops import PublishListing
from syncd.core.plan.outcome import Out
from syncd.core.policy import PlanPolicy
from syncd.core.stages import publish_blockers


def plan_publish(  # noqa: PLR0917
    want: Listing,
    have: KnownListing,
    after: list[ImageState],
    market_state: MarketState | None,
    policy: PlanPolicy,
    out: Out,
) -> None:
    if have.is_published or not policy.publish:
        return
    if explain_not_publishing(want, after, policy, out):
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


def explain_not_publishing(
    want: Listing, after: list[ImageState], policy: PlanPolicy, out: Out
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
