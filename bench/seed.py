"""A synced starting point for the benchmarks without an initial sync through the API.

At the shipped request budget (10 requests/s) an initial sync of 100,000 listings takes
about 14 hours, so the benchmarks that measure what happens *after* it (latency, re-drop)
start from both sides already in step, built the way syncd itself would leave them:

- syncd's store: the export taken by the real ``ingest_file``; then every listing
  recorded as adopted (``record_adoption``, the path reconcile and apply use when Hemnet
  already holds a listing), from the answers the sandbox gives for it;
- the sandbox's world: the agency, each listing with the body syncd's payload builder
  makes (validated by the sandbox's own schema), its images processed, published and
  approved; saved to a JSON file that ``seeded_sandbox.py`` serves.

``seed`` ends with the full pass a sync ends with, which must find nothing to send: a seed
that is not in step raises, it never measures a different state.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from syncd.config import Config
from syncd.core.clock import utc_now
from syncd.core.domain import Listing
from syncd.hemnet import payload
from syncd.hemnet.payload.answers import image_from, known_listing_from
from syncd.sandbox import lifecycle
from syncd.sandbox import model as world_model
from syncd.sandbox import wire as sandbox_wire
from syncd.sandbox.clock import iso
from syncd.sandbox.represent import image_json, listing_json
from syncd.sandbox.schema import validate
from syncd.store.engine import Store
from syncd.store.listings import all_listings, desired_listing, set_agency_hemnet_id
from syncd.store.remote import schedule
from syncd.usecases.adopt import record_adoption
from syncd.usecases.apply.passplan import prepare_pass
from syncd.usecases.apply.report import Tally
from syncd.usecases.ingest import ingest_file

AGENCY_HEMNET_ID = "900"
TEMPLATES = 3  # listings adopted by the real code; two would tell constants from copies


@dataclass
class Seeded:
    listings: int
    ingest_s: float
    seed_s: float


def _json(body: object) -> object:
    # What travels over the wire: the sandbox validates parsed JSON, not Python values.
    return json.loads(json.dumps(body))


Held = tuple[world_model.Listing, list[world_model.Image]]


def _world(
    wanted: list[Listing], agency_name: str, now: datetime
) -> tuple[world_model.World, dict[str, Held]]:
    """The sandbox's world holding every listing visible; each listing and its images by key."""
    world = world_model.World()
    stamp = iso(now)
    agency_in = validate(
        sandbox_wire.AGENCY_CREATE, _json(payload.agency_body(agency_name, None, None))
    )[sandbox_wire.AGENCY_ONE]
    world.agencies[AGENCY_HEMNET_ID] = world_model.Agency(
        id=AGENCY_HEMNET_ID,
        name=agency_in["name"],
        organisation_number=None,
        external_id=None,
        hq_partnership_agreement=False,
        created_at=stamp,
    )
    by_key: dict[str, Held] = {}
    for listing in wanted:
        body = validate(
            sandbox_wire.LISTING_CREATE, _json(payload.listing_body(listing, AGENCY_HEMNET_ID))
        )
        fields = {k: v for k, v in body[sandbox_wire.LISTING_ONE].items() if v is not None}
        remote = world_model.Listing(
            id=world.new_id(),
            fields=fields,
            market_state=sandbox_wire.FOR_SALE,
            created_at=stamp,
            updated_at=stamp,
        )
        world.listings[remote.id] = remote
        images = []
        for image in listing.images:
            held = world_model.Image(
                id=world.new_id(),
                listing_id=remote.id,
                url=image.url,
                caption=image.caption,
                position=image.order,
                is_floor_plan=image.is_floor_plan,
                state=sandbox_wire.COMPLETED,
                state_message=None,
                created_at=stamp,
            )
            world.add_image(held)
            images.append(held)
        # The listing's own records only: the checks of a whole world look through every
        # image for this listing's (quadratic over 100,000 listings).
        own = world_model.World(
            agencies=world.agencies,
            listings={remote.id: remote},
            images={image.id: image for image in images},
        )
        lifecycle.publish(own, remote, now, auto_approve=False, undo_window_days=183)
        lifecycle.approve(remote, now)
        by_key[listing.listing_key] = (remote, images)
    return world, by_key


