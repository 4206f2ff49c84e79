"""Cluster measures: fractional counts, shares of world totals, score, rank, intensity.

Inputs are the flow's aggregated tables with fixed-point integer weights ``w`` (see
:mod:`core.records`); every float below is derived from exact integer sums of rows in a
sorted order, so results do not depend on partitioning.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.overlay import footprint_cells, overlay_clusters
from core.population import cell_centres
from core.profiles import PROFILE_COLUMNS
from core.records import WEIGHT_SCALE, NoUsableRecords
from core.sources import COUNT_COLUMNS, PER_MILLION_COLUMNS, RANK_COLUMNS, SHARE_COLUMNS, SOURCES
from core.tiling import geohash_encode, geohash_to_string

CLUSTER_ID_PRECISION = 7
#: Columns of the published rankings, in order.
RANKING_COLUMNS = [
    "rank",
    "cluster_id",
    "name",
    "economies",
    "world_region",
    *COUNT_COLUMNS.values(),
    *SHARE_COLUMNS.values(),
    "score",
    "population",
    *PER_MILLION_COLUMNS.values(),
    "intensity",
    "intensity_rank",
    *RANK_COLUMNS.values(),
    "rank_previous_method",
    *PROFILE_COLUMNS,
    "lat",
    "lon",
    "previous_rank",
    "rank_change",
    "new_entrant",
]


def window_bounds(
    years: np.ndarray, *, start_year: int | None, end_year: int | None, default_years: int = 5
) -> tuple[int, int]:
    """The year window: explicit bounds, else the latest ``default_years`` years in ``years``."""
    years = np.asarray(years)
    if end_year is None:
        if years.size == 0:
            raise NoUsableRecords("no usable records: cannot choose a year window")
        end_year = int(years.max())
    if start_year is None:
        start_year = end_year - default_years + 1
    return int(start_year), int(end_year)


def world_totals(located: pd.DataFrame) -> pd.Series:
    """Fixed-point weight per source over every valid located row in the window."""
    return located.groupby("source", observed=False)["w"].sum().reindex(SOURCES, fill_value=0)


def source_points(located: pd.DataFrame, source: str) -> pd.DataFrame:
    """Distinct rounded locations of one source with summed weight, sorted by (ilat, ilon).

    Returns
    -------
    pandas.DataFrame
        ``site``, ``ilat``, ``ilon``, ``w``.
    """
    rows = located[(located["source"] == source).to_numpy()]
    site = rows["site"].to_numpy()
    # ``located`` is sorted by site, so each site is one run of rows.
    starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]]) if len(site) else site
    return pd.DataFrame(
        {
            "site": site[starts],
            "ilat": rows["ilat"].to_numpy()[starts],
            "ilon": rows["ilon"].to_numpy()[starts],
            "w": np.add.reduceat(rows["w"].to_numpy(), starts) if len(site) else site,
        }
    )


def cluster_members(
    located: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    rounding_deg: float,
    footprint_deg: float,
) -> pd.DataFrame:
    """Member rows of every combined cluster.

    Parameters
    ----------
    located : pandas.DataFrame
        ``source, ilat, ilon, country, w, rows`` in the window.
    labels : pandas.DataFrame
        ``site, label`` from each source's clustering (-1 = noise), sorted by ``site``.
    rounding_deg, footprint_deg : float
        Grids of the rounded locations and of the footprints.

    Returns
    -------
    pandas.DataFrame
        ``located`` rows whose location is in a cluster of their source, with ``label``,
        ``cell_lat``, ``cell_lon`` and ``combined`` (combined cluster number), sorted.
    """
    clustered = labels[labels["label"] >= 0]
    site = located["site"].to_numpy()
    clustered_site = clustered["site"].to_numpy()
    at = np.minimum(np.searchsorted(clustered_site, site), max(len(clustered_site) - 1, 0))
    hit = clustered_site[at] == site if len(clustered_site) else np.zeros(len(site), bool)
    members = located[hit].assign(label=clustered["label"].to_numpy()[at[hit]])
    cell_lat, cell_lon = footprint_cells(
        members["ilat"].to_numpy(),
        members["ilon"].to_numpy(),
        rounding_deg=rounding_deg,
        footprint_deg=footprint_deg,
    )
    members = members.assign(cell_lat=cell_lat, cell_lon=cell_lon)
    combined = overlay_clusters(members[["source", "label", "cell_lat", "cell_lon"]])
    members = members.merge(combined, on=["source", "label"], how="left")
    return members.sort_values(
        ["combined", "source", "ilat", "ilon", "country"], kind="stable", ignore_index=True
    )


def score_contributions(
    members: pd.DataFrame, totals: pd.Series, share_weights: Mapping[str, float]
) -> np.ndarray:
    """Each member row's part of its cluster's score: share-weight × w / world total."""
    source = members["source"].astype(object).to_numpy()
    sw = np.array([share_weights[s] for s in source], dtype=np.float64)
    total = totals.reindex(source).to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(total > 0, sw * members["w"].to_numpy(np.float64) / total, 0.0)
    return part


def measure_clusters(
    members: pd.DataFrame,
    totals: pd.Series,
    *,
    share_weights: Mapping[str, float],
    rounding_deg: float,
    footprint_deg: float,
) -> pd.DataFrame:
    """Counts, shares, score, centroid and content-derived id of each combined cluster.

    Parameters
    ----------
    members : pandas.DataFrame
        Output of :func:`cluster_members`.
    totals : pandas.Series
        :func:`world_totals`.
    share_weights : mapping
        Weight of each source's share in the score.
    rounding_deg, footprint_deg : float
        Grids of the rounded locations and of the footprints.

    Returns
    -------
    pandas.DataFrame
        One row per combined cluster (index ``combined``): ``cluster_id`` (geohash of the
        footprint cell with the largest score part, ties to the lowest cell; two clusters
        never share a cell, so ids are unique), counts, shares, ``score``, ``lat``,
        ``lon`` (score-weighted centroid on the sphere).
    """
    columns = [
        "cluster_id",
        *COUNT_COLUMNS.values(),
        *SHARE_COLUMNS.values(),
        "score",
        "lat",
        "lon",
    ]
    if members.empty:
        empty = pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in columns})
        return empty.astype({"cluster_id": object}).rename_axis("combined")
    weight = members.pivot_table(
        index="combined", columns="source", values="w", aggfunc="sum", observed=False
    ).reindex(columns=list(SOURCES), fill_value=0)
    weight = weight.fillna(0).astype(np.int64)
    out = pd.DataFrame(index=weight.index)
    score = np.zeros(len(weight))
    for source in SOURCES:
        w = weight[source].to_numpy(np.float64)
        total = float(totals[source])
        share = w / total if total > 0 else np.zeros_like(w)
        out[COUNT_COLUMNS[source]] = w / WEIGHT_SCALE
        out[SHARE_COLUMNS[source]] = share
        score += share_weights[source] * share
    out["score"] = score

    part = score_contributions(members, totals, share_weights)
    # Clusters whose only sources weigh zero in the score still need a centre and anchor.
    cluster_part = pd.Series(part).groupby(members["combined"].to_numpy()).transform("sum")
    mass = np.where(cluster_part.to_numpy() > 0, part, members["w"].to_numpy(np.float64))

    lat = np.radians(members["ilat"].to_numpy() * rounding_deg)
    lon = np.radians(members["ilon"].to_numpy() * rounding_deg)
    vectors = (
        pd.DataFrame(
            {
                "x": mass * np.cos(lat) * np.cos(lon),
                "y": mass * np.cos(lat) * np.sin(lon),
                "z": mass * np.sin(lat),
            }
        )
        .groupby(members["combined"].to_numpy())
        .sum()
    )
    out["lat"] = np.degrees(np.arctan2(vectors["z"], np.hypot(vectors["x"], vectors["y"])))
    out["lon"] = np.degrees(np.arctan2(vectors["y"], vectors["x"]))

    cells = (
        pd.DataFrame(
            {
                "combined": members["combined"].to_numpy(),
                "cell_lat": members["cell_lat"].to_numpy(),
                "cell_lon": members["cell_lon"].to_numpy(),
                "mass": mass,
            }
        )
        .groupby(["combined", "cell_lat", "cell_lon"], sort=True)["mass"]
        .sum()
        .reset_index()
    )
    anchor = cells.sort_values(
        ["combined", "mass", "cell_lat", "cell_lon"],
        ascending=[True, False, True, True],
        kind="stable",
    ).drop_duplicates("combined")
    centre_lat, centre_lon = cell_centres(footprint_deg=footprint_deg)
    a_lat = centre_lat[anchor["cell_lat"].to_numpy()]
    a_lon = centre_lon[anchor["cell_lon"].to_numpy()]
    codes = geohash_encode(a_lat, a_lon, precision=CLUSTER_ID_PRECISION)
    ids = [geohash_to_string(int(c), CLUSTER_ID_PRECISION) for c in codes]
    out["cluster_id"] = pd.Series(ids, index=anchor["combined"].to_numpy(), dtype=object)
    return out[columns]


def rank_clusters(clusters: pd.DataFrame) -> pd.DataFrame:
    """Sort by score (descending), ties by ``cluster_id``, and number ranks from 1; each
    source's rank (``RANK_COLUMNS``) orders the clusters by that source's share alone, the
    same way, and is missing where the cluster holds none of it."""
    ranked = clusters.sort_values(
        ["score", "cluster_id"], ascending=[False, True], kind="stable"
    ).reset_index()
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1, dtype=np.int64))
    for source in SOURCES:
        share = ranked[SHARE_COLUMNS[source]]
        held = ranked[share > 0]
        order = held.sort_values(
            [SHARE_COLUMNS[source], "cluster_id"], ascending=[False, True], kind="stable"
        )
        column = pd.Series(pd.NA, index=ranked.index, dtype="Int64")
        column.loc[order.index] = np.arange(1, len(order) + 1)
        ranked[RANK_COLUMNS[source]] = column
    return ranked


def add_intensity(ranked: pd.DataFrame, population: pd.Series, *, top: int) -> pd.DataFrame:
    """Population, activity per million inhabitants and the intensity rank in the top N.

    Parameters
    ----------
    ranked : pandas.DataFrame
        :func:`rank_clusters` output with ``cluster_id``.
    population : pandas.Series
        Inhabitants per ``cluster_id``.
    top : int
        Only clusters ranked ``<= top`` get an ``intensity_rank``.

    Returns
    -------
    pandas.DataFrame
        ``ranked`` with ``population``, ``*_per_million``, ``intensity`` (score per
        million inhabitants; NaN where the population is 0) and ``intensity_rank``
        (nullable; ties by ``rank``).
    """
    pop = population.reindex(ranked["cluster_id"]).fillna(0.0).to_numpy(np.float64)
    millions = np.where(pop > 0, pop / 1e6, np.nan)
    out = ranked.assign(population=pop)
    for source in SOURCES:
        out[PER_MILLION_COLUMNS[source]] = out[COUNT_COLUMNS[source]].to_numpy() / millions
    out["intensity"] = out["score"].to_numpy() / millions
    in_top = (out["rank"] <= top) & out["intensity"].notna()
    order = out[in_top].sort_values(["intensity", "rank"], ascending=[False, True], kind="stable")
    intensity_rank = pd.Series(pd.NA, index=out.index, dtype="Int64")
    intensity_rank.loc[order.index] = np.arange(1, len(order) + 1)
    out["intensity_rank"] = intensity_rank
    return out


def economies_of(
    members: pd.DataFrame,
    totals: pd.Series,
    *,
    share_weights: Mapping[str, float],
    min_share: float,
) -> pd.Series:
    """Economies holding at least ``min_share`` of each cluster's score, largest first.

    Returns
    -------
    pandas.Series
        ``"CN/HK"``-style codes per ``combined`` cluster; the largest economy is always
        listed, even below ``min_share``.
    """
    part = score_contributions(members, totals, share_weights)
    # Where a cluster's sources all weigh zero, economies follow plain fractional counts.
    by_country = (
        pd.DataFrame(
            {
                "combined": members["combined"].to_numpy(),
                "country": members["country"].to_numpy(),
                "part": part,
                "w": members["w"].to_numpy(np.float64),
            }
        )
        .groupby(["combined", "country"], sort=True)[["part", "w"]]
        .sum()
        .reset_index()
    )
    cluster_part = by_country.groupby("combined")["part"].transform("sum")
    use = np.where(cluster_part > 0, by_country["part"], by_country["w"])
    share = (
        use / pd.Series(use).groupby(by_country["combined"].to_numpy()).transform("sum").to_numpy()
    )
    by_country = by_country.assign(share=share).sort_values(
        ["combined", "share", "country"], ascending=[True, False, True], kind="stable"
    )
    first = ~by_country.duplicated("combined")
    kept = by_country[first | (by_country["share"] >= min_share)]
    return kept.groupby("combined", sort=True)["country"].agg("/".join)


def noise_locations(
    located: pd.DataFrame,
    members: pd.DataFrame,
    *,
    min_records: int,
    rounding_deg: float,
) -> pd.DataFrame:
    """Rounded locations (all sources) with at least ``min_records`` rows, in no cluster.

    Returns
    -------
    pandas.DataFrame
        ``lat, lon, records, patents, publications, vc_deals`` sorted by location.
    """
    place = located["place"].to_numpy()
    places, inverse = np.unique(place, return_inverse=True)
    records = np.bincount(inverse, weights=located["rows"].to_numpy(), minlength=len(places))
    outside = ~np.isin(places, members["place"].to_numpy())
    noise = outside & (records >= min_records)
    first = np.zeros(len(places), np.int64)
    first[inverse[::-1]] = np.arange(len(place))[::-1]
    out = pd.DataFrame(
        {
            "lat": located["ilat"].to_numpy()[first[noise]] * rounding_deg,
            "lon": located["ilon"].to_numpy()[first[noise]] * rounding_deg,
            "records": records[noise].astype(np.int64),
        }
    )
    source = located["source"].cat.codes.to_numpy()
    w = located["w"].to_numpy(np.float64)
    for code, name in enumerate(SOURCES):
        per_place = np.bincount(
            inverse, weights=np.where(source == code, w, 0.0), minlength=len(places)
        )
        out[COUNT_COLUMNS[name]] = per_place[noise] / WEIGHT_SCALE
    return out.sort_values(["lat", "lon"], kind="stable", ignore_index=True)


def economy_aggregates(rankings: pd.DataFrame, *, top: int) -> pd.DataFrame:
    """Clusters in the top N per economy, with the leading (best-ranked) one.

    A cluster spanning economies ("CN/HK") counts for each of them.
    """
    top_rows = rankings[rankings["rank"] <= top]
    exploded = top_rows.assign(economy=top_rows["economies"].str.split("/")).explode("economy")
    if exploded.empty:
        return pd.DataFrame(
            columns=["economy", "world_region", "clusters", "leading_cluster", "leading_rank"]
        )
    exploded = exploded.sort_values(["economy", "rank"], kind="stable")
    grouped = exploded.groupby("economy", sort=False)
    table = pd.DataFrame(
        {
            "clusters": grouped.size(),
            "leading_cluster": grouped["name"].first(),
            "leading_rank": grouped["rank"].first(),
        }
    ).reset_index()
    from core.regions import world_region

    table.insert(1, "world_region", world_region(table["economy"]).to_numpy())
    return table.sort_values(
        ["clusters", "leading_rank", "economy"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)


def concentration(rankings: pd.DataFrame, *, leaders: tuple[int, ...] = (1, 2, 10)) -> dict:
    """Share of each source's world total held by the top 1, 2, 10 clusters (by rank)."""
    out: dict[str, dict[str, float]] = {}
    for source in SOURCES:
        column = SHARE_COLUMNS[source]
        out[source] = {
            f"top{k}": float(rankings.loc[rankings["rank"] <= k, column].sum()) for k in leaders
        }
    return out


