"""Synthetic demo data built from real city coordinates and populations (GeoNames).

Nothing produced here is WIPO data: points and records are random draws, seeded for
reproducibility, that only borrow where cities are and how large they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KM_PER_DEGREE = 6371.0088 * np.pi / 180.0


def sample_city_points(
    cities: pd.DataFrame, n: int, *, sigma_km: float = 5.0, seed: int = 0
) -> np.ndarray:
    """Points scattered around cities, each city drawn with probability ∝ its population.

    Parameters
    ----------
    cities : pandas.DataFrame
        Columns ``lat``, ``lon``, ``population`` (e.g. ``core.gazetteer.load_cities()``).
    n : int
        Number of points.
    sigma_km : float
        Standard deviation of the Gaussian scatter on the ground, in km, per axis.
    seed : int
        Seed of the random generator.

    Returns
    -------
    numpy.ndarray of shape (n, 2)
        Latitude, longitude in degrees.
    """
    if n < 0 or sigma_km < 0:
        raise ValueError("n and sigma_km must be >= 0")
    rng = np.random.default_rng(seed)
    p = cities["population"].to_numpy(dtype=np.float64)
    idx = rng.choice(len(cities), size=n, p=p / p.sum())
    lat0 = cities["lat"].to_numpy(dtype=np.float64)[idx]
    lon0 = cities["lon"].to_numpy(dtype=np.float64)[idx]
    dy, dx = rng.normal(0.0, sigma_km, (2, n))
    lat = np.clip(lat0 + dy / KM_PER_DEGREE, -90.0, 90.0)
    coslat = np.maximum(np.cos(np.radians(lat0)), 1e-6)
    lon = (lon0 + dx / (KM_PER_DEGREE * coslat) + 180.0) % 360.0 - 180.0
    return np.c_[lat, lon]
