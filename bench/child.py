"""Run one measured step in a fresh Python process and read back its figures.

A fresh process makes peak RSS (VmHWM) that step's own, not the benchmark driver's.
The child prints one JSON line last; everything else it prints is passed through.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(figures: dict[str, Any]) -> None:
    """Called in the child: print the figures with the peak RSS as the last line."""
    print(json.dumps({**figures, "peak_rss_mb": peak_rss_mb()}), flush=True)


def run(script: Path, *args: str, timeout_s: float = 1800) -> dict[str, Any]:
    """Run ``script --child ARGS`` with this interpreter; its figures as a dict."""
    done = subprocess.run(
        [sys.executable, str(script), "--child", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{script.name} --child {' '.join(args)} failed ({done.returncode}):\n"
            f"{done.stderr[-3000:]}"
        )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
