"""What the sandbox remembers: accounts, keys, agencies, listings, images and sales.

Each key, agency and listing belongs to one account (an integrator's Hemnet account); a
key reaches only its own account's records. Images and sales belong to their listing's.

Every field is JSON-native (times are ISO strings) so the whole world saves and loads as
one document. No rules live here (``lifecycle.py``) and no HTTP (``api.py``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# The bootstrap key's account; records saved before accounts existed belong to it.
DEFAULT_ACCOUNT = "default"


@dataclass
class Account:
    id: str
    name: str
    created_at: str


@dataclass
class Key:
    id: str
    name: str
    created_at: str
    expires_at: str
    token_sha256: str  # the token itself is never stored
    account_id: str = DEFAULT_ACCOUNT


@dataclass
class Agency:
    id: str
    name: str
    organisation_number: str | None
    external_id: str | None
    hq_partnership_agreement: bool
    created_at: str
    account_id: str = DEFAULT_ACCOUNT


@dataclass
class Image:
    id: str
    listing_id: str
    url: str
    caption: str | None
    position: int
    is_floor_plan: bool
    state: str
    state_message: str | None
    created_at: str


@dataclass
class Sale:
    id: str
    listing_id: str
    price: int
    is_price_public: bool
    contract_date: str
    created_at: str


@dataclass
class Listing:
    id: str
    fields: dict[str, Any]  # the ListingIn fields exactly as validated
    market_state: str
    created_at: str
    updated_at: str
    is_published: bool = False
    is_approved: bool = False
    ever_visible: bool = False
    published_at: str | None = None
    sale_id: str | None = None
    # Seller and billing information are write-only: only the fact of receipt is kept, so
    # no personal identity number ever reaches the state file.
    seller_information_at: str | None = None
    billing_information_at: str | None = None
    image_right: dict[str, Any] | None = None
    account_id: str = DEFAULT_ACCOUNT

    @property
    def is_visible(self) -> bool:
        return self.is_published and self.is_approved


@dataclass
class World:
    accounts: dict[str, Account] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    agencies: dict[str, Agency] = field(default_factory=dict)
    listings: dict[str, Listing] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    sales: dict[str, Sale] = field(default_factory=dict)
    next_id: int = 1000
    # Image ids by listing id, so a listing's images are found without looking through
    # every image (quadratic over a 100,000-listing world). Kept by add_image/remove_image.
    _image_ids: dict[str, set[str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for image in self.images.values():
            self._image_ids.setdefault(image.listing_id, set()).add(image.id)

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def add_image(self, image: Image) -> None:
        self.images[image.id] = image
        self._image_ids.setdefault(image.listing_id, set()).add(image.id)

    def remove_image(self, image_id: str) -> None:
        image = self.images.pop(image_id)
        self._image_ids.get(image.listing_id, set()).discard(image_id)

    def images_of(self, listing_id: str) -> list[Image]:
        found = [self.images[i] for i in self._image_ids.get(listing_id, ())]
        return sorted(found, key=lambda i: (i.position, int(i.id)))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "nextId": self.next_id,
            "accounts": [dataclasses.asdict(a) for a in self.accounts.values()],
            "keys": [dataclasses.asdict(k) for k in self.keys.values()],
            "agencies": [dataclasses.asdict(a) for a in self.agencies.values()],
            "listings": [dataclasses.asdict(x) for x in self.listings.values()],
            "images": [dataclasses.asdict(i) for i in self.images.values()],
            "sales": [dataclasses.asdict(s) for s in self.sales.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        return cls(
            accounts={a["id"]: Account(**a) for a in data.get("accounts", [])},
            keys={k["id"]: Key(**k) for k in data.get("keys", [])},
            agencies={a["id"]: Agency(**a) for a in data.get("agencies", [])},
            listings={x["id"]: Listing(**x) for x in data.get("listings", [])},
            images={i["id"]: Image(**i) for i in data.get("images", [])},
            sales={s["id"]: Sale(**s) for s in data.get("sales", [])},
            next_id=int(data.get("nextId", 1000)),
        )


def load_world(path: Path | None) -> World:
    if path is None or not path.exists():
        return World()
    world = World.from_json(json.loads(path.read_text(encoding="utf-8")))
    log.info("sandbox state loaded from %s (%d listings)", path, len(world.listings))
    return world


def save_world(world: World, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, fsync, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(world.to_json(), out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
