"""``GeoDBSCAN``: exact, tile-parallel, weighted DBSCAN on the sphere, as a scikit-learn estimator.

A fit builds a Dask graph (dask collections only; whatever scheduler is active runs it):

1. ``prepare``  one task per input block: validate, give every row its global id, geohash it;
2. ``plan``     one small reduction per geohash level: count points per prefix, split full tiles;
3. ``assign``   one task per block: own tile and ε-halo copies, split by task group;
4. ``kernel``   one task per group of tiles: ``core.kernel.cluster_tile`` on each tile;
5. ``stitch``   one small task: ``core.stitch.stitch_clusters``;
6. ``label``    one task per group: global labels of the group's own points.

No task ever receives the whole data set: kernels get their tiles plus halos, the stitcher gets
components and border reports only. ``fit_together`` fits several models as one graph: their
plan reductions share one ``dask.compute`` per level and all their kernels one final compute.
Graph keys are ``dask.base.tokenize`` of the input blocks, the weights and the parameters, so the
same fit always builds the same keys.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.base import tokenize
from dask.delayed import Delayed, delayed
from sklearn import get_config
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, InvalidParameterError

from core.kernel import cluster_tile
from core.stitch import StitchResult, TileSummary, stitch_clusters
from core.tiling import (
    EARTH_RADIUS_KM,
    MAX_GEOHASH_PRECISION,
    TilePlan,
    TilePlanner,
    assign_halo_tiles,
    assign_own_tiles,
    count_prefixes,
    eps_to_radians,
    geohash_bounds,
    geohash_encode,
    merge_counts,
)

_ROW_BITS = 40  # a row id is (block << 40) | row-within-block: sorts like the input order
_BLOCK_ROWS = 262_144  # rows per block when the input is in memory
_MIN_TASK_POINTS = 100_000

# Aligned blocks of coordinates and of weights (None: unit weights), possibly lazy.
_Blocks = tuple[list[Any], list[Any]]


def _validate_block(xy: np.ndarray, weight: np.ndarray | None, where: str) -> np.ndarray:
    """Check one block of coordinates and weights; return float64 weights."""
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) (latitude, longitude); got {xy.shape}")
    lat, lon = xy[:, 0], xy[:, 1]
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise ValueError(
            f"X contains NaN or infinite coordinates ({int(bad.sum())} rows{where}, "
            f"first at row {int(np.argmax(bad))})"
        )
    bad = (lat < -90) | (lat > 90)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"latitude outside [-90, 90]: {lat[i]!r} at row {i}{where}")
    bad = (lon < -180) | (lon > 180)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"longitude outside [-180, 180]: {lon[i]!r} at row {i}{where}")
    if weight is None:
        return np.ones(xy.shape[0])
    weight = np.asarray(weight, dtype=np.float64).reshape(-1)
    if weight.size != xy.shape[0]:
        raise ValueError(f"sample_weight has {weight.size} values for {xy.shape[0]} points{where}")
    bad = np.isnan(weight) | (weight < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"sample_weight must be >= 0 and not NaN: {weight[i]!r} at row {i}{where}")
    if np.isinf(weight).any():
        i = int(np.argmax(np.isinf(weight)))
        raise ValueError(f"sample_weight must be finite: {weight[i]!r} at row {i}{where}")
    return weight


def _prepare_block(
    xy: Any, weight: Any, *, block: int, code_precision: int, where: str
) -> dict[str, np.ndarray]:
    if isinstance(xy, pd.DataFrame):
        xy = xy[["lat", "lon"]]
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim == 1 and xy.size == 0:
        xy = xy.reshape(0, 2)
    w = _validate_block(xy, None if weight is None else np.asarray(weight), where)
    lat = np.ascontiguousarray(xy[:, 0])
    lon = np.ascontiguousarray(xy[:, 1])
    return {
        "row": (np.int64(block) << _ROW_BITS) + np.arange(lat.size, dtype=np.int64),
        "lat": lat,
        "lon": lon,
        "weight": w,
        "code": geohash_encode(lat, lon, precision=code_precision),
    }


def _count_block(
    block: dict[str, np.ndarray], level: int, parents: np.ndarray | None, code_precision: int
) -> tuple[np.ndarray, np.ndarray]:
    return count_prefixes(
        block["code"], code_precision=code_precision, level=level, parents=parents
    )


def _assign_block(block: dict[str, np.ndarray], plan: TilePlan) -> tuple[dict, ...]:
    """Own and halo rows of one block, split into one piece per task group."""
    own_tile = assign_own_tiles(block["code"], plan)
    halo_point, halo_tile = assign_halo_tiles(block["lat"], block["lon"], own_tile, plan)
    exported = np.zeros(own_tile.size, bool)
    exported[halo_point] = True
    idx = np.concatenate([np.arange(own_tile.size), halo_point])
    tile = np.concatenate([own_tile, halo_tile])
    own = np.zeros(idx.size, bool)
    own[: own_tile.size] = True
    group = plan.group[tile]
    order = np.argsort(group, kind="stable")
    idx, tile, own, group = idx[order], tile[order], own[order], group[order]
    bounds = np.searchsorted(group, np.arange(plan.n_groups + 1))
    pieces = []
    for g in range(plan.n_groups):
        s = slice(bounds[g], bounds[g + 1])
        i = idx[s]
        pieces.append(
            {
                "tile": tile[s],
                "row": block["row"][i],
                "lat": block["lat"][i],
                "lon": block["lon"][i],
                "weight": block["weight"][i],
                "own": own[s],
                "exported": exported[i] & own[s],
                "owner": own_tile[i],
            }
        )
    return tuple(pieces)


def _cluster_group(
    pieces: list[dict[str, np.ndarray]], *, eps_rad: float, min_samples: float
) -> tuple[dict[str, np.ndarray], list[TileSummary]]:
    """Run the kernel on every tile of one task group."""
    cols = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    order = np.lexsort((cols["row"], cols["tile"]))
    cols = {k: v[order] for k, v in cols.items()}
    tiles, starts = np.unique(cols["tile"], return_index=True)
    starts = np.append(starts, cols["tile"].size)
    own_rows, own_tiles, own_comps, summaries = [], [], [], []
    for t, s, e in zip(tiles.tolist(), starts[:-1], starts[1:], strict=True):
        c = {k: v[s:e] for k, v in cols.items()}
        if not c["own"].any():
            continue
        res = cluster_tile(
            c["lat"], c["lon"], c["weight"], c["own"], eps_rad=eps_rad, min_samples=min_samples
        )
        own = c["own"]
        min_row = np.full(res.n_components, np.iinfo(np.int64).max)
        core = res.is_core
        np.minimum.at(min_row, res.component[core], c["row"][core])
        exported = core & c["exported"]
        summaries.append(
            TileSummary(
                tile=t,
                component_min_row=min_row,
                exported_row=c["row"][exported],
                exported_component=res.component[exported],
                candidate_row=c["row"][res.candidate_row],
                candidate_owner=c["owner"][res.candidate_row],
                candidate_component=res.candidate_component,
            )
        )
        own_rows.append(c["row"][own])
        own_tiles.append(np.full(int(own.sum()), t, np.int64))
        own_comps.append(res.component[own])
    empty = np.empty(0, np.int64)
    table = {
        "row": np.concatenate(own_rows) if own_rows else empty,
        "tile": np.concatenate(own_tiles) if own_tiles else empty,
        "component": np.concatenate(own_comps) if own_comps else empty,
    }
    return table, summaries


def _stitch_groups(groups: list[list[TileSummary]]) -> StitchResult:
    return stitch_clusters([s for group in groups for s in group])


def _label_group(table: dict[str, np.ndarray], stitched: StitchResult) -> dict[str, np.ndarray]:
    labels = np.full(table["row"].size, -1, np.int64)
    tiles, starts = np.unique(table["tile"], return_index=True)
    starts = np.append(starts, table["tile"].size)
    for t, s, e in zip(tiles.tolist(), starts[:-1], starts[1:], strict=True):
        labels[s:e] = stitched.labels_for_tile(t, table["row"][s:e], table["component"][s:e])
    return {"row": table["row"], "label": labels, "core": table["component"] >= 0}


def auto_max_precision(eps_rad: float) -> int:
    """Finest geohash precision whose cells are still at least 4 ε high.

    Halos are ε wide on every side, so smaller tiles would mostly cluster copies of their
    neighbours' points.
    """
    best = 1
    for p in range(1, MAX_GEOHASH_PRECISION + 1):
        lat_lo, lat_hi, _, _ = geohash_bounds(np.array([0]), p)
        if math.radians(float(lat_hi[0] - lat_lo[0])) >= 4 * eps_rad:
            best = p
    return best


# -- input: one function per kind of X ------------------------------------------------------------
def _check_columns(X: pd.DataFrame | dd.DataFrame) -> None:
    missing = {"lat", "lon"} - set(X.columns)
    if missing:
        raise ValueError(f"X is missing column(s) {sorted(missing)}; it needs lat, lon")


def _array_blocks(X: Any, sample_weight: Any) -> _Blocks:
    """Blocks of in-memory input: a numpy array or anything ``np.asarray`` takes (lists, ...)."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be an (n, 2) array of latitude, longitude: {exc}") from None
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) (latitude, longitude); got {arr.shape}")
    w = None
    if sample_weight is not None:
        if isinstance(sample_weight, (da.Array, dd.Series)):
            sample_weight = sample_weight.compute()
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim != 1 or w.size != arr.shape[0]:
            raise ValueError(
                f"sample_weight must have one value per point: got shape {w.shape} for "
                f"{arr.shape[0]} points"
            )
    # Validate eagerly: in-memory input gets its errors before any task runs.
    _validate_block(arr, w, "")
    starts = list(range(0, arr.shape[0], _BLOCK_ROWS)) or [0]
    xs = [arr[s : s + _BLOCK_ROWS] for s in starts]
    ws = [None if w is None else w[s : s + _BLOCK_ROWS] for s in starts]
    return xs, ws


