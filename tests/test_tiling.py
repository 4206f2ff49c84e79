"""Geohash tiling: codes, bounds, adaptive plans and ε-halos."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.tiling import (
    TilePlan,
    TilePlanner,
    assign_halo_tiles,
    assign_own_tiles,
    count_prefixes,
    geohash_bounds,
    geohash_encode,
    geohash_to_string,
    halo_margins,
    merge_counts,
    plan_tiles,
)
from tests.reference import reduced_haversine_row

lat_st = st.floats(-90, 90, allow_nan=False)
lon_st = st.floats(-180, 180, allow_nan=False)


def test_geohash_matches_published_examples():
    # Well-known examples: Jutland (u4pruydqqvj) and the origin cell (s000...).
    code = geohash_encode(np.array([57.64911, 0.0]), np.array([10.40744, 0.0]), precision=11)
    assert geohash_to_string(code[0], 11) == "u4pruydqqvj"
    assert geohash_to_string(code[1], 11) == "s0000000000"


@given(lat=lat_st, lon=lon_st, precision=st.integers(1, 12))
def test_points_lie_in_the_bounds_of_their_geohash(lat, lon, precision):
    code = geohash_encode(np.array([lat]), np.array([lon]), precision=precision)
    lat_lo, lat_hi, lon_lo, lon_hi = geohash_bounds(code, precision)
    # Rounding at a cell edge may misplace a point by ~1e-14 degrees; halos carry 1e-9 of slack.
    tol = 1e-12
    assert lat_lo[0] - tol <= lat <= lat_hi[0] + tol and lon_lo[0] - tol <= lon <= lon_hi[0] + tol
    coarse = geohash_encode(np.array([lat]), np.array([lon]), precision=max(precision - 1, 1))
    if precision > 1:
        assert code[0] >> 5 == coarse[0]


def test_counts_merge_and_restrict_to_parents():
    codes = np.array([0b00001_00001, 0b00001_00010, 0b00010_00000, 0b00001_00001], np.int64)
    pref, cnt = count_prefixes(codes, code_precision=2, level=1)
    assert pref.tolist() == [1, 2] and cnt.tolist() == [3, 1]
    pref, cnt = count_prefixes(codes, code_precision=2, level=2, parents=np.array([1]))
    assert pref.tolist() == [33, 34] and cnt.tolist() == [2, 1]
    pref, cnt = merge_counts([(np.array([1, 5]), np.array([2, 2])), (np.array([5]), np.array([3]))])
    assert pref.tolist() == [1, 5] and cnt.tolist() == [2, 5]


def _plan(lat, lon, *, max_tile_points, max_precision, eps_rad=0.01):
    codes = geohash_encode(lat, lon, precision=max_precision)

    def count_level(level, parents):
        return count_prefixes(codes, code_precision=max_precision, level=level, parents=parents)

    plan = plan_tiles(
        count_level,
        max_tile_points=max_tile_points,
        max_precision=max_precision,
        code_precision=max_precision,
        eps_rad=eps_rad,
    )
    return codes, plan


def test_adaptive_split_refines_only_full_tiles():
    rng = np.random.default_rng(0)
    lat = np.concatenate([rng.normal(48.8, 0.2, 1000), rng.uniform(-60, 60, 50)])
    lon = np.concatenate([rng.normal(2.3, 0.2, 1000), rng.uniform(-180, 180, 50)])
    codes, plan = _plan(lat, lon, max_tile_points=100, max_precision=6)
    own = assign_own_tiles(codes, plan)
    counts = np.bincount(own, minlength=plan.n_tiles)
    np.testing.assert_array_equal(counts, plan.count)
    assert counts.sum() == lat.size
    assert ((counts <= 100) | (plan.precision == 6)).all()
    assert plan.precision.max() > plan.precision.min()  # dense Paris split deeper than the rest
    assert (np.diff(plan.range_lo) > 0).all() and (plan.range_hi[:-1] <= plan.range_lo[1:]).all()


def test_halo_margin_widens_towards_the_poles_and_covers_them():
    eps = 100 / 6371.0088
    lat_margin, lon_margin = halo_margins(
        np.array([0.0, 60.0, 88.5]), np.array([1.0, 61.0, 89.5]), eps_rad=eps
    )
    assert math.isclose(lat_margin, math.degrees(eps), rel_tol=1e-6)
    assert lon_margin[0] < lon_margin[1] and np.isinf(lon_margin[2])
    assert math.isclose(
        lon_margin[1], math.degrees(eps) / math.cos(math.radians(61 + lat_margin)), rel_tol=1e-3
    )


@given(
    seed=st.integers(0, 2**32 - 1),
    eps_km=st.sampled_from([10.0, 200.0, 2000.0]),
    centre=st.sampled_from([(0.0, 179.9), (89.0, 0.0), (-88.0, -179.0), (45.0, 7.0)]),
)
def test_every_neighbour_of_a_tile_point_is_in_the_tile_or_its_halo(seed, eps_km, centre):
    rng = np.random.default_rng(seed)
    spread = eps_km / 111.0 * 2
    lat = np.clip(centre[0] + rng.normal(0, spread, 150), -90, 90)
    lon = (centre[1] + rng.normal(0, spread, 150) + 180) % 360 - 180
    eps = eps_km / 6371.0088
    codes, plan = _plan(lat, lon, max_tile_points=5, max_precision=8, eps_rad=eps)
    own = assign_own_tiles(codes, plan)
    halo_point, halo_tile = assign_halo_tiles(lat, lon, own, plan)
    members = set(zip(halo_point.tolist(), halo_tile.tolist(), strict=True))
    assert all(own[p] != t for p, t in members)
    thr = math.sin(eps / 2) ** 2
    rlat, rlon = np.radians(lat), np.radians(lon)
    for i in range(lat.size):
        for j in np.flatnonzero(reduced_haversine_row(rlat, rlon, i) <= thr):
            assert own[j] == own[i] or (int(j), int(own[i])) in members


def test_plan_groups_tiles_for_tasks():
    plan = TilePlan(
        code_precision=2,
        prefix=np.arange(5),
        precision=np.full(5, 2),
        count=np.array([3, 3, 3, 9, 1]),
        group=np.zeros(5, np.int64),
        eps_rad=0.1,
    )
    assert plan.n_tiles == 5 and plan.labels()[0] == "00"
    from core.tiling import _group_consecutive

    assert _group_consecutive(plan.count, target=6).tolist() == [0, 0, 1, 2, 3]


def test_planner_steps_give_the_plan_of_plan_tiles_and_refuse_misuse():
    rng = np.random.default_rng(1)
    lat = np.concatenate([rng.normal(-33.9, 0.1, 400), rng.uniform(-60, 60, 40)])
    lon = np.concatenate([rng.normal(18.4, 0.1, 400), rng.uniform(-180, 180, 40)])
    codes, expected = _plan(lat, lon, max_tile_points=30, max_precision=7)
    planner = TilePlanner(max_tile_points=30, max_precision=7, code_precision=7, eps_rad=0.01)
    with pytest.raises(RuntimeError, match="counts of level 1"):
        planner.plan()
    levels = []
    while planner.request is not None:
        level, parents = planner.request
        levels.append(level)
        planner.feed(*count_prefixes(codes, code_precision=7, level=level, parents=parents))
    assert levels == list(range(1, len(levels) + 1)) and len(levels) > 2
    plan = planner.plan()
    for field in ("prefix", "precision", "count", "group"):
        np.testing.assert_array_equal(getattr(plan, field), getattr(expected, field))
    with pytest.raises(RuntimeError, match="complete"):
        planner.feed(np.empty(0, np.int64), np.empty(0, np.int64))
    with pytest.raises(ValueError, match="max_tile_points"):
        TilePlanner(max_tile_points=0, max_precision=7, code_precision=7, eps_rad=0.01)


def test_planner_of_no_points_plans_no_tiles():
    planner = TilePlanner(max_tile_points=5, max_precision=3, code_precision=3, eps_rad=0.01)
    planner.feed(*merge_counts([]))
    assert planner.request is None and planner.plan().n_tiles == 0
