"""Fixtures shared by the integration tests: an in-process sandbox, and a store, config and
client on it (``apply_env``).

A module sets its sandbox with module attributes: ``SANDBOX_OPTIONS`` (SandboxSettings
fields, e.g. ``{"image_delay_s": 0.02}``) and ``SANDBOX_PER_TEST = True`` for a fresh
sandbox per test where a test leaves state behind that the next must not see (faults,
everything reconcile compares). Otherwise the module's tests share one sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncd.runtime.scheduler import Scheduler
from syncd.sandbox.testing import SandboxHandle, serve_sandbox
from syncd.store.location import Database
from tests.integration.apply_env import Env, apply_env


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(getattr(request.module, "SANDBOX_OPTIONS", {}))


@pytest.fixture(scope="module")
def module_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """One sandbox for the tests of a module."""
    with serve_sandbox(**_options(request)) as handle:
        yield handle


@pytest.fixture(scope="module")
def module_sandbox_postgresql(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """The module's sandbox for its tests on PostgreSQL: the same test on the two engines
    uses the same listing keys, so each engine has a Hemnet of its own."""
    with serve_sandbox(**_options(request)) as handle:
        yield handle


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """The module's sandbox, or a fresh one for this test (``SANDBOX_PER_TEST``)."""
    if not getattr(request.module, "SANDBOX_PER_TEST", False):
        callspec = getattr(request.node, "callspec", None)
        engine = callspec.params.get("database") if callspec else None
        name = "module_sandbox_postgresql" if engine == "postgresql" else "module_sandbox"
        yield request.getfixturevalue(name)
        return
    with serve_sandbox(**_options(request)) as handle:
        yield handle


@pytest.fixture
def env(sandbox: SandboxHandle, tmp_path: Path, database: Database) -> Iterator[Env]:
    """A config on the sandbox, a migrated store (on SQLite and on PostgreSQL), a client and
    the applier's parts."""
    with apply_env(sandbox, tmp_path, database) as made:
        yield made


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    """A started store-worker scheduler, shut down (waiting for its jobs) after the test."""
    made = Scheduler()
    made.start()
    try:
        yield made
    finally:
        made.shutdown(wait=True)
