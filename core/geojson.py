"""Cluster footprints as an RFC 7946 GeoJSON FeatureCollection.

A footprint is a set of grid cells of ``f`` degrees: cell ``(i, j)`` covers latitudes
``[-90 + i·f, -90 + (i+1)·f]`` and longitudes ``[-180 + j·f, -180 + (j+1)·f]``. The cells of a
cluster are dissolved into polygons: every boundary edge of the cell set is traced into rings, so
each 4-connected group of cells becomes one polygon (with holes where the group encloses empty
cells). Cells that only touch at a corner stay separate polygons that share that point, which is
what a valid MultiPolygon allows. Column ``j = 0`` and the last column are never joined, so a
footprint that straddles ±180° comes out as one polygon on each side, the split RFC 7946 §3.1.9
asks for.

Everything here is pure: numpy and pandas in, plain Python dicts and bytes out.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core.population import grid_shape

__all__ = ["clusters_geojson", "dumps_geojson", "json_safe"]

# Nine decimals are ~0.1 mm: far below any footprint resolution, and they hide the float noise of
# ``-180 + j * f`` so that the same cells always print the same numbers.
_DECIMALS = 9

# Unit steps of the four edge directions, in (lon index, lat index) order: E, N, W, S.
_STEP = ((1, 0), (0, 1), (-1, 0), (0, -1))


def _key(key: Any) -> str:
    """Object key as ``json.dumps`` would write it, so both serialisation paths agree."""
    key = json_safe(key)
    if isinstance(key, str):
        return key
    return json.dumps(key)


def json_safe(value: Any) -> Any:
    """Convert a value into plain JSON types.

    Parameters
    ----------
    value : object
        A scalar, mapping or sequence, possibly holding numpy or pandas scalars.

    Returns
    -------
    object
        The same structure made of ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and
        ``None``: NaN, infinities, ``pd.NA`` and ``NaT`` become ``None`` (strict JSON has no
        token for them), numpy scalars become Python scalars, timestamps become ISO 8601 text.
    """
    # Exact type checks first: geometries hold millions of plain floats and lists.
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is list or kind is tuple:
        return [json_safe(v) for v in value]
    if kind is dict or isinstance(value, Mapping):
        return {_key(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return json_safe(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def dumps_geojson(obj: Any) -> bytes:
    """Serialise a GeoJSON object to deterministic, strictly valid UTF-8 JSON.

    Parameters
    ----------
    obj : object
        Usually the result of :func:`clusters_geojson`. Anything strict JSON cannot hold
        passes through :func:`json_safe`, so NaN and missing values come out as ``null`` and
        numpy scalars as numbers.

    Returns
    -------
    bytes
        Compact JSON (key order as built, no whitespace), non-ASCII kept as UTF-8.
    """
    options = {"ensure_ascii": False, "allow_nan": False, "separators": (",", ":")}
    try:
        # Plain input (what clusters_geojson returns) goes straight to the C encoder.
        text = json.dumps(obj, **options)
    except (TypeError, ValueError):
        text = json.dumps(json_safe(obj), **options)
    return text.encode("utf-8")


def _coordinates(index: np.ndarray, origin: float, footprint_deg: float) -> np.ndarray:
    """Degrees of grid lines, rounded so that the same line always prints the same number."""
    # rint(x·1e9)/1e9 is the double nearest a 9-decimal number, so it prints short; adding 0.0
    # turns -0.0 into 0.0.
    return np.round(origin + index * footprint_deg, _DECIMALS) + 0.0


def _neighbour_index(
    keys: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_cols: int
) -> np.ndarray:
    """Position in sorted ``keys`` of cell ``(rows, cols)``, or -1 where it is absent."""
    # No wrap in longitude: the antimeridian always splits, as RFC 7946 wants.
    inside = (cols >= 0) & (cols < n_cols)
    probe = rows * n_cols + np.clip(cols, 0, n_cols - 1)
    pos = np.clip(np.searchsorted(keys, probe), 0, len(keys) - 1)
    return np.where(inside & (keys[pos] == probe), pos, -1)


def _boundary_edges(
    rows: np.ndarray, cols: np.ndarray, n_cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Directed boundary edges of distinct cells sorted by key, interior on the left.

    Returns start vertex ``x`` (lon index), ``y`` (lat index), direction (index into ``_STEP``)
    and the cell each edge belongs to. Each cell is walked counter-clockwise, so an edge
    between two present cells would appear once in each direction; keeping only edges whose
    neighbour across is absent is that cancellation.
    """
    keys = rows * n_cols + cols
    cell = np.arange(len(keys), dtype=np.int64)
    xs, ys, ds, cs = [], [], [], []
    # bottom edge runs east from the lower-left corner; right edge north from the lower-right;
    # top edge west from the upper-right; left edge south from the upper-left.
    for direction, (dr, dc), (x0, y0) in (
        (0, (-1, 0), (0, 0)),
        (1, (0, 1), (1, 0)),
        (2, (1, 0), (1, 1)),
        (3, (0, -1), (0, 1)),
    ):
        keep = _neighbour_index(keys, rows + dr, cols + dc, n_cols) < 0
        xs.append(cols[keep] + x0)
        ys.append(rows[keep] + y0)
        ds.append(np.full(int(keep.sum()), direction, dtype=np.int64))
        cs.append(cell[keep])
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ds), np.concatenate(cs)


