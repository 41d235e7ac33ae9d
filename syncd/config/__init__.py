"""The configuration: TOML file -> frozen dataclasses, every problem reported at once.

Reads only the config file and, for secrets, the environment and credential files; never
holds a secret in the TOML-backed ``Config`` itself (tokens come from ``load_token``).

One job per module: ``model`` (the sections' dataclasses and defaults), ``section`` (reading
one TOML table), ``readers`` (one reader per section), ``load`` (the file, all sections,
one ConfigError), ``credentials`` (tokens and secrets). ``Config``, its loading and the
credentials are importable from here; the sections' dataclasses and the bundled
directories from ``syncd.config.model``, where they live.
"""

from syncd.config.credentials import (
    TOKEN_ENV,
    WEBHOOK_SECRETS_ENV,
    find_token,
    http_access_problems,
    load_http_token,
    load_token,
    load_webhook_secrets,
    renewed_token_path,
    store_renewed_token,
)
from syncd.config.load import CONFIG_ENV, DEFAULT_CONFIG_PATH, load_config, parse_config
from syncd.config.model import Config

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_PATH",
    "TOKEN_ENV",
    "WEBHOOK_SECRETS_ENV",
    "Config",
    "find_token",
    "http_access_problems",
    "load_config",
    "load_http_token",
    "load_token",
    "load_webhook_secrets",
    "parse_config",
    "renewed_token_path",
    "store_renewed_token",
]
