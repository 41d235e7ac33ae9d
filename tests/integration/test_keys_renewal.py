"""Key renewal against the sandbox: ahead of expiry, and after a 401 with a single retry."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest

from syncd.config import Config, renewed_token_path, store_renewed_token
from syncd.hemnet import HemnetClient
from syncd.sandbox.testing import SandboxHandle
from syncd.store.engine import Store
from syncd.store.events import recent_events
from syncd.store.meta import get_meta
from syncd.usecases.api_key import META_KEY_ID, KeyKeeper, hemnet_client
from syncd.usecases.apply import Applier
from tests.integration.apply_env import a_listing, open_state, save, write_config

DAY_S = 86400.0


# Keys live ten days: inside the default 14 days of renewal lead.
SANDBOX_OPTIONS = {"key_lifetime_s": 10 * DAY_S}
SANDBOX_PER_TEST = True


def setup(
    sandbox: SandboxHandle, tmp_path: Path, renew_before_days: int = 14
) -> tuple[Config, Store]:
    token_file = tmp_path / "bootstrap-token"
    token_file.write_text(sandbox.token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    config = write_config(
        tmp_path,
        sandbox.base_url,
        hemnet={"token_file": str(token_file), "key_renew_before_days": renew_before_days},
    )
    return config, open_state(config)


def works(sandbox: SandboxHandle, token: str) -> bool:
    answer = httpx.get(sandbox.base_url + "/keys", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code == 200


def test_check_renews_ahead_of_expiry_and_deletes_the_old_key(
    sandbox: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config, store = setup(sandbox, tmp_path)
    keeper = KeyKeeper(config, store)
    assert keeper.token() == sandbox.token
    with hemnet_client(config, keeper) as client:
        old_id = client.list_keys()[0].key_id
        status = keeper.check(client)
        assert status.renewed and status.key_id != old_id
        new_token = keeper.token()
        assert new_token != sandbox.token  # switched at once
        path = renewed_token_path(config)
        assert path.read_text(encoding="utf-8").strip() == new_token
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [k.key_id for k in client.list_keys()] == [status.key_id]  # old one deleted
        assert client.list_listings() == []  # calls keep working
    assert not works(sandbox, sandbox.token) and works(sandbox, new_token)
    with store.read() as session:
        assert get_meta(session, META_KEY_ID) == status.key_id
        assert any(e.kind == "key_renewed" for e in recent_events(session))
    # A new process reads the renewed token first.
    assert KeyKeeper(config, store).token() == new_token
    assert sandbox.token not in caplog.text and new_token not in caplog.text
    store.close()


def test_check_leaves_a_key_with_time_left_alone(sandbox: SandboxHandle, tmp_path: Path) -> None:
    config, store = setup(sandbox, tmp_path, renew_before_days=3)
    keeper = KeyKeeper(config, store)
    with hemnet_client(config, keeper) as client:
        status = keeper.check(client)
    assert not status.renewed and status.expires_at is not None
    assert not renewed_token_path(config).exists()
    store.close()


def test_a_401_switches_to_a_configured_key_that_works_and_retries_the_call_once(
    sandbox: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config, store = setup(sandbox, tmp_path, renew_before_days=3)
    # An earlier renewal left a token whose key was deleted since (or expired).
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth) as admin:
        made = admin.post("/keys", json={"key": {"name": "syncd old"}}).json()["key"]
        store_renewed_token(config, made["token"])
        admin.delete(f"/keys/{made['id']}")
    keeper = KeyKeeper(config, store)
    assert keeper.token() == made["token"]
    sandbox.reset_stats()
    with hemnet_client(config, keeper) as client:
        assert client.list_listings() == []  # refused, switched, sent once more
    counts = sandbox.stats()["requests"]
    assert counts["GET /v1/listings 401"] == 1
    assert counts["GET /v1/listings 200"] == 1
    assert "POST /v1/keys 201" not in counts  # the configured key works: no key is made
    assert keeper.token() == sandbox.token
    assert "using the key from hemnet.token_file" in caplog.text
    assert "renewed" not in caplog.text
    assert made["token"] not in caplog.text and sandbox.token not in caplog.text
    store.close()


def test_a_key_renewed_by_another_process_is_taken_without_renewing_again(
    sandbox: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config, store = setup(sandbox, tmp_path, renew_before_days=3)
    daemon = KeyKeeper(config, store)  # holds the bootstrap token, as a running daemon does
    with hemnet_client(config, daemon) as daemon_client:
        assert daemon_client.list_listings() == []
        # 'syncd keys renew' in another process: a new key, the daemon's deleted.
        cli = KeyKeeper(config, store)
        with hemnet_client(config, cli) as cli_client:
            assert cli.renew(cli_client)
            cli_token = cli.token()
        assert not works(sandbox, sandbox.token)
        sandbox.reset_stats()
        assert daemon_client.list_listings() == []  # refused, then the stored key
        assert daemon.token() == cli_token
        # Its daily check finds the CLI's key valid and leaves it alone.
        status = daemon.check(daemon_client)
    assert not status.renewed and status.message.startswith("key is valid: expires in ")
    counts = sandbox.stats()["requests"]
    assert "POST /v1/keys 201" not in counts and "DELETE /v1/keys" not in str(counts)
    assert works(sandbox, cli_token)
    with store.read() as session:
        assert get_meta(session, META_KEY_ID) == status.key_id
    assert "using the key from renewed token" in caplog.text
    store.close()


class NoNewKeys(httpx.BaseTransport):
    """The real sandbox, except that Hemnet is failing to make keys (503 on POST /keys)."""

    def __init__(self) -> None:
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/keys"):
            return httpx.Response(503, json={"error": {"type": "ServiceUnavailable"}})
        return self._real.handle_request(request)

    def close(self) -> None:
        self._real.close()


def test_a_failed_renewal_is_an_error_and_never_said_to_be_a_renewal(
    sandbox: SandboxHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config, store = setup(sandbox, tmp_path)  # ten days left: inside the 14 days of lead
    keeper = KeyKeeper(config, store)
    with HemnetClient(
        sandbox.base_url, keeper.token, transport=NoNewKeys(), on_auth_failure=lambda: False
    ) as client:
        status = keeper.check(client)
    assert status.failed and not status.renewed
    assert status.message.startswith("key expires in 9 day(s)") or status.message.startswith(
        "key expires in 10 day(s)"
    )
    assert status.message.endswith("and its renewal failed (see the error above)")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "Hemnet key renewal failed" in errors[0].getMessage()
    assert "remedy:" in errors[0].getMessage()
    assert "renewed" not in caplog.text
    assert keeper.token() == sandbox.token and works(sandbox, sandbox.token)
    assert not renewed_token_path(config).exists()
    store.close()


def test_renewal_fails_cleanly_when_no_key_works(sandbox: SandboxHandle, tmp_path: Path) -> None:
    config, store = setup(sandbox, tmp_path)
    (tmp_path / "bootstrap-token").write_text("nobody.nothing\n", encoding="utf-8")
    keeper = KeyKeeper(config, store)
    with hemnet_client(config, keeper) as client:
        assert keeper.renew(client) is False
    assert not renewed_token_path(config).exists()
    store.close()


def test_apply_renews_on_401_and_retries_the_op_once(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    config, store = setup(sandbox, tmp_path, renew_before_days=3)
    token = ["nobody.expired"]  # the key apply starts with was revoked
    renewals: list[bool] = []

    def renew() -> bool:
        token[0] = sandbox.token
        renewals.append(True)
        return True

    save(store, a_listing("K1", images=0))
    sandbox.reset_stats()
    with HemnetClient(sandbox.base_url, lambda: token[0], timeout_s=10) as client:
        report = Applier(store, client, config, renew_key=renew).run_pass()
    assert renewals == [True]
    assert report.ops_succeeded == 2 and report.ops_retry == 0  # agency and listing
    counts = sandbox.stats()["requests"]
    assert counts["GET /v1/broker_agencies 401"] == 1  # refused once, then sent once more
    assert counts["POST /v1/listings 201"] == 1
    store.close()