def _components(rows: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """Label of the 4-connected group of each cell (cells distinct and sorted by key)."""
    keys = rows * n_cols + cols
    cell = np.arange(len(keys), dtype=np.int64)
    right = _neighbour_index(keys, rows, cols + 1, n_cols)
    up = _neighbour_index(keys, rows + 1, cols, n_cols)
    src = np.concatenate([cell[right >= 0], cell[up >= 0]])
    dst = np.concatenate([right[right >= 0], up[up >= 0]])
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(len(keys),) * 2)
    return connected_components(graph, directed=False)[1]


def _trace_rings(
    x: np.ndarray, y: np.ndarray, direction: np.ndarray, n_cols: int
) -> list[tuple[int, list[tuple[int, int]]]]:
    """Link directed boundary edges into closed rings of corner vertices.

    Each edge continues with the edge leaving its end vertex that turns left, else goes
    straight, else turns right. Only where two cells touch diagonally is there a choice, and
    the left turn keeps each ring around one 4-connected group. The rule pairs every way in
    with one way out, so following it is a permutation of the edges whose cycles are the
    rings. Rings start at their lowest, then westernmost, edge, so the output does not depend
    on the input cell order. Returns ``(index of the first edge, corner vertices)`` pairs, with
    edge indices into the arrays sorted by ``(y, x, direction)``.
    """
    width = n_cols + 1
    key = (y * width + x) * 4 + direction
    order = np.argsort(key, kind="stable")
    x, y, direction, key = x[order], y[order], direction[order], key[order]
    step = np.asarray(_STEP, dtype=np.int64)
    end_x, end_y = x + step[direction, 0], y + step[direction, 1]
    successor = np.full(len(key), -1, dtype=np.int64)
    for turn in (1, 0, 3):  # left, straight, right
        free = successor < 0
        probe = (end_y[free] * width + end_x[free]) * 4 + (direction[free] + turn) % 4
        pos = np.clip(np.searchsorted(key, probe), 0, len(key) - 1)
        found = key[pos] == probe
        idx = np.flatnonzero(free)
        successor[idx[found]] = pos[found]
    predecessor = np.empty_like(successor)
    predecessor[successor] = np.arange(len(successor))
    corner = (direction != direction[predecessor]).tolist()
    successor_list, xs, ys = successor.tolist(), x.tolist(), y.tolist()
    used = bytearray(len(key))
    rings = []
    for start in range(len(key)):
        if used[start]:
            continue
        ring = []
        edge = start
        while not used[edge]:
            used[edge] = 1
            if corner[edge]:
                ring.append((xs[edge], ys[edge]))
            edge = successor_list[edge]
        rings.append((int(order[start]), ring))
    return rings


def _signed_area2(ring: list[tuple[int, int]]) -> int:
    """Twice the signed area of an integer ring (positive when counter-clockwise)."""
    total = 0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return total


