"""The shipped systemd unit, sysusers and tmpfiles snippets, checked by systemd's own tools."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD_DIR / "syncd.service"
INSTALLED_SYNCD = "/usr/bin/syncd"

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def _directives(unit: Path) -> dict[str, list[str]]:
    """Key -> every value it is given (systemd allows repeating a key)."""
    found: dict[str, list[str]] = {}
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(value)
    return found


def test_unit_declares_what_the_daemon_relies_on() -> None:
    d = _directives(UNIT)
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "30",
        "ExecStartPre": f"{INSTALLED_SYNCD} db upgrade",
        "ExecStart": f"{INSTALLED_SYNCD} run",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "Restart": "on-failure",
        "LoadCredential": "hemnet-token:/etc/syncd/hemnet-token",
        "User": "syncd",
        "Group": "syncd",
        "StateDirectory": "syncd",
        "ConfigurationDirectory": "syncd",
        "Environment": "SYNCD_CONFIG=/etc/syncd/config.toml",
        "UMask": "0027",
    }
    for key, value in expected.items():
        assert d.get(key) == [value], key


@needs_analyze
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    # verify checks that ExecStart= binaries exist; this machine has syncd in the venv,
    # not at the installed path, so check a copy that points there.
    syncd = Path(sys.executable).parent / "syncd"
    assert syncd.exists(), "pip install -e . provides the syncd entry point"
    copy = tmp_path / "syncd.service"
    copy.write_text(UNIT.read_text().replace(INSTALLED_SYNCD, str(syncd)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # An unknown or misspelt key is only a warning with exit status 0: no output at all.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


@needs_analyze
def test_security_exposure_is_at_most_2() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


@pytest.mark.skipif(
    shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
    reason="systemd-sysusers / systemd-tmpfiles are not installed",
)
@pytest.mark.skipif(os.geteuid() != 0, reason="creating folders owned by syncd needs root")
def test_sysusers_and_tmpfiles_create_the_exchange_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for command, snippet in (
        (["systemd-sysusers"], "syncd.sysusers"),
        (["systemd-tmpfiles", "--create"], "syncd.tmpfiles"),
    ):
        subprocess.run(
            [*command, f"--root={root}", "-"],
            input=(SYSTEMD_DIR / snippet).read_text(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    users = {
        f[0]: f for f in (x.split(":") for x in (root / "etc/passwd").read_text().splitlines())
    }
    groups = {
        f[0]: f for f in (x.split(":") for x in (root / "etc/group").read_text().splitlines())
    }
    syncd_uid = int(users["syncd"][2])
    export_gid = int(groups["syncd-export"][2])
    assert "syncd" in groups["syncd-export"][3].split(",")  # may read what the CRM drops
    state = root / "var/lib/syncd"
    assert state.stat().st_mode & 0o7777 == 0o751
    for name in ("inbox", "archive", "rejected"):
        folder = state / name
        info = folder.stat()
        assert info.st_mode & 0o7777 == 0o2770, name
        assert (info.st_uid, info.st_gid) == (syncd_uid, export_gid), name


PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1

_MDWE_PROBE = textwrap.dedent(
    f"""
    import ctypes, mmap, pathlib, sqlite3, ssl, sys, tempfile, time
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:
        sys.exit(77)
    try:
        mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    except OSError:
        pass
    else:
        sys.exit("W+X memory was still allowed: the probe proves nothing")
    import httpx, lxml.etree, sqlalchemy
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    import syncd.runtime.watch
    assert lxml.etree.fromstring(b"<a><b/></a>").xpath("//b")
    sqlite3.connect(":memory:").execute("select 1")
    ssl.create_default_context()
    folder = tempfile.mkdtemp()
    observer = Observer()
    observer.schedule(FileSystemEventHandler(), folder)
    observer.start()
    pathlib.Path(folder, "x.xml").write_text("<x/>")
    time.sleep(0.1)
    observer.stop()
    observer.join()
    print("ok", type(observer).__name__)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_MDWE is Linux only")
def test_libraries_work_under_memory_deny_write_execute() -> None:
    # The kernel's MDWE prctl enforces what MemoryDenyWriteExecute=yes does in the unit.
    result = subprocess.run(
        [sys.executable, "-c", _MDWE_PROBE], capture_output=True, text=True, timeout=60
    )
    if result.returncode == 77:
        pytest.skip("kernel older than 6.3: no PR_SET_MDWE to emulate MemoryDenyWriteExecute")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
