"""Keeps syncd's Hemnet API key valid: the current token, renewal ahead of expiry or on 401.

A refused key is answered with a token another process stored or the operator configured,
never with a new key: two processes renewing in turn would delete each other's keys.

Never logs, stores in the database or puts into an event a token; the renewed token lives
only in state_dir (mode 0600, written by ``config.store_renewed_token``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from syncd import metrics
from syncd.config import (
    Config,
    find_token,
    load_token,
    renewed_token_path,
    store_renewed_token,
)
from syncd.core.clock import utc_now
from syncd.core.errors import ApiError, AuthenticationApiError, RemoteDriftError
from syncd.hemnet import HemnetClient
from syncd.hemnet.client import Observer
from syncd.hemnet.models import RemoteKey
from syncd.store.engine import Store
from syncd.store.events import record_event
from syncd.store.meta import get_meta, set_meta

log = logging.getLogger(__name__)

META_KEY_ID = "hemnet_key_id"
META_KEY_EXPIRES_AT = "hemnet_key_expires_at"
META_KEY_RENEWED_AT = "hemnet_key_renewed_at"


@dataclass(frozen=True)
class KeyStatus:
    """What ``check`` found: which key is syncd's, when it expires, whether it was renewed."""

    key_id: str | None
    expires_at: datetime | None
    renewed: bool
    message: str
    failed: bool = False  # the key is due for renewal (or unknown) and no new key was made

    def days_left(self, now: datetime) -> float | None:
        if self.expires_at is None:
            return None
        return (self.expires_at - now).total_seconds() / 86400


def expiry_text(expires_at: datetime | None, now: datetime) -> str:
    """How an expiry is said, from the date itself: 'expires in 9 day(s) (…)', 'expired …'."""
    if expires_at is None:
        return "Hemnet gives no expiry date"
    date = expires_at.isoformat(timespec="seconds")
    left = expires_at - now
    if left <= timedelta(0):
        ago = -left
        return f"expired {ago.days} day(s) ago ({date})" if ago.days else f"expired ({date})"
    if left.days:
        return f"expires in {left.days} day(s) ({date})"
    return f"expires in {int(left.total_seconds() // 3600)} h ({date})"


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

    def known_expiry(self) -> datetime | None:
        """The expiry recorded by the last check or renewal (any process), if any."""
        with self.store.read() as session:
            text = get_meta(session, META_KEY_EXPIRES_AT)
        return datetime.fromisoformat(text) if text else None

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
                failed=True,
            )
        now = self.clock()
        self._remember(key, now, renewed=False)
        before = timedelta(days=self.config.hemnet.key_renew_before_days)
        if key.expires_at is None or key.expires_at - now > before:
            return KeyStatus(
                key.key_id,
                key.expires_at,
                False,
                f"key is valid: {expiry_text(key.expires_at, now)}",
            )
        log.info("key %s %s: renewing", key.key_id, expiry_text(key.expires_at, now))
        if not self.renew(client):
            return KeyStatus(
                key.key_id,
                key.expires_at,
                False,
                f"key {expiry_text(key.expires_at, now)} and its renewal failed "
                "(see the error above)",
                failed=True,
            )
        with self.store.read() as session:
            new_id = get_meta(session, META_KEY_ID)
            expires = get_meta(session, META_KEY_EXPIRES_AT)
        old_state = expiry_text(key.expires_at, now).replace("expires", "would have expired")
        return KeyStatus(
            new_id,
            datetime.fromisoformat(expires) if expires else None,
            True,
            f"key renewed (the old key {key.key_id} {old_state})",
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
        """Make a new key through the API, stored and in use at once; the old one deleted.

        False when no new key could be made (logged as an ERROR, never as a renewal).
        """
        with self._lock:
            if self._renewing:
                return False  # the renewal's own call was refused: do not recurse
            self._renewing = True
            try:
                return self._renew_logged(client)
            finally:
                self._renewing = False

    def on_refused(self, client: HemnetClient) -> bool:
        """The answer to a 401: True when a key that works is in use now (send once more).

        A key another syncd process renewed (or the operator put in the configuration) is
        taken as it is: making yet another key here would delete the other process's key,
        which would then renew in turn. No new key is made: that takes a key that works.
        """
        with self._lock:
            if self._renewing:
                return False
            self._renewing = True
            try:
                current = self.token()
                if self._works(client):
                    return True  # the refused request used an older token
                if self._switch_to_other(client, current):
                    return True
                self._token = current
                return False
            finally:
                self._renewing = False

    def _works(self, client: HemnetClient) -> bool:
        """Whether Hemnet accepts the token in use now (a failed read proves nothing: no)."""
        try:
            client.list_keys()
        except ApiError:
            return False
        return True

    def _switch_to_other(self, client: HemnetClient, current: str) -> bool:
        """Try each stored or configured token other than ``current``; keep the first that works."""
        tried = {current}
        for include_renewed in (True, False):
            found = find_token(self.config, include_renewed=include_renewed)
            if found is None or found[0] in tried:
                continue
            token, source = found
            tried.add(token)
            self._token = token
            if self._works(client):
                log.info("the key in use was refused; using the key from %s, which works", source)
                return True
        return False

    def _renew_logged(self, client: HemnetClient) -> bool:
        error = self._renew(client)
        if error is None:
            return True
        log.error(
            "Hemnet key renewal failed: %s; the key in use is kept; remedy: %s",
            error,
            AuthenticationApiError.remedy,
        )
        return False

    def _renew(self, client: HemnetClient) -> str | None:
        """One attempt at a new key; None when it is in use, else why it failed."""
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
            self._token = failing
            return str(exc)
        if not created.token:
            self._token = failing
            return f"Hemnet created key {created.key_id} but sent no token"
        previous = self._token
        store_renewed_token(self.config, created.token)
        self._token = created.token
        try:
            listed = {k.key_id for k in client.list_keys()}
        except ApiError as exc:
            self._restore(previous)
            return f"the new key {created.key_id} does not work ({exc}); the old one is kept"
        if created.key_id not in listed:
            log.warning("the new key %s is not among the account's keys", created.key_id)
        deleted = self._delete_old(client, old, created)
        self._remember(created, now, renewed=True, old=old, deleted=deleted)
        log.info(
            "renewed the Hemnet key: key %s in use, %s, stored in %s",
            created.key_id,
            expiry_text(created.expires_at, now),
            renewed_token_path(self.config),
        )
        return None

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
        if key.expires_at is not None:
            metrics.KEY_EXPIRY.set(key.expires_at.timestamp())
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
    config: Config,
    keeper: KeyKeeper,
    *,
    observer: Observer | None = None,
    may_send: Callable[[], bool] | None = None,
) -> HemnetClient:
    """A client on the configured Hemnet that sends the keeper's token and renews on 401."""
    client: HemnetClient

    def renew() -> bool:
        return keeper.on_refused(client)

    client = HemnetClient(
        config.hemnet.base_url,
        keeper.token,
        timeout_s=config.hemnet.read_timeout_s,
        connect_timeout_s=config.hemnet.connect_timeout_s,
        on_auth_failure=renew,
        observer=observer,
        may_send=may_send,
    )
    return client
