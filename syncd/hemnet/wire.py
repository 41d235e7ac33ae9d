"""Every name the client assumes about Hemnet's wire format: paths, wrappers, fields, enums.

Data only, no logic and no I/O. The tags (DOC / DERIVED / ASSUMED) follow
``docs/hemnet-wire.md``; matching Hemnet's real specification later is an edit here alone.

``syncd/sandbox/wire.py`` repeats many of these names on purpose: the sandbox must not
import syncd's client, so a wrong name here cannot hide the same mistake on the other side
of the wire; the contract tests (``tests/integration/test_hemnet_contract.py``) run this
client against that sandbox.
"""

from __future__ import annotations

from typing import Final

from syncd.core.domain import HousingForm, ImageState, MarketState, Tenure

# --- transport ---------------------------------------------------------------------------

AUTHORIZATION: Final = "Authorization"  # DOC: "Bearer <token>"
REQUEST_ID_HEADER: Final = "X-Request-Id"  # ASSUMED
RETRY_AFTER_HEADER: Final = "Retry-After"  # ASSUMED
DATE_HEADER: Final = "Date"

PAGE_LIMIT: Final = "limit"  # DOC for images
PAGE_OFFSET: Final = "offset"  # ASSUMED, 0-based
PAGE_TOTAL: Final = "total"  # ASSUMED
DEFAULT_PAGE_SIZE: Final = 20  # DOC for images
MAX_PAGE_SIZE: Final = 100  # ASSUMED

# --- paths (relative to the base URL, which ends in /v1) -------------------------------------

KEYS: Final = "/keys"  # DOC
KEY: Final = "/keys/{key_id}"  # DOC
AGENCIES: Final = "/broker_agencies"  # ASSUMED
AGENCY: Final = "/broker_agencies/{agency_id}"  # ASSUMED
LISTINGS: Final = "/listings"  # ASSUMED
LISTING: Final = "/listings/{listing_id}"  # DERIVED
PUBLISH: Final = "/listings/{listing_id}/publish"  # DOC
UNPUBLISH: Final = "/listings/{listing_id}/unpublish"  # ASSUMED
MARKET_STATE: Final = "/listings/{listing_id}/update_market_state"  # DOC
SALE_OF_LISTING: Final = "/listings/{listing_id}/sale"  # ASSUMED
SALE: Final = "/sales/{sale_id}"  # DOC (2ND)
CHECKS: Final = "/listings/{listing_id}/checks"  # ASSUMED
SELLER_INFORMATION: Final = "/listings/{listing_id}/seller_information"  # DOC
BILLING_INFORMATION: Final = "/listings/{listing_id}/billing_information"  # DOC
IMAGE_RIGHT: Final = "/listings/{listing_id}/image_right"  # DOC
IMAGES: Final = "/listings/{listing_id}/images"  # DERIVED
IMAGE: Final = "/listings/{listing_id}/images/{image_id}"  # ASSUMED

# --- wrappers: single resources by name, lists by the plural --------------------------------

KEY_ONE: Final = "key"  # DOC
KEY_MANY: Final = "keys"  # DOC
AGENCY_ONE: Final = "brokerAgency"
AGENCY_MANY: Final = "brokerAgencies"
LISTING_ONE: Final = "listing"
LISTING_MANY: Final = "listings"
IMAGE_ONE: Final = "image"
IMAGE_MANY: Final = "images"
SALE_ONE: Final = "sale"
CHECKS_ONE: Final = "checks"  # DOC (inside ChecksError), ASSUMED as the endpoint's wrapper
SELLER_ONE: Final = "sellerInformation"
BILLING_ONE: Final = "billingInformation"
IMAGE_RIGHT_ONE: Final = "imageRight"

# --- errors (DOC envelope) -------------------------------------------------------------------

ERRORS: Final = "errors"
ERROR_TYPE: Final = "type"
ERROR_MESSAGE: Final = "message"
ERROR_FIELD: Final = "field"  # ASSUMED, on ValidationError
ERROR_REQUEST_ID: Final = "requestId"  # DOC
CHECKS_ERRORS: Final = "errors"  # DOC
CHECKS_WARNINGS: Final = "warnings"  # DOC
CHECKS_ERROR_TYPE: Final = "ChecksError"  # DOC
TRANSITION_ERROR_TYPE: Final = "TransitionError"  # DOC

