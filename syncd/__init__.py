"""syncd: keeps Hemnet in step with a real-estate CRM that can only export files."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("syncd")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