# Split X and sample_weight into aligned blocks: one function per kind of X, arrays by default.
_input_blocks = functools.singledispatch(_array_blocks)


@_input_blocks.register(pd.DataFrame)
def _pandas_blocks(X: pd.DataFrame, sample_weight: Any) -> _Blocks:
    """Blocks of the ``lat``, ``lon`` columns of a pandas DataFrame (in memory, like arrays)."""
    _check_columns(X)
    return _array_blocks(X[["lat", "lon"]].to_numpy(dtype=np.float64), sample_weight)


@_input_blocks.register(da.Array)
def _dask_array_blocks(X: da.Array, sample_weight: Any) -> _Blocks:
    """One block per row chunk of a dask array; weights must be a dask array chunked alike."""
    if X.ndim != 2 or (not math.isnan(X.shape[1]) and X.shape[1] != 2):
        raise ValueError(f"X must have shape (n, 2) (latitude, longitude); got {X.shape}")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: 2})
    xs = X.to_delayed()[:, 0].tolist()
    if sample_weight is None:
        return xs, [None] * len(xs)
    if not isinstance(sample_weight, da.Array):
        raise ValueError("sample_weight for a dask array X must be a dask array")
    if sample_weight.ndim != 1 or sample_weight.chunks[0] != X.chunks[0]:
        raise ValueError(
            "sample_weight must be a 1-d dask array with the same row chunks as X "
            f"({X.chunks[0]}), got {sample_weight.chunks}"
        )
    return xs, sample_weight.to_delayed().tolist()


