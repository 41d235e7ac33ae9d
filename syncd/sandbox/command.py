"""The ``sandbox`` click command: parse options into SandboxSettings and run uvicorn.

Prints (or writes, mode 0600) the bootstrap token; everything else is ``create_app``'s.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
import uvicorn

from syncd.runtime.listen import listening_socket
from syncd.sandbox.app import create_app
from syncd.sandbox.settings import DEFAULT_FAIL_PATTERNS, settings_of


def _write_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    path.chmod(0o600)  # also when the file existed with wider permissions


def _patterns(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values:
        pattern, sep, message = value.partition("=")
        if not sep or not pattern:
            raise click.BadParameter(f"{value!r}: expected PATTERN=MESSAGE")
        out.append((pattern, message or "The image could not be processed"))
    return tuple(out)


def _accounts(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values:
        name, sep, token = value.partition("=")
        if not sep or not name.strip() or not token.strip():
            raise click.BadParameter(f"{value!r}: expected NAME=TOKEN", param_hint="--account")
        out.append((name.strip(), token.strip()))
    return tuple(out)


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--public-url", help="Address used in approvalUrl/url (default http://HOST:PORT).")
@click.option("--token", envvar="SANDBOX_TOKEN", help="Fix the bootstrap token (tests, demos).")
@click.option("--token-file", type=click.Path(path_type=Path), help="Write the token here (0600).")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    help="A further account NAME=TOKEN with one key of that token (repeatable).",
)
@click.option("--key-lifetime", "key_lifetime_s", default=90 * 86400.0, show_default=True)
@click.option("--rate", "rate_per_s", default=0.0, show_default=True, help="Requests/s; 0 = off.")
@click.option("--burst", default=20, show_default=True)
@click.option("--image-delay", "image_delay_s", default=0.5, show_default=True)
@click.option(
    "--fetch-mode", type=click.Choice(["real", "simulate"]), default="simulate", show_default=True
)
@click.option(
    "--fail-pattern",
    "fail_patterns",
    multiple=True,
    help="Simulated failure GLOB=MESSAGE or re:REGEX=MESSAGE (repeatable; replaces defaults).",
)
@click.option("--min-image-px", default=200, show_default=True)
@click.option("--auto-approve-after", "auto_approve_after_s", type=float, default=None)
@click.option("--fault-500", default=0.0, show_default=True, help="Share of /v1 calls -> 500.")
@click.option("--fault-503", default=0.0, show_default=True)
@click.option("--fault-429", default=0.0, show_default=True)
@click.option("--fault-drop", default=0.0, show_default=True, help="Apply, then drop connection.")
@click.option("--latency-ms", default=0.0, show_default=True)
@click.option("--fault-seed", type=int, default=None)
@click.option("--admin-secret", envvar="SANDBOX_ADMIN_SECRET", default=None)
@click.option("--webhook-url", default=None)
@click.option(
    "--webhook-secret",
    "webhook_secrets",
    multiple=True,
    envvar="SANDBOX_WEBHOOK_SECRETS",
    help="Give twice (old, new) to sign with both during rotation.",
)
@click.option("--state-file", type=click.Path(path_type=Path), default=None)
@click.option("--log-level", default="info", show_default=True)
def sandbox(**options: object) -> None:
    """Run a local Hemnet sandbox (API under /v1, public site at /, admin at /_sandbox)."""
    patterns = options.pop("fail_patterns")
    assert isinstance(patterns, tuple)
    secrets = options.pop("webhook_secrets")
    assert isinstance(secrets, tuple)
    accounts = options.pop("accounts")
    assert isinstance(accounts, tuple)
    settings = settings_of(
        **options,
        fail_patterns=_patterns(patterns) if patterns else DEFAULT_FAIL_PATTERNS,
        webhook_secrets=secrets,
        accounts=_accounts(accounts),
    )
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    # Run as 'syncd sandbox', the CLI has configured logging already (and basicConfig then
    # does nothing): --log-level must still decide what the sandbox logs.
    logging.getLogger().setLevel(settings.log_level.upper())
    app = create_app(settings)
    token: str = app.state.sandbox.bootstrap_token
    if settings.token_file is not None:
        _write_token(settings.token_file, token)
        click.echo(f"sandbox: bootstrap token written to {settings.token_file}")
    elif settings.token is None:
        click.echo(f"sandbox: bootstrap token (shown once): {token}")
    click.echo(f"sandbox: API {settings.root_url}/v1, site {settings.root_url}/")
    server = uvicorn.Server(uvicorn.Config(app, log_level=settings.log_level))
    server.run(sockets=[listening_socket(settings.host, settings.port)])
