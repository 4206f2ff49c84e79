"""Geohash tiling: integer geohash codes, adaptive tile plans and ε-halos on the sphere.

A geohash of precision ``p`` is ``5 p`` bits that interleave longitude and latitude bisections,
longitude first. We keep geohashes as integers (``int64``) rather than base-32 strings: a prefix
of precision ``p`` of a code of precision ``P`` is ``code >> 5 (P - p)``, and a tile is the
half-open range of fine codes that share its prefix, so assigning points to variable-precision
tiles is one ``searchsorted``.

Everything here is plain numpy; nothing imports Dask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the radius scikit-learn users divide by to get radians."""

MAX_GEOHASH_PRECISION = 12
GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"

# Slack added to every halo margin so that float rounding (of the contract's distance, and of
# geohash encoding, which may place a point ~1e-14 degrees outside its cell's bounds) can never
# put a true neighbour outside the halo; it only ever adds halo copies, never removes one.
_HALO_SLACK_REL = 1e-9
_HALO_SLACK_ABS_DEG = 1e-9


def eps_to_radians(eps_km: float) -> float:
    """Convert a distance on the Earth's surface in km to an angle in radians."""
    return eps_km / EARTH_RADIUS_KM


def _bit_split(precision: int) -> tuple[int, int]:
    """Number of longitude and latitude bits in a geohash of ``precision`` characters."""
    bits = 5 * precision
    return (bits + 1) // 2, bits // 2


def _check_precision(precision: int) -> None:
    if not 1 <= precision <= MAX_GEOHASH_PRECISION:
        raise ValueError(
            f"geohash precision must be between 1 and {MAX_GEOHASH_PRECISION}, got {precision}"
        )


