"""Footprints: merge overlapping clusters of all sources; match clusters between editions.

A footprint is the set of ``footprint_deg`` grid cells holding a cluster's member
locations (the population grid's cells, see :mod:`core.population`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def footprint_cells(
    ilat: np.ndarray, ilon: np.ndarray, *, rounding_deg: float, footprint_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell (row, column) of rounded locations, in exact integer arithmetic.

    Parameters
    ----------
    ilat, ilon : array of int
        Rounded locations in units of ``rounding_deg``.
    rounding_deg, footprint_deg : float
        ``footprint_deg`` must be a multiple of ``rounding_deg`` and divide 90.

    Returns
    -------
    (i, j) : arrays of int32
        Row ``floor((lat + 90) / f)`` (the north pole joins the last row) and column
        ``floor((lon + 180) / f)`` modulo the number of columns.
    """
    per_cell = int(round(footprint_deg / rounding_deg))
    quarter = int(round(90.0 / rounding_deg))
    n_rows = int(round(180.0 / footprint_deg))
    i = np.minimum((np.asarray(ilat, np.int64) + quarter) // per_cell, n_rows - 1)
    j = ((np.asarray(ilon, np.int64) + 2 * quarter) // per_cell) % (2 * n_rows)
    return i.astype(np.int32), j.astype(np.int32)


def overlay_clusters(members: pd.DataFrame) -> pd.DataFrame:
    """Merge clusters of any sources that share a footprint cell, transitively.

    Parameters
    ----------
    members : pandas.DataFrame
        ``source``, ``label`` (the source's cluster), ``cell_lat``, ``cell_lon``; one row
        per member location (duplicates are fine).

    Returns
    -------
    pandas.DataFrame
        One row per (``source``, ``label``) with ``combined``: the number of its
        combined cluster, 0, 1, … in order of each combined cluster's first cell.
    """
    if members.empty:
        return pd.DataFrame({"source": [], "label": [], "combined": []}).astype(
            {"label": np.int64, "combined": np.int64}
        )
    groups = members.groupby(["source", "label"], sort=True, observed=True)
    cluster_idx = groups.ngroup().to_numpy()
    n_clusters = int(cluster_idx.max()) + 1
    cell_key = members["cell_lat"].to_numpy(np.int64) << 32 | members["cell_lon"].to_numpy(np.int64)
    _, cell_idx = np.unique(cell_key, return_inverse=True)
    n_nodes = n_clusters + int(cell_idx.max()) + 1
    graph = coo_matrix(
        (np.ones(len(members), np.int8), (cluster_idx, n_clusters + cell_idx)),
        shape=(n_nodes, n_nodes),
    )
    _, component = connected_components(graph, directed=False)
    component = component[:n_clusters]
    # Number combined clusters by their lowest cell so numbering follows geography,
    # not the order rows arrived in.
    lowest_cell = pd.Series(cell_key).groupby(cluster_idx).min().to_numpy()
    component_cell = pd.Series(lowest_cell).groupby(component).min()
    number = pd.Series(
        np.arange(len(component_cell)), index=component_cell.sort_values(kind="stable").index
    )
    keys = groups.size().reset_index()[["source", "label"]]
    return keys.assign(combined=number.loc[component].to_numpy(np.int64))


def match_previous(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Match clusters one-to-one with an earlier edition's by largest footprint overlap.

    Greedy: the pair with the most shared cells is matched first, ties broken by
    ``cluster_id`` then ``previous_cluster_id``, and matched clusters leave the pool.

    Parameters
    ----------
    current, previous : pandas.DataFrame
        Footprints: ``cluster_id``, ``cell_lat``, ``cell_lon``.

    Returns
    -------
    pandas.DataFrame
        ``cluster_id``, ``previous_cluster_id``, ``overlap`` (shared cells).
    """
    cur = current[["cluster_id", "cell_lat", "cell_lon"]].drop_duplicates()
    prev = previous[["cluster_id", "cell_lat", "cell_lon"]].drop_duplicates()
    pairs = cur.merge(prev, on=["cell_lat", "cell_lon"], suffixes=("", "_prev"))
    overlap = (
        pairs.groupby(["cluster_id", "cluster_id_prev"]).size().rename("overlap").reset_index()
    )
    overlap = overlap.sort_values(
        ["overlap", "cluster_id", "cluster_id_prev"], ascending=[False, True, True], kind="stable"
    )
    taken_cur: set[str] = set()
    taken_prev: set[str] = set()
    matched = []
    for cid, pid, n in overlap.itertuples(index=False):
        if cid in taken_cur or pid in taken_prev:
            continue
        taken_cur.add(cid)
        taken_prev.add(pid)
        matched.append((cid, pid, int(n)))
    return pd.DataFrame(matched, columns=["cluster_id", "previous_cluster_id", "overlap"])


def rank_changes(
    ranked: pd.DataFrame,
    footprints: pd.DataFrame,
    previous_rankings: pd.DataFrame | None,
    previous_footprints: pd.DataFrame | None,
    *,
    top: int,
) -> pd.DataFrame:
    """Year over year: each cluster's previous rank, rank change and new-entrant flag.

    Parameters
    ----------
    ranked : pandas.DataFrame
        This edition's clusters with ``cluster_id`` and ``rank``.
    footprints : pandas.DataFrame
        This edition's ``cluster_id, cell_lat, cell_lon``.
    previous_rankings, previous_footprints : pandas.DataFrame or None
        The same tables of the earlier edition; None when there is none.
    top : int
        Size of the published list: a cluster ranked ``<= top`` now that was not in the
        earlier top ``top`` (or did not exist) is a new entrant.

    Returns
    -------
    pandas.DataFrame
        ``ranked`` with nullable ``previous_rank`` and ``rank_change`` (positive: moved up)
        and ``new_entrant``; all missing without an earlier edition.
    """
    out = ranked.copy()
    out["previous_rank"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["rank_change"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["new_entrant"] = pd.array([pd.NA] * len(out), dtype="boolean")
    if previous_rankings is None or previous_footprints is None:
        return out
    matched = match_previous(footprints, previous_footprints)
    prev_rank = previous_rankings.set_index("cluster_id")["rank"]
    matched["previous_rank"] = prev_rank.reindex(matched["previous_cluster_id"]).to_numpy()
    by_id = matched.set_index("cluster_id")["previous_rank"]
    out["previous_rank"] = pd.array(by_id.reindex(out["cluster_id"]).to_numpy(), dtype="Int64")
    out["rank_change"] = out["previous_rank"] - out["rank"]
    was_top = (out["previous_rank"] <= top).fillna(False).to_numpy(bool)
    out["new_entrant"] = pd.array((out["rank"] <= top).to_numpy() & ~was_top, dtype="boolean")
    return out
