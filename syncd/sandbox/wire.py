"""Every name the sandbox assumes about Hemnet's wire: paths, wrappers, fields, enums, bodies.

Data only. Tags (DOC / DERIVED / ASSUMED / SANDBOX) follow ``docs/hemnet-wire.md``;
matching Hemnet's real specification later is an edit here (and the same one in
``syncd/hemnet/wire.py``). Must not import ``syncd.hemnet``: this is the other side of the wire,
and the names both sides share are mirrored here on purpose, so that a wrong name in the
client cannot hide the same mistake in the sandbox.
"""

from __future__ import annotations

from typing import Final

from syncd.core import limits
from syncd.sandbox.schema import Arr, Bool, Int, Num, Obj, Spec, Str, enum_of

# --- transport -------------------------------------------------------------------------------

API_PREFIX: Final = "/v1"  # ASSUMED
REQUEST_ID_HEADER: Final = "X-Request-Id"  # ASSUMED (DOC on webhooks)
RETRY_AFTER_HEADER: Final = "Retry-After"  # ASSUMED
DEFAULT_PAGE_SIZE: Final = 20  # DOC for images, ASSUMED elsewhere
MAX_PAGE_SIZE: Final = 100  # ASSUMED

# --- paths (below API_PREFIX) ----------------------------------------------------------------

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

# Outside the API: the broker's browser and the buyers' site (no bearer key).
APPROVAL_PATH: Final = "/portal/listings/{listing_id}/approve"  # ASSUMED stand-in
PUBLIC_LISTING_PATH: Final = "/bostad/{listing_id}"  # ASSUMED, like hemnet.se/bostad/...
ADMIN_PREFIX: Final = "/_sandbox"  # SANDBOX only

# --- wrappers --------------------------------------------------------------------------------

KEY_ONE, KEY_MANY = "key", "keys"  # DOC
AGENCY_ONE, AGENCY_MANY = "brokerAgency", "brokerAgencies"  # ASSUMED
LISTING_ONE, LISTING_MANY = "listing", "listings"  # ASSUMED
IMAGE_ONE, IMAGE_MANY = "image", "images"  # ASSUMED
SALE_ONE: Final = "sale"  # ASSUMED
CHECKS_ONE: Final = "checks"  # DOC inside ChecksError
SELLER_ONE: Final = "sellerInformation"  # ASSUMED
BILLING_ONE: Final = "billingInformation"  # ASSUMED
IMAGE_RIGHT_ONE: Final = "imageRight"  # ASSUMED
PAGE_TOTAL, PAGE_LIMIT, PAGE_OFFSET = "total", "limit", "offset"  # ASSUMED (limit DOC)

# --- error types -----------------------------------------------------------------------------

VALIDATION_ERROR: Final = "ValidationError"  # ASSUMED
AUTHENTICATION_ERROR: Final = "AuthenticationError"  # ASSUMED
AUTHORIZATION_ERROR: Final = "AuthorizationError"  # ASSUMED
NOT_FOUND_ERROR: Final = "NotFoundError"  # ASSUMED
CONFLICT_ERROR: Final = "ConflictError"  # ASSUMED
CHECKS_ERROR: Final = "ChecksError"  # DOC
TRANSITION_ERROR: Final = "TransitionError"  # DOC
AUTO_APPROVE_ERROR: Final = "AutoApproveError"  # ASSUMED (422 DOC)
SALE_ERROR: Final = "SaleError"  # DERIVED
RATE_LIMIT_ERROR: Final = "RateLimitError"  # ASSUMED
INTERNAL_ERROR: Final = "InternalError"  # ASSUMED
METHOD_NOT_ALLOWED_ERROR: Final = "MethodNotAllowedError"  # ASSUMED
PAYLOAD_TOO_LARGE_ERROR: Final = "PayloadTooLargeError"  # ASSUMED
UNSUPPORTED_MEDIA_TYPE_ERROR: Final = "UnsupportedMediaTypeError"  # ASSUMED
# ASSUMED: Hemnet documents no limit; a listing with every field at its maximum length
# is far below it.
MAX_BODY_BYTES: Final = 1024 * 1024
JSON_MEDIA_TYPE: Final = "application/json"  # ASSUMED required on writes

# --- enums -----------------------------------------------------------------------------------

