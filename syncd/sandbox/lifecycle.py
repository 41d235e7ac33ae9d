"""Hemnet's documented listing rules, applied to the sandbox's world.

Checks, publish/approve/visible, market states (TEASED), auto-approve, sale and its
six-month undo window. Takes ``now`` as an argument; never reads the clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from syncd.sandbox import wire
from syncd.sandbox.clock import iso, parse_iso
from syncd.sandbox.envelope import ApiProblem
from syncd.sandbox.model import Listing, Sale, World


@dataclass(frozen=True)
class Event:
    """Something a webhook subscriber hears about (ASSUMED catalogue)."""

    type: str  # listing | image | sale
    action: str
    listing_id: str
    external_id: str | None
    image_id: str | None = None
    sale_id: str | None = None


def listing_event(listing: Listing, action: str) -> Event:
    return Event("listing", action, listing.id, listing.fields.get("externalId"))


def checks(world: World, listing: Listing) -> tuple[list[str], list[str]]:
    """Errors block publishing; warnings are advice (DOC shape, ASSUMED rules)."""
    f = listing.fields
    errors: list[str] = []
    warnings: list[str] = []
    completed = [i for i in world.images_of(listing.id) if i.state == wire.COMPLETED]
    if not completed:
        errors.append(wire.CHECK_NO_IMAGE)
    address = f.get("address") or {}
    if not address.get("streetAddress"):
        errors.append(wire.CHECK_STREET_ADDRESS)
    if (
        f.get("housingForm") == wire.APARTMENT
        and f.get("tenure") in wire.APARTMENT_TENURES
        and not address.get("apartmentNumber")
    ):
        errors.append(wire.CHECK_APARTMENT_NUMBER)
    if listing.market_state == wire.FOR_SALE and f.get("askingPrice") is None:
        errors.append(wire.CHECK_ASKING_PRICE)
    if not f.get("description"):
        warnings.append(wire.WARN_DESCRIPTION)
    if len(completed) < wire.FEW_IMAGES:
        warnings.append(wire.WARN_FEW_IMAGES)
    return errors, warnings


def checks_problem(errors: list[str], warnings: list[str]) -> ApiProblem:
    return ApiProblem(
        422,
        wire.CHECKS_ERROR,
        "Required checks failed",
        checks={
            "errors": [{"message": m} for m in errors],
            "warnings": [{"message": m} for m in warnings],
        },
    )


def teased_blockers(world: World, listing: Listing) -> list[str]:
    """Why TEASED is not allowed now (DOC rules, non-exhaustive as Hemnet says)."""
    reasons = []
    if listing.ever_visible:
        reasons.append("TEASED is only allowed for listings that have never been visible")
    if listing.fields.get("newConstruction"):
        reasons.append("TEASED is not allowed for new construction")
    agency = world.agencies.get(str(listing.fields.get("brokerAgencyId")))
    if agency is None or not agency.hq_partnership_agreement:
        reasons.append("TEASED needs an HQ partnership agreement for the broker agency")
    return reasons


def allowed_market_states(world: World, listing: Listing) -> list[str]:
    if listing.sale_id is not None:
        return []
    allowed = [wire.FOR_SALE, wire.UPCOMING]
    if listing.market_state == wire.TEASED or not teased_blockers(world, listing):
        allowed.append(wire.TEASED)
    return allowed


def set_market_state(world: World, listing: Listing, state: str, now: datetime) -> None:
    if listing.sale_id is not None:
        raise ApiProblem(422, wire.TRANSITION_ERROR, "A sold listing has no market state to set")
    if state not in allowed_market_states(world, listing):
        reasons = teased_blockers(world, listing) or [f"Transition to {state} is not allowed"]
        raise ApiProblem(422, wire.TRANSITION_ERROR, "; ".join(reasons))
    listing.market_state = state
    listing.updated_at = iso(now)


def _became_visible(listing: Listing, was_visible: bool) -> list[Event]:
    if listing.is_visible and not was_visible:
        listing.ever_visible = True
        return [listing_event(listing, "visible")]
    return []


def approve(listing: Listing, now: datetime) -> list[Event]:
    """The broker approved in the customer portal (before or after publishing, DOC)."""
    if listing.is_approved:
        return []
    was_visible = listing.is_visible
    listing.is_approved = True
    listing.updated_at = iso(now)
    return [listing_event(listing, "approved"), *_became_visible(listing, was_visible)]


def publish(
    world: World, listing: Listing, now: datetime, auto_approve: bool, undo_window_days: int
) -> list[Event]:
    events: list[Event] = []
    if listing.sale_id is not None:
        sale = world.sales[listing.sale_id]
        if now - parse_iso(sale.created_at) > timedelta(days=undo_window_days):
            raise ApiProblem(
                422,
                wire.SALE_ERROR,
                "The listing was sold more than six months ago and cannot be republished",
                saleId=sale.id,
            )
    errors, warnings = checks(world, listing)
    if errors:
        raise checks_problem(errors, warnings)
    # Hemnet attempts auto-approval only for TEASED listings (DOC, changelog 044). What it
    # does with the flag in another market state is not documented: ASSUMED ignored, so
    # the publish goes on and approval stays with the broker.
    auto_approve = auto_approve and listing.market_state == wire.TEASED
    if auto_approve and not listing.is_approved:
        missing = []
        if listing.seller_information_at is None:
            missing.append("Seller information is missing")
        if listing.billing_information_at is None:
            missing.append("Billing information is missing")
        if missing:
            # Atomic (DOC): nothing is published when approval cannot happen too.
            raise ApiProblem(
                422,
                wire.AUTO_APPROVE_ERROR,
                missing[0],
                more=[{"type": wire.AUTO_APPROVE_ERROR, "message": m} for m in missing[1:]],
            )
    if listing.sale_id is not None:
        # Republishing within six months silently deletes the sale (DOC, changelog 010).
        world.sales.pop(listing.sale_id, None)
        listing.sale_id = None
    was_visible = listing.is_visible
    if not listing.is_published:
        listing.is_published = True
        listing.published_at = iso(now)
        events.append(listing_event(listing, "published"))
    listing.updated_at = iso(now)
    if auto_approve and not listing.is_approved:
        listing.is_approved = True
        events.append(listing_event(listing, "approved"))
    return events + _became_visible(listing, was_visible)


def unpublish(listing: Listing, now: datetime) -> list[Event]:
    if not listing.is_published:
        return []
    listing.is_published = False
    listing.published_at = None
    listing.updated_at = iso(now)
    return [listing_event(listing, "unpublished")]


def mark_sold(
    world: World, listing: Listing, body: dict[str, Any], now: datetime
) -> tuple[Sale, list[Event]]:
    if listing.sale_id is not None:
        raise ApiProblem(409, wire.CONFLICT_ERROR, "The listing is already marked as sold")
    sale = Sale(
        id=world.new_id(),
        listing_id=listing.id,
        price=body["price"],
        is_price_public=body["isPricePublic"],
        contract_date=body.get("contractDate") or now.date().isoformat(),
        created_at=iso(now),
    )
    world.sales[sale.id] = sale
    listing.sale_id = sale.id
    # Marking sold unpublishes the listing (DOC).
    events = unpublish(listing, now)
    listing.updated_at = iso(now)
    sold = Event("sale", "created", listing.id, listing.fields.get("externalId"), sale_id=sale.id)
    return sale, [sold, *events]


def patch_listing(world: World, listing: Listing, changes: dict[str, Any], now: datetime) -> None:
    """Apply changed fields; null clears. A published listing must still pass its checks."""
    if listing.sale_id is not None:
        raise ApiProblem(409, wire.CONFLICT_ERROR, "A sold listing cannot be updated")
    before = dict(listing.fields)
    for name, value in changes.items():
        if value is None:
            listing.fields.pop(name, None)
        else:
            listing.fields[name] = value
    if listing.is_published:
        errors, warnings = checks(world, listing)
        if errors:
            listing.fields = before
            raise checks_problem(errors, warnings)
    listing.updated_at = iso(now)


def settle_auto_approvals(world: World, now: datetime, after_s: float | None) -> list[Event]:
    """Approve every published listing whose demo approval delay has passed."""
    if after_s is None:
        return []
    events: list[Event] = []
    for listing in world.listings.values():
        due = (
            listing.is_published
            and not listing.is_approved
            and listing.published_at is not None
            and now - parse_iso(listing.published_at) >= timedelta(seconds=after_s)
        )
        if due:
            events += approve(listing, now)
    return events
