"""Keeps syncd's Hemnet API key valid: the current token, renewal ahead of expiry or on 401.

Never logs, stores in the database or puts into an event a token; the renewed token lives
only in state_dir (mode 0600, written by ``config.store_renewed_token``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from syncd.clock import utc_now
from syncd.config import (
    Config,
    find_token,
    load_token,
    renewed_token_path,
    store_renewed_token,
)
from syncd.errors import ApiError, AuthenticationApiError, RemoteDriftError
from syncd.hemnet import HemnetClient, RemoteKey
from syncd.hemnet.client import Observer
from syncd.store.engine import Store
from syncd.store.events import record_event
from syncd.store.meta import get_meta, set_meta

log = logging.getLogger(__name__)

META_KEY_ID = "hemnet_key_id"
META_KEY_EXPIRES_AT = "hemnet_key_expires_at"
META_KEY_RENEWED_AT = "hemnet_key_renewed_at"
# A 401 seen by another thread just after a renewal is answered by the new token already.
RECENT_RENEWAL_S = 30.0


@dataclass(frozen=True)
class KeyStatus:
    """What ``check`` found: which key is syncd's, when it expires, whether it was renewed."""

    key_id: str | None
    expires_at: datetime | None
    renewed: bool
    message: str

    def days_left(self, now: datetime) -> float | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - now).total_seconds() / 86400


