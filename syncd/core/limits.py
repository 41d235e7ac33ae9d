"""Hemnet's known limits on what a listing may carry: lengths, ranges, enums, URL and key length.

Data only, standard library only. The sandbox's wire schema (``sandbox/wire.py``) answers 400
from these, and ``domain.problems`` checks every record against them (at ingest and in
``syncd check``), so a value Hemnet would refuse is reported where it comes from and never
reaches a live listing. ASSUMED throughout (``docs/hemnet-wire.md``): Hemnet publishes no
limits; matching its real ones is an edit here alone.
"""

from __future__ import annotations

from typing import Final

# --- text lengths (characters) -----------------------------------------------------------

SHORT_TEXT_MAX: Final = 500  # title, street, city, names, emails, notes, captions
DESCRIPTION_MAX: Final = 10_000
POSTAL_CODE_MAX: Final = 20
APARTMENT_NUMBER_MAX: Final = 20
PHONE_MAX: Final = 50
IDENTITY_NUMBER_MAX: Final = 20
ORGANISATION_NUMBER_MAX: Final = 20
EXTERNAL_ID_MAX: Final = 200  # our listing_key and agency key, sent as externalId
AGENCY_ID_MAX: Final = 100  # Hemnet's brokerAgencyId
KEY_NAME_MAX: Final = 200  # an API key's name
IMAGE_URL_MAX: Final = 2_000

# --- ranges --------------------------------------------------------------------------------

AMOUNT_MAX: Final = 10**12  # SEK: asking price, fee, operating cost, sale price
AREA_MAX: Final = 10**9  # m²
ROOMS_MAX: Final = 1_000
FLOOR_MIN: Final = -10
FLOOR_MAX: Final = 1_000
CONSTRUCTION_YEAR_MIN: Final = 1_000
CONSTRUCTION_YEAR_MAX: Final = 3_000
LATITUDE_MIN, LATITUDE_MAX = -90, 90
LONGITUDE_MIN, LONGITUDE_MAX = -180, 180
IMAGE_POSITION_MAX: Final = 10_000
VIEWINGS_MAX: Final = 50

# --- enums -----------------------------------------------------------------------------------

ENERGY_CLASSES: Final = ("A0", "A", "B", "C", "D", "E", "F", "G")  # 2ND (Boverket's scale)

# --- completeness (Hemnet's check warnings: advice, never a refusal) -------------------------

FEW_IMAGES: Final = 5  # fewer images than this draws Hemnet's "few images" warning
