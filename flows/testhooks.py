"""Test-only pauses, so tests can interrupt a run or kill a worker at a known point.

``ICRANK_TEST_PAUSE_<POINT>=<seconds>`` makes :func:`pause` sleep at that point. Unset in
production; read at each call (never at import), so worker processes started with the
variable honour it.
"""

from __future__ import annotations

import os
import time

#: Points a run can pause at.
POINTS = ("READ", "MANIFEST")


def pause(point: str) -> None:
    """Sleep for ``ICRANK_TEST_PAUSE_<point>`` seconds when that variable is set."""
    if point not in POINTS:
        raise ValueError(f"unknown pause point {point!r}")
    seconds = os.environ.get(f"ICRANK_TEST_PAUSE_{point}")
    if seconds:
        time.sleep(float(seconds))