class KeyKeeper:
    """The token HemnetClient sends (``token``) and its renewal (``check``, ``renew``).

    Thread-safe: one renewal at a time; the other threads get the new token once it is in.
    """

    def __init__(
        self, config: Config, store: Store, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._lock = threading.RLock()
        self._token: str | None = None
        self._renewing = False
        self._renewed_monotonic: float | None = None

    def token(self) -> str:
        """The current token: the renewed one in state_dir if present, else the configured."""
        with self._lock:
            if self._token is None:
                self._token = load_token(self.config)
            return self._token

    # --- which key is ours ---------------------------------------------------------------

    def _our_key(self, client: HemnetClient) -> tuple[RemoteKey | None, int]:
        """syncd's key (meta ``hemnet_key_id``, else the only key listed) and how many."""
        keys = client.list_keys()
        with self.store.read() as session:
            known_id = get_meta(session, META_KEY_ID)
        if known_id is not None:
            for key in keys:
                if key.key_id == known_id:
                    return key, len(keys)
        if len(keys) == 1:
            return keys[0], 1
        return None, len(keys)

    def check(self, client: HemnetClient) -> KeyStatus:
        """Find syncd's key and its expiry; renew it within ``key_renew_before_days``."""
        key, count = self._our_key(client)
        if key is None:
            return KeyStatus(
                None,
                None,
                False,
                f"cannot tell which of the {count} keys is syncd's: none is recorded; "
                "run 'syncd keys renew' to make one that is",
            )
        now = self.clock()
        self._remember(key, now, renewed=False)
        before = timedelta(days=self.config.hemnet.key_renew_before_days)
        if key.expires_at is None or key.expires_at - now > before:
            return KeyStatus(key.key_id, key.expires_at, False, "key is valid")
        log.info("key %s expires %s: renewing", key.key_id, key.expires_at.isoformat())
        if not self.renew(client):
            return KeyStatus(
                key.key_id, key.expires_at, False, "key expires soon and renewal failed"
            )
        with self.store.read() as session:
            new_id = get_meta(session, META_KEY_ID)
            expires = get_meta(session, META_KEY_EXPIRES_AT)
        return KeyStatus(
            new_id,
            datetime.fromisoformat(expires) if expires else None,
            True,
            f"key renewed (old key {key.key_id} expired {key.expires_at.isoformat()})",
        )

    # --- renewal -------------------------------------------------------------------------

    def _fallback_token(self, failing: str) -> str | None:
        """Another token to try: a newer renewed one (another process), else the configured."""
        for include_renewed in (True, False):
            found = find_token(self.config, include_renewed=include_renewed)
            if found is not None and found[0] != failing:
                return found[0]
        return None

    def renew(self, client: HemnetClient) -> bool:
        """A new key through the API, stored and in use at once; the old one deleted.

        Also the answer to a 401: first switch to another token if one is available (the
        renewed key may have been deleted), then make a new key with whatever works.
        """
        with self._lock:
            if self._renewing:
                return False  # the renewal's own call was refused: do not recurse
            recent = self._renewed_monotonic
            if recent is not None and time.monotonic() - recent < RECENT_RENEWAL_S:
                return True
            self._renewing = True
            try:
                return self._renew(client)
            finally:
                self._renewing = False

    def _renew(self, client: HemnetClient) -> bool:
        failing = self.token()
        fallback = self._fallback_token(failing)
        try:
            try:
                old, _ = self._our_key(client)
            except AuthenticationApiError:
                if fallback is None:
                    raise
                log.warning("the current key is refused; trying the configured one")
                self._token = fallback
                old, _ = self._our_key(client)
            now = self.clock()
            created = client.create_key(f"syncd {now:%Y-%m-%d}")
        except ApiError as exc:
            log.error("key renewal failed: %s", exc)
            self._token = failing
            return False
        if not created.token:
            log.error("Hemnet created key %s but sent no token", created.key_id)
            return False
        previous = self._token
        store_renewed_token(self.config, created.token)
        self._token = created.token
        try:
            listed = {k.key_id for k in client.list_keys()}
        except ApiError as exc:
            log.error("the new key %s does not work (%s); keeping the old one", created.key_id, exc)
            self._restore(previous)
            return False
        if created.key_id not in listed:
            log.warning("the new key %s is not among the account's keys", created.key_id)
        deleted = self._delete_old(client, old, created)
        self._remember(created, now, renewed=True, old=old, deleted=deleted)
        self._renewed_monotonic = time.monotonic()
        log.info(
            "renewed the Hemnet key: key %s in use, stored in %s",
            created.key_id,
            renewed_token_path(self.config),
        )
        return True

    def _restore(self, previous: str | None) -> None:
        """Undo a renewal whose key does not work: the token file goes back too."""
        self._token = previous
        renewed = find_token(self.config)
        if previous is not None and renewed is not None and renewed[0] != previous:
            configured = find_token(self.config, include_renewed=False)
            if configured is not None and configured[0] == previous:
                renewed_token_path(self.config).unlink(missing_ok=True)
            else:
                store_renewed_token(self.config, previous)

    def _delete_old(self, client: HemnetClient, old: RemoteKey | None, new: RemoteKey) -> bool:
        if old is None or old.key_id == new.key_id:
            return False
        try:
            client.delete_key(old.key_id)
        except RemoteDriftError:
            return True  # already gone
        except ApiError as exc:
            # It expires on its own; a failed delete must not undo a working renewal.
            log.warning("could not delete the old key %s: %s", old.key_id, exc)
            return False
        return True

    def _remember(
        self,
        key: RemoteKey,
        now: datetime,
        *,
        renewed: bool,
        old: RemoteKey | None = None,
        deleted: bool = False,
    ) -> None:
        with self.store.transaction() as session:
            set_meta(session, META_KEY_ID, key.key_id)
            if key.expires_at is not None:
                set_meta(session, META_KEY_EXPIRES_AT, key.expires_at.isoformat())
            if not renewed:
                return
            set_meta(session, META_KEY_RENEWED_AT, now.isoformat())
            old_text = ""
            if old is not None:
                old_text = f"; old key {old.key_id} " + ("deleted" if deleted else "kept")
            expires = key.expires_at.isoformat() if key.expires_at else "unknown"
            record_event(
                session,
                "key_renewed",
                f"Hemnet key renewed: key {key.key_id}, expires {expires}{old_text}",
                now,
                data={"key_id": key.key_id, "old_key_id": old.key_id if old else None},
            )


def hemnet_client(
    config: Config, keeper: KeyKeeper, *, observer: Observer | None = None
) -> HemnetClient:
    """A client on the configured Hemnet that sends the keeper's token and renews on 401."""
    client: HemnetClient

    def renew() -> bool:
        return keeper.renew(client)

    client = HemnetClient(
        config.hemnet.base_url,
        keeper.token,
        timeout_s=config.hemnet.read_timeout_s,
        connect_timeout_s=config.hemnet.connect_timeout_s,
        on_auth_failure=renew,
        observer=observer,
    )
    return client
