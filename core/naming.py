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
# A place close to a better-known one is its district, ward or suburb ("City of
# Westminster" in London, Bao'an in Shenzhen, Soweto in Johannesburg, Zapopan in
# Guadalajara): its activity is that place's. The gazetteer has no feature codes that say
# so. How well a place is known is told by its population times how many names GeoNames
# has for it (main cities have dozens of translations, districts a few), and how close is
# close by the larger population of the two: within DISTRICT_KM, or within the radius of a
# disc holding those people at 6,500 per km² (0.007 km per sqrt(person): 22 km for Tokyo's
# 9.7M, 29 km for Shenzhen's 17.5M). Yokohama, 28 km from Tokyo, and Hong Kong, 32 km from
# Shenzhen, keep their names.
DISTRICT_KM = 15.0
DISTRICT_KM_PER_SQRT_PERSON = 0.007
# A second or third name must be a place readers know by name: GeoNames has at least this
# many names for it (Kawasaki 31, Kobe 41; Thembisa 2, Tantou 3, Bao'an 1).
SECOND_NAME_MIN_NAMES = 10
EARTH_RADIUS_KM = 6371.0088


def district_radius_km(population: np.ndarray) -> np.ndarray:
    """How close a lesser-known place must be to a place, the larger of the two having
    ``population`` people, to be its district."""
    return np.maximum(DISTRICT_KM, DISTRICT_KM_PER_SQRT_PERSON * np.sqrt(population))


def _drop_districts(places: pd.DataFrame) -> pd.DataFrame:
    """Places that are no district of a better-known place; ``places`` in the order of
    :func:`_by_renown`. With a ``state`` column, each kept place's ``states`` also hold
    those of its districts of the same name: Kansas City, KS beside Kansas City, MO."""
    points = _unit(places["lat"].to_numpy(), places["lon"].to_numpy())
    population = places["population"].to_numpy(np.float64)
    widest = 2.0 * np.sin(district_radius_km(population.max(initial=0.0)) / EARTH_RADIUS_KM / 2)
    pairs = cKDTree(points).query_pairs(widest, output_type="ndarray")  # i < j: i better known
    chord = np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1)
    km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2.0, 1.0))
    radius = district_radius_km(np.maximum(population[pairs[:, 0]], population[pairs[:, 1]]))
    pairs = pairs[km <= radius]
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    names = places["name"].to_numpy()
    state = places["state"].to_numpy() if "state" in places else np.full(len(places), "")
    states = [(s,) for s in state]
    keep = np.ones(len(places), bool)
    # In order of renown, a kept place removes the lesser-known places close to it.
    starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]) if len(pairs) else []
    for first, stop in zip(starts, [*starts[1:], len(pairs)][: len(starts)], strict=True):
        i = pairs[first, 0]
        if not keep[i]:
            continue
        districts = pairs[first:stop, 1]
        keep[districts] = False
        namesakes = [state[j] for j in districts if names[j] == names[i]]
        if namesakes:
            states[i] = (*states[i], *namesakes)
    return places.assign(states=states)[keep]


