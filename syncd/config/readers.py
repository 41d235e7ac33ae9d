"""One reader per section: a TOML table -> its dataclass, problems collected, not raised.

Reads no file and no secret (a secret in the TOML file is reported as a problem).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

from syncd.config.credentials import HTTP_TOKEN_CREDENTIAL, HTTP_TOKEN_ENV
from syncd.config.model import (
    EXPORT_MODES,
    AgencyConfig,
    AlertsConfig,
    FleetConfig,
    FormatRule,
    HemnetConfig,
    HttpConfig,
    ImagesConfig,
    PathsConfig,
    StoreConfig,
    SyncConfig,
    WatchConfig,
    bundled_mappings_dir,
    bundled_migrations_dir,
    is_loopback,
)
from syncd.config.section import Section, type_name
from syncd.config.store_url import POSTGRES_SCHEME, SQLITE_SCHEME, password_problem
from syncd.core.policy import FAILED_IMAGE_POLICIES, PlanPolicy


def read_paths(s: Section) -> PathsConfig | None:
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


def read_store(s: Section, paths: PathsConfig | None) -> tuple[StoreConfig, PathsConfig | None]:
    """[store] url; a SQLite URL names the database file, as paths.database does."""
    url = s.string("url", None)
    s.finish()
    if not isinstance(url, str) or not url.strip():
        return StoreConfig(), paths
    url = url.strip()
    if url.startswith(SQLITE_SCHEME):
        database = s.resolve(url.removeprefix(SQLITE_SCHEME))
        return StoreConfig(), dataclasses.replace(paths, database=database) if paths else None
    if not url.startswith(POSTGRES_SCHEME):
        s.problem(
            "url",
            f"must start with {SQLITE_SCHEME} (a SQLite file) or {POSTGRES_SCHEME} "
            f"(PostgreSQL through psycopg 3), got {urlsplit(url).scheme or url!r}",
        )
        return StoreConfig(), paths
    problem = password_problem(url)
    if problem:
        s.problem("url", problem)
        return StoreConfig(), paths
    return StoreConfig(url=url), paths


def read_hemnet(s: Section) -> HemnetConfig:
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


def read_agency(s: Section) -> AgencyConfig | None:
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


def read_agencies(data: object, problems: list[str], base_dir: Path) -> dict[str, AgencyConfig]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"agencies: must be a table of [agencies.KEY] tables, got {type_name(data)}"
        )
        return {}
    out: dict[str, AgencyConfig] = {}
    for key, table in data.items():
        s = Section(table, f"agencies.{key}", problems, base_dir)
        name = s.string("name")
        org = s.string("organisation_number", None)
        s.finish()
        if isinstance(name, str) and name.strip():
            out[key] = AgencyConfig(key=key, name=name.strip(), organisation_number=org)
        elif isinstance(name, str):
            problems.append(f"agencies.{key}.name: must not be empty")
    return out


def read_sync(s: Section) -> SyncConfig:
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


def read_watch(s: Section) -> WatchConfig:
    d = WatchConfig()
    out = WatchConfig(
        settle_s=s.number("settle_s", d.settle_s, minimum=0),
        rescan_interval_s=s.number("rescan_interval_s", d.rescan_interval_s, positive=True),
        done_marker=s.boolean("done_marker", d.done_marker),
        ignore=s.strings("ignore", d.ignore),
    )
    s.finish()
    return out


def _mapping_path(mapping: str, mappings_dir: Path | None, s: Section) -> Path:
    # A bare name ("generic-csv") is a bundled or mappings_dir file; anything that looks
    # like a path is taken as one, relative to the config file.
    if "/" in mapping or "\\" in mapping or mapping.endswith(".toml"):
        return s.resolve(mapping)
    base = mappings_dir if mappings_dir is not None else bundled_mappings_dir()
    return base / f"{mapping}.toml"


def read_formats(
    data: object, problems: list[str], base_dir: Path, mappings_dir: Path | None
) -> tuple[FormatRule, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        problems.append(f"formats: must be an array of tables ([[formats]]), got {type_name(data)}")
        return ()
    rules: list[FormatRule] = []
    for index, entry in enumerate(data):
        s = Section(entry, "formats", problems, base_dir, display=f"formats[{index}]")
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


def read_http(s: Section) -> HttpConfig:
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


def read_images(s: Section) -> ImagesConfig:
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


def read_alerts(s: Section) -> AlertsConfig:
    d = AlertsConfig()
    out = AlertsConfig(
        approval_wait_s=s.number("approval_wait_s", d.approval_wait_s, positive=True),
        no_export_s=s.number("no_export_s", d.no_export_s, positive=True),
        key_expiry_warn_days=s.integer("key_expiry_warn_days", d.key_expiry_warn_days, 0),
    )
    s.finish()
    return out


def read_fleet(s: Section) -> FleetConfig:
    d = FleetConfig()
    out = FleetConfig(
        lease_ttl_s=s.number("lease_ttl_s", d.lease_ttl_s, positive=True),
        lease_renew_s=s.number("lease_renew_s", d.lease_renew_s, positive=True),
        lease_margin_s=s.number("lease_margin_s", d.lease_margin_s, positive=True),
    )
    if out.lease_ttl_s - out.lease_margin_s <= out.lease_renew_s:
        # The holder must renew at least once while it may still act on its lease.
        s.problem(
            "lease_ttl_s",
            f"must be longer than lease_margin_s + lease_renew_s "
            f"({out.lease_margin_s:g} + {out.lease_renew_s:g})",
        )
    s.finish()
    return out
