"""A fleet for the failover chaos run and the system tests: several ``syncd run`` processes
on one PostgreSQL database and one inbox, against one sandbox, with short lease timings.

Test-only: it starts and inspects processes and never changes syncd's data itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SYNCD_MODULE = [sys.executable, "-m", "syncd"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Short leases so a test sees a takeover in seconds: gone 3 s after the last renewal,
# renewed twice a second; calls bounded by 0.5 + 1.5 s, so ops found in flight after a
# takeover wait 1 s more (syncd.core.lease.LeaseTimings).
FAST_FLEET = "[fleet]\nlease_ttl_s = 3\nlease_renew_s = 0.5\nlease_margin_s = 1\n"


@dataclass
class Instance:
    """One daemon of the fleet: its own folder (config, state_dir, log) and HTTP port."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_offset: int = 0

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def log(self) -> Path:
        return self.root / "daemon.log"

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def since_start(self) -> str:
        return self.log.read_bytes()[self.log_offset :].decode("utf-8", "replace")

    def health(self) -> dict[str, Any] | None:
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
        except httpx.HTTPError:
            return None
        found: dict[str, Any] = answer.json()
        return found

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Fleet:
    """``count`` instances sharing ``store_url`` and ``root/inbox``."""

    root: Path
    store_url: str
    base_url: str
    token: str
    count: int
    extra: str = ""
    hemnet: str = "connect_timeout_s = 0.5\nread_timeout_s = 1.5\n"
    leases: str = FAST_FLEET
    program: Sequence[str] = ()  # the command line before syncd's arguments
    instances: list[Instance] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        for n in range(self.count):
            folder = self.root / f"instance{n}"
            (folder / "state").mkdir(parents=True, exist_ok=True)
            instance = Instance(folder, free_port())
            instance.config.write_text(self._config(instance), encoding="utf-8")
            self.instances.append(instance)
        subprocess.run(
            [*SYNCD_MODULE, "--config", str(self.instances[0].config), "db", "upgrade"],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def _config(self, instance: Instance) -> str:
        return f"""[paths]
inbox = "{self.inbox}"
state_dir = "{instance.root / "state"}"

[store]
url = "{self.store_url}"

[hemnet]
base_url = "{self.base_url}"
{self.hemnet}
[sync]
poll_interval_fast_s = 0.5
poll_interval_slow_s = 1
reconcile_interval_s = 3600

[watch]
settle_s = 0.2
rescan_interval_s = 1

[http]
listen = "127.0.0.1:{instance.port}"

[[formats]]
pattern = "*.csv"
mapping = "generic-csv"

{self.leases}{self.extra}"""

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG"))}
        return {**base, "SYNCD_HEMNET_TOKEN": self.token, "PYTHONUNBUFFERED": "1"}

    def start(self, instance: Instance, *program: str) -> None:
        instance.log_offset = instance.log.stat().st_size if instance.log.exists() else 0
        command = [*(program or self.program or SYNCD_MODULE), "--config", str(instance.config)]
        with instance.log.open("ab") as log:
            instance.process = subprocess.Popen(
                [*command, "run"], env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )

    def start_all(self) -> None:
        for instance in self.instances:
            self.start(instance)

    def stop_all(self) -> None:
        for instance in self.instances:
            process = instance.process
            if process is None or process.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)  # a paused one must be able to stop
                process.kill()
            process.wait(timeout=10)

    def holders(self) -> dict[str, str]:
        """agency key -> the instance id holding it, as a live instance's /healthz says."""
        for instance in self.instances:
            if not instance.alive:
                continue
            health = instance.health()
            fleet = (health or {}).get("fleet") or {}
            agencies = fleet.get("agencies")
            if isinstance(agencies, dict):
                return {key: holder for holder, keys in agencies.items() for key in keys}
        return {}

    def instance_of(self, instance_id: str) -> Instance | None:
        for instance in self.instances:
            if instance.alive and (instance.health() or {}).get("instance") == instance_id:
                return instance
        return None


def duplicates(state: dict[str, Any]) -> tuple[int, int]:
    """(duplicate listings by externalId, duplicate images by URL within a listing)."""
    by_external = Counter(remote["fields"].get("externalId") for remote in state["listings"])
    images = Counter((img["listing_id"], img["url"]) for img in state["images"])
    return (
        sum(n - 1 for n in by_external.values()),
        sum(n - 1 for n in images.values()),
    )
