"""Image hosts Hemnet cannot fetch from: loopback, private or link-local addresses, names that
do not resolve. Hemnet downloads every image from its own servers, so such an image never
arrives and the listing never publishes.

Warnings only, never a skipped record. Each distinct host is looked up once per process
(cached), all of a file's new hosts at once and within a time bound: a slow resolver delays
an ingest by at most ``timeout_s`` and an unanswered host is simply not judged.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Resolver = Callable[[str], list[str]]  # host -> its addresses; OSError if it does not resolve

# Names that never resolve on the internet (RFC 2606, RFC 6761): judged without a lookup.
_NEVER_PUBLIC = (".example", ".invalid", ".test", ".localhost", ".local")
_CACHE_TTL_S = 600.0
_MAX_LOOKUPS = 64  # new hosts looked up per file; the rest wait for the next file
_WHY = "Hemnet fetches images from its own servers and cannot reach it"


def host_of(url: str) -> str | None:
    """The lower-case host of an image URL, or None when it has none."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host or None


def _system_resolver(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]


def address_problem(address: str) -> str | None:
    """Why Hemnet cannot fetch from this IP address, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if ip.is_loopback:
        return f"{address} is a loopback address"
    if ip.is_link_local:
        return f"{address} is a link-local address"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or ip.is_multicast:
        return f"{address} is a private address"
    return None


@dataclass
class _Cached:
    problem: str | None
    at: float


_SHARED_CACHE: dict[str, _Cached] = {}
_SHARED_LOCK = threading.Lock()


@dataclass
class HostCheck:
    """Judges image hosts; one per process is enough (its cache is what saves lookups)."""

    resolve: bool = True
    timeout_s: float = 1.0
    resolver: Resolver = _system_resolver
    clock: Callable[[], float] = time.monotonic
    # Shared by every HostCheck of the process unless a test gives its own.
    _cache: dict[str, _Cached] = field(default_factory=lambda: _SHARED_CACHE)
    _lock: threading.Lock = field(default_factory=lambda: _SHARED_LOCK)

    def problems(self, hosts: Iterable[str]) -> dict[str, str]:
        """host -> why Hemnet cannot fetch images from it, for the hosts that have a problem."""
        out: dict[str, str] = {}
        unknown: list[str] = []
        now = self.clock()
        for host in dict.fromkeys(hosts):
            judged = self._judge_without_lookup(host)
            if judged is not _LOOKUP:
                if judged is not None:
                    out[host] = str(judged)
                continue
            with self._lock:
                cached = self._cache.get(host)
            if cached is not None and now - cached.at < _CACHE_TTL_S:
                if cached.problem is not None:
                    out[host] = cached.problem
            elif self.resolve:
                unknown.append(host)
        for host, problem in self._look_up(unknown[:_MAX_LOOKUPS]).items():
            if problem is not None:
                out[host] = problem
        return out

    def _judge_without_lookup(self, host: str) -> Any:
        if address_problem(host) is not None:
            return f"{address_problem(host)}; {_WHY}"
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return None  # a public address: nothing to look up
        if host == "localhost" or host.endswith(".localhost"):
            return f"{host} is this machine (loopback); {_WHY}"
        if host.endswith(_NEVER_PUBLIC):
            return f"{host} is a reserved name that never resolves on the internet; {_WHY}"
        return _LOOKUP

    def _look_up(self, hosts: list[str]) -> dict[str, str | None]:
        """Every host at once, each on its own daemon thread (getaddrinfo has no timeout of its
        own; a thread still waiting at the deadline is left to finish on its own)."""
        if not hosts:
            return {}
        answers: dict[str, str | None] = {}
        done = threading.Condition()

        def look_up(host: str) -> None:
            try:
                addresses = self.resolver(host)
            except (OSError, UnicodeError):
                problem: str | None = f"{host} does not resolve; {_WHY}"
            else:
                bad = [p for p in map(address_problem, addresses) if p is not None]
                problem = (
                    f"{host} resolves to {bad[0]}; {_WHY}"
                    if bad and len(bad) == len(addresses)
                    else None
                )
            with self._lock:
                self._cache[host] = _Cached(problem, self.clock())
            with done:
                answers[host] = problem
                done.notify_all()

        for host in hosts:
            threading.Thread(target=look_up, args=(host,), daemon=True).start()
        deadline = time.monotonic() + self.timeout_s
        with done:
            while len(answers) < len(hosts):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                done.wait(left)
            return dict(answers)


_LOOKUP = object()


@dataclass
class ImageHosts:
    """The image hosts of one file as records name them: the first record of each and how
    many images, so a warning names where to look without one warning per image."""

    first: dict[str, tuple[int, int | None, str | None]] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)
    # "scheme://netloc" -> host: a file names few hosts, so each is parsed once, not once
    # for every image URL that names it.
    _host_of_prefix: dict[str, str | None] = field(default_factory=dict)

    def add(self, url: str, record: int, line: int | None, listing_key: str | None) -> str | None:
        """One image of a record; its host (None: it has none)."""
        scheme, sep, rest = url.partition("://")
        prefix = scheme + sep + rest.partition("/")[0]
        try:
            host = self._host_of_prefix[prefix]
        except KeyError:
            host = self._host_of_prefix[prefix] = host_of(prefix)
        if host is not None:
            self.add_host(host, 1, record, line, listing_key)
        return host

    def add_host(
        self, host: str, images: int, record: int, line: int | None, listing_key: str | None
    ) -> None:
        """``images`` images of a record on ``host`` (of a record not read again)."""
        count = self.images.get(host)
        if count is None:
            self.first[host] = (record, line, listing_key)
            count = 0
        self.images[host] = count + images

    def findings(self, check: HostCheck) -> list[dict[str, Any]]:
        """One warning per host Hemnet cannot fetch from, at its first record."""
        out = []
        for host, problem in sorted(check.problems(self.first).items()):
            record, line, key = self.first[host]
            count = self.images[host]
            out.append(
                {
                    "record": record,
                    "line": line,
                    "listing_key": key,
                    "severity": "warning",
                    "field": "images.url",
                    "value": host,
                    "reason": f"{problem} ({count} image(s) from this host)",
                }
            )
        return out
