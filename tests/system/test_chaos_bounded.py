"""Bounded chaos: SIGKILL the real daemon ten times through a sync, then check Hemnet.

The short version of ``chaos/kill_restart.py`` (see docs/reliability.md for the long one):
no duplicate listing or image, every outbox row settled, Hemnet equal to the desired state.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from chaos.kill_restart import kill_restart

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.timeout(180)]


def test_ten_kills_leave_no_duplicates_and_converge(tmp_path: Path) -> None:
    report = kill_restart(
        kills=10, listings=20, seed=7, workdir=tmp_path, max_alive_s=1.0, say=lambda _: None
    )
    shown = asdict(report)
    assert report.kills == 10
    assert report.duplicate_listings == 0, shown
    assert report.duplicate_images == 0, shown
    assert report.unsettled_ops == 0, shown
    assert report.converged, shown
    assert report.mismatches == [], shown
    assert report.exit_code == 0, shown  # SIGTERM: finish the call in flight, then exit 0
    assert report.outbox.get("succeeded", 0) >= 20  # at least one create per listing ran
