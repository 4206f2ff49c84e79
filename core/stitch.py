"""Stitching tile results into global DBSCAN labels.

Every tile reports local components of its own core points. A component is a node
``(tile, component)``. Two nodes belong to the same cluster when a tile reported one of its
components next to a halo point that its owner found core (an exported core). Connected
components of that graph are the clusters, numbered in the order of their lowest core row id,
which is what scikit-learn's sequential scan produces. A non-core point takes the smallest
cluster number among the components reported next to it.

The stitcher sees only components, exported cores and candidate pairs: data proportional to
tile borders, never the points themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class TileSummary:
    """The part of one tile's result that the stitcher needs.

    Attributes
    ----------
    tile : int
        Index of the tile in the plan.
    component_min_row : numpy.ndarray of int64
        Lowest core row id of each local component.
    exported_row, exported_component : numpy.ndarray of int64
        Own core rows that lie in some other tile's halo, with their component.
    candidate_row, candidate_owner, candidate_component : numpy.ndarray of int64
        Non-core or halo rows (with the tile that owns them) next to a core of the component.
    """

    tile: int
    component_min_row: np.ndarray
    exported_row: np.ndarray
    exported_component: np.ndarray
    candidate_row: np.ndarray
    candidate_owner: np.ndarray
    candidate_component: np.ndarray


@dataclass(frozen=True)
class StitchResult:
    """Global labels of local components, and labels of border points per owning tile.

    Attributes
    ----------
    node_offset : dict[int, int]
        First node number of each tile; node ``node_offset[t] + c`` is component c of tile t.
    node_label : numpy.ndarray of int64
        Global cluster number of every node.
    border : dict[int, tuple[numpy.ndarray, numpy.ndarray]]
        For each owning tile, sorted non-core row ids with their cluster number.
    n_clusters : int
    """

    node_offset: dict[int, int]
    node_label: np.ndarray
    border: dict[int, tuple[np.ndarray, np.ndarray]]
    n_clusters: int

    def labels_for_tile(self, tile: int, row: np.ndarray, component: np.ndarray) -> np.ndarray:
        """Labels of one tile's own rows, given their local component (-1 for non-core)."""
        labels = np.full(row.size, -1, np.int64)
        core = component >= 0
        labels[core] = self.node_label[self.node_offset[tile] + component[core]]
        border_row, border_label = self.border.get(tile, (np.empty(0, np.int64),) * 2)
        if border_row.size:
            pos = np.searchsorted(border_row, row)
            pos = np.minimum(pos, border_row.size - 1)
            hit = (~core) & (border_row[pos] == row)
            labels[hit] = border_label[pos[hit]]
        return labels


def stitch_clusters(summaries: list[TileSummary]) -> StitchResult:
    """Union components across tiles, number clusters, and resolve border points.

    Parameters
    ----------
    summaries : list of TileSummary
        One per tile that has any own points (order does not matter).

    Returns
    -------
    StitchResult
    """
    summaries = sorted(summaries, key=lambda s: s.tile)
    node_offset: dict[int, int] = {}
    offset = 0
    for s in summaries:
        node_offset[s.tile] = offset
        offset += s.component_min_row.size
    n_nodes = offset
    empty = np.empty(0, np.int64)

    def cat(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrays).astype(np.int64) if arrays else empty

    min_row = cat([s.component_min_row for s in summaries])
    exp_row = cat([s.exported_row for s in summaries])
    exp_node = cat([s.exported_component + node_offset[s.tile] for s in summaries])
    cand_row = cat([s.candidate_row for s in summaries])
    cand_owner = cat([s.candidate_owner for s in summaries])
    cand_node = cat([s.candidate_component + node_offset[s.tile] for s in summaries])

    # Is the candidate row an exported core? Then its component joins the candidate's.
    order = np.argsort(exp_row, kind="stable")
    exp_row, exp_node = exp_row[order], exp_node[order]
    if exp_row.size and np.any(exp_row[1:] == exp_row[:-1]):
        raise RuntimeError("a core row was exported by two tiles; the tile plan is inconsistent")
    if exp_row.size:
        pos = np.minimum(np.searchsorted(exp_row, cand_row), exp_row.size - 1)
        is_core = exp_row[pos] == cand_row
    else:
        pos = np.zeros(cand_row.size, np.int64)
        is_core = np.zeros(cand_row.size, bool)

    if n_nodes:
        graph = coo_matrix(
            (np.ones(int(is_core.sum()), np.int8), (cand_node[is_core], exp_node[pos[is_core]])),
            shape=(n_nodes, n_nodes),
        )
        n_roots, root = connected_components(graph, directed=True, connection="weak")
        root_min = np.full(n_roots, np.iinfo(np.int64).max)
        np.minimum.at(root_min, root, min_row)
        rank = np.empty(n_roots, np.int64)
        rank[np.argsort(root_min, kind="stable")] = np.arange(n_roots)
        node_label = rank[root]
    else:
        n_roots, node_label = 0, empty

    # Border rule: the smallest cluster number among the components next to a non-core row.
    b_row, b_owner, b_label = (
        cand_row[~is_core],
        cand_owner[~is_core],
        node_label[cand_node[~is_core]],
    )
    border: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if b_row.size:
        order = np.lexsort((b_label, b_row))
        b_row, b_owner, b_label = b_row[order], b_owner[order], b_label[order]
        first = np.ones(b_row.size, bool)
        first[1:] = b_row[1:] != b_row[:-1]
        b_row, b_owner, b_label = b_row[first], b_owner[first], b_label[first]
        for tile in np.unique(b_owner).tolist():
            sel = b_owner == tile
            border[int(tile)] = (b_row[sel], b_label[sel])
    return StitchResult(
        node_offset=node_offset, node_label=node_label, border=border, n_clusters=int(n_roots)
    )
