"""Per-tile weighted DBSCAN kernel on the sphere: a grid of cells about ε wide.

The kernel sees one tile's own points plus its ε-halo. It decides which *own* points are core,
links own core points into local components, and reports, for every halo point and every own
non-core point, the local components that have a core point within ε of it. Those reports are
all the stitcher needs: a halo point that turns out to be core in its own tile joins the
components it was reported with, and a non-core point takes the smallest cluster among them.

Neighbour test (the contract, as scikit-learn's haversine BallTree computes it)::

    h(i, j) = sin²((φi - φj)/2) + cos φi · cos φj · sin²((λi - λj)/2)  <=  sin²(ε/2)

on float64 radians of the original degrees. Mathematically h is a quarter of the squared chord
between the points' unit vectors; the kernel uses that cheap form whenever it clears the
threshold by far more than either form's rounding, and the formula above for near-ties, so every
decision is the contract's.

Cells are latitude bands 0.35 ε high, each cut into cells about as wide on the ground. Bounding
boxes of two cells bound ``h`` for all their point pairs: pairs beyond ε are skipped, pairs
wholly within ε add up by weight. Cheap prefix sums over candidate cells first rule out cells
that cannot hold a core point, or are out of reach of any. Points that cell bounds leave
undecided get a range sum in a k-d tree over unit vectors whose nodes carry weights: a node
wholly inside ε adds its weight, one wholly outside drops it, and only leaves on the ε-circle
are tested point by point, stopping as soon as the running bounds decide. Links between core
cells and border candidates test point pairs with early exit. Memory is
O(points + occupied cells + neighbouring cell pairs).

Weight sums are exact: integral weights add up exactly in float64, and for other weights a sum
within a relative 1e-6 of ``min_samples`` is recomputed with ``math.fsum`` (correctly rounded),
so the core test never depends on summation order, tiling or partitioning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from core.tiling import longitude_reach

# Relative band around min_samples within which a float sum of non-integral weights is
# re-checked exactly; float partial sums of up to 1e9 terms err by less.
_SUM_REL = 1e-6
# Relative margin by which a distance bound must clear the threshold before a pair is skipped or
# taken whole: far beyond float64 rounding of h.
_BOUND_REL = 1e-9
# Cell height as a fraction of ε (below 1/√2 a cell is narrower than ε): small enough that
# bounds between cells decide most points, large enough to keep neighbour lists short.
_CELL_FRACTION = 0.35
# Points per k-d tree leaf for the range sums of points that cells leave undecided.
_LEAF_SIZE = 16


@dataclass(frozen=True)
class TileResult:
    """What the kernel reports for one tile.

    Attributes
    ----------
    is_core : numpy.ndarray of bool
        Per input row; only own rows can be core.
    component : numpy.ndarray of int64
        Per input row: local component of an own core row, else -1.
    n_components : int
        Number of local components, numbered 0..n_components-1.
    candidate_row, candidate_component : numpy.ndarray of int64
        Pairs (row, component): ``row`` is a halo row or an own non-core row that has a core
        point of ``component`` within ε. Each pair appears once.
    """

    is_core: np.ndarray
    component: np.ndarray
    n_components: int
    candidate_row: np.ndarray
    candidate_component: np.ndarray


@numba.njit(cache=True, inline="always")
def _reduced_haversine(lat_i, cos_i, lon_i, lat_j, cos_j, lon_j):
    s0 = np.sin(0.5 * (lat_i - lat_j))
    s1 = np.sin(0.5 * (lon_i - lon_j))
    return s0 * s0 + cos_i * cos_j * s1 * s1


@numba.njit(cache=True, inline="always")
def _is_neighbour(lat, lon, cos, xyz, i, j, thr, band):
    """The contract's test ``h(i, j) <= thr``, fast: h equals a quarter of the squared chord
    between unit vectors, which decides whenever it clears ``thr`` by more than ``band`` (far
    above the rounding of either form); only near-ties evaluate the contract's formula."""
    dx = xyz[i, 0] - xyz[j, 0]
    dy = xyz[i, 1] - xyz[j, 1]
    dz = xyz[i, 2] - xyz[j, 2]
    h = 0.25 * (dx * dx + dy * dy + dz * dz)
    if h < thr - band:
        return True
    if h > thr + band:
        return False
    return _reduced_haversine(lat[i], cos[i], lon[i], lat[j], cos[j], lon[j]) <= thr


