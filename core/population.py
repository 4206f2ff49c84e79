"""Population on the footprint grid: cell indexing, a gazetteer approximation and regridding.

A cluster's footprint is a set of cells of a global regular latitude/longitude grid whose cell
size is ``footprint_deg`` degrees. The grid has ``n_rows = 180 / footprint_deg`` rows and
``n_cols = 2 n_rows`` columns; cell ``(i, j)`` covers latitudes
``[-90 + i f, -90 + (i + 1) f)`` and longitudes ``[-180 + j f, -180 + (j + 1) f)``, with latitude
90 put in the last row and longitude 180 wrapped to column 0. Population grids are
:class:`xarray.DataArray` objects on that grid holding inhabitants per cell (counts, not
densities), so that a footprint's population is a plain sum over its cells.

Everything here is plain numpy/pandas/xarray; reading files lives in ``flows.population``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from core.tiling import EARTH_RADIUS_KM

GRID_DIMS = ("lat", "lon")
"""Dimension names of every population grid this module returns."""

LAT_LON_DIM_NAMES = (("lat", "lon"), ("latitude", "longitude"), ("y", "x"))
"""Accepted (latitude, longitude) dim name pairs of input rasters, matched case-insensitively."""

URBAN_DENSITY_PER_KM2 = 3000.0
"""Density assumed by the gazetteer approximation to turn a city's population into a radius.

Built-up urban densities range from about 1,500-3,000 inhabitants/km² in North America and
Europe to 5,000-15,000 in much of Asia and Africa. We take the low end on purpose: GeoNames
populations are often those of the administrative city, and spreading them a bit wider stands
in for the suburbs that the gazetteer does not list separately.
"""

MIN_CITY_RADIUS_KM = 2.0
"""Smallest spreading radius: below this a town is a point at any useful footprint size."""

MAX_CITY_RADIUS_KM = 40.0
"""Largest spreading radius: caps megacities (Tokyo's 8.3 M gives ~30 km; Shanghai would get
~48 km) so that one municipal total is not smeared over neighbouring metropolitan areas."""

DEFAULT_BLOCK_PIXELS = 4_000_000
"""Pixels handled at once when regridding: ~32 MB of float64, small next to the output grid."""

_DIVIDES_TOL = 1e-9
_GAZETTEER_BATCH = 2_000_000  # candidate (city, cell) pairs per batch: bounds temporary memory


# --------------------------------------------------------------------------------------------
# Grid geometry
# --------------------------------------------------------------------------------------------


def _n_rows(footprint_deg: float) -> int:
    """Validate ``footprint_deg`` and return the number of grid rows."""
    if isinstance(footprint_deg, bool):
        raise ValueError(f"footprint_deg must be a number of degrees, got {footprint_deg!r}")
    try:
        f = float(footprint_deg)
    except (TypeError, ValueError):
        raise ValueError(
            f"footprint_deg must be a number of degrees, got {footprint_deg!r}"
        ) from None
    if not (math.isfinite(f) and 0.0 < f <= 180.0):
        raise ValueError(f"footprint_deg must be in (0, 180] degrees, got {footprint_deg!r}")
    quotient = 180.0 / f
    n = round(quotient)
    if abs(quotient - n) > _DIVIDES_TOL:
        raise ValueError(
            f"footprint_deg must divide 180 exactly, got {footprint_deg!r} "
            f"(180 / {footprint_deg!r} = {quotient!r})"
        )
    return n


def grid_shape(*, footprint_deg: float) -> tuple[int, int]:
    """Number of rows and columns of the global grid.

    Parameters
    ----------
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.

    Returns
    -------
    tuple of int
        ``(n_rows, n_cols)`` = ``(180 / footprint_deg, 360 / footprint_deg)``.

    Raises
    ------
    ValueError
        If ``footprint_deg`` is not a positive number that divides 180.
    """
    n = _n_rows(footprint_deg)
    return n, 2 * n


def _row_index(lat: np.ndarray, n_rows: int) -> np.ndarray:
    lat = np.asarray(lat, dtype=np.float64)
    # The negated comparison also rejects NaN.
    if not np.all((lat >= -90.0) & (lat <= 90.0)):
        bad = lat[~((lat >= -90.0) & (lat <= 90.0))]
        raise ValueError(
            f"latitudes must lie in [-90, 90]; {bad.size} do not (e.g. {bad.flat[0]!r})"
        )
    # Dividing by the snapped step 180 / n_rows rather than the caller's float keeps every
    # consumer of the grid on exactly the same boundaries.
    i = np.asarray(np.floor((lat + 90.0) / (180.0 / n_rows)), dtype=np.int64)
    # Latitude 90 (and values that round up to the top edge) belong to the last row.
    return np.asarray(np.minimum(i, n_rows - 1))


def _col_index(lon: np.ndarray, n_cols: int) -> np.ndarray:
    lon = np.asarray(lon, dtype=np.float64)
    if not np.all(np.isfinite(lon)):
        bad = lon[~np.isfinite(lon)]
        raise ValueError(f"longitudes must be finite; {bad.size} are not")
    j = np.asarray(np.floor((lon + 180.0) / (360.0 / n_cols)), dtype=np.int64)
    # Python-style modulo wraps 180 to column 0 and accepts 0..360 longitudes too.
    return np.asarray(np.mod(j, n_cols))


def cell_index(lat, lon, *, footprint_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell of each point.

    Parameters
    ----------
    lat, lon : array_like
        Coordinates in degrees, broadcast against each other. Latitudes must lie in
        [-90, 90]; longitudes may be any finite value (they are wrapped, so 0..360 works).
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.

    Returns
    -------
    i, j : numpy.ndarray of int64
        Row ``floor((lat + 90) / f)`` (latitude 90 goes to the last row) and column
        ``floor((lon + 180) / f) mod n_cols`` (longitude 180 goes to column 0).

    Raises
    ------
    ValueError
        For a bad ``footprint_deg``, a latitude outside [-90, 90] or a non-finite coordinate.
    """
    n_rows, n_cols = grid_shape(footprint_deg=footprint_deg)
    lat, lon = np.broadcast_arrays(np.asarray(lat, np.float64), np.asarray(lon, np.float64))
    return _row_index(lat, n_rows), _col_index(lon, n_cols)


