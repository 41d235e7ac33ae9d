"""The built package holds every package of syncd/: an editable install would not notice
one missing from pyproject.toml's list, a wheel installed elsewhere would lack it."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_package_under_syncd_is_listed_in_pyproject() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "syncd").rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages"
