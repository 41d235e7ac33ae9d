"""`syncd demo` as a process: every listing in its stage, the sandbox's site, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from syncd.demo.scenario import EXPECTED_FINAL, SOLD_KEY, WITHDRAWN_KEY
from tests.system.support import SYNCD

pytestmark = [pytest.mark.system, pytest.mark.slow]

KEEP_LINE = "--keep:"


class DemoProcess:
    """``syncd demo`` with its output collected line by line while it runs."""

    def __init__(self, *args: str) -> None:
        if not SYNCD.exists():
            pytest.skip(f"console script not installed at {SYNCD} (pip install -e .)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
        self.process = subprocess.Popen(
            [str(SYNCD), "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, prefix: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(line.startswith(prefix) for line in self.lines):
                return
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                pytest.fail(f"syncd demo exited {self.process.returncode}:\n{self.output}")
            time.sleep(0.2)
        pytest.fail(f"no line {prefix!r} from syncd demo in {timeout_s} s:\n{self.output}")

    def finish(self, timeout_s: float) -> int:
        code = self.process.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """Make sure it is gone and its pipe closed, whatever the test did."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _url_after(output: str, label: str) -> str:
    found = re.search(rf"{re.escape(label)}\s+(http://\S+)", output)
    assert found, f"no {label!r} URL in:\n{output}"
    return found.group(1)


def _final_table(output: str) -> dict[str, list[str]]:
    """Each listing's line of the last table, split on runs of two or more blanks."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in EXPECTED_FINAL:
            rows[cells[0]] = cells  # later tables overwrite earlier ones
    return rows


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def test_demo_converges_shows_listings_on_the_site_and_stops_cleanly(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    demo = DemoProcess("--keep", "--workdir", str(workdir), "--timeout", "120")
    try:
        demo.wait_for_line(KEEP_LINE, timeout_s=150)
        output = demo.output
        assert "syncd demo: all 20 listings reached their expected stage" in output

        table = _final_table(output)
        assert sorted(table) == sorted(EXPECTED_FINAL)
        for key, stage in EXPECTED_FINAL.items():
            cells = table[key]
            assert stage.value in cells, (key, cells)
            assert cells[-1] == "ok", (key, cells)

        site = _url_after(output, "public site:")
        status_page = _url_after(output, "status page:")
        hemnet_id = {key: cells[-2] for key, cells in table.items()}
        with httpx.Client(base_url=site, timeout=10) as http:
            search = http.get("/")
            assert search.status_code == 200
            assert "18 bostäder till salu" in search.text
            assert "Götgatan 48" in search.text and "Regementsgatan 52" in search.text
            assert "Hornsgatan 124" not in search.text  # sold: off the search page
            links = sorted(set(re.findall(r"/bostad/[^'\"]+", search.text)))
            assert len(links) == 18
            page = http.get(f"/bostad/{hemnet_id['VK-2004']}")
            assert page.status_code == 200
            assert "Regementsgatan 52" in page.text
            assert "3 495 000" in page.text.replace("\xa0", " ")  # the new asking price
            sold = http.get(f"/bostad/{hemnet_id[SOLD_KEY]}")
            assert sold.status_code == 200 and "Slutpris ej offentligt" in sold.text
            assert http.get(f"/bostad/{hemnet_id[WITHDRAWN_KEY]}").status_code == 404
        status = httpx.get(status_page, timeout=10)
        assert status.status_code == 200 and "NH-1001" in status.text

        demo.process.send_signal(signal.SIGTERM)
        assert demo.finish(timeout_s=40) == 0, demo.output
    finally:
        demo.kill()
    assert "stopped by SIGTERM" in demo.output
    assert not _listening(site) and not _listening(status_page)
    assert (workdir / "config.toml").is_file()  # --keep and --workdir keep the workspace
    assert (workdir / "logs" / "daemon.log").is_file()


def test_demo_that_cannot_converge_fails_naming_the_listings(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    demo = DemoProcess("--workdir", str(workdir), "--timeout", "1")
    try:
        code = demo.finish(timeout_s=60)
    finally:
        demo.kill()
    assert code == 1, demo.output
    assert "'first exports' did not converge before the timeout" in demo.output
    assert "NH-1001:" in demo.output
    assert f"the workspace is kept at {workdir}" in demo.output


def test_demo_refuses_a_workdir_in_use(tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("mine", encoding="utf-8")
    demo = DemoProcess("--workdir", str(tmp_path))
    try:
        assert demo.finish(timeout_s=30) == 1
    finally:
        demo.kill()
    assert "is not empty" in demo.output
    assert [p.name for p in tmp_path.iterdir()] == ["something.txt"]