@_input_blocks.register(dd.DataFrame)
def _dask_frame_blocks(X: dd.DataFrame, sample_weight: Any) -> _Blocks:
    """One block per partition of a dask DataFrame; weights must be partitioned alike."""
    _check_columns(X)
    xs = X[["lat", "lon"]].to_delayed()
    if sample_weight is None:
        return xs, [None] * len(xs)
    if isinstance(sample_weight, (dd.Series, dd.DataFrame)):
        ws = sample_weight.to_delayed()
    elif isinstance(sample_weight, da.Array):
        ws = sample_weight.to_delayed().ravel().tolist()
    else:
        raise ValueError(
            "sample_weight for a dask DataFrame must be a dask Series with the same partitions"
        )
    if len(ws) != len(xs):
        raise ValueError(
            f"sample_weight has {len(ws)} partitions but X has {len(xs)}; they must be aligned"
        )
    return xs, ws


# -- one model's share of a fit ------------------------------------------------------------------
@dataclass
class _Fit:
    """The graph pieces of one model in a (possibly batched) fit, stage by stage."""

    model: GeoDBSCAN
    token: str
    eps_rad: float
    blocks: list[Delayed]
    planner: TilePlanner

    @classmethod
    def start(cls, model: GeoDBSCAN, X: Any, sample_weight: Any) -> _Fit:
        """Split and check the input, and lay out its ``prepare`` tasks (not run yet)."""
        eps_rad = eps_to_radians(model.eps_km)
        precision = model.max_precision or auto_max_precision(eps_rad)
        xs, ws = _input_blocks(X, sample_weight)
        # Content tokens (in-memory blocks) or collection names (dask input): the same data and
        # parameters give the same keys, so repeated fits share work and graphs compare equal.
        token = tokenize(xs, ws, model.get_params(deep=False))
        blocks = [
            delayed(_prepare_block)(
                x,
                w,
                block=i,
                code_precision=precision,
                where=f" of partition {i}" if len(xs) > 1 else "",
                dask_key_name=f"geodbscan-prepare-{token}-{i}",
            )
            for i, (x, w) in enumerate(zip(xs, ws, strict=True))
        ]
        planner = TilePlanner(
            max_tile_points=int(model.max_tile_points),
            max_precision=precision,
            code_precision=precision,
            eps_rad=eps_rad,
            task_points=int(model.max_task_points or max(model.max_tile_points, _MIN_TASK_POINTS)),
        )
        return cls(model=model, token=token, eps_rad=eps_rad, blocks=blocks, planner=planner)

    def count_request(self) -> Delayed:
        """The reduction that answers the planner's current request."""
        level, parents = self.planner.request
        parts = [
            delayed(_count_block)(
                b,
                level,
                parents,
                self.planner.code_precision,
                dask_key_name=f"geodbscan-plan-{self.token}-{level}-{i}",
            )
            for i, b in enumerate(self.blocks)
        ]
        return delayed(merge_counts)(
            parts, dask_key_name=f"geodbscan-plan-merge-{self.token}-{level}"
        )

    def label_tasks(self, plan: TilePlan) -> list[Delayed]:
        """``assign`` -> ``kernel`` -> ``stitch`` -> ``label``: one labelled table per group."""
        plan.halo_sources  # noqa: B018 (computed once here, then shipped with the plan)
        n_groups, token = plan.n_groups, self.token
        split = [
            delayed(_assign_block, nout=n_groups)(
                b, plan, dask_key_name=f"geodbscan-assign-{token}-{i}"
            )
            for i, b in enumerate(self.blocks)
        ]
        kernels = [
            delayed(_cluster_group, nout=2)(
                [s[g] for s in split],
                eps_rad=self.eps_rad,
                min_samples=self.model.min_samples,
                dask_key_name=f"geodbscan-kernel-{token}-{g}",
            )
            for g in range(n_groups)
        ]
        stitched = delayed(_stitch_groups)(
            [k[1] for k in kernels], dask_key_name=f"geodbscan-stitch-{token}"
        )
        return [
            delayed(_label_group)(k[0], stitched, dask_key_name=f"geodbscan-label-{token}-{g}")
            for g, k in enumerate(kernels)
        ]

    def finish(self, plan: TilePlan, groups: Sequence[dict[str, np.ndarray]]) -> None:
        """Set the model's fitted attributes from the labelled tables of its groups."""
        model = self.model
        model.n_tiles_ = plan.n_tiles
        if not groups:
            model.labels_ = np.empty(0, np.int64)
            model.core_sample_indices_ = np.empty(0, np.int64)
            model.n_clusters_ = 0
            return
        rows = np.concatenate([g["row"] for g in groups])
        labels = np.concatenate([g["label"] for g in groups])
        core = np.concatenate([g["core"] for g in groups])
        block = rows >> _ROW_BITS
        local = rows & ((1 << _ROW_BITS) - 1)
        offsets = np.concatenate([[0], np.cumsum(np.bincount(block, minlength=len(self.blocks)))])
        index = offsets[block] + local
        result = np.full(rows.size, -1, np.int64)
        result[index] = labels
        model.labels_ = result
        model.core_sample_indices_ = np.sort(index[core])
        model.n_clusters_ = int(result.max()) + 1 if result.size else 0