def _unit(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.c_[np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]


def _by_renown(places: pd.DataFrame) -> pd.DataFrame:
    # Renown: population times the names GeoNames has for a place. Names alone would put
    # Bethesda (61k people, 40 names) before Washington (690k, 30); population alone
    # Zapopan (1.48M, 19) before Guadalajara (1.39M, 46), Quezon City before Manila.
    names = places["name_count"] if "name_count" in places else pd.Series(0, index=places.index)
    renown = places["population"].to_numpy(np.float64) * (1.0 + names.to_numpy(np.float64))
    return (
        places.assign(name_count=names.to_numpy(), renown=renown)
        .sort_values(["renown", "name"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def _in_cells(places: pd.DataFrame, cells: pd.DataFrame, footprint_deg: float) -> pd.DataFrame:
    # Places in a cluster's cells or in a cell beside them: a city's point may lie just
    # across a cell border from the rounded locations around it (Paris at 2.3488° E, its
    # institutions at 2.35°).
    ci, cj = cell_index(
        places["lat"].to_numpy(), places["lon"].to_numpy(), footprint_deg=footprint_deg
    )
    around = pd.concat(
        [
            cells.assign(cell_lat=cells["cell_lat"] + di, cell_lon=cells["cell_lon"] + dj)
            for di in (-1, 0, 1)
            for dj in (-1, 0, 1)
        ],
        ignore_index=True,
    ).drop_duplicates()
    found = around.merge(places.assign(cell_lat=ci, cell_lon=cj), on=["cell_lat", "cell_lon"])
    return found.sort_values(
        ["combined", "population", "name"], ascending=[True, False, True], kind="stable"
    ).drop_duplicates(["combined", "name", "lat", "lon"])


def with_states(names: list[str], states: list[str]) -> str:
    """A name of cities, with the states of its US cities as the GII writes them:
    "San Jose–San Francisco, CA", "Kansas City, MO–KS"."""
    name = NAME_SEPARATOR.join(names)
    codes = list(dict.fromkeys(s for s in states if s))
    return f"{name}, {NAME_SEPARATOR.join(codes)}" if codes else name


def name_clusters(
    members: pd.DataFrame,
    centroids: pd.DataFrame,
    cities: pd.DataFrame,
    *,
    footprint_deg: float,
    max_names: int = 3,
    min_ratio: float = 0.25,
) -> pd.Series:
    """Name each cluster after up to ``max_names`` of its main cities.

    Candidates are the gazetteer cities of ``NAMING_MIN_POPULATION`` people or more that are
    no district of a better-known place (:func:`district_radius_km`, renown as the module's
    comments say), in or beside the cluster's footprint cells. Every member location is
    assigned to the nearest candidate; cities are ordered by the activity so assigned and
    kept while they hold at least ``min_ratio`` of the first one's (a second or third city
    needs ``SECOND_NAME_MIN_NAMES`` names in the gazetteer). A cluster without a candidate
    takes its largest place that is no district, in or beside its cells, else the one
    nearest its centroid. US cities add their state codes (``country`` ``US`` and
    ``admin1`` in ``cities``), a namesake district's too.

    Parameters
    ----------
    members : pandas.DataFrame
        ``combined``, ``lat``, ``lon`` (member location, degrees), ``cell_lat``,
        ``cell_lon`` and ``mass`` (its part of the cluster's activity).
    centroids : pandas.DataFrame
        Indexed by ``combined``: ``lat``, ``lon``.
    cities : pandas.DataFrame
        ``name``, ``lat``, ``lon``, ``population`` and, optionally, ``country`` and
        ``admin1`` (e.g. ``core.gazetteer.load_cities()``).
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
    places = _by_renown(cities)
    if "country" in places and "admin1" in places:
        us = places["country"].astype(str).eq("US").to_numpy()
        state = np.where(us, places["admin1"].astype(str), "")
    else:
        state = np.full(len(places), "")
    places = _drop_districts(places.assign(state=state))
    min_names = SECOND_NAME_MIN_NAMES if "name_count" in cities else 0
    cells = members[["combined", "cell_lat", "cell_lon"]].drop_duplicates()
    nearby = _in_cells(places, cells, footprint_deg)
    big = nearby[nearby["population"] >= NAMING_MIN_POPULATION]
    by_cluster = dict(tuple(big.groupby("combined", sort=False)))
    any_place = dict(tuple(nearby.groupby("combined", sort=False)))

    nearest_tree = cKDTree(_unit(places["lat"].to_numpy(), places["lon"].to_numpy()))
    names: dict[int, str] = {}
    for combined, group in members.groupby("combined", sort=True):
        found = by_cluster.get(combined)
        if found is None:
            small = any_place.get(combined)
            if small is not None:
                first = small.iloc[0]  # the largest
            else:
                lat, lon = centroids.loc[combined, ["lat", "lon"]]
                _, idx = nearest_tree.query(_unit(np.array([lat]), np.array([lon])))
                first = places.iloc[int(idx[0])]
            names[combined] = with_states([str(first["name"])], list(first["states"]))
            continue
        tree = cKDTree(_unit(found["lat"].to_numpy(), found["lon"].to_numpy()))
        _, nearest = tree.query(_unit(group["lat"].to_numpy(), group["lon"].to_numpy()))
        activity = np.bincount(nearest, weights=group["mass"].to_numpy(), minlength=len(found))
        # Ties go to the larger city: ``found`` is sorted by population.
        order = np.argsort(-activity, kind="stable")
        kept: list[str] = []
        states: list[str] = []
        for k in order:
            if len(kept) == max_names:
                break
            if activity[k] < min_ratio * activity[order[0]] or activity[k] <= 0 and kept:
                break
            name = str(found["name"].iloc[k])
            if kept and found["name_count"].iloc[k] < min_names:
                continue
            # Kansas City, MO and Kansas City, KS make "Kansas City, MO–KS".
            if name not in kept:
                kept.append(name)
            states.extend(found["states"].iloc[k])
        names[combined] = with_states(kept, states)
    return pd.Series(names, dtype=object).reindex(centroids.index)


def given_names(table: pd.DataFrame) -> dict[str, str]:
    """Names a user gives clusters: a table of ``cluster_id`` and ``name`` (text), as a
    mapping.

    Raises
    ------
    ValueError
        A missing column, an empty id or name, or an id given twice; naming the line (the
        header is line 1).
    """
    for column in ("cluster_id", "name"):
        if column not in table.columns:
            raise ValueError(
                f"no {column!r} column (columns: {', '.join(map(str, table.columns))})"
            )
    ids = table["cluster_id"].fillna("").astype(str).str.strip()
    names = table["name"].fillna("").astype(str).str.strip()
    for what, values in (("cluster_id", ids), ("name", names)):
        empty = np.flatnonzero(values.eq("").to_numpy())
        if len(empty):
            raise ValueError(f"line {int(empty[0]) + 2}: empty {what}")
    twice = np.flatnonzero(ids.duplicated().to_numpy())
    if len(twice):
        raise ValueError(f"line {int(twice[0]) + 2}: cluster_id {ids.iloc[twice[0]]!r} given twice")
    return dict(zip(ids, names, strict=True))
