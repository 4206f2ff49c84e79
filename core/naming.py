"""Cluster names from gazetteer cities: "Shenzhen–Hong Kong–Guangzhou"."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from core.population import cell_index

# Suburbs of 15k people would otherwise split a metropolis's activity among themselves
# and name it after a suburb; places of 100k+ are the ones a reader recognises.
NAMING_MIN_POPULATION = 100_000
NAME_SEPARATOR = "–"
# A place this close to a larger one is its district or suburb ("City of Westminster" in
# London): its activity is the larger place's. Yokohama, 28 km from Tokyo, keeps its name.
DISTRICT_KM = 15.0
EARTH_RADIUS_KM = 6371.0088


def _drop_districts(big: pd.DataFrame) -> pd.DataFrame:
    """Cities without a larger city within ``DISTRICT_KM``; ``big`` sorted by size, descending."""
    points = _unit(big["lat"].to_numpy(), big["lon"].to_numpy())
    chord = 2.0 * np.sin(DISTRICT_KM / EARTH_RADIUS_KM / 2.0)
    tree = cKDTree(points)
    keep = np.ones(len(big), bool)
    for i, near in enumerate(tree.query_ball_point(points, chord)):
        # ``big`` is sorted by population, so a lower index is a larger city.
        if any(j < i for j in near):
            keep[i] = False
    return big[keep]


def _unit(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.c_[np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]


def name_clusters(
    members: pd.DataFrame,
    centroids: pd.DataFrame,
    cities: pd.DataFrame,
    *,
    footprint_deg: float,
    max_names: int = 3,
    min_ratio: float = 0.25,
) -> pd.Series:
    """Name each cluster after up to ``max_names`` gazetteer cities inside its footprint.

    Every member location is assigned to the nearest candidate city inside the
    footprint; cities are ordered by the activity so assigned and kept while they hold at
    least ``min_ratio`` of the first one's.

    Parameters
    ----------
    members : pandas.DataFrame
        ``combined``, ``lat``, ``lon`` (member location, degrees), ``cell_lat``,
        ``cell_lon`` and ``mass`` (its part of the cluster's activity).
    centroids : pandas.DataFrame
        Indexed by ``combined``: ``lat``, ``lon``; a cluster with no city of
        ``NAMING_MIN_POPULATION`` inside its footprint takes the gazetteer city nearest to
        its centroid.
    cities : pandas.DataFrame
        ``name``, ``lat``, ``lon``, ``population`` (e.g. ``core.gazetteer.load_cities()``).
    footprint_deg : float
        Footprint grid step.
    max_names : int
        Most cities in a name.
    min_ratio : float
        A further city needs this fraction of the first city's activity.

    Returns
    -------
    pandas.Series
        Names indexed like ``centroids``.
    """
    big = _drop_districts(
        cities[cities["population"] >= NAMING_MIN_POPULATION].sort_values(
            ["population", "name"], ascending=[False, True], kind="stable"
        )
    )
    ci, cj = cell_index(big["lat"].to_numpy(), big["lon"].to_numpy(), footprint_deg=footprint_deg)
    big = big.assign(cell_lat=ci, cell_lon=cj)
    cells = members[["combined", "cell_lat", "cell_lon"]].drop_duplicates()
    candidates = cells.merge(big, on=["cell_lat", "cell_lon"]).sort_values(
        ["combined", "population", "name"], ascending=[True, False, True], kind="stable"
    )
    by_cluster = dict(tuple(candidates.groupby("combined", sort=False)))

    nearest_tree = cKDTree(_unit(cities["lat"].to_numpy(), cities["lon"].to_numpy()))
    names: dict[int, str] = {}
    for combined, group in members.groupby("combined", sort=True):
        found = by_cluster.get(combined)
        if found is None:
            lat, lon = centroids.loc[combined, ["lat", "lon"]]
            _, idx = nearest_tree.query(_unit(np.array([lat]), np.array([lon])))
            names[combined] = str(cities["name"].iloc[int(idx[0])])
            continue
        found = found.drop_duplicates("geonameid") if "geonameid" in found else found
        tree = cKDTree(_unit(found["lat"].to_numpy(), found["lon"].to_numpy()))
        _, nearest = tree.query(_unit(group["lat"].to_numpy(), group["lon"].to_numpy()))
        activity = np.bincount(nearest, weights=group["mass"].to_numpy(), minlength=len(found))
        # Ties go to the larger city: ``found`` is sorted by population.
        order = np.argsort(-activity, kind="stable")
        kept: list[str] = []
        for k in order[:max_names]:
            if activity[k] < min_ratio * activity[order[0]] or activity[k] <= 0 and kept:
                break
            name = str(found["name"].iloc[k])
            if name not in kept:
                kept.append(name)
        names[combined] = NAME_SEPARATOR.join(kept)
    return pd.Series(names, dtype=object).reindex(centroids.index)
