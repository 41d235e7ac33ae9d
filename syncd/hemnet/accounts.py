"""The Hemnet client's account endpoints: API keys and broker agencies.

One method per endpoint over ``HttpCalls``; no paging or sending of its own, no decisions.
"""

from __future__ import annotations

from syncd.hemnet import payload, wire
from syncd.hemnet.http import HttpCalls
from syncd.hemnet.models import (
    RemoteAgency,
    RemoteKey,
)


class AccountEndpoints(HttpCalls):
    """Keys and broker agencies."""

    # --- keys ------------------------------------------------------------------------------

    def list_keys(self) -> list[RemoteKey]:
        """All keys of the account; also the cheap "am I authenticated" probe (DOC)."""
        # Every page, strict: a key left out would look deleted to the key keeper.
        keys, _ = self._list(
            wire.KEYS, None, wire.KEY_MANY, payload.key_from, skip_unreadable=False
        )
        return keys

    def get_key(self, key_id: str) -> RemoteKey:
        return self._one("GET", wire.KEY, {"key_id": key_id}, wire.KEY_ONE, payload.key_from)

    def create_key(self, name: str) -> RemoteKey:
        """A new key; its ``token`` is in this answer only (store it at once)."""
        return self._one(
            "POST", wire.KEYS, None, wire.KEY_ONE, payload.key_from, body=payload.key_body(name)
        )

    def delete_key(self, key_id: str) -> None:
        self._request("DELETE", wire.KEY, {"key_id": key_id})

    # --- broker agencies -------------------------------------------------------------------

    def create_agency(
        self, name: str, organisation_number: str | None = None, external_id: str | None = None
    ) -> RemoteAgency:
        body = payload.agency_body(name, organisation_number, external_id)
        return self._one(
            "POST", wire.AGENCIES, None, wire.AGENCY_ONE, payload.agency_from, body=body
        )

    def list_agencies(self) -> list[RemoteAgency]:
        # Strict: an agency left out would be created a second time.
        agencies, _ = self._list(
            wire.AGENCIES, None, wire.AGENCY_MANY, payload.agency_from, skip_unreadable=False
        )
        return agencies

    def get_agency(self, agency_id: str) -> RemoteAgency:
        return self._one(
            "GET", wire.AGENCY, {"agency_id": agency_id}, wire.AGENCY_ONE, payload.agency_from
        )
