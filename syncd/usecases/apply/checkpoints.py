"""Named points of a pass where a test may step in: "<op kind>:before_call" (the intent is
committed, nothing sent) and "<op kind>:after_call" (Hemnet answered, nothing recorded).

The product installs no hook, so ``reached`` does nothing. The crash tests run syncd
through ``tests/crashing_syncd.py``, which installs one that kills the process there.
"""

from __future__ import annotations

from collections.abc import Callable

Checkpoint = Callable[[str], None]

_HOOKS: list[Checkpoint] = []


def install(hook: Checkpoint) -> None:
    """Call ``hook`` with the name of every point a pass reaches, in this process."""
    _HOOKS.append(hook)


def reached(point: str) -> None:
    for hook in tuple(_HOOKS):
        hook(point)
