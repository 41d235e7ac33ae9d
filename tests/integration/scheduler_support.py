"""What the scheduler tests share beside the ``scheduler`` fixture (in conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from syncd.runtime.scheduler import Scheduler
from syncd.runtime.store_queue import Turn


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll a worker thread's effect until it shows, failing after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def hold_worker(
    scheduler: Scheduler,
    name: str = "holding",
    *,
    turn: Turn = Turn.NORMAL,
    then: Callable[[], object] | None = None,
) -> tuple[threading.Event, Future[None]]:
    """The store worker held by a job named ``name`` until the returned event is set (then
    the job calls ``then``); the job's future beside it."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(10)
        if then is not None:
            then()

    done = scheduler.submit(name, hold, turn=turn)
    assert started.wait(5)
    return release, done
