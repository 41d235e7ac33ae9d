"""Image processing in the sandbox: real fetches from a local HTTP server, and simulate mode.

A failed image's stateMessage is on the individual record only, never in the list."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.sandbox.imaging import dimensions, image_kind
from syncd.sandbox.static.demo.make_demo_images import encode_png
from syncd.sandbox.testing import serve_sandbox

DEMO = Path(__file__).resolve().parents[2] / "syncd" / "sandbox" / "static" / "demo"


def _png(width: int, height: int) -> bytes:
    return encode_png([[(200, 100, 50)] * width for _ in range(height)])


FILES = {
    "/big.png": _png(300, 220),
    "/tiny.png": _png(120, 80),
    "/text.png": b"this is not an image at all",
}


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = FILES.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process(c: httpx.Client, urls: list[str]) -> dict[str, dict[str, Any]]:
    """Add each URL as an image of a new listing; return the final records by URL."""
    agency = c.post("/broker_agencies", json={"brokerAgency": {"name": "A"}}).json()
    listing = c.post(
        "/listings", json={"listing": {"brokerAgencyId": agency["brokerAgency"]["id"]}}
    ).json()["listing"]
    ids = {
        url: c.post(f"/listings/{listing['id']}/images", json={"image": {"url": url}}).json()[
            "image"
        ]["id"]
        for url in urls
    }
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = c.get(f"/listings/{listing['id']}/images", params={"limit": 100}).json()
        if all(i["state"] != "in_progress" for i in listed["images"]):
            break
        time.sleep(0.05)
    for item in listed["images"]:
        assert "stateMessage" not in item  # the list omits the reason
    return {
        url: c.get(f"/listings/{listing['id']}/images/{image_id}").json()["image"]
        for url, image_id in ids.items()
    }


def test_real_mode_fetches_and_judges_each_image(files_url: str) -> None:
    unreachable = f"http://127.0.0.1:{_closed_port()}/x.png"
    urls = [
        f"{files_url}/big.png",
        f"{files_url}/missing.png",
        f"{files_url}/text.png",
        f"{files_url}/tiny.png",
        unreachable,
    ]
    with serve_sandbox(fetch_mode="real", min_image_px=200) as sb, sb.client() as c:
        got = _process(c, urls)
    assert got[urls[0]]["state"] == "completed"
    assert got[urls[0]]["stateMessage"] is None
    for url in urls[1:]:
        assert got[url]["state"] == "failed", url
    assert "HTTP 404" in got[urls[1]]["stateMessage"]
    assert "not an image" in got[urls[2]]["stateMessage"]
    assert "too small" in got[urls[3]]["stateMessage"]
    assert "120×80" in got[urls[3]]["stateMessage"]
    assert "unreachable" in got[unreachable]["stateMessage"]


def test_real_mode_accepts_the_bundled_demo_images() -> None:
    with serve_sandbox(fetch_mode="real", min_image_px=200) as sb, sb.client() as c:
        urls = [f"{sb.root_url}/static/demo/house-{n:02d}.png" for n in (1, 12)]
        got = _process(c, urls)
    assert [got[u]["state"] for u in urls] == ["completed", "completed"]


def test_simulate_mode_fails_by_pattern_without_network() -> None:
    patterns = (("*/404/*", "Could not download the image (HTTP 404)"), ("re:\\.gif$", "GIF!"))
    with serve_sandbox(fail_patterns=patterns) as sb, sb.client() as c:
        urls = [
            "http://nowhere.invalid/a.png",
            "http://nowhere.invalid/404/b.png",
            "http://nowhere.invalid/c.gif",
        ]
        got = _process(c, urls)
    assert got[urls[0]]["state"] == "completed"
    assert (got[urls[1]]["state"], got[urls[1]]["stateMessage"]) == (
        "failed",
        "Could not download the image (HTTP 404)",
    )
    assert (got[urls[2]]["state"], got[urls[2]]["stateMessage"]) == ("failed", "GIF!")


def test_demo_images_are_small_valid_pngs() -> None:
    files = sorted(DEMO.glob("house-*.png"))
    assert len(files) == 12
    for path in files:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) < 20_000


def test_jpeg_and_webp_headers_give_their_dimensions() -> None:
    # SOI, an APP0 segment, then SOF0 with height 480 and width 640.
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x01\xe0\x02\x80\x03"
    assert image_kind(jpeg) == "jpeg"
    assert dimensions(jpeg) == (640, 480)
    vp8x = b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x0a\x00\x00\x00" + b"\x00" * 4
    vp8x += (799).to_bytes(3, "little") + (599).to_bytes(3, "little")
    assert dimensions(vp8x) == (800, 600)
    assert image_kind(b"GIF89a....") is None
