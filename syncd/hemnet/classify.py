"""Turn one Hemnet answer, or one transport failure, into the ApiError that says what next.

Pure: no I/O, no clock (a Retry-After date is measured against the answer's own Date
header, or against the ``received_at`` the caller passes). It never sees the token, and
scrubs bearer values and identity numbers from the body excerpts and messages it keeps.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from syncd.core.errors import (
    ApiContext,
    ApiError,
    AuthenticationApiError,
    ForbiddenApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.hemnet import wire
from syncd.hemnet.budget import BACKOFF_CAP_S

EXCERPT_CHARS = 200
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_BEARER = re.compile(r"(?i)bearer\s+\S+")
# Swedish personal / organisation numbers (YYMMDD-NNNN, YYYYMMDDNNNN, ...): never kept.
_IDENTITY_NUMBER = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+ ]?\d{4}(?!\d)")
_SPACE = re.compile(r"\s+")


def scrub(text: str) -> str:
    """Text with bearer tokens and identity numbers replaced, blanks folded."""
    text = _BEARER.sub("Bearer [redacted]", text)
    text = _IDENTITY_NUMBER.sub("[redacted]", text)
    return _SPACE.sub(" ", text).strip()


def _excerpt(body: bytes) -> str | None:
    if not body:
        return None
    text = scrub(body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace"))
    return text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "") or None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def retry_after_s(headers: Mapping[str, str], received_at: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta seconds or an HTTP date), else None.

    Capped at the backoff's own cap: a server asking for a week (or a garbled huge number)
    must not park syncd beyond what its own backoff would ever wait. A date is measured
    against the answer's ``Date`` header (the server's own clock, so no skew), else
    against ``received_at``.
    """
    raw = _header(headers, wire.RETRY_AFTER_HEADER)
    if raw is None:
        return None
    raw = raw.strip()
    seconds: float | None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = _until_date(raw, _header(headers, wire.DATE_HEADER), received_at)
    if seconds is None or math.isnan(seconds):  # NaN says nothing
        return None
    return min(BACKOFF_CAP_S, max(0.0, seconds))


def _until_date(raw: str, sent: str | None, received_at: datetime | None) -> float | None:
    try:
        until = parsedate_to_datetime(raw)
        now = parsedate_to_datetime(sent) if sent else received_at
    except (TypeError, ValueError, IndexError):
        return None
    if now is None:
        return None
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)  # RFC 9110: an HTTP date is always GMT
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (until - now).total_seconds()


def _envelope(body: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """Hemnet's ``errors`` entries and ``requestId`` (DOC envelope), empty if absent."""
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return [], None
    if not isinstance(data, dict):
        return [], None
    entries = data.get(wire.ERRORS)
    errors = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    request_id = data.get(wire.ERROR_REQUEST_ID)
    return errors, str(request_id) if request_id else None


def _texts(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries:
        text = entry.get(wire.ERROR_MESSAGE) if isinstance(entry, dict) else entry
        if isinstance(text, str) and text.strip():
            out.append(scrub(text))  # Hemnet's messages carry trailing newlines
    return out


def classify(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body_bytes: bytes,
    *,
    op: str | None = None,
    received_at: datetime | None = None,
) -> ApiError | None:
    """None for a 2xx answer, otherwise the error naming what the caller must do next."""
    if 200 <= status < 300:
        return None
    errors, request_id = _envelope(body_bytes)
    request_id = request_id or _header(headers, wire.REQUEST_ID_HEADER)
    context = ApiContext(
        method=method,
        path=path,
        status=status,
        request_id=request_id,
        body_excerpt=_excerpt(body_bytes),
        op=op,
    )
    types = [str(e.get(wire.ERROR_TYPE)) for e in errors if e.get(wire.ERROR_TYPE)]
    messages: list[str] = []
    warnings: list[str] = []
    for entry in errors:
        field = entry.get(wire.ERROR_FIELD)
        # A ValidationError's message alone ("must not be null") does not say what is wrong.
        prefix = f"{field}: " if isinstance(field, str) and field else ""
        messages.extend(prefix + text for text in _texts([entry]))
        checks = entry.get(wire.CHECKS_ONE)
        if isinstance(checks, dict):
            messages.extend(_texts(checks.get(wire.CHECKS_ERRORS)))
            warnings.extend(_texts(checks.get(wire.CHECKS_WARNINGS)))
    label = "/".join(types) or f"HTTP {status}"

    if status == 429:
        return RetryableApiError(
            f"Hemnet rate limit ({label})",
            context,
            messages,
            retry_after_s=retry_after_s(headers, received_at),
        )
    if status >= 500 or status == 408:
        # 503 (and 408) mean the request was turned away; any other fault may have come
        # after a write was done, so a create must be settled by reading back.
        unknown = method.upper() not in SAFE_METHODS and status not in (503, 408)
        return RetryableApiError(
            f"Hemnet fault ({label})",
            context,
            messages,
            retry_after_s=retry_after_s(headers, received_at),
            outcome_unknown=unknown,
        )
    if status == 401:
        return AuthenticationApiError(f"Hemnet refused the key ({label})", context, messages)
    if status == 403:
        # The key is known but may not touch this resource: renewing it cannot help.
        return ForbiddenApiError(
            f"Hemnet forbids this resource to the key's account ({label})", context, messages
        )
    if status in (404, 409, 410):
        return RemoteDriftError(
            f"Hemnet does not have what syncd expected ({label})", context, messages
        )
    return RejectedApiError(
        f"Hemnet rejected the request ({label})",
        context,
        messages,
        error_types=types,
        warnings=warnings,
    )


# Failures before a connection exists: the request cannot have reached Hemnet.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# Failures while reading the answer: the request was sent in full.
_SENT = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def from_transport_error(
    exc: httpx.TransportError | httpx.TimeoutException,
    method: str,
    path: str,
    sent: bool,
    op: str | None = None,
) -> RetryableApiError:
    """A network failure as a retryable error; ``sent`` says the request bytes went out.

    ``outcome_unknown`` is True when Hemnet may have acted on the request: the answer was
    lost while being read, or bytes had gone out when the connection broke.
    """
    if isinstance(exc, _NOT_SENT):
        unknown = False
    elif isinstance(exc, _SENT):
        unknown = True
    else:
        unknown = sent
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
    context = ApiContext(method=method, path=path, op=op)
    detail = scrub(str(exc))[:EXCERPT_CHARS] or type(exc).__name__
    return RetryableApiError(
        f"{kind} talking to Hemnet ({type(exc).__name__}: {detail})",
        context,
        outcome_unknown=unknown,
    )
