"""Accounts in the sandbox, and what syncd does on a 403: the listing fails, the key stays.

Two accounts on one real sandbox: each key sees only its own account's records; another
account's answers 403 (docs/hemnet-wire.md). Then a listing syncd follows is handed to
another account: its update fails with 403, the key is neither renewed nor dropped, and
the other listing goes on through the real applier.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from syncd.core.errors import ForbiddenApiError
from syncd.hemnet import HemnetClient
from syncd.sandbox.model import DEFAULT_ACCOUNT, Account, World, load_world, save_world
from syncd.sandbox.testing import SandboxHandle
from syncd.status import listing_detail
from syncd.store.listings import get_listing
from syncd.store.outbox import operations_of_listing
from syncd.usecases.api_key import KeyKeeper, hemnet_client
from syncd.usecases.apply import Applier
from tests.integration.apply_env import a_listing, hemnet_id, open_state, save, write_config

SANDBOX_PER_TEST = True


def api(sandbox: SandboxHandle, token: str) -> HemnetClient:
    return HemnetClient(sandbox.base_url, lambda: token, timeout_s=10)


def test_each_account_sees_only_its_own_and_another_accounts_answers_403(
    sandbox: SandboxHandle,
) -> None:
    account_b, token_b = sandbox.create_account("Andra integratören")
    with api(sandbox, sandbox.token) as a, api(sandbox, token_b) as b:
        agency_a = a.create_agency("Byrå A")
        agency_b = b.create_agency("Byrå B")
        body = {"listing": {"brokerAgencyId": agency_b.hemnet_id, "externalId": "B1"}}
        listing_b = b.create_listing(body)

        assert [x.hemnet_id for x in a.list_agencies()] == [agency_a.hemnet_id]
        assert [x.hemnet_id for x in b.list_agencies()] == [agency_b.hemnet_id]
        assert a.list_listings() == [] and a.list_listings(external_id="B1") == []
        assert {k.key_id for k in a.list_keys()}.isdisjoint(k.key_id for k in b.list_keys())

        for call in (
            lambda: a.get_listing(listing_b.hemnet_id),
            lambda: a.list_images(listing_b.hemnet_id),
            lambda: a.get_agency(agency_b.hemnet_id),
            lambda: a.get_key(b.list_keys()[0].key_id),
            lambda: a.create_listing(body),  # under B's agency
        ):
            with pytest.raises(ForbiddenApiError) as info:
                call()
            assert info.value.context.status == 403
        # A key made with B's key belongs to B.
        made = b.create_key("B second")
        assert made.key_id in {k.key_id for k in b.list_keys()}
        assert made.key_id not in {k.key_id for k in a.list_keys()}
    accounts = httpx.get(sandbox.root_url + "/_sandbox/accounts").json()["accounts"]
    assert account_b in {x["id"] for x in accounts}


def test_a_403_on_one_listing_fails_it_alone_and_leaves_the_key_alone(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    token_file = tmp_path / "bootstrap-token"
    token_file.write_text(sandbox.token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    config = write_config(tmp_path, sandbox.base_url, hemnet={"token_file": str(token_file)})
    store = open_state(config)
    keeper = KeyKeeper(config, store)
    account_b, _ = sandbox.create_account("Andra integratören")
    with hemnet_client(config, keeper) as client:
        keys_before = {k.key_id for k in client.list_keys()}

        def applier() -> Applier:
            # The daemon's wiring: a 401 would renew the key through the keeper.
            return Applier(store, client, config, renew_key=lambda: keeper.renew(client))

        save(store, a_listing("L1", images=0), a_listing("L2", images=0))
        first = applier().run_pass()
        assert first.ops_failed == first.ops_retry == 0, first
        moved = hemnet_id(store, "L1")
        sandbox.move_listing(moved, account_b)

        save(
            store, a_listing("L1", images=0, title="Nytt"), a_listing("L2", images=0, title="Nytt")
        )
        sandbox.reset_stats()
        report = applier().run_pass()

        assert report.ops_failed == 1 and report.ops_succeeded == 1, report
        with store.read() as session:
            [l1_update] = [
                o for o in operations_of_listing(session, "L1") if o.kind == "update_listing"
            ]
            l1 = get_listing(session, "L1")
            l2 = get_listing(session, "L2")
        assert l1_update.status == "failed" and l1_update.http_status == 403
        assert l1 is not None and l1.last_error and "another account" in l1.last_error
        assert l2 is not None and l2.applied_hash == l2.content_hash
        assert client.get_listing(hemnet_id(store, "L2")).raw["title"] == "Nytt"
        # 'syncd show L1' names the 403's remedy, not the key's.
        detail = listing_detail(store, "L1", datetime.now(UTC))
        assert detail is not None and detail.remedy == ForbiddenApiError.remedy

        # No renewal: no key made or deleted, the same token still works.
        requests = sandbox.stats()["requests"]
        assert not [r for r in requests if r.startswith(("POST /v1/keys", "DELETE /v1/keys"))]
        assert keeper.token() == sandbox.token
        assert {k.key_id for k in client.list_keys()} == keys_before
        # The next pass leaves the failed listing alone until it changes again.
        sandbox.reset_stats()
        assert applier().run_pass().ops_failed == 0
    store.close()


def test_a_state_file_keeps_accounts_and_one_from_before_accounts_loads_as_default(
    tmp_path: Path,
) -> None:
    old = {
        "version": 1,
        "keys": [
            {
                "id": "k1",
                "name": "bootstrap",
                "created_at": "2026-01-01T00:00:00Z",
                "expires_at": "2026-04-01T00:00:00Z",
                "token_sha256": "0" * 64,
            }
        ],
        "agencies": [
            {
                "id": "1001",
                "name": "Byrå",
                "organisation_number": None,
                "external_id": None,
                "hq_partnership_agreement": False,
                "created_at": "2026-01-01T00:00:00Z",
            }
        ],
    }
    world = World.from_json(old)
    assert world.keys["k1"].account_id == DEFAULT_ACCOUNT
    assert world.agencies["1001"].account_id == DEFAULT_ACCOUNT
    world.accounts["acct-b"] = Account("acct-b", "B", "2026-01-02T00:00:00Z")
    world.agencies["1001"].account_id = "acct-b"
    path = tmp_path / "sandbox.json"
    save_world(world, path)
    again = load_world(path)
    assert again.accounts["acct-b"].name == "B"
    assert again.agencies["1001"].account_id == "acct-b"
