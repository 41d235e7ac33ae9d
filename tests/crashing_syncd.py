"""syncd's command line, killed at one named point of an apply pass (test only).

    python tests/crashing_syncd.py "<op kind>:<before_call|after_call>" SYNCD-ARGS...

The process exits at once with status 137, as a SIGKILL would, when a pass reaches that
point (``syncd.usecases.apply.checkpoints``): nothing is flushed, no outcome recorded. The
product itself has no way to kill itself; this installs the hook from outside.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from syncd.cli import main
from syncd.usecases.apply import checkpoints

CRASH_EXIT = 137
SCRIPT = Path(__file__)


def crash_at(point: str) -> checkpoints.Checkpoint:
    def hook(reached: str) -> None:
        if reached == point:
            logging.getLogger("syncd.usecases.apply").warning("test hook: crashing at %s", point)
            logging.shutdown()
            os._exit(CRASH_EXIT)

    return hook


if __name__ == "__main__":
    checkpoints.install(crash_at(sys.argv[1]))
    main(sys.argv[2:])
