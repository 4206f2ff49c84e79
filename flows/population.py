"""Opening the population grid: a gridded population file through fsspec, or the gazetteer.

``population-url`` in the configuration names a NetCDF or GeoTIFF file of inhabitants per
pixel (e.g. GPWv4 / WorldPop / GHS-POP counts) on any fsspec protocol; it is summed into the
footprint grid by ``core.population``. Without a URL the grid is the gazetteer approximation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from core.population import (
    DEFAULT_BLOCK_PIXELS,
    accumulate_point_counts,
    find_lat_lon_dims,
    gazetteer_population_grid,
    grid_from_values,
    grid_shape,
    regrid_population,
)
from flows.errors import InputError
from flows.storage import StorageTarget, describe

GAZETTEER_SOURCE = (
    "APPROXIMATION built from the gazetteer: GeoNames cities (CC BY 4.0) spread over discs "
    "of uniform density; towns below the gazetteer threshold and rural population are "
    "missing. Set population-url to a gridded population file for real figures."
)

PREFERRED_VARIABLES = ("population", "pop", "population_count", "band_data", "band1", "count")
"""Data variable names taken, in this order, when a NetCDF file holds several candidates."""

_NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# HDF5 allows a user block before the superblock, so its signature may sit at these offsets.
_HDF5_OFFSETS = (0, 512, 1024, 2048)
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # TIFF and BigTIFF
_COPY_BUFFER = 16 * 1024 * 1024


class PopulationSourceError(InputError):
    """A population file that cannot be found, read or used; the message names the URL."""


def _error(url: str, problem: str) -> PopulationSourceError:
    # Library messages may span lines; keep the user-facing message on one.
    return PopulationSourceError(f"population-url {url}: {' '.join(problem.split())}")


def open_population_grid(
    url: str | None,
    *,
    footprint_deg: float,
    storage_options: Mapping[str, Any] | None = None,
    cities: pd.DataFrame | None = None,
) -> xr.DataArray:
    """The population grid of the run, from a file or from the gazetteer.

    Parameters
    ----------
    url : str or None
        Location of a population raster for ``fsspec`` (a local path, ``file://``,
        ``s3://``, ``memory://``, chained URLs such as ``simplecache::s3://...``). The
        format is recognised from the file's first bytes: netCDF3 (read with scipy),
        netCDF4/HDF5 (h5netcdf) or GeoTIFF (rioxarray). Values must be inhabitants per
        pixel, not densities. None builds the gazetteer approximation instead.
    footprint_deg : float
        Cell size in degrees; must divide 180 exactly.
    storage_options : mapping, optional
        Options for the fsspec filesystem (e.g. ``{"anon": True}`` or an
        ``endpoint_url``).
    cities : pandas.DataFrame, optional
        Columns ``lat, lon, population`` for the gazetteer approximation; defaults to
        ``core.gazetteer.load_cities()``. Ignored when ``url`` is given.

    Returns
    -------
    xarray.DataArray
        float64 inhabitants per footprint cell, dims ``("lat", "lon")``; ``attrs["source"]``
        names the file (or says the grid is the gazetteer approximation).

    Raises
    ------
    PopulationSourceError
        (a ``ValueError``) when the file is missing, cannot be downloaded, is not NetCDF or
        GeoTIFF, cannot be decoded, or holds no usable population variable; the one-line
        message names the URL.
    ValueError
        For a bad ``footprint_deg``.

    Notes
    -----
    Files on remote filesystems are copied to a temporary file first (rasterio and h5netcdf
    need a local path); it is deleted once the grid is built, so ``TMPDIR`` needs room for
    one copy. A NetCDF variable with a further dimension longer than one (e.g. several
    years) is refused rather than guessed at.
    """
    grid_shape(footprint_deg=footprint_deg)  # a configuration error, not the file's fault
    if url is None:
        if cities is None:
            from core.gazetteer import load_cities

            cities = load_cities()
        grid = gazetteer_population_grid(cities, footprint_deg=footprint_deg)
        grid.attrs["source"] = GAZETTEER_SOURCE
        return grid

    url = os.fspath(url)
    with _local_copy(url, dict(storage_options or {})) as path:
        kind = _sniff(url, path)
        try:
            if kind == "geotiff":
                grid, detail = _regrid_geotiff(url, path, footprint_deg=footprint_deg)
            else:
                grid, detail = _regrid_netcdf(url, path, kind, footprint_deg=footprint_deg)
        except PopulationSourceError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # any library failure here is the file's
            raise _error(url, f"cannot read {kind} file ({describe(exc)})") from exc
    grid.attrs["source"] = f"{url} ({detail}), summed into {footprint_deg:g}° cells"
    return grid


@contextlib.contextmanager
def _local_copy(url: str, storage_options: dict[str, Any]) -> Iterator[str]:
    """A local path holding the file at ``url``: the file itself, or a temporary copy."""
    try:
        source = StorageTarget(url, storage_options)
        local_file = source.is_local
    except Exception as exc:  # unknown protocol, missing backend, bad options
        raise _error(url, f"cannot open URL ({describe(exc)})") from exc
    if local_file:
        if not os.path.isfile(source.root):
            raise _error(url, "file not found")
        yield source.root
        return

    suffix = PurePosixPath(source.root).suffix
    with tempfile.TemporaryDirectory(prefix="icrank-population-") as tmp:
        local = os.path.join(tmp, f"population{suffix}")
        try:
            with source.open() as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, _COPY_BUFFER)
        except FileNotFoundError as exc:
            raise _error(url, "file not found") from exc
        except Exception as exc:  # network, credentials, permissions
            raise _error(url, f"cannot download ({describe(exc)})") from exc
        yield local


def _sniff(url: str, path: str) -> str:
    """``netcdf3``, ``netcdf4`` or ``geotiff`` from the file's magic bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(max(_HDF5_OFFSETS) + len(_HDF5_MAGIC))
    except OSError as exc:
        raise _error(url, f"cannot read file ({describe(exc)})") from exc
    if not head:
        raise _error(url, "file is empty")
    if head.startswith(_NETCDF3_MAGIC):
        return "netcdf3"
    if any(head[o : o + len(_HDF5_MAGIC)] == _HDF5_MAGIC for o in _HDF5_OFFSETS):
        return "netcdf4"
    if head.startswith(_TIFF_MAGIC):
        return "geotiff"
    raise _error(
        url,
        f"unrecognised file format (expected NetCDF or GeoTIFF; file starts with {head[:4]!r})",
    )


def _check_counts(url: str, da: xr.DataArray) -> None:
    """Refuse variables whose units say they are densities: summing them is meaningless."""
    units = str(da.attrs.get("units", "")).lower().replace(" ", "")
    if any(s in units for s in ("persquare", "/km", "km-2", "km^-2", "/sq", "perkm")):
        raise _error(
            url,
            f"variable {da.name!r} has units {da.attrs['units']!r}, a density; "
            "a population count per pixel is needed",
        )


def _pick_variable(url: str, ds: xr.Dataset) -> str:
    candidates = [str(name) for name, var in ds.data_vars.items() if find_lat_lon_dims(var.dims)]
    if not candidates:
        raise _error(
            url,
            "no variable with latitude/longitude dims ((lat, lon), (latitude, longitude) or "
            f"(y, x)); variables: {list(map(str, ds.data_vars))}",
        )
    by_lower = {c.lower(): c for c in candidates}
    for name in PREFERRED_VARIABLES:
        if name in by_lower:
            return by_lower[name]
    if len(candidates) == 1:
        return candidates[0]
    raise _error(
        url,
        f"several gridded variables {candidates} and none named one of {list(PREFERRED_VARIABLES)}",
    )


def _regrid_netcdf(
    url: str, path: str, kind: str, *, footprint_deg: float
) -> tuple[xr.DataArray, str]:
    engine = "scipy" if kind == "netcdf3" else "h5netcdf"
    try:
        # decode_times=False: time axes are irrelevant here and a malformed one must not
        # make an otherwise fine population file unreadable.
        ds = xr.open_dataset(path, engine=engine, decode_times=False)
    except Exception as exc:  # engines raise many unrelated types
        raise _error(url, f"cannot read as {kind} ({describe(exc)})") from exc
    with ds:
        name = _pick_variable(url, ds)
        da = ds[name]
        _check_counts(url, da)
        try:
            grid = regrid_population(da, footprint_deg=footprint_deg)
        except ValueError as exc:
            raise _error(url, f"variable {name!r}: {exc}") from exc
    return grid, f"{kind} variable {name!r}"


def _regrid_geotiff(url: str, path: str, *, footprint_deg: float) -> tuple[xr.DataArray, str]:
    import rioxarray

    try:
        # masked=True turns the declared nodata value into NaN, which binning counts as 0.
        opened = rioxarray.open_rasterio(path, masked=True)
    except Exception as exc:  # engines raise many unrelated types
        raise _error(url, f"cannot read as GeoTIFF ({describe(exc)})") from exc
    if not isinstance(opened, xr.DataArray):  # subdatasets come back as a Dataset or list
        raise _error(url, "GeoTIFF with subdatasets is not supported")
    with contextlib.closing(opened):
        da = opened
        if "band" in da.dims:
            if da.sizes["band"] != 1:
                raise _error(url, f"expected a single band, found {da.sizes['band']}")
            da = da.isel(band=0, drop=True)
        transform = da.rio.transform()
        if transform.b != 0 or transform.d != 0:
            raise _error(url, "rotated or sheared rasters are not supported")
        crs = da.rio.crs
        if crs is None:
            x, y = da["x"].to_numpy(), da["y"].to_numpy()
            if not (np.all(np.abs(y) <= 90) and np.all((x >= -180) & (x <= 360))):
                raise _error(url, "GeoTIFF has no CRS and its coordinates are not degrees")
            crs_name = "no CRS, read as longitude/latitude"
        else:
            crs_name = crs.to_string()
        try:
            if crs is None or crs.is_geographic:
                grid = regrid_population(da, footprint_deg=footprint_deg)
                detail = f"GeoTIFF, {crs_name}"
            else:
                grid = _regrid_projected(url, da, crs.to_wkt(), footprint_deg=footprint_deg)
                detail = f"GeoTIFF, {crs_name}, pixel centres reprojected to longitude/latitude"
        except ValueError as exc:
            if isinstance(exc, PopulationSourceError):
                raise
            raise _error(url, str(exc)) from exc
    return grid, detail


def _regrid_projected(
    url: str,
    da: xr.DataArray,
    crs_wkt: str,
    *,
    footprint_deg: float,
    block_pixels: int = DEFAULT_BLOCK_PIXELS,
) -> xr.DataArray:
    """Bin a projected (y, x) raster: each populated pixel centre is transformed to degrees
    and its whole count added to the cell holding it, so totals are preserved."""
    from pyproj import CRS, Transformer

    transformer = Transformer.from_crs(CRS.from_wkt(crs_wkt), CRS.from_epsg(4326), always_xy=True)
    da = da.transpose("y", "x")
    x = da["x"].to_numpy().astype(np.float64)
    y = da["y"].to_numpy().astype(np.float64)
    out = np.zeros(grid_shape(footprint_deg=footprint_deg))
    rows_per_block = max(1, block_pixels // max(1, x.size))
    for r0 in range(0, y.size, rows_per_block):
        values = np.asarray(da.isel(y=slice(r0, r0 + rows_per_block)).to_numpy(), np.float64)
        # Only populated pixels are transformed: most of a global raster is sea or nodata.
        r, c = np.nonzero(np.isfinite(values) & (values > 0.0))
        if r.size == 0:
            continue
        lon, lat = transformer.transform(x[c], y[r0 + r])
        lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        if bad.any():
            raise _error(
                url,
                f"{int(bad.sum())} populated pixels lie outside the valid area of the "
                "raster's CRS and cannot be placed on the globe",
            )
        # Transforms may overshoot the poles by a rounding error.
        np.clip(lat, -90.0, 90.0, out=lat)
        accumulate_point_counts(out, lat, lon, values[r, c], footprint_deg=footprint_deg)
    return grid_from_values(out, footprint_deg=footprint_deg, source=url)