def map_locations(
    located: pd.DataFrame, members: pd.DataFrame, *, rounding_deg: float
) -> pd.DataFrame:
    """Every rounded location (all sources together) for the map, with its cluster.

    Parameters
    ----------
    located : pandas.DataFrame
        ``place, ilat, ilon, w`` rows in the window.
    members : pandas.DataFrame
        :func:`cluster_members` rows with ``place`` and ``cluster_id``.

    Returns
    -------
    pandas.DataFrame
        ``lat, lon, activity`` (documents, all sources) and ``cluster_id`` (missing outside
        clusters), one row per distinct place in place order.
    """
    place = located["place"].to_numpy()
    places, first, inverse = np.unique(place, return_index=True, return_inverse=True)
    activity = np.bincount(inverse, weights=located["w"].to_numpy(np.float64))
    member_places = members.drop_duplicates("place").sort_values("place")
    at = np.searchsorted(member_places["place"].to_numpy(), places)
    at = np.minimum(at, max(len(member_places) - 1, 0))
    ids = member_places["cluster_id"].to_numpy(dtype=object)
    inside = ids[at] if len(ids) else np.full(len(places), None, dtype=object)
    inside = np.where(
        member_places["place"].to_numpy()[at] == places if len(ids) else False, inside, None
    )
    return pd.DataFrame(
        {
            "lat": located["ilat"].to_numpy()[first] * rounding_deg,
            "lon": located["ilon"].to_numpy()[first] * rounding_deg,
            "activity": activity / WEIGHT_SCALE,
            "cluster_id": inside,
        }
    )