def _fit_all(models: list[GeoDBSCAN], Xs: list[Any], sample_weights: list[Any]) -> None:
    """Fit models whose parameters are valid, sharing every Dask round trip between them."""
    fits = [_Fit.start(m, X, w) for m, X, w in zip(models, Xs, sample_weights, strict=True)]
    if not fits:
        return
    persisted = iter(dask.persist(*[b for f in fits for b in f.blocks]))
    for f in fits:
        f.blocks = [next(persisted) for _ in f.blocks]
    # Level by level: the count reductions of every model still splitting tiles in one compute.
    while pending := [f for f in fits if f.planner.request is not None]:
        counts = dask.compute(*[f.count_request() for f in pending])
        for f, (prefixes, n_points) in zip(pending, counts, strict=True):
            f.planner.feed(prefixes, n_points)
    plans = [f.planner.plan() for f in fits]
    # Models without points have no tiles, hence no tasks; the rest run as one graph, flattened
    # so that each label table goes straight to the caller.
    tasks = [f.label_tasks(p) if p.n_tiles else [] for f, p in zip(fits, plans, strict=True)]
    flat = [t for ts in tasks for t in ts]
    out = dask.compute(*flat) if flat else ()
    start = 0
    for f, p, ts in zip(fits, plans, tasks, strict=True):
        f.finish(p, out[start : start + len(ts)])
        start += len(ts)


