"""The status page in a real browser: headless Chromium screenshots of the page and a listing.

Skipped where Chromium is absent; CI installs it (see .ci/run).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.config import load_config
from syncd.runtime.httpserver import HealthInfo, create_http_app
from syncd.store.engine import Store
from tests.fakes.status_listings import seed_listings, serve_http_app

pytestmark = pytest.mark.system

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def page_url(store: Store, config_file: Path, now: datetime) -> Iterator[str]:
    seed_listings(store, now)
    info = HealthInfo(ready=True, last_successful_sync_at=now - timedelta(seconds=12))
    app = create_http_app(store, load_config(config_file), health=lambda: info, clock=lambda: now)
    with serve_http_app(app) as url:
        yield url


def _screenshot(url: str, png: Path, profile: Path) -> None:
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            "--window-size=1280,900",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _png_size(png: Path) -> tuple[int, int]:
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
@pytest.mark.parametrize(
    ("path", "name"), [("/", "status-page.png"), ("/listing/A10", "listing-page.png")]
)
def test_page_renders_in_a_browser(page_url: str, tmp_path: Path, path: str, name: str) -> None:
    png = tmp_path / name
    _screenshot(page_url + path, png, tmp_path / "profile")
    assert _png_size(png) == (1280, 900)
    # A blank or error page compresses to a few KB; a rendered table of listings does not.
    assert png.stat().st_size > 40_000