@numba.njit(cache=True, nogil=True)
def _pair_bounds(c1, c2, lat_min, lat_max, lon_min, lon_max, cos_min, cos_max):
    """Lower and upper bounds of h over all point pairs of cells c1 and c2."""
    gap_lat = max(0.0, lat_min[c2] - lat_max[c1], lat_min[c1] - lat_max[c2])
    if lon_max[c1] < lon_min[c2] or lon_max[c2] < lon_min[c1]:
        g1 = (lon_min[c2] - lon_max[c1]) % (2 * np.pi)
        g2 = (lon_min[c1] - lon_max[c2]) % (2 * np.pi)
        gap_lon = min(g1, g2, np.pi)
    else:
        gap_lon = 0.0
    s0 = np.sin(0.5 * gap_lat)
    s1 = np.sin(0.5 * gap_lon)
    lower = s0 * s0 + cos_min[c1] * cos_min[c2] * s1 * s1
    span_lat = min(max(lat_max[c1], lat_max[c2]) - min(lat_min[c1], lat_min[c2]), np.pi)
    span_lon = min(max(lon_max[c2] - lon_min[c1], lon_max[c1] - lon_min[c2]), np.pi)
    s0 = np.sin(0.5 * span_lat)
    s1 = np.sin(0.5 * span_lon)
    upper = s0 * s0 + cos_max[c1] * cos_max[c2] * s1 * s1
    return lower, upper


@numba.njit(cache=True, inline="always")
def _band_ranges(c, b2, geom, band_height, eps):
    """Index ranges ``[r0, r1)`` and ``[r2, r3)`` of the cells of band b2 that may hold
    ε-neighbours of points of cell c (a superset: bounds are tested afterwards).

    ``geom`` is ``(cell_band, cell_col, band_ncols, band_start, lat_min, lat_max, reach_lon,
    lon_min, lon_max)``, per cell and per band.
    """
    cell_band, cell_col, band_ncols, band_start, lat_min, lat_max, reach_lon, lon_min, lon_max = (
        geom
    )
    s = band_start[b2]
    e = band_start[b2 + 1]
    if s == e:
        return e, e, e, e
    band_lo = -0.5 * np.pi + b2 * band_height - 1e-9
    band_hi = band_lo + band_height + 2e-9
    if band_lo - lat_max[c] > eps * (1 + 1e-9) or lat_min[c] - band_hi > eps * (1 + 1e-9):
        return e, e, e, e
    ncol = band_ncols[b2]
    dl = reach_lon[c]
    if not dl < np.pi:
        return s, e, e, e
    # One column of slack each side absorbs rounding in the column index.
    width = 2.0 * np.pi / ncol
    jlo = int(np.floor((lon_min[c] - dl + np.pi) / width)) - 1
    jhi = int(np.floor((lon_max[c] + dl + np.pi) / width)) + 1
    if jhi - jlo + 1 >= ncol:
        return s, e, e, e
    a = jlo % ncol
    z = jhi % ncol
    cols = cell_col[s:e]
    r0 = s + np.searchsorted(cols, a, "left")
    r1 = s + np.searchsorted(cols, z, "right")
    if a <= z:
        return r0, r1, e, e
    return r0, e, s, r1


@numba.njit(cache=True, nogil=True)
def _reach_sums(values, geom, band_height, eps):
    """Per cell, the sum of ``values`` over every cell in its candidate ranges (an upper bound of
    the sum over its true neighbour cells), from prefix sums: no distance is computed."""
    cell_band, band_ncols = geom[0], geom[2]
    n_cells = cell_band.size
    prefix = np.zeros(n_cells + 1)
    for c in range(n_cells):
        prefix[c + 1] = prefix[c] + values[c]
    reach = int(np.ceil(eps / band_height)) + 1
    out = np.zeros(n_cells)
    for c in range(n_cells):
        b = cell_band[c]
        total = 0.0
        for b2 in range(max(0, b - reach), min(band_ncols.size, b + reach + 1)):
            r0, r1, r2, r3 = _band_ranges(c, b2, geom, band_height, eps)
            total += (prefix[r1] - prefix[r0]) + (prefix[r3] - prefix[r2])
        out[c] = total
    return out


