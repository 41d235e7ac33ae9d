"""``syncd sandbox`` as a separate process for the benchmarks, and its call counts.

A process of its own so the sandbox's work never competes with the measured code for the
GIL. Counts come from ``/_sandbox/stats``; admin calls are left out of them.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

TOKEN = "benchsandboxkey00000.benchsandboxsecret000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SandboxProcess:
    """``with SandboxProcess(rate=50) as sandbox:`` a sandbox on a free port."""

    def __init__(
        self,
        *options: str,
        log: Path | None = None,
        world: Path | None = None,
        port: int | None = None,
    ) -> None:
        """``world``: serve the records ``seed.py`` wrote there (``seeded_sandbox.py``, which
        takes fewer options: see its ``--help``)."""
        self.port = port or free_port()
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.root_url + "/v1"
        self.token = TOKEN
        syncd = Path(sys.executable).with_name("syncd")
        self._log = (log or Path("/dev/null")).open("ab")
        command = (
            [str(syncd), "sandbox"]
            if world is None
            else [
                sys.executable,
                str(Path(__file__).with_name("seeded_sandbox.py")),
                "--world",
                str(world),
            ]
        )
        self._process = subprocess.Popen(
            [
                *command,
                "--port",
                str(self.port),
                "--token",
                TOKEN,
                "--log-level",
                "warning",
                *options,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"syncd sandbox exited with {self._process.returncode}")
            try:
                if httpx.get(self.root_url + "/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("syncd sandbox did not answer within 120 s")

    def calls(self) -> dict[str, int]:
        """API calls answered since the last reset, by "METHOD /route STATUS" (no admin)."""
        data: dict[str, Any] = httpx.get(self.root_url + "/_sandbox/stats", timeout=10).json()
        return {k: int(n) for k, n in data["requests"].items() if " /v1" in k}

    def total(self) -> int:
        return sum(self.calls().values())

    def reset(self) -> None:
        httpx.delete(self.root_url + "/_sandbox/stats", timeout=10).raise_for_status()

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
