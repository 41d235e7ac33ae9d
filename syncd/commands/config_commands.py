"""``syncd config check``: validate a configuration and show what it resolves to."""

from __future__ import annotations

from pathlib import Path

import click

from syncd.commands.invocation import Invocation, pass_invocation
from syncd.core.errors import ConfigError, MappingError


@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@pass_invocation
def config_check(invocation: Invocation, file: Path | None) -> None:
    """Validate FILE (default: --config) and show resolved paths and mappings."""
    from syncd.config import (
        describe_store,
        find_token,
        http_access_problems,
        load_config,
        load_http_token,
        load_webhook_secrets,
    )
    from syncd.formats import load_mapping

    config = load_config(file) if file is not None else invocation.config
    paths = config.paths
    click.echo(f"config {config.source}: ok")
    click.echo("paths:")
    for name in ("inbox", "archive", "rejected", "state_dir", "database"):
        click.echo(f"  {name:<15}{getattr(paths, name)}")
    click.echo(f"  {'mappings_dir':<15}{paths.mappings_dir}")
    click.echo(f"  {'migrations_dir':<15}{paths.migrations_dir}")
    click.echo(f"store: {describe_store(config)}")
    click.echo("formats (first match wins):")
    missing: list[str] = []
    for index, rule in enumerate(config.formats):
        mode = f" [{rule.export_mode}]" if rule.export_mode else ""
        if not rule.mapping_path.is_file():
            state = "MISSING"
            missing.append(f"formats[{index}].mapping: no mapping file at {rule.mapping_path}")
        else:
            # Load it as ingest will, so a broken mapping is found now, not at the first file.
            try:
                load_mapping(rule.mapping_path)
                state = "ok"
            except MappingError as error:
                state = "INVALID"
                missing.append(f"formats[{index}].mapping: {error}")
        click.echo(f"  {rule.pattern:<15}-> {rule.mapping}{mode} ({rule.mapping_path}: {state})")
    if not config.formats:
        click.echo("  (none: every export file would be rejected)")
    found = find_token(config)
    click.echo(f"hemnet token: {found[1] if found else 'not set (needed by run and apply)'}")
    secrets = load_webhook_secrets(config)
    click.echo(f"webhook secrets: {len(secrets)} set")
    if config.http.listen:
        token = "set" if load_http_token(config) else "not set (pages open to whoever can connect)"
        click.echo(f"http access token: {token}")
    missing.extend(http_access_problems(config))
    if missing:
        raise ConfigError(missing, str(config.source))


COMMANDS: list[click.Command] = [config_group]
