"""Ask an image URL what Hemnet will find there, before Hemnet is asked to fetch it: a short
ranged GET (the first KiB) that reports a 4xx/5xx answer, a connection that fails, or a
content type that is not an image.

Warnings only; a URL not answered within the time bound is not judged. Standard library
HTTP on purpose: this is not Hemnet (``hemnet/`` alone talks to Hemnet), and one small
request per new image needs no client of its own.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Fetch = Callable[[str, float], tuple[int, str | None]]  # url, timeout -> (status, content type)

_WHY = "Hemnet will fail to fetch this image"
_WORKERS = 8
_CACHE_TTL_S = 600.0


def ranged_get(url: str, timeout_s: float) -> tuple[int, str | None]:
    """(HTTP status, content type) of the first KiB of ``url``; OSError when unreachable."""
    request = urllib.request.Request(  # noqa: S310 (http(s) only: checked by the caller)
        url, headers={"Range": "bytes=0-1023", "User-Agent": "syncd image check"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310
            answer.read(1024)
            return int(answer.status), answer.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return int(error.code), None


def problem_of(status: int, content_type: str | None) -> str | None:
    if status >= 400:
        return f"answers HTTP {status}; {_WHY}"
    if content_type is not None and not content_type.startswith("image/"):
        return f"is not an image (content type {content_type}); {_WHY}"
    return None


@dataclass
class _Probed:
    problem: str | None
    at: float


_CACHE: dict[str, _Probed] = {}
_LOCK = threading.Lock()


def probe(urls: Sequence[str], timeout_s: float, fetch: Fetch = ranged_get) -> dict[str, str]:
    """url -> what is wrong with it, for the URLs that answered badly within ``2 * timeout_s``.

    Each URL is asked once per 10 minutes per process, up to eight at a time.
    """
    now = time.monotonic()
    out: dict[str, str] = {}
    todo: list[str] = []
    for url in dict.fromkeys(urls):
        if not url.lower().startswith(("http://", "https://")):
            continue
        with _LOCK:
            cached = _CACHE.get(url)
        if cached is not None and now - cached.at < _CACHE_TTL_S:
            if cached.problem is not None:
                out[url] = cached.problem
        else:
            todo.append(url)
    answers: dict[str, str | None] = {}
    done = threading.Condition()
    queue = list(reversed(todo))

    def work() -> None:
        while True:
            with done:
                if not queue:
                    return
                url = queue.pop()
            try:
                status, content_type = fetch(url, timeout_s)
            except (OSError, ValueError) as error:
                problem: str | None = f"cannot be fetched ({_reason(error)}); {_WHY}"
            else:
                problem = problem_of(status, content_type)
            with _LOCK:
                _CACHE[url] = _Probed(problem, time.monotonic())
            with done:
                answers[url] = problem
                done.notify_all()

    for _ in range(min(_WORKERS, len(todo))):
        # Daemon threads: one stuck past the deadline is left behind, never waited for.
        threading.Thread(target=work, daemon=True).start()
    deadline = time.monotonic() + 2 * timeout_s
    with done:
        while len(answers) < len(todo):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            done.wait(left)
        out.update({url: p for url, p in answers.items() if p is not None})
    return out


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__