def _simple_loops(ring: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Cut a ring at the vertices it visits twice into loops that visit every vertex once.

    The left-turn walk keeps different groups apart, but one group's outline and one of its
    holes (or two of its holes) can still meet at a corner; OGC simple features want those as
    separate rings that touch at that point, not as one ring through it twice.
    """
    loops = []
    stack: list[tuple[int, int]] = []
    position: dict[tuple[int, int], int] = {}
    for vertex in ring:
        if vertex in position:
            cut = position[vertex]
            loops.append(stack[cut:])
            for dropped in stack[cut + 1 :]:
                del position[dropped]
            del stack[cut + 1 :]
        else:
            position[vertex] = len(stack)
            stack.append(vertex)
    loops.append(stack)
    return loops


def _stack_offset(code: Any, n_rows: int) -> Any:
    """Stacked row of cluster ``code``'s row 0: one empty row below and above every cluster."""
    return code * (n_rows + 2) + 1


def _dissolve(
    code: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int
) -> dict[int, list[list[list[tuple[int, int]]]]]:
    """Dissolve the cells of many clusters at once into polygons of integer corners.

    Cells are ``(code, row, col)`` triples, distinct. Clusters are stacked on top of each other
    with an empty row between them, so one vectorised pass serves all of them and no edge or
    ring can join two clusters. Returns, per cluster code, polygons ``[exterior, *holes]`` in
    the order of their lowest, then westernmost, corner; vertices are ``(lon index, stacked
    lat index)``, where cluster ``c``'s row ``i`` is stacked row ``c·(n_rows + 2) + i + 1``.
    """
    stacked_rows = _stack_offset(code, n_rows) + rows
    label = _components(stacked_rows, cols, n_cols)
    x, y, direction, cell = _boundary_edges(stacked_rows, cols, n_cols)
    exterior: dict[int, list[tuple[int, int]]] = {}
    holes: dict[int, list[list[tuple[int, int]]]] = {}
    for first_edge, traced in _trace_rings(x, y, direction, n_cols):
        group = int(label[cell[first_edge]])
        for ring in _simple_loops(traced):
            # Cells lie on the left of every edge: a group's outline runs counter-clockwise
            # and the outlines of the empty pockets it encloses clockwise, as RFC 7946 wants.
            if _signed_area2(ring) > 0:
                exterior[group] = ring
            else:
                holes.setdefault(group, []).append(ring)
    cluster_of_group = {}
    for cell_code, group in zip(code.tolist(), label.tolist(), strict=True):
        cluster_of_group.setdefault(group, cell_code)
    polygons: dict[int, list[list[list[tuple[int, int]]]]] = {}
    for group, ring in exterior.items():
        polygons.setdefault(cluster_of_group[group], []).append([ring, *holes.get(group, [])])
    return polygons


def _multipolygon(
    polygons: list[list[list[tuple[int, int]]]], lat_shift: int, footprint_deg: float
) -> list[list[list[list[float]]]]:
    """GeoJSON MultiPolygon coordinates: closed rings of ``[lon, lat]`` in degrees.

    ``lat_shift`` is subtracted from the vertices' lat index first (the stacking offset).
    """
    vertices = np.array([v for poly in polygons for ring in poly for v in ring], dtype=np.int64)
    lons = _coordinates(vertices[:, 0], -180.0, footprint_deg).tolist()
    lats = _coordinates(vertices[:, 1] - lat_shift, -90.0, footprint_deg).tolist()
    out = []
    at = 0
    for poly in polygons:
        rings = []
        for ring in poly:
            end = at + len(ring)
            coords = list(map(list, zip(lons[at:end], lats[at:end], strict=True)))
            coords.append(list(coords[0]))
            rings.append(coords)
            at = end
        out.append(rings)
    return out


def _bbox(rows: np.ndarray, cols: np.ndarray, n_cols: int, footprint_deg: float) -> list[float]:
    """RFC 7946 §5 bounding box, crossing ±180° when that makes it narrower.

    The longitudinal extent is the circle minus the widest run of empty columns; when that run
    is not the one across the antimeridian the box crosses it and west > east (§5.2).
    """
    columns = np.unique(cols)
    south, north = _coordinates(np.array([rows.min(), rows.max() + 1]), -90.0, footprint_deg)
    wrap_gap = int(columns[0] + n_cols - columns[-1] - 1)
    west_col, east_col = int(columns[0]), int(columns[-1])
    if len(columns) > 1:
        gaps = np.diff(columns) - 1
        widest = int(np.argmax(gaps))
        # Ties keep the ordinary box: only cross when it is strictly narrower.
        if gaps[widest] > wrap_gap:
            west_col, east_col = int(columns[widest + 1]), int(columns[widest])
    west, east = _coordinates(np.array([west_col, east_col + 1]), -180.0, footprint_deg)
    return [float(west), float(south), float(east), float(north)]


def clusters_geojson(
    rankings: pd.DataFrame, footprints: pd.DataFrame, *, footprint_deg: float
) -> dict:
    """Build the RFC 7946 FeatureCollection of ranked cluster footprints.

    Parameters
    ----------
    rankings : pandas.DataFrame
        One row per cluster with at least ``cluster_id``; every column becomes a property.
        Features follow ``rank`` when that column exists, else the row order.
    footprints : pandas.DataFrame
        Columns ``cluster_id``, ``cell_lat`` (row i), ``cell_lon`` (column j) of the grid cells
        each cluster covers. Duplicate cells are ignored; clusters missing from ``rankings``
        are left out.
    footprint_deg : float
        Cell size in degrees; ``180 / footprint_deg`` must be an integer.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}``. Each feature has ``id`` (the
        cluster id), a ``bbox`` ``[west, south, east, north]`` (west > east when the footprint
        crosses ±180°), a ``MultiPolygon`` geometry in ``[lon, lat]`` order with closed,
        counter-clockwise exteriors and clockwise holes, and the ranking row as JSON-safe
        ``properties``. A cluster without cells gets ``"geometry": null`` and no ``bbox``.

    Raises
    ------
    ValueError
        If ``footprint_deg`` does not divide 180, a cell index is outside the grid, or a
        column is missing.
    """
    n_rows, n_cols = grid_shape(footprint_deg=footprint_deg)
    for column in ("cluster_id", "cell_lat", "cell_lon"):
        if column not in footprints.columns:
            raise ValueError(f"footprints lacks column {column!r}")
    if "cluster_id" not in rankings.columns:
        raise ValueError("rankings lacks column 'cluster_id'")

    cell_rows = pd.to_numeric(footprints["cell_lat"]).to_numpy(dtype=np.int64)
    cell_cols = pd.to_numeric(footprints["cell_lon"]).to_numpy(dtype=np.int64)
    if ((cell_rows < 0) | (cell_rows >= n_rows) | (cell_cols < 0) | (cell_cols >= n_cols)).any():
        raise ValueError(
            f"footprint cells must satisfy 0 <= cell_lat < {n_rows} and 0 <= cell_lon < {n_cols}"
        )

    ordered = rankings
    if "rank" in rankings.columns:
        ordered = rankings.sort_values("rank", kind="mergesort", na_position="last")
    columns = [str(c) for c in ordered.columns]
    records = [
        {c: json_safe(v) for c, v in zip(columns, values, strict=True)}
        for values in ordered.itertuples(index=False, name=None)
    ]
    ids = [None if r["cluster_id"] is None else str(r["cluster_id"]) for r in records]

    # Cluster codes follow the ranking, so the stacked grid is independent of footprint order.
    code_of = {cid: k for k, cid in enumerate(dict.fromkeys(c for c in ids if c is not None))}
    footprint_ids = footprints["cluster_id"].astype(str).to_numpy()
    code = np.array([code_of.get(cid, -1) for cid in footprint_ids], dtype=np.int64)
    keep = code >= 0
    stacked = np.unique((code[keep] * n_rows + cell_rows[keep]) * n_cols + cell_cols[keep])
    code, rest = np.divmod(stacked, n_rows * n_cols)
    rows, cols = np.divmod(rest, n_cols)
    polygons = _dissolve(code, rows, cols, n_rows, n_cols) if len(stacked) else {}
    bounds = np.searchsorted(code, np.arange(len(code_of) + 1))

    features = []
    for cid, properties in zip(ids, records, strict=True):
        feature: dict[str, Any] = {"type": "Feature", "id": cid}
        k = code_of.get(cid, -1) if cid is not None else -1
        if k < 0 or bounds[k] == bounds[k + 1]:
            feature["geometry"] = None
        else:
            lo, hi = bounds[k], bounds[k + 1]
            feature["bbox"] = _bbox(rows[lo:hi], cols[lo:hi], n_cols, footprint_deg)
            feature["geometry"] = {
                "type": "MultiPolygon",
                "coordinates": _multipolygon(polygons[k], _stack_offset(k, n_rows), footprint_deg),
            }
        feature["properties"] = properties
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}
