"""Hemnet's API as syncd sees it: the only package that imports httpx.

``HemnetClient`` (one method per endpoint: ``accounts``, ``listings``, ``images``, over
``http``, which sends and pages), ``payload`` (bodies and known state), ``classify``
(failures as ApiErrors), ``wire`` (every assumed name). What the client answers is
``models``' (``RemoteListing``, ``RemoteImage``, ...), imported from there.
"""

from syncd.hemnet.client import HemnetClient

__all__ = ["HemnetClient"]
