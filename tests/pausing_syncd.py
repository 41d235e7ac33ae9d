"""syncd's command line, stopped (SIGSTOP) at one named point of an apply pass (test only).

    python tests/pausing_syncd.py "<op kind>:<before_call|after_call>" SYNCD-ARGS...

The first time a pass reaches that point (``syncd.usecases.apply.checkpoints``) the whole
process stops itself, heartbeat thread and all, as a VM pause or a long GC would; the test
resumes it with SIGCONT. The product has no way to pause itself; this installs the hook.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

from syncd.cli import main
from syncd.usecases.apply import checkpoints

SCRIPT = Path(__file__)
PAUSING = "test hook: pausing at"


def pause_at(point: str) -> checkpoints.Checkpoint:
    once = threading.Lock()

    def hook(reached: str) -> None:
        if reached == point and once.acquire(blocking=False):
            logging.getLogger("syncd.usecases.apply").warning("%s %s", PAUSING, point)
            os.kill(os.getpid(), signal.SIGSTOP)

    return hook


if __name__ == "__main__":
    checkpoints.install(pause_at(sys.argv[1]))
    main(sys.argv[2:])
