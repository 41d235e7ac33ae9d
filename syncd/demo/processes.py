"""The demo's child processes (the sandbox and the daemon): start, wait until ready, stop.

Each child runs this Python's ``syncd`` command line with its output in a log file; the
token reaches children through the environment only, never their command line.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from syncd.config import CONFIG_ENV, TOKEN_ENV

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 15.0
SANDBOX_TOKEN_ENV = "SANDBOX_TOKEN"  # noqa: S105 (a variable name, not a secret)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def syncd_argv(*args: str) -> list[str]:
    """``syncd ARGS`` run by this interpreter, so the demo works without the venv on PATH."""
    return [sys.executable, "-m", "syncd", *args]


def run_syncd(args: Sequence[str], env: Mapping[str, str], timeout_s: float = 60.0) -> str:
    """Run one short ``syncd`` command; its combined output, or RuntimeError when it fails."""
    done = subprocess.run(
        syncd_argv(*args),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise RuntimeError(f"'syncd {' '.join(args)}' exited {done.returncode}: {output}")
    return done.stdout


class Child:
    """One long-running ``syncd`` process whose output goes to ``log_path``."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], log_path: Path):
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self._process = subprocess.Popen(
            syncd_argv(*args),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl-C in the terminal reaches the demo, which then
            # stops its children in order instead of them dying half-way through a write.
            start_new_session=True,
        )
        log.info("demo: started %s (pid %d)", name, self._process.pid)

    @property
    def pid(self) -> int:
        return self._process.pid

    def exit_code(self) -> int | None:
        """None while it runs."""
        return self._process.poll()

    def wait_listening(self, host: str, port: int, timeout_s: float) -> None:
        """Wait until it accepts TCP connections on ``port``; RuntimeError if it died or hung."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {code} while starting; see {self.log_path}"
                )
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not listen on {host}:{port} within {timeout_s:g} s; "
            f"see {self.log_path}"
        )

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, wait, SIGKILL as a last resort; the exit code (None if it never ended)."""
        try:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    log.warning(
                        "demo: %s ignored SIGTERM for %g s; killing it", self.name, timeout_s
                    )
                    self._process.kill()
                    self._process.wait(timeout=5)
            return self._process.returncode
        finally:
            self._log.close()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of its log, for a failure message."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def child_environment(token: str, config_path: Path) -> dict[str, str]:
    """The environment for the children: this one plus the token and the config path."""
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    env[SANDBOX_TOKEN_ENV] = token  # the sandbox's --token, kept off its command line
    env[CONFIG_ENV] = str(config_path)
    env["PYTHONUNBUFFERED"] = "1"
    return env
