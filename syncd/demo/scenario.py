"""The demo's story: sandbox and daemon up, exports in, every listing followed to its stage.

Drives real processes and only reads: the state database (read transactions) and Hemnet
(GET). It never writes state or calls Hemnet's write endpoints itself; the daemon does.
"""

from __future__ import annotations

import functools
import logging
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from syncd.config import load_config, store_database
from syncd.core.clock import utc_now
from syncd.core.errors import SyncdError
from syncd.core.stages import Stage
from syncd.demo import processes
from syncd.demo.table import render_table, stage_counts
from syncd.demo.workspace import INITIAL_EXPORTS, UPDATE_EXPORTS, Workspace, drop_export, prepare
from syncd.hemnet.client import HemnetClient
from syncd.hemnet.payload import listing_fields_from
from syncd.status import StatusRow, read_status_rows
from syncd.store.engine import Store, open_store

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
DEFAULT_TIMEOUT_S = 180.0  # also the default of 'syncd demo --timeout'
# The sandbox approves a published listing after this many seconds (a broker's click).
AUTO_APPROVE_AFTER_S = 3
IMAGE_DELAY_S = 0.5
NOTES_SHOWN = 3  # lines of the story kept above the live table

_NORDHEM = [f"NH-{n}" for n in range(1001, 1015)]
_VASTKUST = [f"VK-{n}" for n in range(2001, 2007)]
DEMO_KEYS: tuple[str, ...] = (*_NORDHEM, *_VASTKUST)

SOLD_KEY = "NH-1003"  # sold in the update, the price kept private
WITHDRAWN_KEY = "NH-1008"  # withdrawn in the update
REPRICED_KEY = "VK-2004"  # new asking price in the incremental XML update
REPRICED_PRICE = 3_495_000

EXPECTED_FIRST: Mapping[str, Stage] = dict.fromkeys(DEMO_KEYS, Stage.VISIBLE)
EXPECTED_FINAL: Mapping[str, Stage] = {
    **EXPECTED_FIRST,
    SOLD_KEY: Stage.SOLD,
    WITHDRAWN_KEY: Stage.WITHDRAWN,
}


class DemoFailed(Exception):
    """The demo did not converge; the message says what is missing and where to look."""


class _Stopped(Exception):
    """SIGTERM or Ctrl-C: stop the children and leave."""


@dataclass(frozen=True)
class DemoOptions:
    timeout_s: float = DEFAULT_TIMEOUT_S
    keep: bool = False
    workdir: Path | None = None  # default: a new temporary directory
    refresh_s: float = 1.0
    live: bool | None = None  # redraw the table in place; default: when out is a terminal


@dataclass
class _Running:
    workspace: Workspace
    sandbox: processes.Child
    daemon: processes.Child
    store: Store
    hemnet: HemnetClient
    site_url: str
    status_url: str
    rejected_dir: Path


def mismatches(rows: Sequence[StatusRow], expected: Mapping[str, Stage]) -> list[str]:
    """Every listing not (yet) in its expected stage, as 'KEY: stage (want X)'."""
    by_key = {row.listing_key: row for row in rows}
    out = []
    for key in sorted(expected):
        row = by_key.get(key)
        if row is None:
            out.append(f"{key}: not taken in yet (want {expected[key].value})")
        elif row.stage is not expected[key]:
            detail = f"; {row.last_error}" if row.last_error else ""
            out.append(f"{key}: {row.stage.value} (want {expected[key].value}){detail}")
    return out


def hemnet_mismatches(hemnet: HemnetClient, final: bool) -> list[str]:
    """What Hemnet itself does not show yet, read back through the API."""
    remote = {r.external_id: r for r in hemnet.list_listings() if r.external_id}
    out = []
    for key in DEMO_KEYS:
        listing = remote.get(key)
        if listing is None:
            out.append(f"{key}: not on Hemnet")
            continue
        if final and key == SOLD_KEY:
            if listing.sale is None:
                out.append(f"{key}: no sale on Hemnet")
            elif listing.sale.is_price_public:
                out.append(f"{key}: the sale price is public on Hemnet, the CRM said private")
            continue
        if final and key == WITHDRAWN_KEY:
            if listing.is_published:
                out.append(f"{key}: still published on Hemnet")
            continue
        if not listing.is_visible:
            out.append(f"{key}: not visible on Hemnet")
        if final and key == REPRICED_KEY:
            price = listing_fields_from(listing.raw).get("asking_price")
            if price != REPRICED_PRICE:
                out.append(f"{key}: asking price on Hemnet is {price}, want {REPRICED_PRICE}")
    return out


def _rejected(folder: Path) -> list[str]:
    """Export files syncd refused (each has a .error.json beside it saying why)."""
    return sorted(p.name for p in folder.glob("*.error.json")) if folder.is_dir() else []


