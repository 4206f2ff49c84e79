"""Pure kernels of the innovation cluster ranking; ``GeoDBSCAN`` is the clustering engine."""

from __future__ import annotations

from typing import Any

__all__ = ["GeoDBSCAN", "fit_together"]


def __getattr__(name: str) -> Any:
    # The engine (and scikit-learn behind it) loads on first use: processes that only read
    # and aggregate records never pay for it.
    if name in ("GeoDBSCAN", "fit_together"):
        from core import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
