"""The failures a user can cause or fix, each with its exit code; anything else is a bug.

Every message is one line: the command line prints it without a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can fix; ``exit_code`` is what ``icrank`` exits with."""

    exit_code = 1


class ConfigError(UserError, ValueError):
    """A configuration value or command-line option is unusable."""

    exit_code = 2


class InputError(UserError, ValueError):
    """An input (record file, alias table, population file, previous run's parameters) is
    missing, unreadable or holds no usable record."""

    exit_code = 3


class OutputError(UserError, ValueError):
    """The output or previous-run location cannot be used."""

    exit_code = 4


class ClusterError(UserError, RuntimeError):
    """The Dask scheduler cannot be reached or started, or was lost during the run."""

    exit_code = 5


class ResourceError(UserError, RuntimeError):
    """Tasks of a stage kept killing their workers (``KilledWorker``: most often out of
    memory); retrying with the same resources fails again."""

    exit_code = 6
