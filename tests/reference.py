"""The GeoDBSCAN contract by brute force (written independently of the engine), and scikit-learn."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def reduced_haversine_row(lat: np.ndarray, lon: np.ndarray, i: int) -> np.ndarray:
    """sin²(Δφ/2) + cos φi cos φj sin²(Δλ/2) between row i and every row (radians in)."""
    s0 = np.sin(0.5 * (lat[i] - lat))
    s1 = np.sin(0.5 * (lon[i] - lon))
    return s0 * s0 + np.cos(lat[i]) * np.cos(lat) * s1 * s1


def brute_force_dbscan(
    X: np.ndarray, eps_km: float, min_samples: float, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and sorted core indices per the contract, in O(n²)."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    n = X.shape[0]
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    lat, lon = np.radians(X[:, 0]), np.radians(X[:, 1])
    thr = math.sin(0.5 * (eps_km / EARTH_RADIUS_KM)) ** 2
    neighbours = [np.flatnonzero(reduced_haversine_row(lat, lon, i) <= thr) for i in range(n)]
    core = np.array([math.fsum(w[nb]) >= min_samples for nb in neighbours], dtype=bool)
    labels = np.full(n, -1, np.int64)
    next_label = 0
    for i in range(n):
        if not core[i] or labels[i] >= 0:
            continue
        labels[i] = next_label
        queue = deque([i])
        while queue:
            p = queue.popleft()
            for q in neighbours[p]:
                if core[q] and labels[q] < 0:
                    labels[q] = next_label
                    queue.append(q)
        next_label += 1
    for i in range(n):
        if not core[i]:
            near = [labels[q] for q in neighbours[i] if core[q]]
            if near:
                labels[i] = min(near)
    return labels, np.flatnonzero(core)


def near_threshold(
    X: np.ndarray, eps_km: float, min_samples: float, weight: np.ndarray | None, rel: float
) -> bool:
    """True when a pair distance or an ε-ball weight lies within ``rel`` of its threshold."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    n = X.shape[0]
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    lat, lon = np.radians(X[:, 0]), np.radians(X[:, 1])
    thr = math.sin(0.5 * (eps_km / EARTH_RADIUS_KM)) ** 2
    for i in range(n):
        h = reduced_haversine_row(lat, lon, i)
        if np.any(np.abs(h - thr) <= rel * thr):
            return True
        if abs(math.fsum(w[h <= thr]) - min_samples) <= rel * min_samples:
            return True
    return False


def sklearn_dbscan(
    X: np.ndarray, eps_km: float, min_samples: int, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and core indices of scikit-learn's haversine DBSCAN (ball tree) on degrees ``X``."""
    from sklearn.cluster import DBSCAN

    model = DBSCAN(
        eps=eps_km / EARTH_RADIUS_KM,
        min_samples=min_samples,
        metric="haversine",
        algorithm="ball_tree",
    ).fit(np.radians(X), sample_weight=weight)
    return model.labels_, model.core_sample_indices_
