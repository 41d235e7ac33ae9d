"""Decide an image's fate: really download and inspect it, or simulate by URL pattern.

Returns (state, stateMessage); never touches the world. ``real`` mode is the only place the
sandbox reaches out to the network for images.
"""

from __future__ import annotations

import fnmatch
import logging
import re

import httpx

from syncd.sandbox import wire
from syncd.sandbox.imaging import dimensions, image_kind

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 25 * 1024 * 1024
Outcome = tuple[str, str | None]


def simulate_outcome(url: str, fail_patterns: tuple[tuple[str, str], ...]) -> Outcome:
    """Fail with the message of the first matching pattern ("re:" prefix = regex, else glob)."""
    for pattern, message in fail_patterns:
        if pattern.startswith("re:"):
            hit = re.search(pattern[3:], url) is not None
        else:
            hit = fnmatch.fnmatchcase(url, pattern)
        if hit:
            return wire.FAILED, message
    return wire.COMPLETED, None


def inspect_bytes(data: bytes, min_px: int) -> Outcome:
    kind = image_kind(data)
    if kind is None:
        return wire.FAILED, "The file is not an image (expected JPEG, PNG or WebP)"
    size = dimensions(data)
    if size is None:
        return wire.FAILED, f"The {kind.upper()} file is damaged: its size cannot be read"
    width, height = size
    if min(width, height) < min_px:
        return (
            wire.FAILED,
            f"The image is too small: {width}×{height} pixels, "
            f"at least {min_px} on each side needed",
        )
    return wire.COMPLETED, None


async def real_outcome(client: httpx.AsyncClient, url: str, min_px: int) -> Outcome:
    if not url.startswith(("http://", "https://")):
        return wire.FAILED, "Could not download the image: only http and https URLs work"
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                return wire.FAILED, f"Could not download the image (HTTP {response.status_code})"
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    return wire.FAILED, "The image is larger than 25 MB"
    except httpx.TimeoutException:
        return wire.FAILED, "Could not download the image: the host did not answer in time"
    except (httpx.HTTPError, ValueError) as exc:
        log.info("image fetch failed url=%s: %s", url, type(exc).__name__)
        return wire.FAILED, "Could not download the image: the host is unreachable"
    return inspect_bytes(bytes(data), min_px)
