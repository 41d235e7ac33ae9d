"""The configuration: TOML file -> frozen dataclasses, every problem reported at once.

Reads only the config file and, for secrets, the environment and credential files; never
holds a secret in the TOML-backed ``Config`` itself (tokens come from ``load_token``).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib.resources
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from syncd.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path("/etc/syncd/config.toml")
CONFIG_ENV = "SYNCD_CONFIG"
TOKEN_ENV = "SYNCD_HEMNET_TOKEN"  # noqa: S105 (a variable name, not a secret)
WEBHOOK_SECRETS_ENV = "SYNCD_WEBHOOK_SECRETS"
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=
TOKEN_CREDENTIAL = "hemnet-token"  # noqa: S105 (a file name)
WEBHOOK_SECRETS_CREDENTIAL = "webhook-secrets"
HTTP_TOKEN_ENV = "SYNCD_HTTP_TOKEN"  # noqa: S105 (a variable name, not a secret)
HTTP_TOKEN_CREDENTIAL = "http-token"  # noqa: S105 (a file name)
# in state_dir; written when syncd renews its key
RENEWED_TOKEN_NAME = "hemnet-token"  # noqa: S105 (a file name)

FailedImagePolicy = Literal["skip", "retry", "hold"]
ExportMode = Literal["full", "incremental"]
FAILED_IMAGE_POLICIES: tuple[FailedImagePolicy, ...] = ("skip", "retry", "hold")
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
class HemnetConfig:
    base_url: str = "http://127.0.0.1:8765/v1"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    requests_per_second: float = 10.0
    burst: int = 20
    max_concurrency: int = 4
    token_file: Path | None = None
    key_renew_before_days: int = 14


@dataclass(frozen=True)
class AgencyConfig:
    key: str
    name: str
    organisation_number: str | None = None


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """The operator's choices that change what the planner asks of Hemnet ([sync]).

    The one place their defaults live: the planner takes it as [sync] parsed it.
    """

    removal_grace_s: float = 86400.0
    mass_removal_share: float = 0.2
    mass_removal_min: int = 5
    failed_image_policy: FailedImagePolicy = "skip"
    publish: bool = True
    price_change_flag_share: float = 0.05
    auto_approve: bool = False  # ask for approval at publish where Hemnet attempts it

    def __post_init__(self) -> None:
        # parse_config reports bad values as problems first; this guards direct callers.
        if self.failed_image_policy not in FAILED_IMAGE_POLICIES:
            raise ValueError(
                f"failed_image_policy must be skip, retry or hold, not {self.failed_image_policy!r}"
            )
        if self.removal_grace_s < 0 or self.mass_removal_min < 0:
            raise ValueError("removal_grace_s and mass_removal_min must not be negative")
        if not 0 <= self.mass_removal_share <= 1 or self.price_change_flag_share < 0:
            raise ValueError("mass_removal_share must be within 0..1, price share ≥ 0")


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
class Config:
    source: Path | None
    paths: PathsConfig
    hemnet: HemnetConfig = field(default_factory=HemnetConfig)
    agency: AgencyConfig | None = None
    # [agencies.KEY]: agencies by the CRM's key, for exports that do not carry their names.
    agencies: Mapping[str, AgencyConfig] = field(default_factory=dict)
    sync: SyncConfig = field(default_factory=SyncConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    formats: tuple[FormatRule, ...] = ()
    http: HttpConfig = field(default_factory=HttpConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    images: ImagesConfig = field(default_factory=ImagesConfig)

    def agency_named(self, key: str) -> AgencyConfig | None:
        """The configured name of agency ``key``: [agencies.KEY], else [agency] if it is key."""
        found = self.agencies.get(key)
        if found is None and self.agency is not None and self.agency.key == key:
            return self.agency
        return found

    def format_for(self, file_name: str) -> FormatRule | None:
        """The first [[formats]] entry whose pattern matches, as the file lists them."""
        return next((rule for rule in self.formats if rule.matches(file_name)), None)


# --- reading -----------------------------------------------------------------------------

T = TypeVar("T")
_MISSING: Any = object()

# Keys that would put a secret into the TOML file: each names where the secret belongs.
_SECRET_KEYS = {
    "hemnet.token": (
        f"secrets do not belong in the config file: set env {TOKEN_ENV}, the systemd "
        f"credential {TOKEN_CREDENTIAL} ($CREDENTIALS_DIRECTORY/{TOKEN_CREDENTIAL}) "
        "or point hemnet.token_file at a file readable only by syncd"
    ),
    "http.webhook_secrets": (
        f"secrets do not belong in the config file: set env {WEBHOOK_SECRETS_ENV} "
        "(comma-separated), the systemd credential "
        f"{WEBHOOK_SECRETS_CREDENTIAL} ($CREDENTIALS_DIRECTORY/{WEBHOOK_SECRETS_CREDENTIAL}) "
        "or point http.webhook_secrets_file at a file"
    ),
    "http.token": (
        f"secrets do not belong in the config file: set env {HTTP_TOKEN_ENV}, the systemd "
        f"credential {HTTP_TOKEN_CREDENTIAL} ($CREDENTIALS_DIRECTORY/{HTTP_TOKEN_CREDENTIAL}) "
        "or point http.token_file at a file readable only by syncd"
    ),
}


def _type_name(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return names.get(type(value), "table" if isinstance(value, dict) else type(value).__name__)


class _Section:
    """Reads one TOML table, collecting problems instead of stopping at the first."""

    def __init__(
        self, data: object, name: str, problems: list[str], base_dir: Path, display: str = ""
    ) -> None:
        self.name = name
        self.display = display or name
        self.problems = problems
        self.base_dir = base_dir
        self.known: list[str] = []
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"{self.display}: must be a table, got {_type_name(data)}")
            data = {}
        self.data: dict[str, Any] = data

    def key(self, key: str) -> str:
        return f"{self.display}.{key}"

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.key(key)}: {text}")

    def _get(
        self,
        key: str,
        default: T,
        convert: Callable[[Any], T | None],
        expected: str,
    ) -> T:
        self.known.append(key)
        if key not in self.data:
            if default is _MISSING:
                self.problem(key, "required, not set")
            return default
        value = self.data[key]
        converted = convert(value)
        if converted is None:
            self.problem(key, f"must be {expected}, got {_type_name(value)} {value!r}")
            return default
        return converted

    def string(self, key: str, default: Any = _MISSING) -> Any:
        def conv(v: Any) -> str | None:
            return v if isinstance(v, str) else None

        value = self._get(key, default, conv, "a string")
        if isinstance(value, str) and key in self.data and not value.strip():
            self.problem(key, "must not be empty")
        return value

    def choice(self, key: str, choices: Iterable[str], default: Any = _MISSING) -> Any:
        allowed = tuple(choices)
        value = self.string(key, default)
        if key in self.data and isinstance(value, str) and value not in allowed:
            quoted = ", ".join(f'"{c}"' for c in allowed)
            self.problem(key, f"must be one of {quoted}, got {value!r}")
            return default
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        def conv(v: Any) -> int | None:
            # bool is an int in Python, but `true` is not a number to an operator
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        value = self._get(key, default, conv, "an integer")
        if key in self.data and minimum is not None and isinstance(value, int) and value < minimum:
            self.problem(key, f"must be at least {minimum}, got {value}")
            return default
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> Any:
        def conv(v: Any) -> float | None:
            ok = isinstance(v, int | float) and not isinstance(v, bool)
            return float(v) if ok else None

        value = self._get(key, default, conv, "a number")
        if key not in self.data or not isinstance(value, float):
            return value
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            self.problem(key, f"must be between {minimum:g} and {maximum:g}, got {value:g}")
            return default
        if positive and value <= 0:
            self.problem(key, f"must be more than 0, got {value:g}")
            return default
        if minimum is not None and value < minimum:
            self.problem(key, f"must be at least {minimum:g}, got {value:g}")
            return default
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        def conv(v: Any) -> bool | None:
            return v if isinstance(v, bool) else None

        return self._get(key, default, conv, "true or false")

    def strings(self, key: str, default: Any = _MISSING) -> Any:
        def conv(v: Any) -> tuple[str, ...] | None:
            if isinstance(v, list) and all(isinstance(item, str) for item in v):
                return tuple(v)
            return None

        return self._get(key, default, conv, "an array of strings")

    def path(self, key: str, default: Any = _MISSING) -> Any:
        value = self.string(key, default)
        return self.resolve(value) if isinstance(value, str) and value.strip() else value

    def resolve(self, value: str) -> Path:
        # Relative paths mean "next to the config file", wherever syncd is started from.
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def finish(self) -> None:
        for key in self.data:
            if key in self.known:
                continue
            full = f"{self.name}.{key}"
            if full in _SECRET_KEYS:
                self.problem(key, _SECRET_KEYS[full])
                continue
            hint = difflib.get_close_matches(key, self.known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            known = ", ".join(sorted(self.known))
            self.problem(key, f"unknown key{suggestion}; known keys: {known}")


_SECTIONS = (
    "paths",
    "hemnet",
    "agency",
    "agencies",
    "sync",
    "watch",
    "formats",
    "http",
    "alerts",
    "images",
)


def _read_paths(s: _Section) -> PathsConfig | None:
    inbox = s.path("inbox")
    state_dir = s.path("state_dir")
    state = state_dir if isinstance(state_dir, Path) else None
    archive = s.path("archive", state / "archive" if state else None)
    rejected = s.path("rejected", state / "rejected" if state else None)
    database = s.path("database", state / "syncd.db" if state else None)
    mappings_dir = s.path("mappings_dir", bundled_mappings_dir())
    migrations_dir = s.path("migrations_dir", bundled_migrations_dir())
    s.finish()
    # Moving a file from the inbox into the inbox would take it again, for ever.
    for name, folder in (("archive", archive), ("rejected", rejected)):
        if isinstance(folder, Path) and isinstance(inbox, Path) and folder == inbox:
            s.problem(name, f"must not be the inbox ({inbox}): its files would be taken again")
    values = (inbox, archive, rejected, state_dir, database, mappings_dir, migrations_dir)
    if not all(isinstance(v, Path) for v in values):
        return None
    return PathsConfig(*values)


def _read_hemnet(s: _Section) -> HemnetConfig:
    d = HemnetConfig()
    base_url = s.string("base_url", d.base_url)
    if "base_url" in s.data and not str(base_url).startswith(("http://", "https://")):
        s.problem("base_url", f"must start with http:// or https://, got {base_url!r}")
        base_url = d.base_url
    out = HemnetConfig(
        base_url=str(base_url).rstrip("/"),
        connect_timeout_s=s.number("connect_timeout_s", d.connect_timeout_s, positive=True),
        read_timeout_s=s.number("read_timeout_s", d.read_timeout_s, positive=True),
        requests_per_second=s.number("requests_per_second", d.requests_per_second, positive=True),
        burst=s.integer("burst", d.burst, minimum=1),
        max_concurrency=s.integer("max_concurrency", d.max_concurrency, minimum=1),
        token_file=s.path("token_file", None),
        key_renew_before_days=s.integer("key_renew_before_days", d.key_renew_before_days, 0),
    )
    s.finish()
    return out


def _read_agency(s: _Section) -> AgencyConfig | None:
    if not s.data:
        s.known.extend(["key", "name", "organisation_number"])
        return None
    key = s.string("key")
    name = s.string("name")
    org = s.string("organisation_number", None)
    s.finish()
    if not (isinstance(key, str) and isinstance(name, str)):
        return None
    return AgencyConfig(key=key.strip(), name=name.strip(), organisation_number=org)


def _read_agencies(data: object, problems: list[str], base_dir: Path) -> dict[str, AgencyConfig]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"agencies: must be a table of [agencies.KEY] tables, got {_type_name(data)}"
        )
        return {}
    out: dict[str, AgencyConfig] = {}
    for key, table in data.items():
        s = _Section(table, f"agencies.{key}", problems, base_dir)
        name = s.string("name")
        org = s.string("organisation_number", None)
        s.finish()
        if isinstance(name, str) and name.strip():
            out[key] = AgencyConfig(key=key, name=name.strip(), organisation_number=org)
        elif isinstance(name, str):
            problems.append(f"agencies.{key}.name: must not be empty")
    return out


def _read_sync(s: _Section) -> SyncConfig:
    d = SyncConfig()
    p = d.policy
    policy = PlanPolicy(
        removal_grace_s=s.number("removal_grace_s", p.removal_grace_s, minimum=0),
        mass_removal_share=s.number(
            "mass_removal_share", p.mass_removal_share, minimum=0, maximum=1
        ),
        mass_removal_min=s.integer("mass_removal_min", p.mass_removal_min, minimum=0),
        failed_image_policy=s.choice(
            "failed_image_policy", FAILED_IMAGE_POLICIES, p.failed_image_policy
        ),
        publish=s.boolean("publish", p.publish),
        price_change_flag_share=s.number(
            "price_change_flag_share", p.price_change_flag_share, minimum=0
        ),
        auto_approve=s.boolean("auto_approve", p.auto_approve),
    )
    out = SyncConfig(
        policy=policy,
        poll_interval_fast_s=s.number(
            "poll_interval_fast_s", d.poll_interval_fast_s, positive=True
        ),
        poll_interval_slow_s=s.number(
            "poll_interval_slow_s", d.poll_interval_slow_s, positive=True
        ),
        reconcile_interval_s=s.number(
            "reconcile_interval_s", d.reconcile_interval_s, positive=True
        ),
        health_check_interval_s=s.number(
            "health_check_interval_s", d.health_check_interval_s, positive=True
        ),
    )
    if out.poll_interval_fast_s > out.poll_interval_slow_s:
        s.problem(
            "poll_interval_fast_s",
            f"must not exceed sync.poll_interval_slow_s ({out.poll_interval_slow_s:g}), "
            f"got {out.poll_interval_fast_s:g}",
        )
    s.finish()
    return out


def _read_watch(s: _Section) -> WatchConfig:
    d = WatchConfig()
    out = WatchConfig(
        settle_s=s.number("settle_s", d.settle_s, minimum=0),
        rescan_interval_s=s.number("rescan_interval_s", d.rescan_interval_s, positive=True),
        done_marker=s.boolean("done_marker", d.done_marker),
        ignore=s.strings("ignore", d.ignore),
    )
    s.finish()
    return out


def _mapping_path(mapping: str, mappings_dir: Path | None, s: _Section) -> Path:
    # A bare name ("generic-csv") is a bundled or mappings_dir file; anything that looks
    # like a path is taken as one, relative to the config file.
    if "/" in mapping or "\\" in mapping or mapping.endswith(".toml"):
        return s.resolve(mapping)
    base = mappings_dir if mappings_dir is not None else bundled_mappings_dir()
    return base / f"{mapping}.toml"


def _read_formats(
    data: object, problems: list[str], base_dir: Path, mappings_dir: Path | None
) -> tuple[FormatRule, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        problems.append(
            f"formats: must be an array of tables ([[formats]]), got {_type_name(data)}"
        )
        return ()
    rules: list[FormatRule] = []
    for index, entry in enumerate(data):
        s = _Section(entry, "formats", problems, base_dir, display=f"formats[{index}]")
        pattern = s.string("pattern")
        mapping = s.string("mapping")
        mode = s.choice("export_mode", EXPORT_MODES, None)
        s.finish()
        if isinstance(pattern, str) and isinstance(mapping, str) and mapping.strip():
            rules.append(
                FormatRule(
                    pattern=pattern,
                    mapping=mapping,
                    mapping_path=_mapping_path(mapping, mappings_dir, s),
                    export_mode=mode,
                )
            )
    return tuple(rules)


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve to anything


def _read_http(s: _Section) -> HttpConfig:
    listen = s.string("listen", None)
    allow_remote = s.boolean("allow_remote", False)
    if isinstance(listen, str) and listen.strip():
        host, sep, port = listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            s.problem("listen", f'must be "host:port" such as "127.0.0.1:8081", got {listen!r}')
            listen = None
        elif not is_loopback(host) and allow_remote is not True:
            s.problem(
                "listen",
                f"{host} is not a loopback address, so the status page would be reachable "
                'from the network: listen on "127.0.0.1:PORT", or set http.allow_remote = true '
                f"and an access token (env {HTTP_TOKEN_ENV}, http.token_file or the systemd "
                f"credential {HTTP_TOKEN_CREDENTIAL})",
            )
    out = HttpConfig(
        listen=listen,
        webhook_secrets_file=s.path("webhook_secrets_file", None),
        allow_remote=allow_remote is True,
        token_file=s.path("token_file", None),
    )
    s.finish()
    return out


def _read_images(s: _Section) -> ImagesConfig:
    d = ImagesConfig()
    out = ImagesConfig(
        resolve_hosts=s.boolean("resolve_hosts", d.resolve_hosts),
        host_lookup_timeout_s=s.number(
            "host_lookup_timeout_s", d.host_lookup_timeout_s, positive=True, maximum=30
        ),
        probe_new=s.boolean("probe_new", d.probe_new),
        probe_timeout_s=s.number("probe_timeout_s", d.probe_timeout_s, positive=True, maximum=30),
        probe_max_per_file=s.integer("probe_max_per_file", d.probe_max_per_file, 0),
    )
    s.finish()
    return out


def _read_alerts(s: _Section) -> AlertsConfig:
    d = AlertsConfig()
    out = AlertsConfig(
        approval_wait_s=s.number("approval_wait_s", d.approval_wait_s, positive=True),
        no_export_s=s.number("no_export_s", d.no_export_s, positive=True),
        key_expiry_warn_days=s.integer("key_expiry_warn_days", d.key_expiry_warn_days, 0),
    )
    s.finish()
    return out


def parse_config(data: Mapping[str, Any], base_dir: Path, source: Path | None = None) -> Config:
    """Build a Config from already-parsed TOML; relative paths resolve against base_dir."""
    problems: list[str] = []
    base_dir = base_dir.resolve()

    def section(name: str) -> _Section:
        return _Section(data.get(name), name, problems, base_dir)

    for name in data:
        if name not in _SECTIONS:
            hint = difflib.get_close_matches(name, _SECTIONS, n=1)
            suggestion = f" (did you mean [{hint[0]}]?)" if hint else ""
            problems.append(
                f"{name}: unknown section{suggestion}; known sections: {', '.join(_SECTIONS)}"
            )
    paths = _read_paths(section("paths"))
    hemnet = _read_hemnet(section("hemnet"))
    agency = _read_agency(section("agency"))
    agencies = _read_agencies(data.get("agencies"), problems, base_dir)
    sync = _read_sync(section("sync"))
    watch = _read_watch(section("watch"))
    formats = _read_formats(
        data.get("formats"), problems, base_dir, paths.mappings_dir if paths else None
    )
    http = _read_http(section("http"))
    alerts = _read_alerts(section("alerts"))
    images = _read_images(section("images"))
    if problems or paths is None:
        raise ConfigError(problems, str(source) if source else None)
    return Config(
        source=source,
        paths=paths,
        hemnet=hemnet,
        agency=agency,
        agencies=agencies,
        sync=sync,
        watch=watch,
        formats=formats,
        http=http,
        alerts=alerts,
        images=images,
    )


def load_config(path: Path | str) -> Config:
    """Read and validate the TOML file; one ConfigError lists every problem found."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([f"config file {path} does not exist"], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"config file {path} cannot be read: {exc}"], str(path)) from None
    import tomllib  # here, not at the top: compiling its patterns slows every CLI start

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], str(path)) from None
    config = parse_config(data, path.parent, source=path.resolve())
    log.debug("loaded config from %s", path)
    return config


