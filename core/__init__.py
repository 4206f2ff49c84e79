"""Pure kernels of the innovation cluster ranking; ``GeoDBSCAN`` is the clustering engine."""

from core.estimator import GeoDBSCAN

__all__ = ["GeoDBSCAN"]
