"""Loading: the config file's path, its TOML parsed, every section read, one ConfigError.

Reads the config file only; ``tomllib`` is imported when a file is read, not at import.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syncd.config.model import Config
from syncd.config.readers import (
    read_agencies,
    read_agency,
    read_alerts,
    read_fleet,
    read_formats,
    read_hemnet,
    read_http,
    read_images,
    read_paths,
    read_store,
    read_sync,
    read_watch,
)
from syncd.config.section import Section
from syncd.core.errors import ConfigError

# The name it had before config became a package: log lines show it.
log = logging.getLogger("syncd.config")


_SECTIONS = (
    "paths",
    "store",
    "hemnet",
    "agency",
    "agencies",
    "sync",
    "watch",
    "formats",
    "http",
    "alerts",
    "images",
    "fleet",
)


def parse_config(data: Mapping[str, Any], base_dir: Path, source: Path | None = None) -> Config:
    """Build a Config from already-parsed TOML; relative paths resolve against base_dir."""
    problems: list[str] = []
    base_dir = base_dir.resolve()

    def section(name: str) -> Section:
        return Section(data.get(name), name, problems, base_dir)

    for name in data:
        if name not in _SECTIONS:
            hint = difflib.get_close_matches(name, _SECTIONS, n=1)
            suggestion = f" (did you mean [{hint[0]}]?)" if hint else ""
            problems.append(
                f"{name}: unknown section{suggestion}; known sections: {', '.join(_SECTIONS)}"
            )
    paths = read_paths(section("paths"))
    store, paths = read_store(section("store"), paths)
    hemnet = read_hemnet(section("hemnet"))
    agency = read_agency(section("agency"))
    agencies = read_agencies(data.get("agencies"), problems, base_dir)
    sync = read_sync(section("sync"))
    watch = read_watch(section("watch"))
    formats = read_formats(
        data.get("formats"), problems, base_dir, paths.mappings_dir if paths else None
    )
    http = read_http(section("http"))
    alerts = read_alerts(section("alerts"))
    images = read_images(section("images"))
    fleet = read_fleet(section("fleet"))
    if problems or paths is None:
        raise ConfigError(problems, str(source) if source else None)
    return Config(
        source=source,
        paths=paths,
        hemnet=hemnet,
        store=store,
        agency=agency,
        agencies=agencies,
        sync=sync,
        watch=watch,
        formats=formats,
        http=http,
        alerts=alerts,
        images=images,
        fleet=fleet,
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
