"""[images] probe_new: each new image URL is asked (a ranged GET to a real local server)
before the create; a 404 or a page that is not an image is reported at ingest."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from syncd.store import events
from syncd.usecases.ingest import ingest_file
from tests.fakes.ingest_world import World, csv_row, csv_text, open_world

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 2000


class Images(BaseHTTPRequestHandler):
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Images.asked.append(self.path)
        if self.path.endswith(".jpg") and "gone" not in self.path:
            body, kind, status = JPEG[:1024], "image/jpeg", 206
        elif "page" in self.path:
            body, kind, status = b"<html>moved</html>", "text/html", 200
        else:
            body, kind, status = b"not found", "text/plain", 404
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def image_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path, images="probe_new = true\nprobe_timeout_s = 2") as opened:
        yield opened


def test_new_images_that_hemnet_could_not_fetch_are_reported_at_ingest(
    world: World, now: datetime, image_server: str
) -> None:
    Images.asked.clear()
    rows = [
        csv_row("A1", bild_1=f"{image_server}/a1/ok.jpg"),
        csv_row("A2", bild_1=f"{image_server}/a2/gone.jpg"),
        csv_row("A3", bild_1=f"{image_server}/a3/page.jpg.html"),
    ]
    result = ingest_file(world.store, world.config, world.drop("crm.csv", csv_text(rows)), now)

    assert result.outcome == "accepted" and result.accepted == 3  # warnings, never errors
    assert result.moved_to is not None
    receipt = json.loads(result.moved_to.with_name("crm.csv.result.json").read_text("utf-8"))
    probed = {
        w["listing_key"]: w["reason"] for w in receipt["warnings"] if "Hemnet will" in w["reason"]
    }
    assert sorted(probed) == ["A2", "A3"]
    assert probed["A2"].startswith("answers HTTP 404")
    assert probed["A3"].startswith("is not an image (content type text/html)")
    with world.store.read() as session:
        [event] = [
            e for e in events.events_of_listing(session, "A2") if e.kind == "image_unreachable"
        ]
    assert "gone.jpg answers HTTP 404" in event.message
    assert sorted(Images.asked) == ["/a1/ok.jpg", "/a2/gone.jpg", "/a3/page.jpg.html"]
