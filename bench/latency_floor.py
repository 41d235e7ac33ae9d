"""The same-run baseline for benchmark 3: how fast a bare loop gets a dropped file to Hemnet.

No syncd: watchdog notices the rename, ``csv.reader`` reads the whole export and compares
each row with the previous file's, and the changed listing is sent straight away with
httpx (one PATCH of the title; or create, image, poll every 20 ms until the image is
processed, publish, poll until visible). No store, no mapping, no plan, no durability, no
rate budget: the floor that syncd's figures stand beside.
"""

from __future__ import annotations

import csv
import os
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import exports
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from syncd.core.domain import ImageState
from syncd.hemnet import HemnetClient, wire

POLL_S = 0.02
Rows = dict[str, tuple[str, ...]]


class _Arrivals(FileSystemEventHandler):
    def __init__(self) -> None:
        self.paths: queue.Queue[Path] = queue.Queue()

    def on_moved(self, event: FileSystemEvent) -> None:
        self.paths.put(Path(str(event.dest_path)))

    def on_created(self, event: FileSystemEvent) -> None:
        self.paths.put(Path(str(event.src_path)))


@contextmanager
def _watching(folder: Path) -> Iterator[_Arrivals]:
    arrivals = _Arrivals()
    observer = Observer()
    observer.schedule(arrivals, str(folder))
    observer.start()
    try:
        yield arrivals
    finally:
        observer.stop()
        observer.join()


def _read(path: Path) -> tuple[list[str], Rows]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader)
        return header, {row[0]: tuple(row) for row in reader}


def _changed(previous: Rows, rows: Rows) -> list[str]:
    return [key for key, row in rows.items() if previous.get(key) != row]


def _until(check: Callable[[], bool]) -> float:
    deadline = time.monotonic() + 120
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("bare loop: change not seen within 120 s")
        time.sleep(POLL_S)
    return time.monotonic()


# What _until polls for on one listing, typed (a lambda in the loop would not be).
def _title_at_hemnet(client: HemnetClient, hemnet_id: str, title: str) -> Callable[[], bool]:
    return lambda: title in str(client.get_listing(hemnet_id).raw)


def _images_processed(client: HemnetClient, hemnet_id: str) -> Callable[[], bool]:
    return lambda: all(
        image.state is ImageState.COMPLETED for image in client.list_images(hemnet_id)
    )


def _visible(client: HemnetClient, hemnet_id: str) -> Callable[[], bool]:
    return lambda: client.get_listing(hemnet_id).is_visible


def _create_body(template: dict[str, Any], key: str, title: str) -> dict[str, Any]:
    """A create body copied from a listing syncd made (only the writable fields)."""
    writable = {*wire.LISTING_FIELD_NAMES.values(), wire.AGENCY_ID}
    fields = {name: value for name, value in template.items() if name in writable}
    fields[wire.EXTERNAL_ID] = key
    fields[wire.LISTING_FIELD_NAMES["title"]] = title
    return {wire.LISTING_ONE: fields}


def floor(
    client: HemnetClient, scratch: Path, count: int, runs: int, template_id: str
) -> tuple[list[float], list[float]]:
    """(drop-to-call, drop-to-visible) seconds of ``runs`` runs each, bare."""
    inbox = scratch / "bare-inbox"
    inbox.mkdir()
    primed = scratch / "bare-0.csv"
    exports.write_csv(primed, count, images=1)
    header, previous = _read(primed)
    title_at, image_at = header.index("rubrik"), header.index("bild_1")
    template = dict(client.get_listing(template_id).raw)
    # A bare integration would know its ids: looked up before the clock starts.
    ids = {
        f"C{n}": client.list_listings(external_id=f"C{n}")[0].hemnet_id for n in range(1, runs + 1)
    }
    to_call: list[float] = []
    to_visible: list[float] = []
    with _watching(inbox) as arrivals:

        def drop(n: int, rows: int, changed: range) -> tuple[float, Rows, list[str]]:
            staging = scratch / f"bare-{n}.csv"
            exports.write_csv(staging, rows, images=1, changed=changed, generation=2)
            os.rename(staging, inbox / staging.name)
            dropped = time.monotonic()
            _, now = _read(arrivals.paths.get(timeout=60))
            return dropped, now, _changed(previous, now)

        for n in range(1, runs + 1):
            dropped, previous, (key,) = drop(n, count, range(1, n + 1))
            title = previous[key][title_at]
            body = {wire.LISTING_ONE: {wire.LISTING_FIELD_NAMES["title"]: title}}
            client.update_listing(ids[key], body)
            seen = _until(_title_at_hemnet(client, ids[key], title))
            to_call.append(seen - dropped)
        for n in range(1, runs + 1):
            dropped, previous, (key,) = drop(runs + n, count + n, range(1, runs + 1))
            row = previous[key]
            listing = client.create_listing(_create_body(template, key, row[title_at]))
            client.add_image(listing.hemnet_id, row[image_at])
            _until(_images_processed(client, listing.hemnet_id))
            client.publish(listing.hemnet_id)
            seen = _until(_visible(client, listing.hemnet_id))
            to_visible.append(seen - dropped)
    return to_call, to_visible
