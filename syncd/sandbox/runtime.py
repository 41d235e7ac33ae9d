"""The running sandbox: its world, clock, keys, image worker, webhooks, faults and statistics.

One instance per app, used only from the event loop (no locks needed). Holds no HTTP
routing; ``api.py``, ``admin.py`` and ``site.py`` call into it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import secrets
import string
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx

from syncd.sandbox import wire
from syncd.sandbox.clock import SandboxClock, iso, parse_iso
from syncd.sandbox.fetcher import real_outcome, simulate_outcome
from syncd.sandbox.lifecycle import Event, settle_auto_approvals
from syncd.sandbox.model import (
    DEFAULT_ACCOUNT,
    Account,
    Key,
    World,
    load_world,
    save_world,
)
from syncd.sandbox.settings import SandboxSettings
from syncd.sandbox.webhooks import WebhookSender

# The world is saved (with --state-file) this often while it changes, and at stop: a save
# rewrites the whole world, so saving after every request would make a large world's
# sandbox spend its time writing the file instead of answering.
SAVE_INTERVAL_S = 2.0
TICK_S = 0.2

log = logging.getLogger(__name__)

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"


def _random_part(length: int = 20) -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sandbox:
    def __init__(self, settings: SandboxSettings, clock: SandboxClock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SandboxClock()
        self.world: World = load_world(settings.state_file)
        # Its own copy: the admin endpoint changes it while the settings stay as given.
        self.faults = dataclasses.replace(settings.faults)
        self.stats: Counter[str] = Counter()
        self.webhooks = WebhookSender(settings)
        self._dirty = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._limit = asyncio.Semaphore(8)
        self._ensure_account(DEFAULT_ACCOUNT, "default")
        self.bootstrap_token = self._bootstrap_key()
        for name, token in settings.accounts:
            self._fixed_account(name, token)

    # --- keys ----------------------------------------------------------------------------

    def _bootstrap_key(self) -> str:
        token = self.settings.token
        if token is not None:
            for key in self.world.keys.values():
                if key.token_sha256 == token_hash(token):
                    # A fixed demo token keeps working across restarts and clock moves.
                    key.expires_at = iso(
                        self.clock.now() + timedelta(seconds=self.settings.key_lifetime_s)
                    )
                    self.changed()
                    return token
        key_id = token.split(".", 1)[0] if token and "." in token else None
        _, minted = self.create_key("bootstrap", token=token, key_id=key_id)
        return minted

    # --- accounts (SANDBOX: Hemnet makes them outside the API) --------------------------

    def _ensure_account(self, account_id: str, name: str) -> Account:
        account = self.world.accounts.get(account_id)
        if account is None:
            account = Account(account_id, name, iso(self.clock.now()))
            self.world.accounts[account_id] = account
            self.changed()
        return account

    def create_account(self, name: str) -> tuple[Account, Key, str]:
        """A new account with its first key (and that key's token, shown once)."""
        account = self._ensure_account(f"acct-{_random_part(12)}", name)
        key, token = self.create_key(f"{name} first key", account_id=account.id)
        return account, key, token

    def _fixed_account(self, name: str, token: str) -> None:
        """``--account NAME=TOKEN``: the account named NAME with a key of that token, kept
        valid across restarts like the bootstrap key."""
        account = next((a for a in self.world.accounts.values() if a.name == name), None)
        if account is None:
            account = self._ensure_account(f"acct-{_random_part(12)}", name)
        for key in self.world.keys.values():
            if key.token_sha256 == token_hash(token):
                key.account_id = account.id
                key.expires_at = iso(
                    self.clock.now() + timedelta(seconds=self.settings.key_lifetime_s)
                )
                self.changed()
                return
        key_id = token.split(".", 1)[0] if "." in token else None
        self.create_key(f"{name} fixed key", token=token, key_id=key_id, account_id=account.id)

    def create_key(
        self,
        name: str,
        *,
        token: str | None = None,
        key_id: str | None = None,
        account_id: str = DEFAULT_ACCOUNT,
    ) -> tuple[Key, str]:
        """A new key and its token (Hemnet's observed ``<ID>.<SECRET>`` shape)."""
        if key_id is None or key_id in self.world.keys:
            key_id = _random_part()
        token = token or f"{key_id}.{_random_part()}"
        now = self.clock.now()
        key = Key(
            id=key_id,
            name=name,
            created_at=iso(now),
            expires_at=iso(now + timedelta(seconds=self.settings.key_lifetime_s)),
            token_sha256=token_hash(token),
            account_id=account_id,
        )
        self.world.keys[key.id] = key
        self.changed()
        return key, token

    def authenticate(self, token: str) -> Key | None:
        digest = token_hash(token)
        now = self.clock.now()
        for key in self.world.keys.values():
            if secrets.compare_digest(key.token_sha256, digest):
                return key if parse_iso(key.expires_at) > now else None
        return None

    # --- changes, events, persistence --------------------------------------------------

    def changed(self) -> None:
        self._dirty = True

    def emit(self, events: list[Event]) -> None:
        if events:
            self.changed()
            for event in events:
                log.info("event %s/%s listing=%s", event.type, event.action, event.listing_id)
            self.webhooks.enqueue(events)

    def settle(self) -> None:
        """Apply time-driven changes (demo auto-approval) that are due by the sandbox clock."""
        self.emit(
            settle_auto_approvals(self.world, self.clock.now(), self.settings.auto_approve_after_s)
        )

    def flush(self) -> None:
        if self._dirty and self.settings.state_file is not None:
            save_world(self.world, self.settings.state_file)
        self._dirty = False

    # --- background work ---------------------------------------------------------------

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=self.settings.fetch_timeout_s, follow_redirects=True)
        self.webhooks.start()
        for image in self.world.images.values():
            if image.state == wire.IN_PROGRESS:
                self.schedule_image(image.id)
        self._spawn(self._tick())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.webhooks.stop()
        if self._http is not None:
            await self._http.aclose()
        self.flush()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick(self) -> None:
        ticks_per_save = round(SAVE_INTERVAL_S / TICK_S)
        tick = 0
        while True:
            await asyncio.sleep(TICK_S)
            self.settle()
            tick += 1
            if tick % ticks_per_save == 0:
                self.flush()

    def schedule_image(self, image_id: str) -> None:
        self._spawn(self._process_image(image_id))

    async def _process_image(self, image_id: str) -> None:
        await asyncio.sleep(self.settings.image_delay_s)
        image = self.world.images.get(image_id)
        if image is None or image.state != wire.IN_PROGRESS:
            return
        if self.settings.fetch_mode == "real" and self._http is not None:
            async with self._limit:
                state, message = await real_outcome(
                    self._http, image.url, self.settings.min_image_px
                )
        else:
            state, message = simulate_outcome(image.url, self.settings.fail_patterns)
        if self.world.images.get(image_id) is not image:
            return  # deleted while it was being fetched
        image.state, image.state_message = state, message
        listing = self.world.listings.get(image.listing_id)
        external_id = listing.fields.get("externalId") if listing else None
        self.emit([Event("image", state, image.listing_id, external_id, image_id=image.id)])