@numba.njit(cache=True, nogil=True)
def _neighbour_cells(source, target, geom, cos_min, cos_max, band_height, eps, thr):
    """CSR lists, for each ``source`` cell, of the ``target`` cells that may hold ε-neighbours
    of its points (itself included when it is a target).

    Returns ``(indptr, neighbour, within)`` where ``within`` marks pairs whose every point pair
    is a neighbour. Cells that are not sources get empty lists.
    """
    cell_band, cell_col, band_ncols, band_start, lat_min, lat_max, reach_lon, lon_min, lon_max = (
        geom
    )
    n_cells = cell_band.size
    reach = int(np.ceil(eps / band_height)) + 1
    lo_thr = thr * (1 + _BOUND_REL)
    hi_thr = thr * (1 - _BOUND_REL)
    cap = 1024
    neighbour = np.empty(cap, np.int64)
    within = np.empty(cap, np.bool_)
    indptr = np.zeros(n_cells + 1, np.int64)
    k = 0
    for c in range(n_cells):
        if source[c]:
            b = cell_band[c]
            for b2 in range(max(0, b - reach), min(band_ncols.size, b + reach + 1)):
                r0, r1, r2, r3 = _band_ranges(c, b2, geom, band_height, eps)
                for part in range(2):
                    first = r0 if part == 0 else r2
                    stop = r1 if part == 0 else r3
                    for c2 in range(first, stop):
                        if not target[c2]:
                            continue
                        lower, upper = _pair_bounds(
                            c, c2, lat_min, lat_max, lon_min, lon_max, cos_min, cos_max
                        )
                        if lower > lo_thr:
                            continue
                        if k == neighbour.size:
                            neighbour = np.concatenate((neighbour, np.empty(k, np.int64)))
                            within = np.concatenate((within, np.empty(k, np.bool_)))
                        neighbour[k] = c2
                        within[k] = upper <= hi_thr
                        k += 1
        indptr[c + 1] = k
    return indptr, neighbour[:k], within[:k]