# --- secrets -----------------------------------------------------------------------------


def renewed_token_path(config: Config) -> Path:
    return config.paths.state_dir / RENEWED_TOKEN_NAME


def _read_secret_file(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError([f"secret file {path} cannot be read: {exc.strerror}"]) from None
    return text or None


def find_token(
    config: Config, environ: Mapping[str, str] | None = None, *, include_renewed: bool = True
) -> tuple[str, str] | None:
    """The Hemnet API token and where it came from (for 'config check'), or None.

    A renewed token in state_dir wins, then env, then hemnet.token_file, then the systemd
    credential: the renewed key is the only one still valid once syncd has rotated it.
    ``include_renewed=False`` skips the renewed token (its key was refused: fall back).
    """
    env = os.environ if environ is None else environ
    renewed_path = renewed_token_path(config)
    renewed = _read_secret_file(renewed_path) if include_renewed else None
    if renewed:
        return renewed, f"renewed token {renewed_path}"
    from_env = env.get(TOKEN_ENV, "").strip()
    if from_env:
        return from_env, f"env {TOKEN_ENV}"
    if config.hemnet.token_file is not None:
        from_file = _read_secret_file(config.hemnet.token_file)
        if from_file:
            return from_file, f"hemnet.token_file {config.hemnet.token_file}"
    credentials = env.get(CREDENTIALS_ENV)
    if credentials:
        credential_path = Path(credentials) / TOKEN_CREDENTIAL
        from_credential = _read_secret_file(credential_path)
        if from_credential:
            return from_credential, f"systemd credential {credential_path}"
    return None


def load_token(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """The Hemnet API token (see ``find_token``); ConfigError naming every source if none."""
    found = find_token(config, environ)
    if found is not None:
        return found[0]
    token_file = config.hemnet.token_file or "not set"
    raise ConfigError(
        [
            f"no Hemnet API token: set env {TOKEN_ENV}, "
            f"or the file named by hemnet.token_file ({token_file}), "
            f"or the systemd credential $CREDENTIALS_DIRECTORY/{TOKEN_CREDENTIAL}"
        ]
    )


def store_renewed_token(config: Config, token: str) -> Path:
    """Keep a renewed token in state_dir (mode 0600), replacing the old one atomically."""
    path = renewed_token_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return path


def load_webhook_secrets(
    config: Config, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Webhook signing secrets (several during rotation); empty when none is configured."""
    env = os.environ if environ is None else environ
    raw = env.get(WEBHOOK_SECRETS_ENV, "")
    if not raw.strip() and config.http.webhook_secrets_file is not None:
        raw = _read_secret_file(config.http.webhook_secrets_file) or ""
    if not raw.strip() and env.get(CREDENTIALS_ENV):
        credential = Path(env[CREDENTIALS_ENV]) / WEBHOOK_SECRETS_CREDENTIAL
        raw = _read_secret_file(credential) or ""
    return tuple(s.strip() for s in raw.replace("\n", ",").split(",") if s.strip())


def load_http_token(config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The access token for the status page and /metrics; None when none is configured.

    Env first, then http.token_file, then the systemd credential (as for the Hemnet token).
    """
    env = os.environ if environ is None else environ
    from_env = env.get(HTTP_TOKEN_ENV, "").strip()
    if from_env:
        return from_env
    if config.http.token_file is not None:
        from_file = _read_secret_file(config.http.token_file)
        if from_file:
            return from_file
    if env.get(CREDENTIALS_ENV):
        return _read_secret_file(Path(env[CREDENTIALS_ENV]) / HTTP_TOKEN_CREDENTIAL)
    return None


def http_access_problems(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Why the daemon must not serve http as configured: a non-loopback listen (allowed by
    http.allow_remote) without an access token would show every listing to the network."""
    address = config.http.listen_address
    if address is None or is_loopback(address[0]) or load_http_token(config, environ):
        return []
    return [
        f"http.listen: {config.http.listen} is reachable from the network but no access "
        f"token is set: set env {HTTP_TOKEN_ENV}, http.token_file or the systemd credential "
        f"{HTTP_TOKEN_CREDENTIAL}"
    ]
