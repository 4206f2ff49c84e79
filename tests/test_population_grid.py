"""Population grid kernels (core/population.py): cell indexing, gazetteer approximation,
regridding and footprint sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from core.population import (
    MAX_CITY_RADIUS_KM,
    accumulate_point_counts,
    cell_centres,
    cell_index,
    city_radius_km,
    empty_grid,
    footprint_population,
    gazetteer_population_grid,
    grid_shape,
    regrid_population,
)
from tests.support import assert_grid_equals_cells, brute_force_cells, expected_cells, fine_raster

EARTH_KM = 6371.0088
F = 0.05  # the default footprint: 3600 x 7200 cells


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


# ------------------------------------------------------------------------------------------
# Grid geometry
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("f", "shape"), [(0.05, (3600, 7200)), (1.0, (180, 360)), (180, (1, 2))])
def test_grid_shape(f, shape):
    assert grid_shape(footprint_deg=f) == shape


@pytest.mark.parametrize("f", [0.07, 0.0, -0.05, 200.0, float("nan"), float("inf"), "x", True])
def test_bad_footprint_deg_raises(f):
    with pytest.raises(ValueError, match="footprint_deg"):
        grid_shape(footprint_deg=f)
    with pytest.raises(ValueError, match="footprint_deg"):
        cell_index(0.0, 0.0, footprint_deg=f)


def test_cell_index_edges():
    lat = np.array([90.0, -90.0, 0.0, -0.01, 89.999, 45.0, 45.0, 45.0, 45.0, 45.0, 45.0])
    lon = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 180.0, -180.0, -0.01, 179.999, 360.0, 190.0])
    i, j = cell_index(lat, lon, footprint_deg=F)
    assert i.dtype == np.int64 and j.dtype == np.int64
    assert i.tolist() == [3599, 0, 1800, 1799, 3599, 2700, 2700, 2700, 2700, 2700, 2700]
    # lon 180 wraps to column 0 like -180; 360 is 0 degrees; 190 is -170.
    assert j.tolist() == [3600, 3600, 3600, 3600, 3600, 0, 0, 3599, 7199, 3600, 200]


def test_cell_index_vectorised_shape_and_scalars():
    lat = np.full((3, 4), 10.0)
    i, j = cell_index(lat, -10.0, footprint_deg=1.0)
    assert i.shape == j.shape == (3, 4)
    assert np.all(i == 100) and np.all(j == 170)
    i, j = cell_index(-89.5, 179.5, footprint_deg=1.0)
    assert (int(i), int(j)) == (0, 359)


@pytest.mark.parametrize(("lat", "lon"), [(90.5, 0.0), (-91.0, 0.0), (np.nan, 0.0), (0.0, np.inf)])
def test_cell_index_rejects_bad_coordinates(lat, lon):
    with pytest.raises(ValueError, match="itude"):
        cell_index([lat], [lon], footprint_deg=F)


def test_cell_centres_fall_in_their_cells():
    lat, lon = cell_centres(footprint_deg=0.25)
    assert lat[0] == pytest.approx(-89.875) and lon[-1] == pytest.approx(179.875)
    i, _ = cell_index(lat, 0.0, footprint_deg=0.25)
    _, j = cell_index(0.0, lon, footprint_deg=0.25)
    assert np.array_equal(i, np.arange(lat.size)) and np.array_equal(j, np.arange(lon.size))


def test_empty_grid_layout():
    grid = empty_grid(footprint_deg=1.0)
    assert grid.dims == ("lat", "lon") and grid.shape == (180, 360)
    assert grid.dtype == np.float64 and grid.name == "population"
    assert grid.attrs["units"] == "inhabitants" and grid.attrs["footprint_deg"] == 1.0
    assert float(grid.sum()) == 0.0
    assert grid["lat"][0] == -89.5 and grid["lon"][-1] == 179.5


# ------------------------------------------------------------------------------------------
# Gazetteer approximation
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world_cities():
    from core.gazetteer import load_cities

    return load_cities()


@pytest.fixture(scope="module")
def world_grid(world_cities):
    return gazetteer_population_grid(world_cities, footprint_deg=F)


def test_gazetteer_grid_conserves_world_population(world_cities, world_grid):
    total = world_cities["population"].sum()
    assert float(world_grid.sum()) == pytest.approx(total, rel=1e-6)
    assert world_grid.shape == (3600, 7200) and world_grid.dtype == np.float64
    assert "APPROXIMATION" in world_grid.attrs["source"]


def test_gazetteer_grid_puts_tokyo_near_tokyo(world_cities, world_grid):
    tokyo = world_cities.loc[world_cities["name"] == "Tokyo"].iloc[0]
    i, j = cell_index(tokyo["lat"], tokyo["lon"], footprint_deg=F)
    assert world_grid[int(i), int(j)] > 0
    # Every cell whose centre is within the largest spreading radius (plus a cell diagonal).
    rows = slice(int(i) - 20, int(i) + 21)
    cols = slice(int(j) - 20, int(j) + 21)
    window = world_grid[rows, cols]
    lat2, lon2 = xr.broadcast(window["lat"], window["lon"])
    d = haversine_km(tokyo["lat"], tokyo["lon"], lat2.to_numpy(), lon2.to_numpy())
    near = window.to_numpy()[d <= MAX_CITY_RADIUS_KM + 8.0].sum()
    assert near >= tokyo["population"]


def test_gazetteer_city_spread_is_a_uniform_disc():
    pop = 2_000_000.0
    city = pd.DataFrame({"lat": [48.85], "lon": [2.35], "population": [pop]})
    grid = gazetteer_population_grid(city, footprint_deg=F)
    assert float(grid.sum()) == pytest.approx(pop, rel=1e-12)
    window = grid.sel(lat=slice(47.85, 49.85), lon=slice(0.35, 4.35))
    assert float(window.sum()) == pytest.approx(pop, rel=1e-12)
    lat2, lon2 = xr.broadcast(window["lat"], window["lon"])
    d = haversine_km(48.85, 2.35, lat2.to_numpy(), lon2.to_numpy())
    values = window.to_numpy()
    populated = values > 0
    assert np.array_equal(populated, d <= float(city_radius_km(pop)))
    assert np.allclose(values[populated], values[populated][0])


def test_small_city_stays_in_its_own_cell():
    city = pd.DataFrame({"lat": [10.01], "lon": [20.01], "population": [15_000]})
    grid = gazetteer_population_grid(city, footprint_deg=0.25)
    assert np.count_nonzero(grid.to_numpy()) == 1
    i, j = cell_index(10.01, 20.01, footprint_deg=0.25)
    assert grid[int(i), int(j)] == pytest.approx(15_000)


def test_gazetteer_spreads_across_the_antimeridian():
    pop = 1_000_000.0
    east = gazetteer_population_grid(
        pd.DataFrame({"lat": [0.0], "lon": [179.99], "population": [pop]}), footprint_deg=F
    )
    west = gazetteer_population_grid(
        pd.DataFrame({"lat": [0.0], "lon": [-179.99], "population": [pop]}), footprint_deg=F
    )
    assert float(east.sum()) == pytest.approx(pop, rel=1e-12)
    # The disc (~10 km) reaches over 180° into the first columns of the grid.
    assert float(east.sel(lon=slice(-180, -179)).sum()) > 0.3 * pop
    assert float(east.sel(lon=slice(179, 180)).sum()) > 0.3 * pop
    # A city mirrored across the antimeridian gives the mirrored grid (the mirror of
    # column j is n_cols - 1 - j); both discs lie within 10 columns of the edges.
    edges = np.r_[0:10, 7190:7200]
    east_edges, west_edges = east.to_numpy()[:, edges], west.to_numpy()[:, edges[::-1]]
    assert east_edges.sum() == pytest.approx(pop, rel=1e-12)
    np.testing.assert_allclose(east_edges, west_edges, rtol=1e-12, atol=1e-6)


def test_gazetteer_spreads_around_the_pole():
    pop = 5_000_000.0  # radius ~23 km: the disc contains the north pole
    grid = gazetteer_population_grid(
        pd.DataFrame({"lat": [89.99], "lon": [10.0], "population": [pop]}), footprint_deg=F
    )
    assert float(grid.sum()) == pytest.approx(pop, rel=1e-12)
    top = grid.isel(lat=-1)
    assert int((top > 0).sum()) == top.size  # the top ring lies entirely within the disc
    assert float(grid.sel(lon=slice(-175, -165)).sum()) > 0  # the far side of the pole


def test_gazetteer_rejects_bad_input():
    with pytest.raises(ValueError, match="population"):
        gazetteer_population_grid(pd.DataFrame({"lat": [0.0], "lon": [0.0]}), footprint_deg=F)
    with pytest.raises(ValueError, match="non-negative"):
        gazetteer_population_grid(
            pd.DataFrame({"lat": [0.0], "lon": [0.0], "population": [-5]}), footprint_deg=F
        )
    with pytest.raises(ValueError, match="latitude"):
        gazetteer_population_grid(
            pd.DataFrame({"lat": [95.0], "lon": [0.0], "population": [5]}), footprint_deg=F
        )


# ------------------------------------------------------------------------------------------
# Regridding
# ------------------------------------------------------------------------------------------


def test_regrid_matches_brute_force_and_conserves_total():
    da = fine_raster()
    grid = regrid_population(da, footprint_deg=F)
    assert grid.dims == ("lat", "lon") and grid.shape == (3600, 7200)
    expected = expected_cells(da, F)
    assert_grid_equals_cells(grid, expected)
    valid = da.to_numpy()[np.isfinite(da.to_numpy()) & (da.to_numpy() > 0)]
    assert float(grid.sum()) == pytest.approx(valid.sum(), rel=1e-12)


def test_regrid_accepts_other_dim_names_orders_and_blocks():
    f = 0.25  # a coarser grid keeps this test fast; cell edges still fall between pixels
    da = fine_raster(1)
    reference = regrid_population(da, footprint_deg=f)
    assert_grid_equals_cells(reference, expected_cells(da, f))
    renamed = da.rename(lat="latitude", lon="longitude").transpose("longitude", "latitude")
    np.testing.assert_allclose(regrid_population(renamed, footprint_deg=f), reference)
    yx = da.rename(lat="y", lon="x").expand_dims(band=[1])  # a single raster band
    np.testing.assert_allclose(regrid_population(yx, footprint_deg=f), reference)
    small_blocks = regrid_population(da, footprint_deg=f, block_pixels=1000)
    np.testing.assert_allclose(small_blocks, reference, rtol=1e-12)
    chunked = da.chunk({"lat": 37, "lon": 50})  # dask-backed, ragged chunks
    np.testing.assert_allclose(
        regrid_population(chunked, footprint_deg=f, block_pixels=3000), reference, rtol=1e-12
    )


def test_regrid_irregular_unsorted_coordinates_across_the_antimeridian():
    rng = np.random.default_rng(3)
    lat = rng.uniform(-30, 30, 70)  # unsorted, irregular
    lon = rng.uniform(178.0, 182.0, 90)  # 0..360 convention, crossing 180
    values = rng.integers(0, 50, (70, 90)).astype(np.float32)
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": lat, "x": lon})
    grid = regrid_population(da, footprint_deg=0.25)
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    assert_grid_equals_cells(grid, brute_force_cells(lat2, lon2, values, 0.25))
    assert float(grid.sel(lon=slice(-180, -178)).sum()) > 0


def test_regrid_rejects_bad_dims():
    with pytest.raises(ValueError, match="dims"):
        regrid_population(xr.DataArray(np.ones((2, 2)), dims=("a", "b")), footprint_deg=F)
    three_d = xr.DataArray(
        np.ones((2, 2, 2)),
        dims=("time", "lat", "lon"),
        coords={"lat": [0.0, 1.0], "lon": [0.0, 1.0]},
    )
    with pytest.raises(ValueError, match="time"):
        regrid_population(three_d, footprint_deg=F)
    with pytest.raises(ValueError, match="coordinate"):
        regrid_population(xr.DataArray(np.ones((2, 2)), dims=("lat", "lon")), footprint_deg=F)


@pytest.mark.parametrize("spread", [1.0, 170.0])  # a band of rows, then points all over
def test_accumulate_point_counts_matches_brute_force(spread):
    rng = np.random.default_rng(4)
    lat = rng.uniform(-spread / 2, spread / 2, 5000)
    lon = rng.uniform(-180, 180, 5000)
    counts = rng.gamma(1.0, 10.0, 5000)
    counts[:50] = np.nan
    out = np.zeros(grid_shape(footprint_deg=F))
    accumulate_point_counts(out, lat, lon, counts, footprint_deg=F)
    accumulate_point_counts(out, lat[:10], lon[:10], -counts[:10], footprint_deg=F)  # ignored
    grid = xr.DataArray(out)
    assert_grid_equals_cells(grid, brute_force_cells(lat, lon, counts, F))
    with pytest.raises(ValueError, match="shape"):
        accumulate_point_counts(np.zeros((3, 3)), lat, lon, counts, footprint_deg=F)


# ------------------------------------------------------------------------------------------
# Footprints
# ------------------------------------------------------------------------------------------


def test_footprint_population_sums_cells_per_cluster():
    grid = empty_grid(footprint_deg=1.0)
    grid[10, 20] = 5.0
    grid[10, 21] = 7.0
    grid[100, 359] = 11.0
    cells = pd.DataFrame(
        {
            "cluster_id": [7, 7, 7, 3, 3, 9],
            "cell_lat": [10, 10, 10, 10, 100, 0],
            "cell_lon": [20, 21, 20, 21, 359, 0],  # (10, 20) twice in cluster 7: once
        }
    )
    result = footprint_population(grid, cells)
    assert result.index.tolist() == [3, 7, 9] and result.index.name == "cluster_id"
    assert result.tolist() == [18.0, 12.0, 0.0]
    assert result.name == "population"


def test_footprint_population_rejects_bad_input():
    grid = empty_grid(footprint_deg=1.0)
    with pytest.raises(ValueError, match="cell_lon"):
        footprint_population(grid, pd.DataFrame({"cluster_id": [1], "cell_lat": [0]}))
    with pytest.raises(ValueError, match="cell indices"):
        footprint_population(
            grid, pd.DataFrame({"cluster_id": [1], "cell_lat": [180], "cell_lon": [0]})
        )
    with pytest.raises(ValueError, match="cell indices"):
        footprint_population(
            grid, pd.DataFrame({"cluster_id": [1], "cell_lat": [-1], "cell_lon": [0]})
        )
    with pytest.raises(ValueError, match="dims"):
        footprint_population(
            grid.rename(lat="y"),
            pd.DataFrame({"cluster_id": [1], "cell_lat": [0], "cell_lon": [0]}),
        )