HOUSING_FORMS: Final = (
    "APARTMENT",
    "HOUSE",
    "TERRACED_HOUSE",
    "SEMI_DETACHED_HOUSE",
    "LINKED_HOUSE",
    "HOLIDAY_HOME",
    "PLOT",
    "FARM",
    "OTHER",
)  # ASSUMED
TENURES: Final = (
    "CONDOMINIUM",
    "FREEHOLD",
    "OWNERSHIP_APARTMENT",
    "LEASEHOLD",
    "COOPERATIVE",
    "RENTAL",
)  # ASSUMED
APARTMENT: Final = "APARTMENT"
APARTMENT_TENURES: Final = ("CONDOMINIUM", "OWNERSHIP_APARTMENT")  # need apartmentNumber
FOR_SALE, UPCOMING, TEASED = "FOR_SALE", "UPCOMING", "TEASED"  # DOC
MARKET_STATES: Final = (FOR_SALE, UPCOMING, TEASED)
IN_PROGRESS, COMPLETED, FAILED = "in_progress", "completed", "failed"  # DOC, failed ASSUMED
ENERGY_CLASSES: Final = limits.ENERGY_CLASSES  # 2ND
SELLER_TYPES: Final = (
    "INDIVIDUAL",
    "HOUSING_COOPERATIVE",
    "DEVELOPER",
    "ESTATE",
    "LEGAL_GUARDIAN",
    "ORGANISATION",
)  # DOC
IMAGE_RIGHT_TERMS: Final = ("NO_LICENSE", "SIX_MONTHS_LICENSE", "INDEFINITE_LICENSE")  # DOC
PHOTO_AGENCIES: Final = (
    "HF_AGENCY",
    "DIAKRIT",
    "SE360",
    "PERFECT_SHOT",
    "FREELANCE",
    "OWNER_TAKEN",
)  # DOC

# --- check messages (the apartment text is Hemnet's own, DOC, trailing newline included) -----

CHECK_NO_IMAGE: Final = "The listing must have at least one processed image.\n"
CHECK_APARTMENT_NUMBER: Final = "Apartment number must be specified for apartments.\n"  # DOC
CHECK_STREET_ADDRESS: Final = "Street address must be specified.\n"
CHECK_ASKING_PRICE: Final = "Asking price must be specified for listings for sale.\n"
WARN_DESCRIPTION: Final = "The listing has no description.\n"
WARN_FEW_IMAGES: Final = "Listings with fewer than 5 images tend to perform worse.\n"
FEW_IMAGES: Final = limits.FEW_IMAGES

# --- request bodies (every length, range and enum from syncd/core/limits.py, which ingest checks)

_SHORT = Str(max_length=limits.SHORT_TEXT_MAX)
_ADDRESS = Obj(
    {
        "streetAddress": _SHORT,
        "postalCode": Str(max_length=limits.POSTAL_CODE_MAX),
        "city": _SHORT,
        "municipality": _SHORT,
        "apartmentNumber": Str(max_length=limits.APARTMENT_NUMBER_MAX),
    }
)
_AMOUNT = Int(minimum=0, maximum=limits.AMOUNT_MAX)
_AREA = Num(minimum=0, maximum=limits.AREA_MAX)