def geohash_encode(lat: np.ndarray, lon: np.ndarray, *, precision: int) -> np.ndarray:
    """Integer geohash codes of points.

    Parameters
    ----------
    lat, lon : array_like
        Coordinates in degrees, latitude in [-90, 90] and longitude in [-180, 180].
    precision : int
        Number of geohash characters (1 to 12); the code has ``5 * precision`` bits.

    Returns
    -------
    numpy.ndarray of int64
        The codes; ``geohash_to_string`` renders them as the usual base-32 text.
    """
    _check_precision(precision)
    lon_bits, lat_bits = _bit_split(precision)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    ilon = np.floor((lon + 180.0) / 360.0 * (1 << lon_bits)).astype(np.int64)
    ilat = np.floor((lat + 90.0) / 180.0 * (1 << lat_bits)).astype(np.int64)
    np.clip(ilon, 0, (1 << lon_bits) - 1, out=ilon)
    np.clip(ilat, 0, (1 << lat_bits) - 1, out=ilat)
    code = np.zeros(lat.shape, dtype=np.int64)
    for k in range(5 * precision):
        # Bit k (from the most significant end): even k bisect longitude, odd k latitude.
        if k % 2 == 0:
            bit = (ilon >> (lon_bits - 1 - k // 2)) & 1
        else:
            bit = (ilat >> (lat_bits - 1 - k // 2)) & 1
        code = (code << 1) | bit
    return code


def geohash_bounds(
    codes: np.ndarray, precision: np.ndarray | int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Latitude and longitude bounds (degrees) of geohash cells.

    Parameters
    ----------
    codes : array_like of int
        Geohash codes.
    precision : int or array_like of int
        Precision of each code (broadcast against ``codes``).

    Returns
    -------
    lat_lo, lat_hi, lon_lo, lon_hi : numpy.ndarray
    """
    codes = np.asarray(codes, dtype=np.int64)
    precision = np.broadcast_to(np.asarray(precision, dtype=np.int64), codes.shape)
    bits = 5 * precision
    lon_bits = (bits + 1) // 2
    lat_bits = bits // 2
    ilon = np.zeros(codes.shape, dtype=np.int64)
    ilat = np.zeros(codes.shape, dtype=np.int64)
    for k in range(5 * MAX_GEOHASH_PRECISION):
        active = k < bits
        bit = np.where(active, (codes >> np.maximum(bits - 1 - k, 0)) & 1, 0)
        is_lon = k % 2 == 0
        if is_lon:
            ilon = np.where(active, (ilon << 1) | bit, ilon)
        else:
            ilat = np.where(active, (ilat << 1) | bit, ilat)
    dlon = 360.0 / np.exp2(lon_bits)
    dlat = 180.0 / np.exp2(lat_bits)
    lon_lo = -180.0 + ilon * dlon
    lat_lo = -90.0 + ilat * dlat
    return lat_lo, lat_lo + dlat, lon_lo, lon_lo + dlon


def geohash_to_string(code: int, precision: int) -> str:
    """Base-32 text of one integer geohash of ``precision`` characters."""
    _check_precision(precision)
    return "".join(
        GEOHASH_ALPHABET[(int(code) >> (5 * (precision - 1 - k))) & 31] for k in range(precision)
    )


def count_prefixes(
    codes: np.ndarray,
    *,
    code_precision: int,
    level: int,
    parents: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Count points per geohash prefix of length ``level``.

    Parameters
    ----------
    codes : numpy.ndarray of int64
        Codes of precision ``code_precision``.
    code_precision : int
        Precision of ``codes``.
    level : int
        Precision of the prefixes to count (``1 <= level <= code_precision``).
    parents : numpy.ndarray of int64, optional
        When given, only points whose prefix of length ``level - 1`` is in ``parents`` count.

    Returns
    -------
    prefixes, counts : numpy.ndarray of int64
        Sorted distinct prefixes and their point counts.
    """
    prefix = codes >> (5 * (code_precision - level))
    if parents is not None:
        prefix = prefix[np.isin(prefix >> 5, parents)]
    prefixes, counts = np.unique(prefix, return_counts=True)
    return prefixes.astype(np.int64), counts.astype(np.int64)


def merge_counts(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sum several ``(prefixes, counts)`` tables into one sorted table."""
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    prefixes = np.concatenate([p for p, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    keys, inverse = np.unique(prefixes, return_inverse=True)
    return keys.astype(np.int64), np.bincount(inverse, weights=counts, minlength=keys.size).astype(
        np.int64
    )


@dataclass(frozen=True)
class TilePlan:
    """A partition of the occupied part of the globe into variable-precision geohash tiles.

    Tiles are sorted along the geohash Z-order curve. ``range_lo[t] <= code < range_hi[t]`` holds
    for the fine code (precision ``code_precision``) of every point that tile ``t`` owns.
    ``group[t]`` is the index of the task that clusters tile ``t``; consecutive tiles share a
    group until the group holds about ``task_points`` points.
    """

    code_precision: int
    prefix: np.ndarray
    precision: np.ndarray
    count: np.ndarray
    group: np.ndarray
    eps_rad: float

    @property
    def n_tiles(self) -> int:
        return int(self.prefix.size)

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1 if self.group.size else 0

    @property
    def range_lo(self) -> np.ndarray:
        return self.prefix << (5 * (self.code_precision - self.precision))

    @property
    def range_hi(self) -> np.ndarray:
        return (self.prefix + 1) << (5 * (self.code_precision - self.precision))

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Latitude and longitude bounds of every tile, in degrees."""
        return geohash_bounds(self.prefix, self.precision)

    @cached_property
    def halo_sources(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR ``(indptr, tiles)``: for each tile, the other tiles whose bounds touch its halo.

        Only points of those tiles can be halo points of the tile.
        """
        lat_lo, lat_hi, lon_lo, lon_hi = self.bounds()
        lat_margin, lon_margin = halo_margins(lat_lo, lat_hi, eps_rad=self.eps_rad)
        indptr = np.zeros(self.n_tiles + 1, np.int64)
        sources = []
        for t in range(self.n_tiles):
            touch = (lat_lo <= lat_hi[t] + lat_margin) & (lat_hi >= lat_lo[t] - lat_margin)
            gap = np.minimum(np.mod(lon_lo - lon_hi[t], 360.0), np.mod(lon_lo[t] - lon_hi, 360.0))
            overlap = (lon_lo <= lon_hi[t]) & (lon_hi >= lon_lo[t])
            touch &= overlap | (gap <= lon_margin[t])
            touch[t] = False
            sources.append(np.flatnonzero(touch))
            indptr[t + 1] = indptr[t] + sources[-1].size
        return indptr, (np.concatenate(sources) if sources else np.empty(0, np.int64))

    def labels(self) -> list[str]:
        """Base-32 geohash text of every tile, for task names and logs."""
        return [
            geohash_to_string(c, p)
            for c, p in zip(self.prefix.tolist(), self.precision.tolist(), strict=True)
        ]


class TilePlanner:
    """``plan_tiles`` one level at a time, for callers that count several data sets together.

    The planner never touches data: ``request`` names the counts it needs next, ``feed`` hands
    them over, and ``plan`` returns the finished plan once ``request`` is ``None``. A caller that
    plans several data sets can so gather every pending level's counts into one reduction.

    Parameters
    ----------
    max_tile_points : int
        Target number of own points per tile, and per task group.
    max_precision : int
        Longest prefix a tile may have.
    code_precision : int
        Precision of the point codes the plan will be matched against.
    eps_rad : float
        The clustering radius, kept with the plan to size halos.
    task_points : int, optional
        Consecutive tiles are grouped into one task until it owns about this many points
        (default ``max_tile_points``).

    Examples
    --------
    >>> codes = geohash_encode(np.array([48.85, 48.86, -33.9]), np.array([2.35, 2.34, 18.4]),
    ...                        precision=4)
    >>> planner = TilePlanner(max_tile_points=1, max_precision=2, code_precision=4, eps_rad=0.01)
    >>> while planner.request is not None:
    ...     level, parents = planner.request
    ...     planner.feed(*count_prefixes(codes, code_precision=4, level=level, parents=parents))
    >>> planner.plan().n_tiles
    2
    """

    def __init__(
        self,
        *,
        max_tile_points: int,
        max_precision: int,
        code_precision: int,
        eps_rad: float,
        task_points: int | None = None,
    ) -> None:
        if max_tile_points < 1:
            raise ValueError(f"max_tile_points must be >= 1, got {max_tile_points}")
        _check_precision(max_precision)
        if max_precision > code_precision:
            raise ValueError("max_precision cannot exceed code_precision")
        self.max_tile_points = max_tile_points
        self.max_precision = max_precision
        self.code_precision = code_precision
        self.eps_rad = eps_rad
        self.task_points = task_points
        self._request: tuple[int, np.ndarray | None] | None = (1, None)
        self._prefixes: list[np.ndarray] = []
        self._precisions: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []

    @property
    def request(self) -> tuple[int, np.ndarray | None] | None:
        """``(level, parents)`` of the counts needed next; ``None`` once the plan is complete.

        ``parents`` restricts the count to children of those prefixes (``None``: all points).
        """
        return self._request

    def feed(self, prefixes: np.ndarray, counts: np.ndarray) -> None:
        """Take the counts of the requested level and decide which prefixes to split.

        Parameters
        ----------
        prefixes, counts : numpy.ndarray of int64
            Sorted occupied prefixes of the requested level (children of its ``parents``) and
            their point counts, as ``count_prefixes`` or ``merge_counts`` return them.
        """
        if self._request is None:
            raise RuntimeError("the tile plan is complete; it needs no more counts")
        level = self._request[0]
        split = (counts > self.max_tile_points) & (level < self.max_precision)
        keep = ~split
        self._prefixes.append(prefixes[keep])
        self._precisions.append(np.full(int(keep.sum()), level, dtype=np.int64))
        self._counts.append(counts[keep])
        self._request = (level + 1, prefixes[split]) if split.any() else None

    def plan(self) -> TilePlan:
        """The finished plan: kept prefixes of every level in Z-order, grouped into tasks."""
        if self._request is not None:
            raise RuntimeError(f"the tile plan still needs the counts of level {self._request[0]}")
        prefix = np.concatenate(self._prefixes)
        precision = np.concatenate(self._precisions)
        count = np.concatenate(self._counts)
        order = np.argsort(prefix << (5 * (self.code_precision - precision)), kind="stable")
        prefix, precision, count = prefix[order], precision[order], count[order]
        return TilePlan(
            code_precision=self.code_precision,
            prefix=prefix,
            precision=precision,
            count=count,
            group=_group_consecutive(count, target=self.task_points or self.max_tile_points),
            eps_rad=self.eps_rad,
        )


def plan_tiles(
    count_level: Callable[[int, np.ndarray | None], tuple[np.ndarray, np.ndarray]],
    *,
    max_tile_points: int,
    max_precision: int,
    code_precision: int,
    eps_rad: float,
    task_points: int | None = None,
) -> TilePlan:
    """Split the globe adaptively into geohash tiles of at most ``max_tile_points`` points.

    Starting from the 32 one-character geohashes, every prefix that owns more than
    ``max_tile_points`` points is replaced by its 32 children, level by level, until no prefix is
    too full or ``max_precision`` is reached (a pile of duplicate points stops there). Only
    occupied prefixes become tiles. ``TilePlanner`` is the same algorithm, one level per call.

    Parameters
    ----------
    count_level : callable
        ``count_level(level, parents)`` returns the sorted occupied prefixes of length ``level``
        and their point counts, restricted to children of ``parents`` (all points when ``None``).
        It is the only place that touches the data, so the caller decides how (e.g. one Dask
        reduction per level).
    max_tile_points : int
        Target number of own points per tile, and per task group.
    max_precision : int
        Longest prefix a tile may have.
    code_precision : int
        Precision of the point codes the plan will be matched against.
    eps_rad : float
        The clustering radius, kept with the plan to size halos.
    task_points : int, optional
        Consecutive tiles are grouped into one task until it owns about this many points
        (default ``max_tile_points``).

    Returns
    -------
    TilePlan
    """
    planner = TilePlanner(
        max_tile_points=max_tile_points,
        max_precision=max_precision,
        code_precision=code_precision,
        eps_rad=eps_rad,
        task_points=task_points,
    )
    while planner.request is not None:
        planner.feed(*count_level(*planner.request))
    return planner.plan()


def _group_consecutive(count: np.ndarray, *, target: int) -> np.ndarray:
    """Group consecutive tiles so that each group holds about ``target`` points."""
    group = np.zeros(count.size, dtype=np.int64)
    current, filled = 0, 0
    for t, c in enumerate(count.tolist()):
        if filled > 0 and filled + c > target:
            current, filled = current + 1, 0
        group[t] = current
        filled += c
    return group


def assign_own_tiles(codes: np.ndarray, plan: TilePlan) -> np.ndarray:
    """Index of the tile that owns each point, from the points' fine geohash codes."""
    lo = plan.range_lo
    tile = np.searchsorted(lo, codes, side="right") - 1
    inside = (tile >= 0) & (codes < plan.range_hi[np.maximum(tile, 0)])
    if not inside.all():
        raise ValueError(
            "some points fall outside every tile of the plan (plan built on other data)"
        )
    return tile


def longitude_reach(cos_a: np.ndarray, cos_b: np.ndarray, *, eps_rad: float) -> np.ndarray:
    """Largest longitude difference (radians) between two points within ε of each other.

    From ``cos φ1 cos φ2 sin²(Δλ/2) <= sin²(ε/2)`` with ``cos φ1 >= cos_a`` and
    ``cos φ2 >= cos_b``; ``inf`` where the bound allows every longitude (a pole, or more than
    180°). Callers add their own slack for rounding.
    """
    prod = np.asarray(cos_a, dtype=np.float64) * np.asarray(cos_b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.sin(0.5 * eps_rad) / np.sqrt(prod)
        reach = 2.0 * np.arcsin(np.minimum(ratio, 1.0))
    return np.where(ratio < 1.0, reach, np.inf)


def halo_margins(
    lat_lo: np.ndarray, lat_hi: np.ndarray, *, eps_rad: float
) -> tuple[float, np.ndarray]:
    """Latitude and longitude margins (degrees) of the ε-halo of tiles.

    A point within ε (great-circle angle) of some point of a tile lies within ``lat_margin`` of
    the tile's latitude range and within ``lon_margin`` (circularly) of its longitude range.
    The longitude margin is ``longitude_reach`` with both latitudes in the widened band, so it
    grows like 1/cos of the band's most poleward latitude; it is ``inf`` (every longitude) when
    the band reaches a pole or the bound exceeds 180°.
    """
    eps_deg = np.degrees(eps_rad)
    lat_margin = eps_deg * (1 + _HALO_SLACK_REL) + _HALO_SLACK_ABS_DEG
    lat_lo = np.asarray(lat_lo, dtype=np.float64)
    lat_hi = np.asarray(lat_hi, dtype=np.float64)
    poleward = np.radians(np.maximum(np.abs(lat_lo - lat_margin), np.abs(lat_hi + lat_margin)))
    cos_pole = np.cos(np.minimum(poleward, np.pi / 2))
    reach = longitude_reach(cos_pole, cos_pole, eps_rad=eps_rad)
    lon_margin = np.degrees(reach) * (1 + _HALO_SLACK_REL) + _HALO_SLACK_ABS_DEG
    full = (poleward >= np.pi / 2) | (lon_margin >= 180.0)
    return float(lat_margin), np.where(full, np.inf, lon_margin)


def circular_lon_gap(lon: np.ndarray, lon_lo: float, lon_hi: float) -> np.ndarray:
    """Angular distance (degrees) from longitudes to the arc ``[lon_lo, lon_hi]``, across ±180°."""
    inside = (lon >= lon_lo) & (lon <= lon_hi)
    gap = np.minimum(np.mod(lon_lo - lon, 360.0), np.mod(lon - lon_hi, 360.0))
    return np.where(inside, 0.0, gap)


def assign_halo_tiles(
    lat: np.ndarray, lon: np.ndarray, own_tile: np.ndarray, plan: TilePlan
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point, tile) such that the point lies in the tile's ε-halo but not in the tile.

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Coordinates in degrees.
    own_tile : numpy.ndarray of int64
        ``assign_own_tiles`` of the same points.
    plan : TilePlan

    Returns
    -------
    point, tile : numpy.ndarray of int64
        Sorted by tile, then point.
    """
    lat_lo, lat_hi, lon_lo, lon_hi = plan.bounds()
    lat_margin, lon_margin = halo_margins(lat_lo, lat_hi, eps_rad=plan.eps_rad)
    indptr, sources = plan.halo_sources
    by_tile = np.argsort(own_tile, kind="stable")
    tile_start = np.searchsorted(own_tile[by_tile], np.arange(plan.n_tiles + 1))
    points: list[np.ndarray] = []
    tiles: list[np.ndarray] = []
    for t in range(plan.n_tiles):
        near = sources[indptr[t] : indptr[t + 1]]
        near = near[tile_start[near + 1] > tile_start[near]]
        if near.size == 0:
            continue
        cand = np.concatenate([by_tile[tile_start[u] : tile_start[u + 1]] for u in near.tolist()])
        keep = (lat[cand] >= lat_lo[t] - lat_margin) & (lat[cand] <= lat_hi[t] + lat_margin)
        if np.isfinite(lon_margin[t]):
            keep &= circular_lon_gap(lon[cand], lon_lo[t], lon_hi[t]) <= lon_margin[t]
        cand = np.sort(cand[keep])
        if cand.size:
            points.append(cand)
            tiles.append(np.full(cand.size, t, dtype=np.int64))
    if not points:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(points).astype(np.int64), np.concatenate(tiles)