class _Screen:
    """Shows the table: redrawn in place on a terminal, a line per change otherwise."""

    def __init__(self, out: TextIO, live: bool, header: Sequence[str]) -> None:
        self.out = out
        self.live = live
        self.header = list(header)
        self.notes: list[str] = []  # what was said, kept above the table when redrawing
        self._last = ""

    def show(self, phase: str, rows: Sequence[StatusRow], expected: Mapping[str, Stage]) -> None:
        summary = f"{phase}: {stage_counts(rows)}"
        if self.live:
            # Clear the screen and home the cursor: a refreshed table, not a scrolling log.
            notes = self.notes[-NOTES_SHOWN:]
            lines = [*self.header, *notes, "", summary, "", *render_table(rows, expected)]
            self.out.write("\x1b[2J\x1b[H" + "\n".join(lines) + "\n")
            self.out.flush()
        elif summary != self._last:
            self.out.write(summary + "\n")
            self.out.flush()
        self._last = summary

    def say(self, text: str, *, note: bool = True) -> None:
        if note:
            self.notes.append(text)
        self.out.write(text + "\n")
        self.out.flush()


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM (and Ctrl-C) into _Stopped so the children are stopped in order."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        # Only the first signal unwinds; a second must not cut the children's stop short.
        if not received:
            received.append(signum)
            raise _Stopped(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _start(workspace: Workspace) -> _Running:
    sandbox_port = processes.free_port(HOST)
    http_port = processes.free_port(HOST)
    root_url = f"http://{HOST}:{sandbox_port}"
    prepare(workspace, root_url, f"{HOST}:{http_port}")
    token = secrets.token_urlsafe(24)
    env = processes.child_environment(token, workspace.config_path)
    processes.run_syncd(["--config", str(workspace.config_path), "db", "upgrade"], env)
    sandbox = processes.Child(
        "sandbox",
        [
            "sandbox",
            "--host",
            HOST,
            "--port",
            str(sandbox_port),
            "--auto-approve-after",
            str(AUTO_APPROVE_AFTER_S),
            "--image-delay",
            str(IMAGE_DELAY_S),
            "--fetch-mode",
            "real",
            "--log-level",
            "warning",
        ],
        env,
        workspace.logs_dir / "sandbox.log",
    )
    daemon: processes.Child | None = None
    try:
        sandbox.wait_listening(HOST, sandbox_port, START_TIMEOUT_S)
        daemon = processes.Child(
            "daemon",
            ["--config", str(workspace.config_path), "-v", "run"],
            env,
            workspace.logs_dir / "daemon.log",
        )
        daemon.wait_listening(HOST, http_port, START_TIMEOUT_S)
        config = load_config(workspace.config_path)
        store = open_store(store_database(config), config.paths.migrations_dir)
    except BaseException:
        for child in (daemon, sandbox):
            if child is not None:
                child.stop()
        raise
    hemnet = HemnetClient(
        config.hemnet.base_url,
        lambda: token,
        timeout_s=config.hemnet.read_timeout_s,
        connect_timeout_s=config.hemnet.connect_timeout_s,
        user_agent="syncd-demo",
    )
    return _Running(
        workspace=workspace,
        sandbox=sandbox,
        daemon=daemon,
        store=store,
        hemnet=hemnet,
        site_url=f"{root_url}/",
        status_url=f"http://{HOST}:{http_port}/",
        rejected_dir=config.paths.rejected,
    )


def _stop(running: _Running) -> None:
    running.hemnet.close()
    running.store.close()
    # The daemon first: it finishes or records its call in flight while Hemnet still answers.
    for child in (running.daemon, running.sandbox):
        code = child.stop()
        log.info("demo: %s stopped (exit code %s)", child.name, code)


def _wait_for(
    running: _Running,
    screen: _Screen,
    *,
    phase: str,
    expected: Mapping[str, Stage],
    hemnet_check: Callable[[], list[str]],
    deadline: float,
    refresh_s: float,
) -> list[StatusRow]:
    """Refresh the table until the state and Hemnet agree with ``expected``; DemoFailed if not."""
    last: list[str] = []
    rows: list[StatusRow] = []
    while True:
        for child in (running.daemon, running.sandbox):
            code = child.exit_code()
            if code is not None:
                raise DemoFailed(
                    f"{child.name} exited with code {code} during '{phase}'; "
                    f"last lines of {child.log_path}:\n{child.log_tail()}"
                )
        rejected = _rejected(running.rejected_dir)
        if rejected:
            raise DemoFailed(
                f"syncd rejected a demo export ({', '.join(rejected)} in {running.rejected_dir})"
            )
        rows = read_status_rows(running.store, utc_now())
        screen.show(phase, rows, expected)
        last = mismatches(rows, expected)
        if not last:
            try:
                last = hemnet_check()
            except SyncdError as exc:
                last = [f"reading Hemnet back failed: {exc}"]
            if not last:
                return rows
        if time.monotonic() >= deadline:
            shown = "\n  ".join(last[:25])
            raise DemoFailed(
                f"'{phase}' did not converge before the timeout; still waiting for:\n  {shown}\n"
                f"daemon log: {running.daemon.log_path}"
            )
        time.sleep(refresh_s)


def _make_workspace(options: DemoOptions) -> Workspace:
    if options.workdir is None:
        return Workspace(Path(tempfile.mkdtemp(prefix="syncd-demo-")))
    root = options.workdir.resolve()
    if root.exists() and any(root.iterdir()):
        raise DemoFailed(f"--workdir {root} is not empty; give a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    return Workspace(root)


def _header(running: _Running) -> list[str]:
    config = running.workspace.config_path
    return [
        f"syncd demo — workspace {running.workspace.root}",
        f"  Hemnet sandbox, public site: {running.site_url}",
        f"  syncd status page:           {running.status_url}",
        f"  inspect:                     syncd --config {config} status",
    ]


def _wait_for_signal(screen: _Screen, running: _Running) -> None:
    screen.say(
        f"--keep: the sandbox (pid {running.sandbox.pid}) and the daemon "
        f"(pid {running.daemon.pid}) keep running; press Ctrl-C to stop them"
    )
    try:
        while running.daemon.exit_code() is None and running.sandbox.exit_code() is None:
            time.sleep(0.5)
    except _Stopped as stop:
        screen.say(f"syncd demo: stopped by {stop}")


def run_demo(options: DemoOptions, out: TextIO) -> int:
    """Run the whole story; 0 when every listing reached its expected stage, 1 otherwise."""
    started = time.monotonic()
    deadline = started + options.timeout_s
    try:
        workspace = _make_workspace(options)
    except DemoFailed as exc:
        out.write(f"syncd demo FAILED: {exc}\n")
        return 1
    live = out.isatty() if options.live is None else options.live
    screen = _Screen(out, live, [f"syncd demo — workspace {workspace.root}"])
    ok = False
    with _stop_on_signals():
        running: _Running | None = None
        try:
            screen.say(
                f"syncd demo: starting the Hemnet sandbox and syncd in {workspace.root}", note=False
            )
            running = _start(workspace)
            screen.header = _header(running)
            for line in screen.header:
                screen.say(line, note=False)
            today = utc_now().astimezone().date()
            for name in INITIAL_EXPORTS:
                drop_export(workspace, name, today)
            screen.say(f"dropped {', '.join(INITIAL_EXPORTS)} into the inbox")
            hemnet = running.hemnet
            # Both phases wait on the same run, under the one deadline.
            wait_for = functools.partial(
                _wait_for, running, screen, deadline=deadline, refresh_s=options.refresh_s
            )
            wait_for(
                phase="first exports",
                expected=EXPECTED_FIRST,
                hemnet_check=lambda: hemnet_mismatches(hemnet, final=False),
            )
            screen.say(
                f"every listing is visible after {time.monotonic() - started:.0f} s; "
                f"dropping the update {', '.join(UPDATE_EXPORTS)}"
            )
            for name in UPDATE_EXPORTS:
                drop_export(workspace, name, today)
            rows = wait_for(
                phase="update",
                expected=EXPECTED_FINAL,
                hemnet_check=lambda: hemnet_mismatches(hemnet, final=True),
            )
            for line in [*_header(running), "", *render_table(rows, EXPECTED_FINAL)]:
                screen.say(line, note=False)
            screen.say(
                f"\nsyncd demo: all {len(EXPECTED_FINAL)} listings reached their expected "
                f"stage in {time.monotonic() - started:.0f} s ({stage_counts(rows)}); "
                f"{REPRICED_KEY} has its new price, {SOLD_KEY} is sold with the price private, "
                f"{WITHDRAWN_KEY} is off Hemnet"
            )
            ok = True
            if options.keep:
                _wait_for_signal(screen, running)
        except _Stopped as stop:
            screen.say(f"syncd demo: stopped by {stop}")
        except (DemoFailed, RuntimeError, SyncdError) as exc:
            screen.say(f"syncd demo FAILED: {exc}")
            if options.keep and running is not None:
                _wait_for_signal(screen, running)
        finally:
            if running is not None:
                _stop(running)
    if ok and not options.keep and options.workdir is None:
        shutil.rmtree(workspace.root, ignore_errors=True)
    else:
        screen.say(f"syncd demo: the workspace is kept at {workspace.root}")
    return 0 if ok else 1
