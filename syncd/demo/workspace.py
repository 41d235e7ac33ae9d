"""The demo's working folder: its config, its mappings and the CRM exports it drops.

Writes files only under the folder it is given; never starts processes or reads state.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from syncd.config import bundled_mappings_dir

log = logging.getLogger(__name__)

# The exports of the story, in the order they are dropped: first the initial exports of
# both agencies, then the update (see docs/demo.md).
INITIAL_EXPORTS = ("nordhem-1.csv", "vastkust-1.xml")
UPDATE_EXPORTS = ("nordhem-2.csv", "vastkust-2.xml")

# The exports are written by a CRM on the day of the demo; the sale's contract date is it.
TODAY_MARK = "@TODAY@"

# Agency of the CSV export, named in [agency]; the XML's agency is named by the export
# (OpenImmo's <firma>, mapped to agency.name).
CSV_AGENCY_KEY = "nordhem"
CSV_AGENCY_NAME = "Nordhem Mäkleri AB"
CSV_AGENCY_ORG_NUMBER = "559123-4567"


@dataclass(frozen=True)
class Workspace:
    """Where one demo run keeps everything; all paths are inside ``root``."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def database(self) -> Path:
        return self.state_dir / "syncd.db"

    @property
    def mappings_dir(self) -> Path:
        return self.root / "mappings"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"


def demo_data_dir() -> Path:
    """The bundled demo exports (package data of ``syncd.demo``)."""
    return Path(str(importlib.resources.files("syncd.demo") / "data"))


def _mapping_with_base_url(bundled_name: str, base_url: str) -> str:
    """A bundled mapping whose relative image names resolve against ``base_url``.

    The sandbox's port is chosen at run time, so the base URL cannot live in the exports.
    """
    text = (bundled_mappings_dir() / f"{bundled_name}.toml").read_text(encoding="utf-8")
    head = "[mapping]\n"
    if head not in text:
        raise ValueError(f"bundled mapping {bundled_name} has no [mapping] table")
    line = f'base_url = "{base_url}"  # written by syncd demo\n'
    return text.replace(head, head + line, 1)


def _config_text(workspace: Workspace, api_url: str, http_listen: str) -> str:
    csv_mapping = workspace.mappings_dir / "demo-generic-csv.toml"
    xml_mapping = workspace.mappings_dir / "demo-openimmo.toml"
    # Short intervals: the demo should converge in seconds, not the production minutes.
    return f"""\
# Written by 'syncd demo'. Relative paths are resolved against this folder.
[paths]
inbox = "inbox"
state_dir = "state"

[hemnet]
base_url = "{api_url}"
requests_per_second = 50
burst = 50

[agency]
key = "{CSV_AGENCY_KEY}"
name = "{CSV_AGENCY_NAME}"
organisation_number = "{CSV_AGENCY_ORG_NUMBER}"

[sync]
poll_interval_fast_s = 0.5
poll_interval_slow_s = 1
reconcile_interval_s = 3600

[watch]
settle_s = 0.2
rescan_interval_s = 1

# Ask every new image URL before the create: a 404 shows at ingest, not only on Hemnet.
[images]
probe_new = true

# Each agency has its own export: the CSV is a full export of 'nordhem', the OpenImmo
# file says in <uebertragung umfang> whether it is full (VOLL) or incremental (TEIL).
[[formats]]
pattern = "nordhem-*.csv"
mapping = "{csv_mapping.as_posix()}"

[[formats]]
pattern = "vastkust-*.xml"
mapping = "{xml_mapping.as_posix()}"

[http]
listen = "{http_listen}"
"""


def prepare(workspace: Workspace, sandbox_root_url: str, http_listen: str) -> None:
    """Create the folders, the demo mappings and config.toml for this sandbox address."""
    for folder in (workspace.inbox, workspace.state_dir, workspace.mappings_dir):
        folder.mkdir(parents=True, exist_ok=True)
    workspace.logs_dir.mkdir(parents=True, exist_ok=True)
    images_url = f"{sandbox_root_url}/static/demo/"
    for bundled, own in (("generic-csv", "demo-generic-csv"), ("openimmo", "demo-openimmo")):
        text = _mapping_with_base_url(bundled, images_url)
        (workspace.mappings_dir / f"{own}.toml").write_text(text, encoding="utf-8")
    text = _config_text(workspace, f"{sandbox_root_url}/v1", http_listen)
    workspace.config_path.write_text(text, encoding="utf-8")


def drop_export(workspace: Workspace, name: str, today: date) -> Path:
    """Put one bundled export into the inbox the way a careful CRM does: .part, then rename.

    The rename makes the file appear complete in one step, so the watcher never takes a
    half-written export.
    """
    text = (demo_data_dir() / name).read_text(encoding="utf-8")
    text = text.replace(TODAY_MARK, today.isoformat())
    final = workspace.inbox / name
    partial = final.with_name(final.name + ".part")
    with partial.open("w", encoding="utf-8", newline="") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    partial.rename(final)
    log.info("demo: dropped %s into the inbox", name)
    return final
