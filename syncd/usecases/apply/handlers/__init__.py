"""One module per operation kind (or a few close kinds); each registers its handler(s)
with ``@registered`` on import.

Importing this package imports every module in it, so a new handler module needs no line
here or anywhere else in apply.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
