"""Where syncd finds its config file: the default path and the variable that names another.

Apart from ``syncd.config`` because the command line names both when it starts, and
importing the config package means importing the config model and the domain under it:
that doubled the time of ``syncd --version`` (docs/benchmarks.md, benchmark 6).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG_PATH = Path("/etc/syncd/config.toml")
CONFIG_ENV = "SYNCD_CONFIG"
