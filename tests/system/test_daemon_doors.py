"""The daemon's own doors as a real process: a webhook flood, the access token on the pages,
the refusal of a non-loopback listen, and state files only its user can read."""

from __future__ import annotations

import hashlib
import hmac
import select
import socket
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.system.support import (
    SYNCD,
    DaemonProcess,
    free_port,
    syncd,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.system]

SECRET = "whsec-doors-0001"
FLOOD_BYTES = 300 * 1024 * 1024
CHUNK = b'{"data": "' + b"x" * (64 * 1024 - 12) + b'"}'
RSS_GROWTH_LIMIT_KB = 20 * 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def status_line(data: bytes) -> int:
    return int(data.split(b"\r\n", 1)[0].split()[1])


def flood(port: int, pid: int, headers: dict[str, str]) -> tuple[int, int, int]:
    """POST up to FLOOD_BYTES chunked to /webhook, made up as it is sent, and stop as soon
    as an answer arrives: (HTTP status, bytes sent, peak RSS growth of ``pid`` in KiB)."""
    before = rss_kb(pid)
    peak = before
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(
            f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode()
        )
        framed = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        sent = 0
        while sent < FLOOD_BYTES:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(framed)
            sent += len(CHUNK)
            if sent % (16 * len(CHUNK)) == 0:  # every MiB
                peak = max(peak, rss_kb(pid))
        else:
            sock.sendall(b"0\r\n\r\n")
        answer = sock.recv(4096)
    peak = max(peak, rss_kb(pid))
    return status_line(answer), sent, peak - before


