"""Run the sandbox in a background thread for tests: ``with serve_sandbox() as sb: ...``.

Binds a free port before starting, waits until the sandbox answers, and stops it on exit.
The handle talks to the sandbox only over HTTP, like any other client.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from syncd.runtime.listen import listening_socket
from syncd.sandbox import wire
from syncd.sandbox.admin import ADMIN_SECRET_HEADER
from syncd.sandbox.app import create_app
from syncd.sandbox.settings import SandboxSettings, settings_of

# Fast defaults for tests; any SandboxSettings field (or fault share) can be overridden.
TEST_DEFAULTS: dict[str, Any] = {
    "token": "sandboxtestkey000000.sandboxtestsecret0000",
    "image_delay_s": 0.05,
    "fetch_mode": "simulate",
    "log_level": "warning",
}


@dataclass
class SandboxHandle:
    root_url: str  # http://127.0.0.1:PORT
    base_url: str  # root_url + "/v1"
    token: str
    settings: SandboxSettings

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {}
        if self.settings.admin_secret:
            headers[ADMIN_SECRET_HEADER] = self.settings.admin_secret
        response = httpx.request(
            method, self.root_url + wire.ADMIN_PREFIX + path, json=body, headers=headers
        )
        response.raise_for_status()
        return response.json()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on base_url with the bootstrap key (the caller closes it)."""
        return httpx.Client(base_url=self.base_url, headers=self.auth, **kwargs)

    def set_faults(self, **rates: float) -> dict[str, float]:
        """E.g. ``set_faults(fault_500=0.2, latency_ms=50, fault_drop=1.0)``."""
        result: dict[str, float] = self._admin("PUT", "/faults", rates)["faults"]
        return result

    def stats(self) -> dict[str, Any]:
        """``{"total": N, "requests": {"POST /v1/listings 201": 3, ...}}``."""
        result: dict[str, Any] = self._admin("GET", "/stats")
        return result

    def reset_stats(self) -> None:
        self._admin("DELETE", "/stats")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "/state")["state"]
        return result

    def advance_clock(self, seconds: float) -> None:
        self._admin("POST", "/clock", {"advanceSeconds": seconds})

    def create_account(self, name: str) -> tuple[str, str]:
        """A further account (SANDBOX only): its id and its first key's token."""
        result = self._admin("POST", "/accounts", {"name": name})
        return str(result["account"]["id"]), str(result["key"]["token"])

    def move_listing(self, listing_id: str, account_id: str) -> None:
        """Hand a listing to another account: the old account's keys now meet a 403."""
        self._admin("PUT", f"/listings/{listing_id}/account", {"accountId": account_id})

    def approve(self, listing_id: str) -> None:
        """What the broker does in the customer portal."""
        path = wire.APPROVAL_PATH.format(listing_id=listing_id)
        httpx.get(self.root_url + path).raise_for_status()


def _free_socket(host: str) -> socket.socket:
    return listening_socket(host, 0)


@contextlib.contextmanager
def serve_sandbox(**overrides: Any) -> Iterator[SandboxHandle]:
    """A running sandbox on a free port; ``overrides`` are SandboxSettings fields, or fault
    shares (``fault_503=1.0``)."""
    host = overrides.pop("host", "127.0.0.1")
    sock = _free_socket(host)
    port = sock.getsockname()[1]
    settings = settings_of(**{**TEST_DEFAULTS, **overrides, "host": host, "port": port})
    app = create_app(settings)
    token: str = app.state.sandbox.bootstrap_token
    config = uvicorn.Config(app, log_level=settings.log_level, lifespan="on", http="h11", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True
    )
    thread.start()
    handle = SandboxHandle(
        root_url=settings.root_url,
        base_url=settings.root_url + wire.API_PREFIX,
        token=token,
        settings=dataclasses.replace(settings, token=token),
    )
    try:
        _wait_until_up(handle, thread)
        yield handle
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_until_up(handle: SandboxHandle, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the sandbox stopped while starting; see its log")
        try:
            if httpx.get(handle.root_url + "/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError("the sandbox did not answer within 10 s")