def cell_centres(*, footprint_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes of the row centres and longitudes of the column centres.

    Parameters
    ----------
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.

    Returns
    -------
    lat, lon : numpy.ndarray of float64
        ``-90 + (i + 0.5) f`` for every row ``i`` and ``-180 + (j + 0.5) f`` for every
        column ``j``.
    """
    n_rows, n_cols = grid_shape(footprint_deg=footprint_deg)
    step = 180.0 / n_rows
    lat = -90.0 + (np.arange(n_rows) + 0.5) * step
    lon = -180.0 + (np.arange(n_cols) + 0.5) * step
    return lat, lon


def _make_grid(values: np.ndarray, *, footprint_deg: float, source: str) -> xr.DataArray:
    lat, lon = cell_centres(footprint_deg=footprint_deg)
    return xr.DataArray(
        values,
        dims=GRID_DIMS,
        coords={"lat": lat, "lon": lon},
        name="population",
        attrs={"units": "inhabitants", "footprint_deg": float(footprint_deg), "source": source},
    )


def grid_from_values(values: np.ndarray, *, footprint_deg: float, source: str) -> xr.DataArray:
    """Wrap an array of inhabitants per cell as a population grid, without copying it.

    Parameters
    ----------
    values : numpy.ndarray
        float64 array of shape :func:`grid_shape` (e.g. filled by
        :func:`accumulate_point_counts`).
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.
    source : str
        Where the numbers come from, stored in ``attrs["source"]``.

    Returns
    -------
    xarray.DataArray
        The grid, as :func:`empty_grid` describes it.
    """
    shape = grid_shape(footprint_deg=footprint_deg)
    if not isinstance(values, np.ndarray) or values.shape != shape:
        raise ValueError(f"values must be a numpy array of shape {shape}")
    return _make_grid(
        values.astype(np.float64, copy=False), footprint_deg=footprint_deg, source=source
    )


def empty_grid(*, footprint_deg: float) -> xr.DataArray:
    """A population grid of zeros.

    Parameters
    ----------
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.

    Returns
    -------
    xarray.DataArray
        float64 zeros of shape :func:`grid_shape`, dims ``("lat", "lon")`` with cell-centre
        coordinates, named ``population``. At 0.05° it is 3600 × 7200 (207 MB); the pages are
        only committed by the operating system once written.
    """
    shape = grid_shape(footprint_deg=footprint_deg)
    return _make_grid(np.zeros(shape), footprint_deg=footprint_deg, source="empty")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}; it has {list(frame.columns)}")


# --------------------------------------------------------------------------------------------
# Gazetteer approximation
# --------------------------------------------------------------------------------------------


def city_radius_km(population) -> np.ndarray:
    """Spreading radius of cities in the gazetteer approximation.

    Parameters
    ----------
    population : array_like
        Inhabitants of each city.

    Returns
    -------
    numpy.ndarray
        ``clip(sqrt(population / (π · URBAN_DENSITY_PER_KM2)), MIN_CITY_RADIUS_KM,
        MAX_CITY_RADIUS_KM)`` in km: the radius of a disc holding the population at the
        assumed density.
    """
    pop = np.asarray(population, dtype=np.float64)
    return np.clip(
        np.sqrt(pop / (np.pi * URBAN_DENSITY_PER_KM2)), MIN_CITY_RADIUS_KM, MAX_CITY_RADIUS_KM
    )


def _batches(sizes: np.ndarray, limit: int) -> Iterator[tuple[int, int]]:
    """Consecutive index ranges whose sizes add up to at most ``limit`` (or one item)."""
    ends = np.cumsum(sizes)
    start = 0
    n = len(sizes)
    while start < n:
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + limit, side="right"))
        stop = max(stop, start + 1)
        yield start, stop
        start = stop


def gazetteer_population_grid(cities: pd.DataFrame, *, footprint_deg: float) -> xr.DataArray:
    """An APPROXIMATE population grid built from city points.

    This is not a census grid: it only knows the cities of the gazetteer (GeoNames cities of
    at least 15,000 inhabitants from ``core.gazetteer.load_cities``), so rural population
    and towns below the threshold are missing, and each city is assumed to be a disc of
    uniform density. Each city's population is spread evenly over the cells whose centres
    lie within :func:`city_radius_km` of the city (great-circle distance, so discs cross the
    antimeridian and the poles correctly), always including the city's own cell. Every
    city's population is conserved: the grid's total equals the input total up to float
    rounding.

    Parameters
    ----------
    cities : pandas.DataFrame
        Columns ``lat``, ``lon`` (degrees) and ``population`` (inhabitants, ≥ 0).
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.

    Returns
    -------
    xarray.DataArray
        float64 inhabitants per cell on the global grid (see :func:`empty_grid`).

    Raises
    ------
    ValueError
        For a bad ``footprint_deg``, missing columns, bad coordinates or a negative or
        missing population.
    """
    n_rows, n_cols = grid_shape(footprint_deg=footprint_deg)
    _require_columns(cities, ("lat", "lon", "population"), "cities")
    pop = cities["population"].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(pop) & (pop >= 0)):
        raise ValueError("cities: population must be finite and non-negative")
    lat = cities["lat"].to_numpy(dtype=np.float64, na_value=np.nan)
    lon = cities["lon"].to_numpy(dtype=np.float64, na_value=np.nan)
    ci, cj = cell_index(lat, lon, footprint_deg=footprint_deg)

    keep = pop > 0  # empty places contribute nothing and need no candidate cells
    lat, lon, pop, ci, cj = lat[keep], lon[keep], pop[keep], ci[keep], cj[keep]
    step = 180.0 / n_rows
    r_rad = city_radius_km(pop) / EARTH_RADIUS_KM
    r_deg = np.degrees(r_rad)

    # Candidate window around the city's own cell. A centre within r of the city is within
    # r + step/2 of the own cell's centre in latitude, hence the +1.
    kr = np.ceil(r_deg / step).astype(np.int64) + 1
    # A spherical cap of angular radius r around latitude φ that does not contain a pole spans
    # longitudes λ ± asin(sin r / cos φ); a cap containing a pole spans all longitudes.
    with np.errstate(divide="ignore"):
        ratio = np.sin(r_rad) / np.cos(np.radians(lat))
    full = (np.abs(lat) + r_deg >= 90.0) | ~(ratio < 1.0)
    dlon = np.degrees(np.arcsin(np.where(full, 1.0, ratio)))
    kc = np.ceil(dlon / step).astype(np.int64) + 1
    width = 2 * kc + 1
    full |= width >= n_cols
    width = np.where(full, n_cols, width)
    col_start = np.where(full, -(n_cols // 2), -kc)  # n_cols offsets, each column once
    n_cand = (2 * kr + 1) * width

    sin2_half_r = np.sin(r_rad / 2.0) ** 2
    lat_rad = np.radians(lat)
    cos_lat = np.cos(lat_rad)
    lon_rad = np.radians(lon)
    picked_city: list[np.ndarray] = []
    picked_cell: list[np.ndarray] = []
    for b0, b1 in _batches(n_cand, _GAZETTEER_BATCH):
        counts = n_cand[b0:b1]
        city = np.repeat(np.arange(b0, b1), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        offset = np.arange(city.size, dtype=np.int64) - first
        w = width[city]
        di = offset // w - kr[city]
        dj = offset % w + col_start[city]
        i = ci[city] + di
        valid = (i >= 0) & (i < n_rows)  # rows beyond a pole do not exist; the cap wraps
        city, di, dj, i = city[valid], di[valid], dj[valid], i[valid]
        j = np.mod(cj[city] + dj, n_cols)
        c_lat = np.radians(-90.0 + (i + 0.5) * step)
        c_lon = np.radians(-180.0 + (j + 0.5) * step)
        # Haversine: compare sin²(d/2) with sin²(r/2) instead of taking arcsin.
        h = (
            np.sin((c_lat - lat_rad[city]) / 2.0) ** 2
            + cos_lat[city] * np.cos(c_lat) * np.sin((c_lon - lon_rad[city]) / 2.0) ** 2
        )
        inside = (h <= sin2_half_r[city]) | ((di == 0) & (dj == 0))
        picked_city.append(city[inside])
        picked_cell.append(i[inside] * n_cols + j[inside])

    size = n_rows * n_cols
    if picked_city:
        city = np.concatenate(picked_city)
        cell = np.concatenate(picked_cell)
        n_cells = np.bincount(city, minlength=pop.size)
        # bincount allocates the output once; reshaping it is a view, so no extra copy.
        values = np.bincount(cell, weights=(pop / n_cells)[city], minlength=size)
    else:
        values = np.zeros(size)
    return _make_grid(
        values.reshape(n_rows, n_cols),
        footprint_deg=footprint_deg,
        source=(
            "APPROXIMATION: gazetteer city populations spread over discs at "
            f"{URBAN_DENSITY_PER_KM2:g} inhabitants/km² (radius {MIN_CITY_RADIUS_KM:g}-"
            f"{MAX_CITY_RADIUS_KM:g} km); not a census grid"
        ),
    )


# --------------------------------------------------------------------------------------------
# Regridding population counts
# --------------------------------------------------------------------------------------------


def find_lat_lon_dims(dims: Iterable[str]) -> tuple[str, str] | None:
    """The (latitude, longitude) dimension names among ``dims``, or None.

    Parameters
    ----------
    dims : iterable of str
        Dimension names, e.g. ``DataArray.dims``.

    Returns
    -------
    tuple of str or None
        The first pair of :data:`LAT_LON_DIM_NAMES` present (case-insensitive), spelled as
        in ``dims``.
    """
    by_lower = {str(d).lower(): d for d in dims}
    for lat_name, lon_name in LAT_LON_DIM_NAMES:
        if lat_name in by_lower and lon_name in by_lower:
            return by_lower[lat_name], by_lower[lon_name]
    return None


def _as_lat_lon(population: xr.DataArray) -> tuple[xr.DataArray, str, str]:
    """Transpose to (lat, lon) order and drop length-one extra dims (e.g. a raster band)."""
    if not isinstance(population, xr.DataArray):
        raise TypeError(f"population must be an xarray.DataArray, got {type(population)}")
    pair = find_lat_lon_dims(population.dims)
    if pair is None:
        raise ValueError(
            "population must have latitude and longitude dims named (lat, lon), "
            f"(latitude, longitude) or (y, x); got dims {tuple(population.dims)}"
        )
    ydim, xdim = pair
    extra = [d for d in population.dims if d not in pair]
    too_long = {d: population.sizes[d] for d in extra if population.sizes[d] != 1}
    if too_long:
        raise ValueError(
            f"population must be 2-D over ({ydim}, {xdim}); extra dims {too_long} "
            "have more than one element: select one first"
        )
    da = population.isel({d: 0 for d in extra}, drop=True).transpose(ydim, xdim)
    for dim in pair:
        if dim not in da.coords or da[dim].dims != (dim,):
            raise ValueError(f"population needs a 1-D coordinate of pixel centres for dim {dim!r}")
    return da, ydim, xdim


def _merge_chunks(sizes: Sequence[int], limit: int) -> list[tuple[int, int]]:
    """Greedily merge consecutive chunks into ranges of at most ``limit`` (or one chunk)."""
    ranges: list[tuple[int, int]] = []
    start = pos = 0
    for size in sizes:
        if pos > start and pos + size - start > limit:
            ranges.append((start, pos))
            start = pos
        pos += size
    if pos > start:
        ranges.append((start, pos))
    return ranges


def _blocks(da: xr.DataArray, block_pixels: int) -> Iterator[tuple[slice, slice]]:
    """Row/column ranges covering ``da``; for dask arrays they follow the chunk boundaries
    so that every chunk is computed exactly once."""
    ny, nx = da.shape
    if ny == 0 or nx == 0:
        return
    chunks = da.chunks
    if chunks is None:
        rows = max(1, block_pixels // nx)
        for r0 in range(0, ny, rows):
            yield slice(r0, min(r0 + rows, ny)), slice(0, nx)
        return
    row_chunks, col_chunks = chunks
    for c0, c1 in _merge_chunks(col_chunks, max(1, block_pixels // max(row_chunks))):
        for r0, r1 in _merge_chunks(row_chunks, max(1, block_pixels // (c1 - c0))):
            yield slice(r0, r1), slice(c0, c1)


def _groups(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, slice | np.ndarray | None]:
    """Cells, group starts and the reordering that makes equal cell indices contiguous."""
    order: slice | np.ndarray | None
    if index.size < 2 or np.all(index[1:] >= index[:-1]):
        order = None
    elif np.all(index[1:] <= index[:-1]):
        order = slice(None, None, -1)  # descending coordinates: a view, no copy
    else:
        order = np.argsort(index, kind="stable")
    ordered = index if order is None else index[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], starts, order


def _add_block(out: np.ndarray, block: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """Add a rectilinear block of counts to ``out``.

    Cell rows depend only on the pixel latitude and cell columns only on the longitude, so
    binning separates into two ``reduceat`` passes, much faster than a flat ``bincount``.
    """
    values = np.asarray(block, dtype=np.float64)
    # A new array, never written back: the block may be a view of the caller's data.
    values = np.where(np.isfinite(values) & (values > 0.0), values, 0.0)
    cells_r, starts_r, order_r = _groups(rows)
    if order_r is not None:
        values = values[order_r]
    values = np.add.reduceat(values, starts_r, axis=0)
    cells_c, starts_c, order_c = _groups(cols)
    if order_c is not None:
        values = values[:, order_c]
    values = np.add.reduceat(values, starts_c, axis=1)
    # Cells are unique within a block, so fancy-indexed += adds each exactly once.
    out[np.ix_(cells_r, cells_c)] += values


def regrid_population(
    population: xr.DataArray,
    *,
    footprint_deg: float,
    block_pixels: int = DEFAULT_BLOCK_PIXELS,
) -> xr.DataArray:
    """Sum a raster of population counts into the footprint grid.

    Every pixel's count goes whole to the cell holding its centre, so the total is
    preserved exactly (up to float rounding). Pixels finer than the footprint give exact
    per-cell totals; coarser ones are not split between cells.

    Parameters
    ----------
    population : xarray.DataArray
        Inhabitants per pixel (counts, not densities) on a rectilinear latitude/longitude
        grid: dims ``(lat, lon)``, ``(latitude, longitude)`` or ``(y, x)`` (x = longitude,
        y = latitude) in either order, with 1-D coordinates of pixel centres in degrees,
        regular or not and in any direction (descending latitude is usual in GeoTIFFs;
        longitudes may be 0..360). Other dims must have length one. NaN, infinite and
        negative values (nodata) count as 0. Numpy, lazily loaded and dask-backed arrays
        are all read block by block, dask arrays along their chunk boundaries.
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.
    block_pixels : int
        About how many pixels to read and bin at once; bounds the temporary memory.

    Returns
    -------
    xarray.DataArray
        float64 inhabitants per cell on the global grid (see :func:`empty_grid`).

    Raises
    ------
    ValueError
        For a bad ``footprint_deg``, unrecognised dims, extra dims longer than one or
        coordinates outside the globe.
    """
    n_rows, n_cols = grid_shape(footprint_deg=footprint_deg)
    if block_pixels < 1:
        raise ValueError(f"block_pixels must be at least 1, got {block_pixels!r}")
    da, ydim, xdim = _as_lat_lon(population)
    rows = _row_index(da[ydim].to_numpy(), n_rows)
    cols = _col_index(da[xdim].to_numpy(), n_cols)
    out = np.zeros((n_rows, n_cols))
    for rs, cs in _blocks(da, block_pixels):
        block = da.isel({ydim: rs, xdim: cs}).to_numpy()
        _add_block(out, block, rows[rs], cols[cs])
    name = population.name if population.name is not None else "input"
    return _make_grid(
        out,
        footprint_deg=footprint_deg,
        source=f"{name} ({da.shape[0]} x {da.shape[1]} pixels) summed into cells",
    )


def accumulate_point_counts(out: np.ndarray, lat, lon, counts, *, footprint_deg: float) -> None:
    """Add counts at arbitrary points to a grid array in place.

    For rasters whose pixel centres are not rectilinear in latitude/longitude (projected
    rasters, whose centres a caller has transformed to degrees): each count goes whole to
    the cell holding its point, so totals are preserved.

    Parameters
    ----------
    out : numpy.ndarray
        C-contiguous float64 array of :func:`grid_shape`, updated in place (e.g.
        ``np.zeros(grid_shape(footprint_deg=f))``).
    lat, lon : array_like
        Point coordinates in degrees, broadcast against ``counts``.
    counts : array_like
        Inhabitants at each point; NaN, infinite and negative values count as 0.
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.

    Raises
    ------
    ValueError
        For a bad ``footprint_deg``, a wrongly shaped ``out`` or bad coordinates.
    """
    n_rows, n_cols = grid_shape(footprint_deg=footprint_deg)
    if (
        not isinstance(out, np.ndarray)
        or out.shape != (n_rows, n_cols)
        or out.dtype != np.float64
        or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous float64 array of shape {(n_rows, n_cols)}")
    lat, lon, w = np.broadcast_arrays(
        np.asarray(lat, np.float64), np.asarray(lon, np.float64), np.asarray(counts, np.float64)
    )
    w = np.where(np.isfinite(w) & (w > 0.0), w, 0.0).ravel()
    if w.size == 0:
        return
    i = _row_index(lat, n_rows).ravel()
    j = _col_index(lon, n_cols).ravel()
    i0, i1 = int(i.min()), int(i.max())
    span = (i1 - i0 + 1) * n_cols
    if span <= max(4 * w.size, 1 << 20):
        # Points in a band of rows (the usual raster block): a bincount over that band only.
        local = np.bincount((i - i0) * n_cols + j, weights=w, minlength=span)
        out[i0 : i1 + 1] += local.reshape(-1, n_cols)
    else:
        # Few points spread over the globe: sort them rather than allocate a full grid.
        cells, inverse = np.unique(i * n_cols + j, return_inverse=True)
        out.reshape(-1)[cells] += np.bincount(inverse.ravel(), weights=w)


# --------------------------------------------------------------------------------------------
# Footprints
# --------------------------------------------------------------------------------------------


def _integer_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column].to_numpy()
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64, copy=False)
    as_float = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(as_float) & (as_float == np.round(as_float))):
        raise ValueError(f"cells: column {column!r} must hold integer cell indices")
    return as_float.astype(np.int64)


def footprint_population(grid: xr.DataArray, cells: pd.DataFrame) -> pd.Series:
    """Population living in each cluster's footprint.

    Parameters
    ----------
    grid : xarray.DataArray
        A population grid with dims ``("lat", "lon")`` (as returned by this module).
    cells : pandas.DataFrame
        Columns ``cluster_id``, ``cell_lat`` (row ``i``) and ``cell_lon`` (column ``j``),
        one row per footprint cell; duplicate rows are counted once.

    Returns
    -------
    pandas.Series
        float64 inhabitants named ``population``, indexed by ``cluster_id`` in sorted
        order; clusters absent from ``cells`` are absent from the result.

    Raises
    ------
    ValueError
        For a grid without ``("lat", "lon")`` dims, missing columns, non-integer or
        out-of-range cell indices.
    """
    if not isinstance(grid, xr.DataArray) or grid.dims != GRID_DIMS:
        dims = getattr(grid, "dims", None)
        raise ValueError(f"grid must be a DataArray with dims {GRID_DIMS}, got dims {dims}")
    _require_columns(cells, ("cluster_id", "cell_lat", "cell_lon"), "cells")
    unique = cells[["cluster_id", "cell_lat", "cell_lon"]].drop_duplicates()
    i = _integer_column(unique, "cell_lat")
    j = _integer_column(unique, "cell_lon")
    n_rows, n_cols = grid.shape
    if not (np.all((i >= 0) & (i < n_rows)) and np.all((j >= 0) & (j < n_cols))):
        raise ValueError(
            f"cells: cell indices must lie in [0, {n_rows}) x [0, {n_cols}) for this grid"
        )
    values = grid.isel(
        lat=xr.DataArray(i, dims="cell"), lon=xr.DataArray(j, dims="cell")
    ).to_numpy()
    series = pd.Series(
        values.astype(np.float64, copy=False),
        index=pd.Index(unique["cluster_id"].to_numpy(), name="cluster_id"),
        name="population",
    )
    return series.groupby(level="cluster_id", sort=True).sum()
