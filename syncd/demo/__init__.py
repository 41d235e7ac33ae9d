"""``syncd demo``: the whole system on one machine against the local Hemnet sandbox.

Bundled demo exports (``data/``) and the story that drops them; it starts the sandbox and
the daemon as processes and only watches them, never doing their work itself.
"""

from syncd.demo.scenario import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