# --- fields ----------------------------------------------------------------------------------

ID: Final = "id"
NAME: Final = "name"
CREATED_AT: Final = "createdAt"
UPDATED_AT: Final = "updatedAt"
EXPIRES_AT: Final = "expiresAt"  # ASSUMED
TOKEN: Final = "token"  # noqa: S105 - a field name; DERIVED: shown once, on creation

ORGANISATION_NUMBER: Final = "organisationNumber"
EXTERNAL_ID: Final = "externalId"
HQ_PARTNERSHIP_AGREEMENT: Final = "hqPartnershipAgreement"

AGENCY_ID: Final = "brokerAgencyId"
# ASSUMED: a listing's agency is fixed once created (PATCH refuses brokerAgencyId; nothing
# found says otherwise). So a listing the CRM moves to another agency cannot be moved by
# syncd: it is a conflict for the operator (stages.conflicts). The sandbox agrees
# (sandbox/wire.py LISTING_PATCH); the contract test pins both to this value.
LISTING_AGENCY_IS_FIXED: Final = True
PUBLICATION_STATUS: Final = "publicationStatus"  # DOC
MARKET_STATE_FIELD: Final = "marketState"  # DOC
ALLOWED_MARKET_STATES: Final = "allowedMarketStates"  # DOC
IS_PUBLISHED: Final = "isPublished"  # DOC, nesting DERIVED
IS_APPROVED: Final = "isApproved"  # DOC, nesting DERIVED
IS_VISIBLE: Final = "isVisible"  # DOC
APPROVAL_URL: Final = "approvalUrl"  # ASSUMED
PUBLIC_URL: Final = "url"  # ASSUMED
ALLOWED_AUTO_APPROVE: Final = "allowedAutoApprove"  # DOC

# Canonical Listing field name -> wire field name (docs/hemnet-wire.md, ListingIn).
LISTING_FIELD_NAMES: Final[dict[str, str]] = {
    "housing_form": "housingForm",
    "tenure": "tenure",
    "address": "address",
    "coordinates": "coordinates",
    "asking_price": "askingPrice",
    "monthly_fee": "monthlyFee",
    "operating_cost": "operatingCost",
    "living_area": "livingArea",
    "supplemental_area": "supplementalArea",
    "plot_area": "plotArea",
    "rooms": "numberOfRooms",
    "floor": "floor",
    "construction_year": "constructionYear",
    "energy_class": "energyClassification",
    "new_construction": "newConstruction",
    "title": "title",
    "description": "description",
    "viewings": "viewings",
    "broker": "broker",
}

STREET_ADDRESS: Final = "streetAddress"
POSTAL_CODE: Final = "postalCode"
CITY: Final = "city"
MUNICIPALITY: Final = "municipality"
APARTMENT_NUMBER: Final = "apartmentNumber"
LATITUDE: Final = "latitude"
LONGITUDE: Final = "longitude"
ENERGY_CLASS: Final = "classification"  # inside energyClassification (2ND)
VIEWING_STARTS_AT: Final = "startsAt"
VIEWING_ENDS_AT: Final = "endsAt"
VIEWING_NOTE: Final = "note"
BROKER_NAME: Final = "name"
BROKER_EMAIL: Final = "email"
BROKER_PHONE: Final = "phone"

IMAGE_URL: Final = "url"
IMAGE_CAPTION: Final = "caption"
IMAGE_POSITION: Final = "position"
IMAGE_IS_FLOOR_PLAN: Final = "isFloorPlan"
NO_CAPTION: Final = ""  # ASSUMED: how a PATCH clears a caption (null is refused)
IMAGE_STATE: Final = "state"  # DOC
IMAGE_STATE_MESSAGE: Final = "stateMessage"  # DOC

