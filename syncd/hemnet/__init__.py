"""Hemnet's API as syncd sees it: the only package that imports httpx.

``HemnetClient`` (one method per endpoint: ``accounts``, ``listings``, ``images``, over
``http``, which sends and pages), ``payload`` (bodies and known state), ``classify``
(failures as ApiErrors), ``wire`` (every assumed name).
"""

from syncd.hemnet.client import HemnetClient
from syncd.hemnet.models import (
    Checks,
    ImageRight,
    RemoteAgency,
    RemoteImage,
    RemoteKey,
    RemoteListing,
    RemoteSale,
)

__all__ = [
    "Checks",
    "HemnetClient",
    "ImageRight",
    "RemoteAgency",
    "RemoteImage",
    "RemoteKey",
    "RemoteListing",
    "RemoteSale",
]
