"""The canonical listing a Swedish broker publishes, and the words of the glossary.

Value types only: standard library, no I/O, no clock. Everything that reads a CRM export
produces these; everything that talks to Hemnet consumes them. ``content_hash`` and its
siblings must stay stable across runs, processes and Python versions, because stored
hashes decide whether anything is sent.

One job per module: ``listing`` (the value types), ``normalise`` (the canonical form),
``validation`` (problems), ``plain`` (the stored form), ``hashes``, ``state`` (what
Hemnet is known to have and what the CRM wants). Everything is importable from here.
"""

from syncd.core.domain.hashes import (
    Hashes,
    HashTuple,
    billing_hash,
    content_hash,
    hashes_of_plain,
    image_right_hash,
    images_hash,
    sale_hash,
    seller_hash,
)
from syncd.core.domain.listing import (
    ACTIVE_STATUSES,
    ENERGY_CLASSES,
    LISTING_FIELDS,
    SEPARATELY_SENT,
    Address,
    Agency,
    BillingInformation,
    Broker,
    Coordinates,
    HousingForm,
    Image,
    ImageRight,
    ImageRightTerms,
    Listing,
    ListingStatus,
    PhotoAgency,
    Sale,
    SellerInformation,
    SellerType,
    Tenure,
    Viewing,
    listing_fields,
)
from syncd.core.domain.normalise import clean_line, clean_text, normal_area, normalise
from syncd.core.domain.plain import (
    image_right_from_plain,
    listing_from_plain,
    plain_json,
    to_plain,
)
from syncd.core.domain.state import (
    AUTO_APPROVE_MARKET_STATES,
    REPUBLISH_WINDOW,
    Desired,
    ImageState,
    KnownAgency,
    KnownImage,
    KnownListing,
    MarketState,
)
from syncd.core.domain.validation import (
    MAX_PRICE_SEK,
    PLAUSIBLE_MAX,
    Problem,
    hemnet_limit_problems,
    problems,
)

__all__ = [
    "ACTIVE_STATUSES",
    "AUTO_APPROVE_MARKET_STATES",
    "ENERGY_CLASSES",
    "LISTING_FIELDS",
    "MAX_PRICE_SEK",
    "PLAUSIBLE_MAX",
    "REPUBLISH_WINDOW",
    "SEPARATELY_SENT",
    "Address",
    "Agency",
    "BillingInformation",
    "Broker",
    "Coordinates",
    "Desired",
    "HashTuple",
    "Hashes",
    "HousingForm",
    "Image",
    "ImageRight",
    "ImageRightTerms",
    "ImageState",
    "KnownAgency",
    "KnownImage",
    "KnownListing",
    "Listing",
    "ListingStatus",
    "MarketState",
    "PhotoAgency",
    "Problem",
    "Sale",
    "SellerInformation",
    "SellerType",
    "Tenure",
    "Viewing",
    "billing_hash",
    "clean_line",
    "clean_text",
    "content_hash",
    "hashes_of_plain",
    "hemnet_limit_problems",
    "image_right_from_plain",
    "image_right_hash",
    "images_hash",
    "listing_fields",
    "listing_from_plain",
    "normal_area",
    "normalise",
    "plain_json",
    "problems",
    "sale_hash",
    "seller_hash",
    "to_plain",
]