def seed(store: Store, config: Config, export: Path, world_file: Path, root_url: str) -> Seeded:
    """Take ``export`` (moved into the inbox and archived by ingest), build both sides in
    step, write the sandbox's world to ``world_file``; raise if syncd would send anything."""
    now = utc_now()
    started = time.perf_counter()
    taken = config.paths.inbox / export.name
    export.rename(taken)
    result = ingest_file(store, config, taken, now)
    if result.outcome != "accepted":
        raise RuntimeError(f"seed: the export was not accepted: {result}")
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    with store.read() as session:
        wanted = [w for row in all_listings(session) if (w := desired_listing(row)) is not None]
    agency_key = wanted[0].agency_key
    agency = config.agency_named(agency_key)
    assert agency is not None, f"the bench config names no agency {agency_key}"
    world, by_key = _world(wanted, agency.name, now)
    # The real recording for a few listings (about 4 ms each through the ORM: 7 minutes at
    # 100,000); the rest copy what it wrote, column by column (``_copy_adoptions``).
    adopted = wanted[:TEMPLATES]
    database = config.paths.database
    before = _rows(database, "listings", [w.listing_key for w in adopted])
    with store.transaction(durable=True) as session:
        set_agency_hemnet_id(session, agency_key, AGENCY_HEMNET_ID, now)
        for listing in adopted:
            held, held_images = by_key[listing.listing_key]
            answer = listing_json(world, held, root_url)
            remote = known_listing_from(_json(answer))  # type: ignore[arg-type]
            images = [image_from(image_json(img, detail=False)) for img in held_images]
            record_adoption(
                session,
                listing.listing_key,
                remote,
                desired=listing,
                images=images,
                now=now,
                why="benchmark seed",
            )
            # What follows an adoption in a pass: the next poll (none: visible) and the stage.
            schedule(
                session,
                listing.listing_key,
                now,
                fast_s=config.sync.poll_interval_fast_s,
                slow_s=config.sync.poll_interval_slow_s,
            )
    _copy_adoptions(database, before, wanted[TEMPLATES:], by_key)
    world_file.write_text(json.dumps(world.to_json()), encoding="utf-8")
    # The full pass a sync ends with: it must find nothing to send, and it clears the marks
    # ingest left, as the daemon's passes during a real initial sync would have.
    with store.transaction() as session:
        left = prepare_pass(session, config, utc_now(), Tally(), set(), full=True)
    if left.jobs or left.holds:
        raise RuntimeError(
            f"seed: syncd is not in step after seeding; it would send {[j.op for j in left.jobs]}"
        )
    return Seeded(len(wanted), ingest_s, time.perf_counter() - started)


def _rows(database: Path, table: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Rows of ``table`` by listing_key (images: the first one of each listing)."""
    with closing(sqlite3.connect(database)) as db:
        db.row_factory = sqlite3.Row
        marks = ",".join("?" * len(keys))
        found = db.execute(f"SELECT * FROM {table} WHERE listing_key IN ({marks})", keys)
        return {row["listing_key"]: dict(row) for row in found}


def _value(stored: Any) -> Any:
    """A JSON column's value (ingest and the ORM encode it differently), else as stored."""
    if isinstance(stored, str) and stored[:1] in "{[":
        try:
            return json.loads(stored)
        except ValueError:
            return stored
    return stored


def _how_to_copy(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> dict[str, tuple[str, Any]]:
    """For each column adoption changed: ("const", value), ("column", name) when it took
    another column's value, or ("id", template) when it holds Hemnet's id. Raises for a
    column it cannot explain: then the copy would not be what the real code writes."""
    how: dict[str, tuple[str, Any]] = {}
    keys = list(after)
    first = after[keys[0]]
    for column in first:
        if all(after[k][column] == before[k][column] for k in keys):
            continue
        values = [after[k][column] for k in keys]
        if all(v == values[0] for v in values):
            how[column] = ("const", values[0])
            continue
        source = next(
            (
                other
                for other in first
                if other != column
                and all(_value(after[k][column]) == _value(before[k][other]) for k in keys)
            ),
            None,
        )
        if source is not None:
            how[column] = ("column", source)
            continue
        ids = [after[k]["hemnet_id"] for k in keys]
        templates = {str(v).replace(i, "{id}") for v, i in zip(values, ids, strict=True)}
        if len(templates) == 1 and all(i in str(v) for v, i in zip(values, ids, strict=True)):
            how[column] = ("id", templates.pop())
            continue
        raise RuntimeError(f"seed: cannot copy listings.{column} from the adopted listings")
    return how


def _copy_adoptions(
    database: Path,
    before: dict[str, dict[str, Any]],
    rest: list[Listing],
    by_key: dict[str, Held],
) -> None:
    after = _rows(database, "listings", list(before))
    how = _how_to_copy(before, after)
    template_image = _rows(database, "images", list(before))
    image_consts = {
        c: v
        for c, v in next(iter(template_image.values())).items()
        if c in ("state", "state_message", "updated_at")
    }
    sets = ", ".join(
        f"{column} = " + ("?" if kind != "column" else str(value))
        for column, (kind, value) in how.items()
    )
    listing_rows = []
    image_rows = []
    for listing in rest:
        held, held_images = by_key[listing.listing_key]
        values = [
            value if kind == "const" else value.replace("{id}", held.id)
            for kind, value in how.values()
            if kind != "column"
        ]
        listing_rows.append((*values, listing.listing_key))
        for image, wanted_image in zip(held_images, listing.images, strict=True):
            image_rows.append(
                (
                    listing.listing_key,
                    image.url,
                    image.id,
                    image.position,
                    image.caption,
                    wanted_image.revision,
                    image.is_floor_plan,
                    *image_consts.values(),
                )
            )
    with closing(sqlite3.connect(database)) as db, db:
        db.executemany(f"UPDATE listings SET {sets} WHERE listing_key = ?", listing_rows)
        db.executemany(
            "INSERT INTO images (listing_key, url, hemnet_image_id, position, caption, revision, "
            f"is_floor_plan, {', '.join(image_consts)}) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?{', ?' * len(image_consts)})",
            image_rows,
        )
