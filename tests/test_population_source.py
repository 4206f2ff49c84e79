"""Opening population grids (flows/population.py): files, URLs, formats and their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from flows.population import PopulationSourceError, open_population_grid
from tests.support import assert_grid_equals_cells, brute_force_cells, expected_cells, fine_raster

# rioxarray calls affine's deprecated `*` operator; that is theirs to fix, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning")

F = 0.05  # the default footprint: 3600 x 7200 cells


@pytest.mark.parametrize("f", [0.07, 0.0, -0.05, 200.0, float("nan"), float("inf"), "x", True])
def test_open_with_bad_footprint_deg_raises(f):
    with pytest.raises(ValueError, match="footprint_deg"):
        open_population_grid(None, footprint_deg=f, cities=pd.DataFrame())


# ------------------------------------------------------------------------------------------
# Opening files
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["scipy", "h5netcdf"])
def test_open_netcdf_round_trip(tmp_path, engine):
    da = fine_raster(5)
    ds = da.to_dataset()
    ds["cell_area"] = xr.ones_like(da).rename("cell_area")  # a second gridded variable
    path = tmp_path / f"pop_{engine}.nc"
    ds.to_netcdf(path, engine=engine)
    grid = open_population_grid(str(path), footprint_deg=F)
    assert_grid_equals_cells(grid, expected_cells(da, F))
    assert str(path) in grid.attrs["source"]
    # The same file through a file:// URL.
    again = open_population_grid(path.as_uri(), footprint_deg=F)
    np.testing.assert_array_equal(again.to_numpy(), grid.to_numpy())


def test_open_geotiff_geographic_with_nodata(tmp_path):
    rioxarray = pytest.importorskip("rioxarray")
    assert rioxarray
    da = fine_raster(6)
    counts = da.fillna(-1).clip(min=-1).round().astype("int32")
    raster = counts.rename(lat="y", lon="x").rio.write_crs("EPSG:4326").rio.write_nodata(-1)
    path = tmp_path / "pop.tif"
    raster.rio.to_raster(path)
    grid = open_population_grid(str(path), footprint_deg=F)
    assert_grid_equals_cells(grid, expected_cells(counts.astype(float), F))
    assert "EPSG:4326" in grid.attrs["source"]


@pytest.mark.parametrize("crs", ["EPSG:3857", "ESRI:54009"])
def test_open_geotiff_projected(tmp_path, crs):
    pytest.importorskip("rioxarray")
    from pyproj import Transformer

    rng = np.random.default_rng(7)
    x = 1_000_000 + (np.arange(120) + 0.5) * 1000.0  # 1 km pixels
    y = 5_000_000 - (np.arange(90) + 0.5) * 1000.0
    values = rng.gamma(0.5, 40.0, size=(90, 120))
    values[:5] = np.nan
    raster = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}).rio.write_crs(crs)
    path = tmp_path / "projected.tif"
    raster.rio.to_raster(path)

    grid = open_population_grid(str(path), footprint_deg=F)
    x2, y2 = np.meshgrid(x, y)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x2, y2)
    assert_grid_equals_cells(grid, brute_force_cells(lat, lon, values, F))
    assert float(grid.sum()) == pytest.approx(np.nansum(values), rel=1e-9)


def test_open_remote_url_through_fsspec(tmp_path):
    import fsspec

    da = fine_raster(8)
    path = tmp_path / "pop.nc"
    da.to_netcdf(path, engine="h5netcdf")
    url = "memory://icrank-test-bucket/pop.nc"  # an in-process filesystem: no network
    with fsspec.open(url, "wb") as fh:
        fh.write(path.read_bytes())
    try:
        grid = open_population_grid(url, footprint_deg=F, storage_options={})
    finally:
        fsspec.filesystem("memory").rm(url)
    assert_grid_equals_cells(grid, expected_cells(da, F))
    assert url in grid.attrs["source"]


def test_open_without_url_uses_the_gazetteer():
    cities = pd.DataFrame({"lat": [1.0, 2.0], "lon": [3.0, 4.0], "population": [1e5, 2e5]})
    grid = open_population_grid(None, footprint_deg=0.25, cities=cities)
    assert float(grid.sum()) == pytest.approx(3e5)
    assert "APPROXIMATION" in grid.attrs["source"]


def _write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp: str(tmp / "missing.nc"), "not found"),
        (lambda tmp: "memory://icrank-test-bucket/missing.tif", "not found"),
        (lambda tmp: _write(tmp / "garbage.nc", b"this is not a raster"), "format"),
        (lambda tmp: _write(tmp / "empty.tif", b""), "empty"),
        (lambda tmp: _write(tmp / "fake.nc", b"CDF\x01" + b"\x07" * 64), "netcdf3"),
        (lambda tmp: _write(tmp / "fake.tif", b"II*\x00" + b"\x07" * 64), "GeoTIFF"),
        (lambda tmp: _write(tmp / "fake.h5", b"\x89HDF\r\n\x1a\n" + b"\x07" * 64), "netcdf4"),
        (lambda tmp: "nosuchprotocol://bucket/pop.nc", "URL"),
    ],
)
def test_unusable_files_raise_value_error_naming_the_url(tmp_path, make, problem):
    url = make(tmp_path)
    with pytest.raises(ValueError, match=problem) as info:
        open_population_grid(url, footprint_deg=F)
    assert isinstance(info.value, PopulationSourceError)
    message = str(info.value)
    assert url in message and "\n" not in message


def test_netcdf_without_usable_variable_or_with_density(tmp_path):
    no_grid = xr.Dataset({"v": ("t", np.arange(3.0))})
    path = tmp_path / "nogrid.nc"
    no_grid.to_netcdf(path, engine="scipy")
    with pytest.raises(PopulationSourceError, match="no variable") as info:
        open_population_grid(str(path), footprint_deg=F)
    assert str(path) in str(info.value)

    density = fine_raster(9)
    density.attrs["units"] = "Persons per square kilometer"
    path = tmp_path / "density.nc"
    density.to_netcdf(path, engine="scipy")
    with pytest.raises(PopulationSourceError, match="density"):
        open_population_grid(str(path), footprint_deg=F)

    two_years = xr.concat([fine_raster(1), fine_raster(2)], dim="year")
    path = tmp_path / "years.nc"
    two_years.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(PopulationSourceError, match="year"):
        open_population_grid(str(path), footprint_deg=F)


def test_geotiff_with_several_bands_is_refused(tmp_path):
    pytest.importorskip("rioxarray")
    da = fine_raster(10).rename(lat="y", lon="x").fillna(0)
    raster = xr.concat([da, da], dim="band").rio.write_crs("EPSG:4326")
    path = tmp_path / "bands.tif"
    raster.rio.to_raster(path)
    with pytest.raises(PopulationSourceError, match="single band"):
        open_population_grid(str(path), footprint_deg=F)
