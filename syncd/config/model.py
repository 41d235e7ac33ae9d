"""The configuration's sections as frozen dataclasses, with their defaults.

``[sync]``'s planning choices are the planner's own ``PlanPolicy`` (core/policy.py).

Values only: reading the TOML file and finding secrets live beside it, never here.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from syncd.core.domain import Agency
from syncd.core.policy import PlanPolicy

ExportMode = Literal["full", "incremental"]
EXPORT_MODES: tuple[ExportMode, ...] = ("full", "incremental")


def bundled_mappings_dir() -> Path:
    return Path(str(importlib.resources.files("syncd.mappings")))


def bundled_migrations_dir() -> Path:
    return Path(str(importlib.resources.files("syncd.migrations")))


@dataclass(frozen=True)
class PathsConfig:
    inbox: Path
    archive: Path
    rejected: Path
    state_dir: Path
    database: Path
    mappings_dir: Path
    migrations_dir: Path


@dataclass(frozen=True)
class StoreConfig:
    """Where the state lives: None is the SQLite file ``paths.database`` (the default).

    ``url`` is a SQLAlchemy URL without its password (``postgresql+psycopg://syncd@host/syncd``);
    the password, or the whole URL, comes from the environment or a systemd credential
    (config/store_url.py), never from the TOML file.
    """

    url: str | None = None


@dataclass(frozen=True)
class HemnetConfig:
    base_url: str = "http://127.0.0.1:8765/v1"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    requests_per_second: float = 10.0
    burst: int = 20
    max_concurrency: int = 4
    token_file: Path | None = None
    key_renew_before_days: int = 14


# [agency] and [agencies.KEY] name an agency as the domain has it: key, name, org number.
AgencyConfig = Agency


@dataclass(frozen=True)
class SyncConfig:
    policy: PlanPolicy = field(default_factory=PlanPolicy)
    poll_interval_fast_s: float = 5.0
    poll_interval_slow_s: float = 300.0
    reconcile_interval_s: float = 21600.0
    health_check_interval_s: float = 15.0  # how often the daemon reads Hemnet for /healthz


DEFAULT_IGNORE = ("*.tmp", "*.part", "*~", ".*")


@dataclass(frozen=True)
class WatchConfig:
    settle_s: float = 2.0
    rescan_interval_s: float = 30.0
    done_marker: bool = False
    ignore: tuple[str, ...] = DEFAULT_IGNORE

    def ignores(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name, pattern) for pattern in self.ignore)


@dataclass(frozen=True)
class FormatRule:
    """Which mapping reads export files whose name matches ``pattern``."""

    pattern: str
    mapping: str  # a name in mappings_dir (without .toml) or a path
    mapping_path: Path  # resolved; existence is checked by 'syncd config check'
    export_mode: ExportMode | None = None

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatch(file_name, self.pattern)


@dataclass(frozen=True)
class HttpConfig:
    listen: str | None = None  # "host:port"
    webhook_secrets_file: Path | None = None
    # Listening beyond loopback puts the status page on the network: an explicit choice,
    # and then only with an access token for the pages (see http_access_problems).
    allow_remote: bool = False
    token_file: Path | None = None

    @property
    def listen_address(self) -> tuple[str, int] | None:
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host, int(port)


@dataclass(frozen=True)
class ImagesConfig:
    """What ingest checks of image URLs before anything is sent (docs/ingest.md)."""

    resolve_hosts: bool = True  # look image hosts up (bounded, cached) and warn
    host_lookup_timeout_s: float = 1.0  # the most a file's lookups add to its ingest
    # Ask each new image URL (a ranged GET) at ingest; reports 404s and non-images early.
    probe_new: bool = False
    probe_timeout_s: float = 2.0  # per request; a file's probes take at most twice this
    probe_max_per_file: int = 50


@dataclass(frozen=True)
class AlertsConfig:
    approval_wait_s: float = 172800.0
    no_export_s: float = 86400.0
    key_expiry_warn_days: int = 14


@dataclass(frozen=True)
class FleetConfig:
    """The leases of several daemons sharing one PostgreSQL store (docs/scaling.md).

    The defaults take a dead instance's agencies over within 18 s; see
    ``syncd.core.lease.LeaseTimings`` for why no two instances act for one agency at once.
    """

    lease_ttl_s: float = 15.0
    lease_renew_s: float = 3.0
    lease_margin_s: float = 5.0


@dataclass(frozen=True)
class Config:
    source: Path | None
    paths: PathsConfig
    hemnet: HemnetConfig = field(default_factory=HemnetConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    agency: AgencyConfig | None = None
    # [agencies.KEY]: agencies by the CRM's key, for exports that do not carry their names.
    agencies: Mapping[str, AgencyConfig] = field(default_factory=dict)
    sync: SyncConfig = field(default_factory=SyncConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    formats: tuple[FormatRule, ...] = ()
    http: HttpConfig = field(default_factory=HttpConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    images: ImagesConfig = field(default_factory=ImagesConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)

    def agency_named(self, key: str) -> AgencyConfig | None:
        """The configured name of agency ``key``: [agencies.KEY], else [agency] if it is key."""
        found = self.agencies.get(key)
        if found is None and self.agency is not None and self.agency.key == key:
            return self.agency
        return found

    def format_for(self, file_name: str) -> FormatRule | None:
        """The first [[formats]] entry whose pattern matches, as the file lists them."""
        return next((rule for rule in self.formats if rule.matches(file_name)), None)


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve to anything
