"""``syncd check FILE`` (what a mapping makes of an export, storing nothing) and
``syncd ingest FILE...`` (take export files by hand, as the daemon does from the inbox).

Parse options, call formats/ingest, print; no logic of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from syncd.commands.invocation import Invocation, pass_invocation
from syncd.commands.writer import ask_for_a_pass
from syncd.config import ImagesConfig
from syncd.core.clock import utc_now
from syncd.core.errors import ConfigError, ExportError
from syncd.formats import check_report, load_mapping
from syncd.formats.image_hosts import HostCheck
from syncd.usecases.ingest import IngestResult, ingest_file

EXIT_OK = 0
EXIT_SKIPPED = 1  # the file is usable but some records would be skipped
EXIT_UNUSABLE = ExportError.exit_code


@click.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--mapping",
    "mapping_name",
    metavar="NAME",
    help="A bundled mapping name (kyero, openimmo, ...) or a mapping file; "
    "default: the [[formats]] rule of the configuration that matches FILE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_invocation
def check(invocation: Invocation, file: Path, mapping_name: str | None, as_json: bool) -> int:
    """Show what a mapping makes of FILE: counts, field coverage, every problem.

    Stores nothing and moves nothing. Exit 0 when every record is usable, 1 when some
    would be skipped, 4 when the file would be rejected.
    """
    if mapping_name is None:
        rule = invocation.config.format_for(file.name)
        if rule is None:
            raise ConfigError(
                [f"no [[formats]] pattern matches {file.name}: pass --mapping NAME"],
                str(invocation.config.source),
            )
        mapping = load_mapping(rule.mapping_path)
    else:
        mapping = load_mapping(mapping_name)
    report = check_report(file, mapping, _host_check(invocation, mapping_name))
    click.echo(report.to_json() if as_json else report.to_text())
    if report.fatal is not None:
        return EXIT_UNUSABLE
    return EXIT_OK if report.ok else EXIT_SKIPPED


def _host_check(invocation: Invocation, mapping_name: str | None) -> HostCheck:
    """The configured image-host check; with --mapping, check needs no config file."""
    if mapping_name is not None and not invocation.config_path.exists():
        images = ImagesConfig()
    else:
        images = invocation.config.images
    return HostCheck(resolve=images.resolve_hosts, timeout_s=images.host_lookup_timeout_s)


@click.command("ingest")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
@pass_invocation
def ingest(invocation: Invocation, files: tuple[Path, ...], as_json: bool) -> int:
    """Take FILE... now, as if dropped in the inbox: stored, then moved to archive/ (or
    rejected/ with a .error.json). Exit 4 when any file was rejected.
    """
    config = invocation.config
    rejected = 0
    changed = False
    with invocation.store() as store:
        for file in files:
            result = ingest_file(store, config, file, utc_now())
            rejected += result.outcome == "rejected"
            changed = changed or result.outcome in ("accepted", "held")
            click.echo(_json(result) if as_json else _line(result))
    if changed:
        ask_for_a_pass(invocation)
    return EXIT_UNUSABLE if rejected else EXIT_OK


def _line(result: IngestResult) -> str:
    head = f"{result.export_file}: {result.summary}"
    if result.outcome in ("accepted", "held"):
        head += (
            f", {result.records} record(s), {result.accepted} accepted, "
            f"{result.skipped} skipped, {result.warnings} warning(s), "
            f"{len(result.changed_keys)} changed"
        )
    if result.reason:
        head += f" ({result.reason})"
    return f"{head} -> {result.moved_to}" if result.moved_to else head


def _json(result: IngestResult) -> str:
    data = {
        "export_file": result.export_file,
        "outcome": result.outcome,
        "summary": result.summary,
        "records": result.records,
        "accepted": result.accepted,
        "skipped": result.skipped,
        "warnings": result.warnings,
        "changed_keys": list(result.changed_keys),
        "moved_to": str(result.moved_to) if result.moved_to else None,
        "reason": result.reason,
    }
    return json.dumps(data, ensure_ascii=False)


COMMANDS: list[click.Command] = [check, ingest]
