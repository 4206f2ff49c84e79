"""Helpers shared by the tests."""

from __future__ import annotations

import numpy as np


def km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (arrays or scalars; NaN where a point is missing)."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