SALE_LISTING_ID: Final = "listingId"
SALE_PRICE: Final = "price"
SALE_IS_PRICE_PUBLIC: Final = "isPricePublic"
SALE_CONTRACT_DATE: Final = "contractDate"

SELLER_NAME: Final = "name"
SELLER_EMAIL: Final = "email"
SELLER_IDENTITY_NUMBER: Final = "identityNumber"
SELLER_TYPE: Final = "sellerType"  # DOC
BILLING_RECIPIENT_NAME: Final = "recipientName"
BILLING_STREET_ADDRESS: Final = "streetAddress"
BILLING_POSTAL_CODE: Final = "postalCode"
BILLING_CITY: Final = "city"

IMAGE_RIGHT_TERMS: Final = "terms"  # DOC
IMAGE_RIGHT_PHOTO_AGENCY: Final = "photoAgency"  # DOC
IMAGE_RIGHT_PHOTO_AGENCY_NAME: Final = "photoAgencyName"  # DOC
# The right "captures who took the photos (photographer and/or agency)" (DOC); the field's
# name is not shown: ASSUMED.
IMAGE_RIGHT_PHOTOGRAPHER: Final = "photographer"

# --- enums: domain value <-> wire value -----------------------------------------------------

HOUSING_FORMS: Final[dict[HousingForm, str]] = {
    HousingForm.APARTMENT: "APARTMENT",
    HousingForm.HOUSE: "HOUSE",
    HousingForm.TERRACED_HOUSE: "TERRACED_HOUSE",
    HousingForm.SEMI_DETACHED_HOUSE: "SEMI_DETACHED_HOUSE",
    HousingForm.LINKED_HOUSE: "LINKED_HOUSE",
    HousingForm.HOLIDAY_HOME: "HOLIDAY_HOME",
    HousingForm.PLOT: "PLOT",
    HousingForm.FARM: "FARM",
    HousingForm.OTHER: "OTHER",
}
TENURES: Final[dict[Tenure, str]] = {
    Tenure.CONDOMINIUM: "CONDOMINIUM",
    Tenure.FREEHOLD: "FREEHOLD",
    Tenure.OWNERSHIP_APARTMENT: "OWNERSHIP_APARTMENT",
    Tenure.LEASEHOLD: "LEASEHOLD",
    Tenure.COOPERATIVE: "COOPERATIVE",
    Tenure.RENTAL: "RENTAL",
}
IMAGE_STATES: Final[dict[ImageState, str]] = {
    ImageState.IN_PROGRESS: "in_progress",  # DOC
    ImageState.COMPLETED: "completed",  # DOC
    ImageState.FAILED: "failed",  # ASSUMED
}
MARKET_STATES: Final[dict[MarketState, str]] = {
    MarketState.FOR_SALE: "FOR_SALE",  # DOC
    MarketState.UPCOMING: "UPCOMING",  # DOC
    MarketState.TEASED: "TEASED",  # DOC
}
# SellerType values are Hemnet's own (DOC), so the domain enum's values are the wire values.

HOUSING_FORMS_BACK: Final = {v: k for k, v in HOUSING_FORMS.items()}
TENURES_BACK: Final = {v: k for k, v in TENURES.items()}
IMAGE_STATES_BACK: Final = {v: k for k, v in IMAGE_STATES.items()}
MARKET_STATES_BACK: Final = {v: k for k, v in MARKET_STATES.items()}

# --- webhooks (DOC headers, ASSUMED event body; read by syncd/runtime/webhook.py) ---

WEBHOOK_SIGNATURE_HEADER: Final = "X-Signature"  # DOC: HMAC-SHA256 hex, "old,new" in rotation
WEBHOOK_TIMESTAMP_HEADER: Final = "X-Timestamp"  # DOC: milliseconds since the epoch
WEBHOOK_TYPE: Final = "type"  # ASSUMED: "listing" | "image" | "sale"
WEBHOOK_ACTION: Final = "action"  # ASSUMED
WEBHOOK_DATA: Final = "data"  # ASSUMED
WEBHOOK_LISTING_ID: Final = "listingId"  # ASSUMED
WEBHOOK_EXTERNAL_ID: Final = "externalId"  # ASSUMED
