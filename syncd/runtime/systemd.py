"""Tell systemd how the daemon is doing (sd_notify), without libsystemd.

Only sends datagrams to ``$NOTIFY_SOCKET``; a no-op when it is unset. It must never raise
into the daemon: a lost notification is logged, not fatal.
"""

from __future__ import annotations

import logging
import os
import socket
import time

logger = logging.getLogger(__name__)


def _address(raw: str) -> str | None:
    # "@name" is Linux's abstract namespace, written with a leading NUL on the wire.
    if raw.startswith("@"):
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    # vsock: and other transports are for VMs; syncd runs under a local systemd.
    return None


def notify(*assignments: str) -> bool:
    """Send ``KEY=VALUE`` lines as one message; True when systemd was told."""
    raw = os.environ.get("NOTIFY_SOCKET")
    if not raw:
        return False
    address = _address(raw)
    if address is None:
        logger.warning("NOTIFY_SOCKET %r is not a unix socket; not notifying systemd", raw)
        return False
    message = "\n".join(assignments).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message)
    except OSError as exc:
        logger.warning("could not notify systemd (%s): %s", assignments[0], exc)
        return False
    return True


def _one_line(text: str) -> str:
    # A newline would start a new assignment and let the text inject e.g. READY=1.
    return " ".join(text.splitlines())


def ready(status: str | None = None) -> bool:
    """Start-up (or a reload) is finished; for Type=notify this ends ``systemctl start``."""
    lines = ["READY=1"]
    if status is not None:
        lines.append("STATUS=" + _one_line(status))
    return notify(*lines)


def status(text: str) -> bool:
    """One line shown by ``systemctl status syncd``."""
    return notify("STATUS=" + _one_line(text))


def watchdog_ping() -> bool:
    """Keep-alive; must be sent at least every ``watchdog_interval_s()`` seconds."""
    return notify("WATCHDOG=1")


def stopping() -> bool:
    """Shutdown has begun."""
    return notify("STOPPING=1")


def reloading() -> bool:
    """A reload (SIGHUP) has begun; call ``ready()`` when it is done.

    systemd >= 253 needs MONOTONIC_USEC to tell this reload from an earlier one.
    """
    now_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={now_us}")


def watchdog_interval_s() -> float | None:
    """The watchdog timeout systemd set for this process, or None when there is none.

    Ping at half of it (sd_watchdog_enabled(3)): one missed beat must not kill us.
    """
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        # The variables are inherited by children; only the process named is watched.
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        value = int(usec)
    except ValueError:
        logger.warning("WATCHDOG_USEC=%r is not a number; watchdog not used", usec)
        return None
    if value <= 0:
        return None
    return value / 1_000_000