def signed(body: bytes) -> dict[str, str]:
    return {
        "X-Timestamp": str(int(time.time() * 1000)),
        "X-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }


def start(tmp_path: Path, extra: str, **env: str) -> tuple[DaemonProcess, int]:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    port = free_port()
    hemnet = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: no listing is sent
    config = write_config(tmp_path, hemnet, extra=f'[http]\nlisten = "127.0.0.1:{port}"\n{extra}')
    result = syncd("--config", str(config), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    daemon = DaemonProcess(config, env)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 20, "the daemon's http")
    except AssertionError:
        daemon.kill()
        raise AssertionError(daemon.text()) from None
    return daemon, port


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


def test_a_300_mb_webhook_flood_is_refused_early_without_growing_the_daemon(
    tmp_path: Path,
) -> None:
    daemon, port = start(tmp_path, "", SYNCD_WEBHOOK_SECRETS=SECRET)
    try:
        pid = daemon.process.pid
        url = f"http://127.0.0.1:{port}/webhook"
        # Warm up the request path, so its first-use allocations are not counted as growth.
        assert httpx.post(url, content=b"{}").status_code == 401
        unsigned = flood(port, pid, {})
        looks_signed = flood(port, pid, {**signed(b"not this body"), "X-Signature": "ab" * 32})
        nested = b"[" * 30_000 + b"]" * 30_000  # under the size limit, too deep to parse
        deep = httpx.post(url, content=nested, headers=signed(nested))
        alive = httpx.get(f"http://127.0.0.1:{port}/healthz")
    finally:
        daemon.stop()
    for (status, sent, growth_kb), expected in ((unsigned, 401), (looks_signed, 413)):
        assert status == expected
        assert sent < FLOOD_BYTES // 4, f"answered only after {sent} bytes"
        assert growth_kb < RSS_GROWTH_LIMIT_KB, f"RSS grew by {growth_kb} KiB"
    assert deep.status_code == 400
    assert alive.status_code in (200, 503)
    assert "Traceback" not in daemon.text()


def test_config_check_refuses_a_non_loopback_listen_without_the_setting_and_a_token(
    tmp_path: Path,
) -> None:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    hemnet = "http://127.0.0.1:9/v1"
    open_listen = '[http]\nlisten = "0.0.0.0:8081"\n'
    config = write_config(tmp_path, hemnet, extra=open_listen)
    no_setting = syncd("--config", str(config), "config", "check", env={"SYNCD_HTTP_TOKEN": ""})
    assert no_setting.returncode == 2
    assert "http.listen: 0.0.0.0 is not a loopback address" in no_setting.stderr
    config = write_config(tmp_path, hemnet, extra=open_listen + "allow_remote = true\n")
    no_token = syncd("--config", str(config), "config", "check", env={"SYNCD_HTTP_TOKEN": ""})
    assert no_token.returncode == 2
    assert "no access token is set" in no_token.stderr
    with_token = syncd("--config", str(config), "config", "check", env={"SYNCD_HTTP_TOKEN": "t"})
    assert with_token.returncode == 0, with_token.stderr
    assert "http access token: set" in with_token.stdout


def test_pages_answer_401_without_the_token_and_state_files_are_private(
    tmp_path: Path,
) -> None:
    token = "page-token-0001"
    daemon, port = start(tmp_path, "", SYNCD_HTTP_TOKEN=token)
    base = f"http://127.0.0.1:{port}"
    try:
        bare = {path: httpx.get(base + path) for path in ("/", "/listing/A1", "/metrics")}
        wrong = httpx.get(base + "/", headers={"Authorization": "Bearer nope"})
        bearer = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {token}"})
        basic = httpx.get(base + "/", auth=("anyone", token))
        probe = httpx.get(base + "/healthz")
        # While the daemon runs, SQLite's -wal and -shm files exist beside the database.
        state = tmp_path / "state"
        files = [state / "syncd.db", state / "syncd.db-wal", state / "syncd.db-shm"]
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in files}
    finally:
        daemon.stop()
    for path, response in bare.items():
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert wrong.status_code == 401
    assert (bearer.status_code, basic.status_code) == (200, 200)
    assert probe.status_code in (200, 503)
    assert modes == {"syncd.db": 0o600, "syncd.db-wal": 0o600, "syncd.db-shm": 0o600}
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_the_inbox_survives_long_names_forged_log_lines_symlinks_and_folders(
    tmp_path: Path,
) -> None:
    daemon, _ = start(tmp_path, "")
    inbox = tmp_path / "inbox"
    rejected = tmp_path / "state" / "rejected"
    long_name = "x" * 251 + ".csv"
    forged = "n.csv\nERROR syncd.apply: forged.csv"
    outside = tmp_path / "outside.csv"
    try:
        wait_for(inbox.is_dir, 10, "the inbox")
        outside.write_text("objektnummer\n", encoding="utf-8")
        (inbox / "link.csv").symlink_to(outside)
        (inbox / "folder.csv").mkdir()
        (inbox / long_name).write_text("objektnummer\n", encoding="utf-8")
        (inbox / forged).write_text("not an export\n", encoding="utf-8")
        wait_for(lambda: not (inbox / long_name).exists(), 20, "the long name to be taken")
        wait_for(lambda: not (inbox / forged).exists(), 20, "the forged name to be taken")
        for line in ("inbox: link.csv is a symlink", "inbox: folder.csv is a folder"):

            def logged(line: str = line) -> bool:
                return line in daemon.text()

            wait_for(logged, 20, line)
        # A file taken after the others: the rescans meanwhile saw both strangers again.
        (inbox / ".later.csv.part").write_text("objektnummer\n", encoding="utf-8")
        (inbox / ".later.csv.part").rename(inbox / "later.csv")
        wait_for(lambda: not (inbox / "later.csv").exists(), 20, "a later file to be taken")
    finally:
        daemon.stop()
    log = daemon.text()
    assert not any(line.startswith("ERROR syncd.apply: forged") for line in log.splitlines())
    assert "n.csv\\x0aERROR syncd.apply: forged.csv" in log
    assert log.count(f"ingest {long_name}: rejected: the file name is 255 bytes long") == 1
    assert [p for p in rejected.iterdir() if p.name.startswith("x" * 100)]
    assert log.count("inbox: link.csv is a symlink") == 1
    assert log.count("inbox: folder.csv is a folder") == 1
    assert (inbox / "link.csv").is_symlink() and (inbox / "folder.csv").is_dir()
    assert "Traceback" not in log


def test_config_check_refuses_a_rejected_folder_that_is_the_inbox(tmp_path: Path) -> None:
    if not SYNCD.exists():
        pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
    config = write_config(tmp_path, "http://127.0.0.1:9/v1")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('state_dir = "state"', 'state_dir = "state"\nrejected = "inbox"')
    )
    result = syncd("--config", str(config), "config", "check")
    assert result.returncode == 2
    assert f"paths.rejected: must not be the inbox ({tmp_path / 'inbox'})" in result.stderr
