"""Workflow wiring and the ``icrank`` command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("icrank")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