# -- the estimator --------------------------------------------------------------------------------
class _Interval(Interval):
    """scikit-learn's ``Interval`` that refuses booleans: ``min_samples=True`` is a slip, not 1."""

    def is_satisfied_by(self, val: Any) -> bool:
        return not isinstance(val, bool) and super().is_satisfied_by(val)


class GeoDBSCAN(ClusterMixin, BaseEstimator):
    """Exact weighted DBSCAN of points on the sphere, clustered tile by tile on Dask.

    Gives exactly the labels of
    ``sklearn.cluster.DBSCAN(eps=eps_km / 6371.0088, min_samples=min_samples,
    metric="haversine").fit(np.radians(X), sample_weight=w)`` for any tiling, partitioning and
    number of workers, in memory proportional to the data.

    The contract:

    * **neighbour**: j is in i's ε-ball iff the float64 reduced haversine distance
      ``sin²(Δφ/2) + cos φi · cos φj · sin²(Δλ/2)``, computed on ``np.radians`` of the
      original coordinates, is ``<= sin²(ε/2)`` with ``ε = eps_km / 6371.0088``
      (scikit-learn's haversine BallTree comparison); a point is its own neighbour;
    * **core**: the sum of ``sample_weight`` over the ε-ball is ``>= min_samples`` (an int or a
      float). Sums are exact (correctly rounded), hence independent of summation order;
    * **clusters**: connected components of core points under the neighbour relation, numbered
      0, 1, … in the order of each cluster's lowest core row index; a non-core point with core
      neighbours takes the smallest cluster number among them; other points are noise (-1).
      Row order is the input order.

    Parameters
    ----------
    eps_km : float, default 13.0
        Neighbourhood radius in kilometres on a sphere of radius 6371.0088 km; below half the
        Earth's circumference.
    min_samples : int or float, default 5
        Weight (point count when unweighted) an ε-ball needs for its centre to be core.
    max_tile_points : int, default 200_000
        A geohash tile owning more points is split into its 32 children.
    max_precision : int, optional
        Longest geohash prefix of a tile (1-12). By default the finest precision whose cells
        are at least 4 ε high; a pile of duplicates larger than ``max_tile_points`` stays in
        one tile of this precision.
    max_task_points : int, optional
        Consecutive tiles are grouped into one Dask task until it owns this many points
        (default: the larger of ``max_tile_points`` and 100,000).

    Attributes
    ----------
    labels_ : numpy.ndarray of int64
        Cluster of each point, -1 for noise.
    core_sample_indices_ : numpy.ndarray of int64
        Sorted indices of core points.
    n_clusters_ : int
    n_tiles_ : int
        Number of tiles of the plan the fit used.

    See Also
    --------
    fit_together : Fit several models as one Dask graph.

    Examples
    --------
    >>> import numpy as np
    >>> from core import GeoDBSCAN
    >>> X = np.array([[48.85, 2.35], [48.86, 2.34], [48.84, 2.36], [35.68, 139.76]])
    >>> GeoDBSCAN(eps_km=5, min_samples=2).fit(X).labels_
    array([ 0,  0,  0, -1])
    """

    _parameter_constraints: dict = {
        "eps_km": [_Interval(Real, 0, None, closed="neither")],
        "min_samples": [_Interval(Real, 0, None, closed="neither")],
        "max_tile_points": [_Interval(Integral, 1, None, closed="left")],
        "max_precision": [_Interval(Integral, 1, MAX_GEOHASH_PRECISION, closed="both"), None],
        "max_task_points": [_Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        eps_km: float = 13.0,
        *,
        min_samples: float = 5,
        max_tile_points: int = 200_000,
        max_precision: int | None = None,
        max_task_points: int | None = None,
    ) -> None:
        self.eps_km = eps_km
        self.min_samples = min_samples
        self.max_tile_points = max_tile_points
        self.max_precision = max_precision
        self.max_task_points = max_task_points

    def _validate_params(self) -> None:
        super()._validate_params()
        # An ε-ball of half the circumference or more covers the whole sphere and the halo
        # bounds (latitude ± ε) stop meaning anything: refuse rather than tile nonsense.
        if eps_to_radians(self.eps_km) >= math.pi:
            raise InvalidParameterError(
                f"The 'eps_km' parameter of {type(self).__name__} must be below half the "
                f"Earth's circumference ({math.pi * EARTH_RADIUS_KM:.1f} km). "
                f"Got {self.eps_km!r} instead."
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: None = None, sample_weight: Any = None) -> GeoDBSCAN:
        """Cluster points.

        Parameters
        ----------
        X : array_like of shape (n, 2), dask array, or (dask) DataFrame with ``lat``, ``lon``
            Latitude and longitude in degrees.
        y : ignored
        sample_weight : array_like of shape (n,), optional
            Finite, non-negative weight of each point, aligned with X (same chunks or partitions
            for dask input). Default: 1 for every point.

        Returns
        -------
        self
        """
        _fit_all([self], [X], [sample_weight])
        return self


def fit_together(
    models: Sequence[GeoDBSCAN], Xs: Sequence[Any], sample_weights: Sequence[Any] | None = None
) -> list[GeoDBSCAN]:
    """Fit several ``GeoDBSCAN`` models, each on its own data, as one Dask graph.

    Each model ends up exactly as ``model.fit(X, sample_weight=w)`` would leave it, but the
    models share every round trip to the scheduler: one ``persist`` of all prepared blocks, one
    ``dask.compute`` per planning level holding the count reductions of every model still
    splitting tiles, and one final ``dask.compute`` holding every model's kernels, stitch and
    labels, which the scheduler interleaves.

    Parameters
    ----------
    models : sequence of GeoDBSCAN
        The models to fit; their parameters are validated first, all before any work starts.
    Xs : sequence
        One input per model, of any kind ``GeoDBSCAN.fit`` takes (may hold no points).
    sample_weights : sequence, optional
        One ``sample_weight`` (or None) per model. Default: unit weights everywhere.

    Returns
    -------
    list of GeoDBSCAN
        The fitted models, in the order given.

    Examples
    --------
    >>> import numpy as np
    >>> paris = np.array([[48.85, 2.35], [48.86, 2.34], [48.84, 2.36]])
    >>> a, b = fit_together([GeoDBSCAN(5, min_samples=2), GeoDBSCAN(1, min_samples=2)],
    ...                     [paris, np.empty((0, 2))])
    >>> a.labels_, b.labels_
    (array([0, 0, 0]), array([], dtype=int64))
    """
    models, Xs = list(models), list(Xs)
    weights = [None] * len(models) if sample_weights is None else list(sample_weights)
    if not len(models) == len(Xs) == len(weights):
        raise ValueError(
            f"fit_together needs one X and one sample_weight per model: got {len(models)} "
            f"models, {len(Xs)} X and {len(weights)} sample_weight"
        )
    # What GeoDBSCAN.fit's @_fit_context does, for every model before any of them starts.
    if not get_config()["skip_parameter_validation"]:
        for model in models:
            model._validate_params()
    _fit_all(models, Xs, weights)
    return models
