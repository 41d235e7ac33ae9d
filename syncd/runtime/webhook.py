"""Verifies Hemnet's signed webhooks and names the listing an event is about.

Pure: bytes, headers, secrets and ``now_ms`` in, a verdict out. It never reads the clock,
never polls (the daemon calls ``Poller.poll_listing``) and never logs a secret or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from syncd.hemnet import wire

DEFAULT_WINDOW_S = 300
# One HMAC-SHA256 hex digest, or several comma-separated during a secret rotation.
_SIGNATURE_SHAPE = re.compile(r"\s*[0-9a-fA-F]{64}\s*(,\s*[0-9a-fA-F]{64}\s*)*")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # HTTP header names are case-insensitive; frameworks hand them over in any case.
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def refusal(
    headers: Mapping[str, str],
    secrets: Sequence[bytes],
    now_ms: int,
    window_s: float = DEFAULT_WINDOW_S,
) -> str | None:
    """Why a webhook is refused from its headers alone, or None when its body is worth
    reading: no secrets configured, no or malformed ``X-Signature``, or an ``X-Timestamp``
    outside ``window_s`` of ``now_ms``.

    The signature covers the body, so only its shape can be checked here; this lets the
    server answer 401 before it reads a single byte of an unsigned body.
    """
    if not secrets:
        return "no webhook secrets are configured"
    stamp = _header(headers, wire.WEBHOOK_TIMESTAMP_HEADER)
    signature = _header(headers, wire.WEBHOOK_SIGNATURE_HEADER)
    if stamp is None or signature is None:
        return "no signature or timestamp header"
    if not _SIGNATURE_SHAPE.fullmatch(signature):
        return "the signature is not an HMAC-SHA256 hex digest"
    try:
        sent_ms = int(stamp.strip())
    except ValueError:
        return "the timestamp is not a number"
    # The signature covers the body only, so the window is what limits a replay.
    if abs(now_ms - sent_ms) > window_s * 1000:
        return "the timestamp is outside the replay window"
    return None


def verify(
    raw_body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[bytes],
    now_ms: int,
    window_s: float = DEFAULT_WINDOW_S,
) -> bool:
    """True when ``X-Signature`` is the HMAC-SHA256 hex of the raw body under any of
    ``secrets`` and ``X-Timestamp`` (ms) lies within ``window_s`` of ``now_ms``.

    During a secret rotation Hemnet sends ``old,new``: one matching signature suffices.
    Only the exact bytes received are signed (Hemnet escapes characters in its JSON), so
    the body must be verified before it is parsed.
    """
    if refusal(headers, secrets, now_ms, window_s) is not None:
        return False
    signature = _header(headers, wire.WEBHOOK_SIGNATURE_HEADER) or ""
    offered = [s.strip().lower().encode() for s in signature.split(",") if s.strip()]
    expected = [
        hmac.new(secret, raw_body, hashlib.sha256).hexdigest().encode() for secret in secrets
    ]
    matched = False
    for candidate in offered:
        for digest in expected:
            # Every pair is compared, so timing tells nothing about which one matched.
            matched |= hmac.compare_digest(candidate, digest)
    return matched


def parse_event(raw_body: bytes) -> dict[str, Any] | None:
    """The verified body as a JSON object; None when it is not JSON, not an object, or
    nested too deeply for the parser (a signed body is still untrusted input)."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def event_listing(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(hemnet_listing_id, external_id)`` of an event (either may be None).

    Every event type (listing, image, sale) carries both in ``data`` (ASSUMED, see
    docs/hemnet-wire.md); ``external_id`` is the listing_key syncd sent.
    """
    data = payload.get(wire.WEBHOOK_DATA) if isinstance(payload, Mapping) else None
    if not isinstance(data, Mapping):
        return None, None
    return _text(data.get(wire.WEBHOOK_LISTING_ID)), _text(data.get(wire.WEBHOOK_EXTERNAL_ID))


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None
