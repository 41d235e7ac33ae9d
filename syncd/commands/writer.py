"""Who writes the state for a command: the command itself under the state lock, or the
running daemon, to which it hands its request and whose answer it prints.

A command never becomes a second writer beside a daemon; this module decides nothing else.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from syncd.commands.invocation import Invocation
from syncd.core.clock import utc_now
from syncd.store.lock import Holder, StateLock, named_daemon, refused, try_lock
from syncd.store.requests import APPLY, RECONCILE, SYNC, add_request, get_request

# How long a command waits for the daemon's answer: a retry or a release is done as soon as
# the job in progress ends; a pass or a full comparison takes as long as it takes.
ANSWER_WAIT_S = {APPLY: 300.0, RECONCILE: 600.0}
DEFAULT_ANSWER_WAIT_S = 60.0
_ANSWER_POLL_S = 0.1


@contextmanager
def state_writer(invocation: Invocation, command: str) -> Iterator[Holder | None]:
    """None while this command holds the state lock; the daemon holding it otherwise.

    Another command holding the lock (a long 'syncd apply') is refused, naming it: the
    operator waits for it rather than running two writers.
    """
    database = invocation.database
    found = try_lock(database, command)
    if isinstance(found, StateLock):
        with found:
            yield None
        return
    if not found.is_daemon:
        error = refused(found, database)
        error.remedy = "wait until it has finished, then run this command again"
        raise error
    yield found


def hand_over(invocation: Invocation, daemon: Holder, kind: str, argument: str | None) -> int:
    """Give the request to the running daemon, print its answer; the answer's exit code."""
    with invocation.store() as store:
        with store.transaction() as session:
            request_id = add_request(session, kind, argument, getpass.getuser(), utc_now())
        _wake(daemon)
        click.echo(f"handed to the running daemon {daemon.describe()} as request {request_id}")
        deadline = time.monotonic() + ANSWER_WAIT_S.get(kind, DEFAULT_ANSWER_WAIT_S)
        while time.monotonic() < deadline:
            with store.read() as session:
                row = get_request(session, request_id)
            if row is not None and row.done_at is not None:
                answer = row.answer or ""
                code = row.exit_code or 0
                for line in answer.splitlines():
                    click.echo(line, err=line.startswith(("error:", "remedy:")))
                return code
            if not _alive(daemon):
                click.echo(
                    f"the daemon {daemon.describe()} stopped before answering request "
                    f"{request_id}: it is carried out when syncd starts again",
                    err=True,
                )
                return 1
            time.sleep(_ANSWER_POLL_S)
    click.echo(
        f"the daemon has not answered request {request_id} yet: it carries it out after the "
        "job in progress (see its log, 'journalctl -u syncd')"
    )
    return 0


def ask_for_a_pass(invocation: Invocation) -> None:
    """A change made beside the running daemon ('syncd ingest'): its pass runs now, not at
    the next safety-net pass. Nothing to wait for, so no answer is awaited."""
    daemon = named_daemon(invocation.database)
    if daemon is None:
        return
    with invocation.store() as store, store.transaction() as session:
        add_request(session, SYNC, None, getpass.getuser(), utc_now())
    _wake(daemon)
    click.echo(f"the running daemon {daemon.describe()} sends the changes now", err=True)


def _alive(daemon: Holder) -> bool:
    if daemon.pid is None:
        return True
    try:
        os.kill(daemon.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return True


def _wake(daemon: Holder) -> None:
    if daemon.pid is None:
        return
    # Another user's process, or just gone: the daemon looks every second anyway.
    with contextlib.suppress(OSError):
        os.kill(daemon.pid, signal.SIGUSR1)
