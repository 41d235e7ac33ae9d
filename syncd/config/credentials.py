"""Secrets: the Hemnet API token, the webhook secrets and the status page's access token.

Read from the environment, credential files and state_dir only; a secret never enters
the TOML-backed ``Config``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from syncd.config.model import Config, is_loopback
from syncd.core.errors import ConfigError

TOKEN_ENV = "SYNCD_HEMNET_TOKEN"  # noqa: S105 (a variable name, not a secret)
WEBHOOK_SECRETS_ENV = "SYNCD_WEBHOOK_SECRETS"
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=
TOKEN_CREDENTIAL = "hemnet-token"  # noqa: S105 (a file name)
WEBHOOK_SECRETS_CREDENTIAL = "webhook-secrets"
HTTP_TOKEN_ENV = "SYNCD_HTTP_TOKEN"  # noqa: S105 (a variable name, not a secret)
HTTP_TOKEN_CREDENTIAL = "http-token"  # noqa: S105 (a file name)
# in state_dir; written when syncd renews its key
RENEWED_TOKEN_NAME = "hemnet-token"  # noqa: S105 (a file name)

# Keys that would put a secret into the TOML file: each names where the secret belongs.
SECRET_KEYS = {
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
