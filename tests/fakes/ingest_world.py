"""A real inbox/archive/rejected tree, a config that routes files to the bundled mappings, a
migrated store, and listings already live on Hemnet: the world ingest tests run in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from syncd.config import Config, load_config
from syncd.core.domain import Address, Image, Listing, ListingStatus, MarketState, normalise
from syncd.store import listings, migrate
from syncd.store.engine import Store, open_store
from syncd.store.location import Database
from tests.fakes.store_state import save_desired

# First match wins: the specific patterns come before the catch-alls.
FORMATS = """
[[formats]]
pattern = "*-incremental.csv"
mapping = "generic-csv"
export_mode = "incremental"

[[formats]]
pattern = "*.csv"
mapping = "generic-csv"

[[formats]]
pattern = "kyero*.xml"
mapping = "kyero"

[[formats]]
pattern = "*.xml"
mapping = "openimmo"

[[formats]]
pattern = "*.blm"
mapping = "rightmove-blm"
"""

CSV_COLUMNS = (
    "objektnummer",
    "maklarbyra",
    "maklarbyra_namn",
    "maklarbyra_orgnr",
    "status",
    "boendeform",
    "upplatelseform",
    "gatuadress",
    "postnummer",
    "ort",
    "utgangspris",
    "boarea",
    "antal_rum",
    "rubrik",
    "bild_1",
    "saljare_namn",
    "saljare_personnummer",
)


def csv_text(rows: Sequence[dict[str, str]], delimiter: str = ";") -> str:
    """A generic-csv export: header plus one line per row (missing columns left empty)."""
    lines = [delimiter.join(CSV_COLUMNS)]
    lines.extend(delimiter.join(row.get(c, "") for c in CSV_COLUMNS) for row in rows)
    return "\n".join(lines) + "\n"


def csv_row(
    key: str, price: int = 3_495_000, agency: str = "byra-1", **extra: str
) -> dict[str, str]:
    row = {
        "objektnummer": key,
        "maklarbyra": agency,
        "status": "Till salu",
        "boendeform": "Villa",
        "upplatelseform": "Äganderätt",
        "gatuadress": f"Storgatan {key}",
        "postnummer": "75320",
        "ort": "Uppsala",
        "utgangspris": str(price),
        "boarea": "120",
        "antal_rum": "5",
        "rubrik": f"Villa {key}",
        "bild_1": f"https://img.example.se/{key}/1.jpg",
    }
    row.update(extra)
    return row


@dataclass
class World:
    root: Path
    config: Config
    store: Store

    @property
    def inbox(self) -> Path:
        return self.config.paths.inbox

    def drop(self, name: str, content: str | bytes) -> Path:
        """Put a file in the inbox, as the CRM would."""
        path = self.inbox / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


@contextmanager
def open_world(
    root: Path,
    agency: tuple[str, str] | None = None,
    extra: str = "",
    images: str = "",
    database: Database | None = None,
) -> Iterator[World]:
    """Config, folders and a migrated store under ``root``; ``agency`` is [agency] key/name,
    ``extra`` more TOML (say, [agencies.KEY] tables), ``images`` more keys of [images];
    ``database`` a state database at head to use instead of the SQLite file under ``root``."""
    text = '[paths]\ninbox = "inbox"\nstate_dir = "state"\n'
    # Tests look up no host outside the machine; reserved names and addresses are still judged.
    text += f"\n[images]\nresolve_hosts = false\n{images}\n"
    if agency is not None:
        text += f'\n[agency]\nkey = "{agency[0]}"\nname = "{agency[1]}"\n'
    text += extra
    text += FORMATS
    (root / "config.toml").write_text(text, encoding="utf-8")
    config = load_config(root / "config.toml")
    config.paths.inbox.mkdir(parents=True, exist_ok=True)
    if database is None:
        database = config.paths.database
        migrate.upgrade(database)
    store = open_store(database)
    try:
        yield World(root, config, store)
    finally:
        store.close()


def live_listing(key: str, agency: str = "byra-1", price: int = 3_495_000) -> Listing:
    return normalise(
        Listing(
            listing_key=key,
            agency_key=agency,
            status=ListingStatus.FOR_SALE,
            address=Address(f"Storgatan {key}", "75320", "Uppsala"),
            asking_price=price,
            images=(Image(f"https://img.example.se/{key}/1.jpg"),),
        )
    )


def seed_live(store: Store, keys: Sequence[str], now: datetime, agency: str = "byra-1") -> None:
    """Listings the CRM wanted and Hemnet confirmed and shows: published and approved."""
    with store.transaction() as session:
        for key in keys:
            listing = live_listing(key, agency)
            save_desired(session, listing, now)
            listings.record_sent(session, key, now, hemnet_id=f"h-{key}", sent=listing)
            listings.record_remote_state(
                session,
                key,
                now,
                is_published=True,
                is_approved=True,
                market_state=MarketState.FOR_SALE,
            )


def listing_state(store: Store) -> dict[str, tuple[Any, ...]]:
    """The desired side of every listing row, to prove what an ingest did not touch."""
    with store.read() as session:
        return {
            row.listing_key: (
                row.desired_json,
                row.content_hash,
                row.images_hash,
                row.sale_hash,
                row.desired_status,
                row.agency_key,
                row.missing_since,
                row.desired_at,
            )
            for row in listings.all_listings(session)
        }