@numba.njit(cache=True, nogil=True)
def _build_tree(xyz, w, leaf_size):
    """A k-d tree over unit vectors, split at the midpoint of the box's widest axis.

    Returns ``perm`` (points in tree order) and per node: ``start, stop`` into ``perm``,
    ``left, right`` children (-1 for a leaf), the split ``axis`` and ``value``, the box
    ``(x_min, x_max, y_min, y_max, z_min, z_max)`` and the total weight. Identical points never
    split.
    """
    n = xyz.shape[0]
    perm = np.arange(n)
    cap = max(16, 4 * (n // max(leaf_size, 1)) + 16)
    start = np.empty(cap, np.int64)
    stop = np.empty(cap, np.int64)
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    axis = np.zeros(cap, np.int64)
    value = np.zeros(cap)
    box = np.empty((cap, 6))
    weight = np.zeros(cap)
    start[0], stop[0] = 0, n
    n_nodes = 1
    pending = [0]
    while len(pending) > 0:
        node = pending.pop()
        a, b = start[node], stop[node]
        for d in range(3):
            box[node, 2 * d] = np.inf
            box[node, 2 * d + 1] = -np.inf
        total = 0.0
        for k in range(a, b):
            p = perm[k]
            for d in range(3):
                box[node, 2 * d] = min(box[node, 2 * d], xyz[p, d])
                box[node, 2 * d + 1] = max(box[node, 2 * d + 1], xyz[p, d])
            total += w[p]
        weight[node] = total
        widest = 0
        for d in range(1, 3):
            if (
                box[node, 2 * d + 1] - box[node, 2 * d]
                > box[node, 2 * widest + 1] - box[node, 2 * widest]
            ):
                widest = d
        lo_v, hi_v = box[node, 2 * widest], box[node, 2 * widest + 1]
        if b - a <= leaf_size or not hi_v > lo_v:
            continue
        mid = 0.5 * (lo_v + hi_v)
        if not mid < hi_v:
            mid = lo_v  # rounding put the midpoint on the top value
        i, j = a, b - 1
        while i <= j:
            if xyz[perm[i], widest] <= mid:
                i += 1
            else:
                perm[i], perm[j] = perm[j], perm[i]
                j -= 1
        if n_nodes + 2 > cap:
            start = np.concatenate((start, np.empty(cap, np.int64)))
            stop = np.concatenate((stop, np.empty(cap, np.int64)))
            left = np.concatenate((left, np.full(cap, -1, np.int64)))
            right = np.concatenate((right, np.full(cap, -1, np.int64)))
            axis = np.concatenate((axis, np.zeros(cap, np.int64)))
            value = np.concatenate((value, np.zeros(cap)))
            box = np.concatenate((box, np.empty((cap, 6))))
            weight = np.concatenate((weight, np.zeros(cap)))
            cap *= 2
        axis[node] = widest
        value[node] = mid
        left[node], right[node] = n_nodes, n_nodes + 1
        start[n_nodes], stop[n_nodes] = a, i
        start[n_nodes + 1], stop[n_nodes + 1] = i, b
        pending.append(n_nodes)
        pending.append(n_nodes + 1)
        n_nodes += 2
    return (
        perm,
        start,
        stop,
        left,
        right,
        axis,
        value,
        box[:n_nodes].copy(),
        weight[:n_nodes].copy(),
    )


@numba.njit(cache=True, nogil=True)
def _ball_weight_decides(i, lat, lon, cos, xyz, w, tree, thr, tie, hi, lo, slack):
    """Core test of one point by a k-d tree range sum: 1 core, 0 not core, 2 undecided.

    ``lower`` and ``upper`` bound the ε-ball weight. The squared Euclidean distance from the
    point's unit vector to a node's box bounds every chord², hence every h = chord²/4, into the
    node: a node wholly within ε adds to ``lower``, one wholly beyond leaves ``upper``, leaves in
    between are summed point by point. The walk stops as soon as either bound decides.
    """
    perm, start, stop, left, right, axis, value, box, weight = tree
    lower = 0.0
    upper = weight[0]
    stack = np.empty(256, np.int64)
    top = 0
    stack[0] = 0
    while top >= 0:
        node = stack[top]
        top -= 1
        near2 = 0.0
        far2 = 0.0
        for d in range(3):
            p = xyz[i, d]
            lo_b = box[node, 2 * d]
            hi_b = box[node, 2 * d + 1]
            gap = lo_b - p if p < lo_b else (p - hi_b if p > hi_b else 0.0)
            near2 += gap * gap
            reach = max(p - lo_b, hi_b - p)
            far2 += reach * reach
        if 0.25 * far2 < thr - tie:
            lower += weight[node]
        elif 0.25 * near2 > thr + tie:
            upper -= weight[node]
        elif left[node] < 0:
            inside = 0.0
            for k in range(start[node], stop[node]):
                j = perm[k]
                if _is_neighbour(lat, lon, cos, xyz, i, j, thr, tie):
                    inside += w[j]
            lower += inside
            upper -= weight[node] - inside
        else:
            if top + 2 >= stack.size:
                stack = np.concatenate((stack, np.empty(stack.size, np.int64)))
            # The child on the point's side goes on top: it is visited first.
            if xyz[i, axis[node]] <= value[node]:
                near, far = left[node], right[node]
            else:
                near, far = right[node], left[node]
            stack[top + 1] = far
            stack[top + 2] = near
            top += 2
            continue
        if lower >= hi:
            return 1
        if upper < lo - slack:
            return 0
    if lower >= hi:
        return 1
    if lower < lo:
        return 0
    return 2


@numba.njit(cache=True, nogil=True)
def _core_flags(
    lat,
    lon,
    cos,
    xyz,
    w,
    own,
    cell_start,
    cell_weight,
    indptr,
    neighbour,
    within,
    tree,
    thr,
    tie,
    min_samples,
    exact_sums,
):
    """Core test of own points: 1 core, 0 not core, 2 undecided (needs an exact sum).

    Whole cells first: the weight of the cells wholly within ε of a cell bounds the ε-ball of
    each of its points from below, the weight of all candidate cells from above. Points of
    cells that neither bound decides get a k-d tree range sum.
    """
    status = np.zeros(lat.size, np.int8)
    # Float subtraction from upper bounds may drift for non-integral weights; keep a margin.
    slack = 0.0 if exact_sums else 1e-9 * tree[8][0]
    if exact_sums:
        hi = min_samples
        lo = min_samples
    else:
        hi = min_samples * (1 + _SUM_REL)
        lo = min_samples * (1 - _SUM_REL)
    for c in range(cell_start.size - 1):
        base_lower = 0.0
        base_upper = 0.0
        for k in range(indptr[c], indptr[c + 1]):
            base_upper += cell_weight[neighbour[k]]
            if within[k]:
                base_lower += cell_weight[neighbour[k]]
        if base_upper < lo - slack:
            continue
        for i in range(cell_start[c], cell_start[c + 1]):
            if own[i]:
                if base_lower >= hi:
                    status[i] = 1
                else:
                    status[i] = _ball_weight_decides(
                        i, lat, lon, cos, xyz, w, tree, thr, tie, hi, lo, slack
                    )
    return status


@numba.njit(cache=True, nogil=True)
def _neighbour_weights(i, lat, lon, cos, w, cell_of, cell_start, indptr, neighbour, thr):
    """Weights of all ε-neighbours of row i (for the exact re-summation)."""
    c = cell_of[i]
    count = 0
    for k in range(indptr[c], indptr[c + 1]):
        c2 = neighbour[k]
        count += cell_start[c2 + 1] - cell_start[c2]
    out = np.empty(count, np.float64)
    m = 0
    for k in range(indptr[c], indptr[c + 1]):
        c2 = neighbour[k]
        for j in range(cell_start[c2], cell_start[c2 + 1]):
            if _reduced_haversine(lat[i], cos[i], lon[i], lat[j], cos[j], lon[j]) <= thr:
                out[m] = w[j]
                m += 1
    return out[:m]


@numba.njit(cache=True, nogil=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(cache=True, nogil=True)
def _any_within(lat, lon, cos, xyz, i, idx_b, thr, band):
    for j in idx_b:  # noqa: SIM110 (numba compiles no generators)
        if _is_neighbour(lat, lon, cos, xyz, i, j, thr, band):
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _any_pair_within(lat, lon, cos, xyz, idx_a, idx_b, thr, band):
    for i in idx_a:  # noqa: SIM110 (numba compiles no generators)
        if _any_within(lat, lon, cos, xyz, i, idx_b, thr, band):
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _components(lat, lon, cos, xyz, core_idx, core_start, indptr, neighbour, within, thr, band):
    """Union cells whose core points link; returns the local component of each cell (-1: none)."""
    n_cells = core_start.size - 1
    parent = np.arange(n_cells)
    for c in range(n_cells):
        a = core_idx[core_start[c] : core_start[c + 1]]
        if a.size == 0:
            continue
        for k in range(indptr[c], indptr[c + 1]):
            c2 = neighbour[k]
            if c2 <= c:
                continue
            b = core_idx[core_start[c2] : core_start[c2 + 1]]
            if b.size == 0:
                continue
            ra = _find(parent, c)
            rb = _find(parent, c2)
            if ra == rb:
                continue
            if within[k] or _any_pair_within(lat, lon, cos, xyz, a, b, thr, band):
                parent[max(ra, rb)] = min(ra, rb)
    comp = np.full(n_cells, -1, np.int64)
    root_comp = np.full(n_cells, -1, np.int64)
    n_comp = 0
    for c in range(n_cells):
        if core_start[c + 1] == core_start[c]:
            continue
        r = _find(parent, c)
        if root_comp[r] < 0:
            root_comp[r] = n_comp
            n_comp += 1
        comp[c] = root_comp[r]
    return comp, n_comp


@numba.njit(cache=True, nogil=True)
def _candidates(
    lat,
    lon,
    cos,
    xyz,
    asks,
    cell_of,
    core_idx,
    core_start,
    cell_comp,
    indptr,
    neighbour,
    within,
    thr,
    band,
):
    """Pairs (row, component) for rows that ask: components with a core within ε of the row."""
    cap = max(16, asks.size * 2)
    rows = np.empty(cap, np.int64)
    comps = np.empty(cap, np.int64)
    k_out = 0
    seen = np.empty(64, np.int64)
    for i in asks:
        c = cell_of[i]
        n_seen = 0
        for k in range(indptr[c], indptr[c + 1]):
            c2 = neighbour[k]
            comp = cell_comp[c2]
            if comp < 0:
                continue
            dup = False
            for s in range(n_seen):
                if seen[s] == comp:
                    dup = True
                    break
            if dup:
                continue
            b = core_idx[core_start[c2] : core_start[c2 + 1]]
            if within[k] or _any_within(lat, lon, cos, xyz, i, b, thr, band):
                if n_seen == seen.size:
                    seen = np.concatenate((seen, np.empty(n_seen, np.int64)))
                seen[n_seen] = comp
                n_seen += 1
                if k_out == rows.size:
                    rows = np.concatenate((rows, np.empty(k_out, np.int64)))
                    comps = np.concatenate((comps, np.empty(k_out, np.int64)))
                rows[k_out] = i
                comps[k_out] = comp
                k_out += 1
    return rows[:k_out], comps[:k_out]


def _longitude_reach(
    lat_min: np.ndarray, lat_max: np.ndarray, cos_min: np.ndarray, *, eps: float
) -> np.ndarray:
    """Per cell, the longitude difference beyond which no point can be within ε of its points
    (``inf``: every longitude), with the other point anywhere within ε of the cell."""
    poleward = np.maximum(np.abs(lat_min - eps), np.abs(lat_max + eps)) + 1e-9
    cos_pole = np.cos(np.minimum(poleward, 0.5 * np.pi))
    reach = longitude_reach(cos_min, cos_pole, eps_rad=eps) * (1 + _BOUND_REL) + 1e-12
    return np.where(poleward < 0.5 * np.pi, reach, np.inf)


def _grid(lat: np.ndarray, lon: np.ndarray, *, eps: float):
    """Cell of every point: latitude bands ``_CELL_FRACTION`` ε high, each cut into cells
    about as wide on the ground."""
    band_height = max(eps * _CELL_FRACTION, 1e-7)
    n_bands = max(1, math.ceil(math.pi / band_height))
    band_height = math.pi / n_bands
    band_lo = -0.5 * np.pi + np.arange(n_bands) * band_height
    band_hi = band_lo + band_height
    equatorward = np.where(
        (band_lo <= 0) & (band_hi >= 0), 0.0, np.minimum(abs(band_lo), abs(band_hi))
    )
    band_ncols = np.maximum(
        1, np.floor(2 * np.pi * np.cos(equatorward) / band_height).astype(np.int64)
    )
    band = np.clip(np.floor((lat + 0.5 * np.pi) / band_height).astype(np.int64), 0, n_bands - 1)
    ncols = band_ncols[band]
    col = np.clip(np.floor((lon + np.pi) / (2 * np.pi) * ncols).astype(np.int64), 0, ncols - 1)
    return band_height, band_ncols, band, col


def cluster_tile(
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    weight: np.ndarray,
    is_own: np.ndarray,
    *,
    eps_rad: float,
    min_samples: float,
) -> TileResult:
    """Run the weighted DBSCAN kernel on one tile (own points plus halo).

    Parameters
    ----------
    lat_deg, lon_deg : numpy.ndarray of float64
        Original coordinates in degrees (the contract's distances use ``np.radians`` of these).
    weight : numpy.ndarray of float64
        Finite, non-negative sample weights.
    is_own : numpy.ndarray of bool
        True for the tile's own rows, False for halo rows.
    eps_rad : float
        Neighbourhood radius as a great-circle angle in radians.
    min_samples : float
        Weight an ε-ball must reach for its centre to be core.

    Returns
    -------
    TileResult
    """
    n = lat_deg.size
    if n == 0:
        empty = np.empty(0, np.int64)
        return TileResult(np.zeros(0, bool), empty, 0, empty, empty)
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    weight = np.asarray(weight, dtype=np.float64)
    own = np.asarray(is_own, dtype=bool)
    thr = math.sin(0.5 * eps_rad) ** 2

    band_height, band_ncols, band, col = _grid(lat, lon, eps=eps_rad)
    key = band * (int(band_ncols.max()) + 1) + col
    order = np.argsort(key, kind="stable")
    lat_s, lon_s, w_s, own_s, key_s = lat[order], lon[order], weight[order], own[order], key[order]
    cos_s = np.cos(lat_s)
    xyz = np.stack([cos_s * np.cos(lon_s), cos_s * np.sin(lon_s), np.sin(lat_s)], axis=1)
    # Rounding of h from unit vectors or from the formula stays far below this margin.
    tie = _BOUND_REL * thr + 1e-13 * math.sqrt(thr) + 1e-15
    _, cell_start = np.unique(key_s, return_index=True)
    cell_start = np.append(cell_start, n).astype(np.int64)
    cell_of = np.repeat(np.arange(cell_start.size - 1), np.diff(cell_start))
    first = cell_start[:-1]
    cell_band = band[order][first]
    cell_col = col[order][first]
    band_start = np.searchsorted(cell_band, np.arange(band_ncols.size + 1), side="left")
    reduce_at = lambda f, x: f.reduceat(x, first)  # noqa: E731
    lat_min, lat_max = reduce_at(np.minimum, lat_s), reduce_at(np.maximum, lat_s)
    lon_min, lon_max = reduce_at(np.minimum, lon_s), reduce_at(np.maximum, lon_s)
    cos_min, cos_max = reduce_at(np.minimum, cos_s), reduce_at(np.maximum, cos_s)
    cell_weight = np.add.reduceat(w_s, first)

    band_start = band_start.astype(np.int64)
    reach_lon = _longitude_reach(lat_min, lat_max, cos_min, eps=eps_rad)
    geom = (
        cell_band,
        cell_col,
        band_ncols,
        band_start,
        lat_min,
        lat_max,
        reach_lon,
        lon_min,
        lon_max,
    )

    def neighbour_lists(source: np.ndarray, target: np.ndarray):
        return _neighbour_cells(source, target, geom, cos_min, cos_max, band_height, eps_rad, thr)

    def reach_sums(values: np.ndarray) -> np.ndarray:
        return _reach_sums(values, geom, band_height, eps_rad)

    # Integral weights (below 2**53 in total) add up exactly in any order; others may not.
    exact_sums = bool(np.all(w_s == np.floor(w_s)) and w_s.sum() < 2.0**53)
    slack = 0.0 if exact_sums else 1e-9 * float(w_s.sum()) + min_samples * _SUM_REL

    # Pass 1, core test: only cells with own points whose reach could weigh min_samples.
    has_own = np.add.reduceat(own_s.astype(np.int64), first) > 0
    maybe_core = has_own & (reach_sums(cell_weight) >= min_samples - slack)
    indptr, neighbour, within = neighbour_lists(maybe_core, cell_weight > 0)
    tree = _build_tree(xyz, w_s, _LEAF_SIZE)
    status = _core_flags(
        lat_s, lon_s, cos_s, xyz, w_s, own_s, cell_start, cell_weight, indptr, neighbour, within,
        tree, thr, tie, float(min_samples), exact_sums,
    )  # fmt: skip
    for i in np.flatnonzero(status == 2):
        ball = _neighbour_weights(
            i, lat_s, lon_s, cos_s, w_s, cell_of, cell_start, indptr, neighbour, thr
        )
        status[i] = 1 if math.fsum(ball) >= min_samples else 0
    core_s = status == 1

    # Pass 2, links and border candidates: only cells within reach of a cell holding cores.
    core_idx = np.flatnonzero(core_s)
    core_start = np.searchsorted(core_idx, cell_start, side="left").astype(np.int64)
    core_count = np.diff(core_start).astype(np.float64)
    indptr, neighbour, within = neighbour_lists(reach_sums(core_count) > 0, core_count > 0)
    cell_comp, n_comp = _components(
        lat_s, lon_s, cos_s, xyz, core_idx, core_start, indptr, neighbour, within, thr, tie
    )
    asks = np.flatnonzero(~core_s).astype(np.int64)
    cand_rows, cand_comps = _candidates(
        lat_s, lon_s, cos_s, xyz, asks, cell_of, core_idx, core_start, cell_comp,
        indptr, neighbour, within, thr, tie,
    )  # fmt: skip

    is_core = np.zeros(n, bool)
    is_core[order] = core_s
    component = np.full(n, -1, np.int64)
    component[order[core_idx]] = cell_comp[cell_of[core_idx]]
    return TileResult(
        is_core=is_core,
        component=component,
        n_components=int(n_comp),
        candidate_row=order[cand_rows].astype(np.int64),
        candidate_component=cand_comps,
    )
