"""The configuration: TOML file -> frozen dataclasses, every problem reported at once.

Reads only the config file and, for secrets, the environment and credential files; never
holds a secret in the TOML-backed ``Config`` itself (tokens come from ``load_token``).

One job per module: ``model`` (the sections' dataclasses and defaults), ``section`` (reading
one TOML table), ``readers`` (one reader per section), ``load`` (the file, all sections,
one ConfigError), ``credentials`` (tokens and secrets), ``store_url`` (the state store's
URL and its password). Everything is importable from here.
"""

from syncd.config.credentials import (
    CREDENTIALS_ENV,
    HTTP_TOKEN_CREDENTIAL,
    HTTP_TOKEN_ENV,
    RENEWED_TOKEN_NAME,
    TOKEN_CREDENTIAL,
    TOKEN_ENV,
    WEBHOOK_SECRETS_CREDENTIAL,
    WEBHOOK_SECRETS_ENV,
    find_token,
    http_access_problems,
    load_http_token,
    load_token,
    load_webhook_secrets,
    renewed_token_path,
    store_renewed_token,
)
from syncd.config.load import load_config, parse_config
from syncd.config.model import (
    DEFAULT_IGNORE,
    EXPORT_MODES,
    AgencyConfig,
    AlertsConfig,
    Config,
    ExportMode,
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
from syncd.config.store_url import (
    STORE_PASSWORD_CREDENTIAL,
    STORE_PASSWORD_ENV,
    STORE_URL_ENV,
    describe_store,
    store_database,
)
from syncd.config_location import CONFIG_ENV, DEFAULT_CONFIG_PATH
from syncd.core.policy import FAILED_IMAGE_POLICIES, FailedImagePolicy, PlanPolicy

__all__ = [
    "CONFIG_ENV",
    "CREDENTIALS_ENV",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_IGNORE",
    "EXPORT_MODES",
    "FAILED_IMAGE_POLICIES",
    "HTTP_TOKEN_CREDENTIAL",
    "HTTP_TOKEN_ENV",
    "RENEWED_TOKEN_NAME",
    "STORE_PASSWORD_CREDENTIAL",
    "STORE_PASSWORD_ENV",
    "STORE_URL_ENV",
    "TOKEN_CREDENTIAL",
    "TOKEN_ENV",
    "WEBHOOK_SECRETS_CREDENTIAL",
    "WEBHOOK_SECRETS_ENV",
    "AgencyConfig",
    "AlertsConfig",
    "Config",
    "ExportMode",
    "FailedImagePolicy",
    "FormatRule",
    "HemnetConfig",
    "HttpConfig",
    "ImagesConfig",
    "PathsConfig",
    "PlanPolicy",
    "StoreConfig",
    "SyncConfig",
    "WatchConfig",
    "bundled_mappings_dir",
    "bundled_migrations_dir",
    "describe_store",
    "find_token",
    "http_access_problems",
    "is_loopback",
    "load_config",
    "load_http_token",
    "load_token",
    "load_webhook_secrets",
    "parse_config",
    "renewed_token_path",
    "store_database",
    "store_renewed_token",
]
