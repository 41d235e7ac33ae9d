"""Signed webhook delivery in the background, the way Hemnet documents its headers.

HMAC-SHA256 hex of the raw body in X-Signature ("old,new" while two secrets rotate).
Failures are retried a few times and logged; they never block or fail an API call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import httpx

from syncd.sandbox import wire
from syncd.sandbox.lifecycle import Event
from syncd.sandbox.settings import SandboxSettings

log = logging.getLogger(__name__)


def sign(body: bytes, secrets: tuple[str, ...]) -> str:
    return ",".join(hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


def event_body(event: Event) -> bytes:
    data: dict[str, Any] = {"listingId": event.listing_id, "externalId": event.external_id}
    if event.image_id is not None:
        data["imageId"] = event.image_id
    if event.sale_id is not None:
        data["saleId"] = event.sale_id
    text = json.dumps({"type": event.type, "action": event.action, "data": data})
    # Hemnet escapes special characters so receivers must verify the raw bytes (DOC).
    for char in "&<>":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text.encode()


class WebhookSender:
    """A queue and one delivery task; ``enqueue`` never waits."""

    def __init__(self, settings: SandboxSettings) -> None:
        self._settings = settings
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return bool(self._settings.webhook_url)

    def enqueue(self, events: list[Event]) -> None:
        if self.enabled:
            for event in events:
                self._queue.put_nowait(event)

    def start(self) -> None:
        if self.enabled:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                event = await self._queue.get()
                await self._deliver(client, event)

    async def _deliver(self, client: httpx.AsyncClient, event: Event) -> None:
        url = self._settings.webhook_url
        assert url is not None
        body = event_body(event)
        attempts = max(1, self._settings.webhook_attempts)
        for attempt in range(1, attempts + 1):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": wire.WEBHOOK_USER_AGENT,
                wire.TIMESTAMP_HEADER: str(int(time.time() * 1000)),
                wire.REQUEST_ID_HEADER: str(uuid.uuid4()),
            }
            if self._settings.webhook_secrets:
                headers[wire.SIGNATURE_HEADER] = sign(body, self._settings.webhook_secrets)
            try:
                response = await client.post(url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    self.delivered += 1
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            log.warning(
                "webhook %s/%s attempt %d/%d failed: %s",
                event.type,
                event.action,
                attempt,
                attempts,
                reason,
            )
            if attempt < attempts:
                await asyncio.sleep(self._settings.webhook_backoff_s * 2 ** (attempt - 1))
        self.failed += 1
        log.error(
            "webhook %s/%s given up for listing %s", event.type, event.action, event.listing_id
        )