LISTING_FIELDS: Final[dict[str, Spec]] = {
    "brokerAgencyId": Str(min_length=1, max_length=limits.AGENCY_ID_MAX),
    "externalId": Str(max_length=limits.EXTERNAL_ID_MAX),
    "housingForm": enum_of(HOUSING_FORMS),
    "tenure": enum_of(TENURES),
    "address": _ADDRESS,
    "coordinates": Obj(
        {
            "latitude": Num(minimum=limits.LATITUDE_MIN, maximum=limits.LATITUDE_MAX),
            "longitude": Num(minimum=limits.LONGITUDE_MIN, maximum=limits.LONGITUDE_MAX),
        },
        required=("latitude", "longitude"),
    ),
    "askingPrice": _AMOUNT,
    "monthlyFee": _AMOUNT,
    "operatingCost": _AMOUNT,
    "livingArea": _AREA,
    "supplementalArea": _AREA,
    "plotArea": _AREA,
    "numberOfRooms": Num(minimum=0, maximum=limits.ROOMS_MAX),
    "floor": Int(minimum=limits.FLOOR_MIN, maximum=limits.FLOOR_MAX),
    "constructionYear": Int(
        minimum=limits.CONSTRUCTION_YEAR_MIN, maximum=limits.CONSTRUCTION_YEAR_MAX
    ),
    "energyClassification": Obj({"classification": enum_of(ENERGY_CLASSES)}),
    "newConstruction": Bool(),
    "title": _SHORT,
    "description": Str(max_length=limits.DESCRIPTION_MAX),
    "viewings": Arr(
        Obj(
            {
                "startsAt": Str(pattern="date-time"),
                "endsAt": Str(pattern="date-time"),
                "note": _SHORT,
            },
            required=("startsAt",),
        ),
        max_items=limits.VIEWINGS_MAX,
    ),
    "broker": Obj({"name": _SHORT, "email": _SHORT, "phone": Str(max_length=limits.PHONE_MAX)}),
}
# null on create means "not given" (ASSUMED), so clients may send every field.
LISTING_CREATE: Final = Obj(
    {"listing": Obj(LISTING_FIELDS, required=("brokerAgencyId",), nullable_fields=True)},
    required=("listing",),
)
# brokerAgencyId is fixed once created (ASSUMED); any other field may be cleared with null.
LISTING_PATCH: Final = Obj(
    {
        "listing": Obj(
            {k: v for k, v in LISTING_FIELDS.items() if k != "brokerAgencyId"},
            nullable_fields=True,
        )
    },
    required=("listing",),
)
KEY_CREATE: Final = Obj(
    {"key": Obj({"name": Str(min_length=1, max_length=limits.KEY_NAME_MAX)}, required=("name",))},
    required=("key",),
)
AGENCY_CREATE: Final = Obj(
    {
        "brokerAgency": Obj(
            {
                "name": Str(min_length=1, max_length=limits.SHORT_TEXT_MAX),
                "organisationNumber": Str(max_length=limits.ORGANISATION_NUMBER_MAX),
                "externalId": Str(max_length=limits.EXTERNAL_ID_MAX),
                # SANDBOX: Hemnet sets this from its contract; tests set it here.
                "hqPartnershipAgreement": Bool(),
            },
            required=("name",),
        )
    },
    required=("brokerAgency",),
)
PUBLISH_BODY: Final = Obj({"allowedAutoApprove": Bool()})
MARKET_STATE_BODY: Final = Obj({"marketState": enum_of(MARKET_STATES)}, required=("marketState",))
SALE_CREATE: Final = Obj(
    {
        "sale": Obj(
            {
                "price": _AMOUNT,
                "isPricePublic": Bool(),
                "contractDate": Str(pattern="date"),
            },
            required=("price", "isPricePublic"),
        )
    },
    required=("sale",),
)
SELLER_BODY: Final = Obj(
    {
        "sellerInformation": Obj(
            {
                "name": _SHORT,
                "email": _SHORT,
                "identityNumber": Str(max_length=limits.IDENTITY_NUMBER_MAX),
                "sellerType": enum_of(SELLER_TYPES),
            },
            required=("name",),
        )
    },
    required=("sellerInformation",),
)
BILLING_BODY: Final = Obj(
    {
        "billingInformation": Obj(
            {
                "recipientName": _SHORT,
                "streetAddress": _SHORT,
                "postalCode": Str(max_length=limits.POSTAL_CODE_MAX),
                "city": _SHORT,
            },
            required=("recipientName",),
        )
    },
    required=("billingInformation",),
)
IMAGE_RIGHT_BODY: Final = Obj(
    {
        "imageRight": Obj(
            {
                "terms": enum_of(IMAGE_RIGHT_TERMS),
                "photoAgency": enum_of(PHOTO_AGENCIES),
                "photoAgencyName": _SHORT,
                "photographer": _SHORT,  # ASSUMED name (DOC: the right names the photographer)
            }
        )
    },
    required=("imageRight",),
)
IMAGE_CREATE: Final = Obj(
    {
        "image": Obj(
            {
                "url": Str(min_length=1, max_length=limits.IMAGE_URL_MAX),
                "caption": _SHORT,
                "position": Int(minimum=0, maximum=limits.IMAGE_POSITION_MAX),
                "isFloorPlan": Bool(),
            },
            required=("url",),
        )
    },
    required=("image",),
)
IMAGE_PATCH: Final = Obj(
    {
        "image": Obj(
            {"caption": _SHORT, "position": Int(minimum=0, maximum=limits.IMAGE_POSITION_MAX)}
        )
    },
    required=("image",),
)

# --- webhooks (DOC headers, ASSUMED events) --------------------------------------------------

WEBHOOK_USER_AGENT: Final = "Hemnet API Client"  # DOC
SIGNATURE_HEADER: Final = "X-Signature"  # DOC
TIMESTAMP_HEADER: Final = "X-Timestamp"  # DOC
